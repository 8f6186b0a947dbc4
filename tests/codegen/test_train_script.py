"""The generated ``train.py`` (and the single file's ``main``) trains models with several outputs: one loss
per output, summed; the canvas makes such models as soon as a person ticks a second "model output"."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

import codegen

# Class scores, a feature map, the float input passed through and an int64 token input passed through.
SEVERAL_OUTPUTS = {
    "version": "0.2",
    "nodes": [
        {"id": "inp", "type": "Input", "params": {"shape": [9, 32]}},
        {"id": "tokens", "type": "Input", "params": {"shape": [4], "dtype": "int64", "vocab_size": 10}},
        {"id": "conv", "type": "Conv1d", "params": {"out_channels": 8, "kernel_size": 3, "padding": "same"}},
        {"id": "pool", "type": "AdaptiveAvgPool1d", "params": {"output_size": 1}},
        {"id": "flat", "type": "Flatten"},
        {"id": "fc", "type": "Linear", "params": {"out_features": 5}},
    ],
    "edges": [["inp", "conv"], ["conv", "pool"], ["pool", "flat"], ["flat", "fc"]],
    "inputs": ["inp", "tokens"],
    "outputs": ["fc", "conv", "inp", "tokens"],
}


@pytest.mark.parametrize(("layout", "module"), [("package", "several.train"), ("file", "several")])
def test_a_model_with_several_outputs_trains_through_its_script(layout, module, tmp_path):
    for path, text in codegen.generate(SEVERAL_OUTPUTS, name="several", layout=layout, with_train=True).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", module, "--steps", "2", "--batch-size", "3"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    losses = [float(line.rsplit(" ", 1)[1]) for line in result.stdout.splitlines() if line.startswith("step ")]
    assert len(losses) == 2 and all(math.isfinite(loss) and loss > 0 for loss in losses), result.stdout


def test_a_single_output_keeps_the_plain_loop():
    source = codegen.generate(SEVERAL_OUTPUTS | {"outputs": ["fc"]}, name="one", layout="package", with_train=True)
    train = source["one/train.py"]
    assert "loss_of" not in train and "loss_fn = nn.CrossEntropyLoss()" in train
