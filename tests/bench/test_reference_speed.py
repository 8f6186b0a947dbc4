"""Step time of every drawn reference architecture against its reference module (issue 10: ratio ≤ 1.05).

For each model in ``tests/support/reference_graphs`` (torchvision's classifiers, ViT, Swin, the U-Net and
the text transformer): the generated module and the reference, with the same weights (loaded by name),
take SGD training steps on one fixed batch, interleaved (alternating which goes first) so that both see
the same machine drift; the median step times and their ratio go to the report. CPU, one thread. The
ImageNet CNNs run at 64×64 (their adaptive pooling allows it, as the templates' own tests do); models
whose sizes follow from the image (ViT's position table) run at the size they are drawn for.
No timing is asserted: the numbers and ratios go to docs/benchmarks.md.
"""

from __future__ import annotations

import statistics

import pytest
import torch

import codegen
from tests.codegen.test_reference_models import example_input, generated_model
from tests.support.reference_graphs import all_models

from .report import machine, publish
from .test_run_speed import Stepper

pytestmark = pytest.mark.bench

TARGET = 1.05
BATCH = 2
WARMUP = 3
STEPS = 20
SMALL = 64  # the side the CNNs run at; a model whose graph does not validate there keeps its own size


def bench_shape(document: dict) -> tuple[list[int], dict[str, list[int]] | None]:
    (input_id,) = document["inputs"]
    (shape,) = [n["params"]["shape"] for n in document["nodes"] if n["id"] == input_id]
    small = {input_id: [shape[0], SMALL, SMALL]}
    if (
        len(shape) == 3
        and codegen.validate(document, input_shapes=small).params_total == codegen.validate(document).params_total
    ):
        return small[input_id], small
    return shape, None


def measure(name: str, tmp_path) -> dict:
    model = all_models()[name]
    document = model.graph()
    shape, override = bench_shape(document)
    if override:
        (input_id,) = document["inputs"]
        for node in document["nodes"]:
            if node["id"] == input_id:
                node["params"]["shape"] = shape
    torch.manual_seed(0)
    reference = model.reference()
    generated = generated_model(document, tmp_path, f"bench_{name}")
    generated.load_state_dict(reference.state_dict(), strict=True)
    torch.manual_seed(1)
    batch = example_input(document, BATCH)
    with torch.no_grad():
        output = reference.eval()(batch)
    # Class indices per sample (or per pixel, for the U-Net's (B, K, H, W) output) for the cross-entropy loss.
    target = torch.randint(0, output.shape[1], (output.shape[0], *output.shape[2:]))
    steppers = {"generated": Stepper(generated, batch, target), "reference": Stepper(reference, batch, target)}
    for _ in range(WARMUP):
        for stepper in steppers.values():
            stepper.step()
    times: dict[str, list[float]] = {key: [] for key in steppers}
    for i in range(STEPS):
        for key in ("generated", "reference") if i % 2 == 0 else ("reference", "generated"):
            times[key].append(steppers[key].step())
    gen, ref = statistics.median(times["generated"]), statistics.median(times["reference"])
    params = sum(p.numel() for p in generated.parameters())
    return {
        "shape": shape,
        "generated_ms": 1000 * gen,
        "reference_ms": 1000 * ref,
        "ratio": gen / ref,
        "params": params,
    }


def test_reference_speed(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        results = {name: measure(name, tmp_path) for name in all_models()}
    finally:
        torch.set_num_threads(threads)
    worst = max(results.values(), key=lambda r: r["ratio"]) if results else None
    lines = [
        "## Drawn architectures: step time against their references",
        "",
        f"Machine: {machine()}. CPU, `torch.set_num_threads(1)`, fixed seeds; all numbers from one pytest run.",
        "",
        f"Target (issue 10): each generated model's step time at most {TARGET:.2f}× its reference's. Each model "
        "of `tests/support/reference_graphs` is generated from its graph and loads its reference's weights by "
        f"name; SGD (lr 0.01, momentum 0.9), batch {BATCH}, one fixed batch, {WARMUP} warm-up steps each, then "
        f"{STEPS} steps each, interleaved (alternating which goes first); median step time. References are "
        "torchvision's own classes where torchvision has the model.",
        "",
        "| model | input | parameters | generated (ms) | reference (ms) | ratio |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        verdict = "met" if r["ratio"] <= TARGET else "NOT met"
        size = "×".join(str(d) for d in r["shape"])
        lines.append(
            f"| {name} | {size} | {r['params']:,} | {r['generated_ms']:.1f} | {r['reference_ms']:.1f} | "
            f"{r['ratio']:.3f} ({verdict}) |"
        )
    if worst is not None:
        met = sum(r["ratio"] <= TARGET for r in results.values())
        lines += ["", f"{met} of {len(results)} within the target; the highest ratio is {worst['ratio']:.3f}."]
    publish("reference_speed", lines)
