"""Import speed of ``codegen.importer.from_module`` against ``torch.fx.symbolic_trace`` alone (target: ≤ 2×).

Importing a module traces it with fx, learns every tensor's shape (a run on the meta device), maps the nodes,
validates the graph and folds repeated classes into blocks; tracing is the part PyTorch itself offers, so
``torch.fx.symbolic_trace`` of the same module, measured in the same run, is the baseline. Two models: torchvision's
ResNet-50 (skipped when torchvision cannot be imported) and a 1,000-node model, a plain ``nn.Module`` holding an
``nn.Sequential`` of 333 (Linear, LayerNorm, GELU) triples. CPU, one thread; the two are timed interleaved
(alternating which goes first), median of the repetitions. No timing is asserted: the figures go to
docs/benchmarks.md.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

import pytest
import torch
from torch import fx, nn

import codegen
from codegen.importer import from_module
from tests.support.torchvision_models import torchvision_model

from .report import machine, publish

pytestmark = pytest.mark.bench

TARGET = 2.0
WARMUP = 3
REPEAT = 21
TRIPLES = 333  # with the input: 1,000 graph nodes
WIDTH = 64
DEEP_SHAPE = [WIDTH]


class DeepMLP(nn.Module):
    """A deep stack written in plain PyTorch: (Linear → LayerNorm → GELU) × 333."""

    def __init__(self, triples: int = TRIPLES, width: int = WIDTH) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(triples):
            layers += [nn.Linear(width, width), nn.LayerNorm(width), nn.GELU()]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def deep_model() -> nn.Module:
    return DeepMLP().eval()


def interleaved(first: Callable[[], object], second: Callable[[], object]) -> tuple[float, float]:
    """Median seconds of ``first`` and ``second``, run alternately (which goes first alternates too)."""
    for _ in range(WARMUP):
        first(), second()
    times: tuple[list[float], list[float]] = ([], [])
    gc.collect()
    for i in range(REPEAT):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for k in order:
            fn = (first, second)[k]
            start = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def measure(module: nn.Module, shape: list[int]) -> dict:
    graph = from_module(module, shape)
    imported, traced = interleaved(lambda: from_module(module, shape), lambda: fx.symbolic_trace(module))
    return {
        "import": imported,
        "fx": traced,
        "ratio": imported / traced,
        "fx_nodes": len(fx.symbolic_trace(module).graph.nodes),
        "nodes": len(graph["nodes"]),
        "layers": codegen.validate(graph).analysis.expanded_nodes,  # every block expanded, inputs aside
    }


def models() -> dict[str, tuple[Callable[[], nn.Module], list[int]] | str]:
    """Name -> (builder, input shape), or the reason the model is left out."""
    found: dict[str, tuple[Callable[[], nn.Module], list[int]] | str] = {}
    try:
        torchvision_model("resnet50")
        found["torchvision resnet50"] = (lambda: torchvision_model("resnet50"), [3, 224, 224])
    except pytest.skip.Exception as skipped:
        found["torchvision resnet50"] = f"left out: {skipped.msg}"
    found[f"DeepMLP ({TRIPLES} × Linear, LayerNorm, GELU)"] = (deep_model, DEEP_SHAPE)
    return found


def test_import_speed():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        results: dict[str, dict | str] = {}
        for name, entry in models().items():
            results[name] = entry if isinstance(entry, str) else measure(entry[0](), entry[1])
    finally:
        torch.set_num_threads(threads)
    deep = next(r for name, r in results.items() if name.startswith("DeepMLP"))
    assert deep["nodes"] >= 1_000, deep  # the model is as large as the benchmark says

    lines = [
        "## Importer: from_module vs torch.fx.symbolic_trace",
        "",
        f"Machine: {machine()}. CPU, `torch.set_num_threads(1)`; all numbers from one pytest run.",
        "",
        f"Target: importing a module (`codegen.importer.from_module`: trace, shapes, mapping, validation, "
        f"folding) takes at most {TARGET:.0f}× as long as `torch.fx.symbolic_trace` of the same module. "
        f"The two are timed interleaved (alternating which goes first), {REPEAT} times each after {WARMUP} "
        "warm-up runs; median.",
        "",
        "| model | fx nodes | graph nodes | layers, blocks expanded | from_module (ms) | symbolic_trace (ms) | ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        if isinstance(r, str):
            lines.append(f"| {name} | | | | | | {r} |")
            continue
        verdict = "met" if r["ratio"] <= TARGET else "NOT met"
        lines.append(
            f"| {name} | {r['fx_nodes']:,} | {r['nodes']:,} | {r['layers']:,} | {r['import'] * 1e3:.1f} | "
            f"{r['fx'] * 1e3:.1f} | {r['ratio']:.2f} ({verdict}) |"
        )
    measured = [r for r in results.values() if not isinstance(r, str)]
    met = sum(r["ratio"] <= TARGET for r in measured)
    lines += [
        "",
        f"{met} of {len(measured)} within the target. Graph nodes are the imported document's top level, where "
        "repeated classes are folded into blocks; fx nodes include its placeholders and output.",
    ]
    publish("import_speed", lines)
