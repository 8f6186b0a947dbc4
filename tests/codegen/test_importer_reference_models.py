"""Every reference architecture of the model zoo, imported from its PyTorch module by the CLI.

The generated code of the imported graph loads the module's own state_dict by name (strict) and computes
the same. Between them these modules use what hand-written models use: size arithmetic on ``x.shape``
(ViT's patches, ShuffleNet's channel shuffle), a sinusoid buffer cut to the sequence length, parameters
read in ``forward()``, repeated classes that become blocks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codegen.cli import main
from tests.codegen.test_importer import assert_same_model, inputs_for, module_paths
from tests.codegen.test_importer_torchvision import randomise_running_stats
from tests.support.reference_graphs import all_models, reference_module

MODELS = all_models()


def input_shape(name: str) -> list[int]:
    (shape,) = [n["params"]["shape"] for n in MODELS[name].graph()["nodes"] if n["type"] == "Input"]
    return shape


@pytest.mark.parametrize("name", list(MODELS))
def test_the_cli_imports_the_reference_module_with_its_weights(name: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / f"{name}.json"
    shape = ",".join(str(s) for s in input_shape(name))
    target = "tests.support.reference_graphs:reference_module"
    assert main(["import", target, "--arg", f"name={name}", "--input-shape", shape, "--out", str(out)]) == 0
    assert capsys.readouterr().err.startswith(f"wrote {out}: ")
    graph = json.loads(out.read_text())
    module = reference_module(name)
    randomise_running_stats(module)
    paths = module_paths(graph)
    for key in module.state_dict():  # every key has a node: a layer's path, or a block's that holds it
        assert any(key == p or key.startswith(f"{p}.") for p in paths), key
    (input_id,) = graph["inputs"]
    assert_same_model(module, graph, tmp_path, inputs_for({input_id: input_shape(name)}, graph))
