"""Training-run speed: the platform's runner against plain PyTorch loops on the same models.

1. Platform overhead: the median step time of a run through :func:`training.runner.train` (CPU, the
   HybridCMI template, 30 steps at batch 8, AdamW) against, as the baseline in the same run, the loop of
   the generated package's own ``train.py`` (random inputs, forward, cross-entropy, backward, AdamW step)
   over the same generated ``build_model()`` and ``example_inputs``. Target (issue 4): ratio ≤ 1.10.
2. The generated ResNet-18 (from ``resnet18.json``, 3×64×64 inputs, batch 4, SGD) against a hand-written
   torchvision-style ResNet-18 with the same parameter count, median step time, steps interleaved so
   both see the same machine drift. Target (issue 4): ratio ≤ 1.02.

Both use one CPU thread and fixed seeds. No timing is asserted: the numbers and ratios go to the report.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import codegen
from training import runner
from training.config import RunConfig

from .report import machine, write_section

pytestmark = pytest.mark.bench

TEMPLATES = Path(codegen.__file__).resolve().parent / "templates"
RESNET18_PARAMS = 11_689_512

OVERHEAD_ROUNDS = 5  # alternating runner / baseline rounds
OVERHEAD_STEPS = 30
OVERHEAD_BATCH = 8
RESNET_STEPS = 40  # per model, interleaved
RESNET_WARMUP = 5
RESNET_BATCH = 4
RESNET_SHAPE = [3, 64, 64]


def template(name: str) -> dict:
    return json.loads((TEMPLATES / f"{name}.json").read_text(encoding="utf-8"))


def import_generated(document: dict, tmp_path: Path, name: str, input_shapes: dict | None = None):
    """Generate ``document`` as a package (with ``train.py``) under ``tmp_path`` and import it."""
    files = codegen.generate(document, name=name, layout="package", with_train=True, input_shapes=input_shapes)
    for path, text in files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    package_dir = tmp_path / name
    spec = importlib.util.spec_from_file_location(
        name, package_dir / "__init__.py", submodule_search_locations=[str(package_dir)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def forget(name: str) -> None:
    for key in [key for key in sys.modules if key == name or key.startswith(f"{name}.")]:
        del sys.modules[key]


# --- 1. platform overhead -------------------------------------------------------------------------


def train_py_loop(package, steps: int, batch_size: int, lr: float, seed: int) -> list[float]:
    """The generated ``train.py`` loop, step by step, timed the way the runner times its steps."""
    torch.manual_seed(seed)
    model = package.build_model()
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for _ in range(steps):
        begin = time.perf_counter()
        inputs = list(package.example_inputs(batch_size))
        output = model(*inputs)
        target = torch.randint(0, output.shape[1], (batch_size,))
        loss = loss_fn(output, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()  # the script prints the loss every step: one synchronisation, as the runner's
        times.append(time.perf_counter() - begin)
    return times


def measure_overhead(tmp_path: Path) -> dict:
    document = template("hybridcmi")
    config = RunConfig(
        batch_size=OVERHEAD_BATCH,
        steps=OVERHEAD_STEPS,
        optimizer="adamw",
        lr=1e-3,
        device="cpu",
        seed=0,
        data="random",  # like train.py: a fresh batch every step
    )
    package = import_generated(document, tmp_path, "bench_hybridcmi")
    try:
        run_ms, loop_ms = [], []
        progress_events = []
        for _ in range(OVERHEAD_ROUNDS):
            metrics = runner.train(document, config, on_progress=progress_events.append)
            run_ms.append(metrics["step_time_ms"])  # median over steps 2..N
            times = train_py_loop(package, OVERHEAD_STEPS, OVERHEAD_BATCH, config.lr, config.seed)
            loop_ms.append(1000 * statistics.median(times[1:]))
    finally:
        forget("bench_hybridcmi")
    run, loop = statistics.median(run_ms), statistics.median(loop_ms)
    return {
        "run_ms": run,
        "loop_ms": loop,
        "ratio": run / loop,
        "rounds": list(zip(run_ms, loop_ms)),
        "params": metrics["params_total"],
        "progress_events": len(progress_events) // OVERHEAD_ROUNDS,
    }


# --- 2. generated vs hand-written ResNet-18 --------------------------------------------------------


class BasicBlock(nn.Module):
    """torchvision's ``BasicBlock``, written out."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class HandResNet18(nn.Module):
    """torchvision-style ResNet-18 (1000 classes)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, 2), BasicBlock(512, 512))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class Stepper:
    """One SGD training step on a fixed random batch, timed."""

    def __init__(self, model: nn.Module, batch: torch.Tensor, target: torch.Tensor) -> None:
        self.model = model.train()
        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        self.batch, self.target = batch, target

    def step(self) -> float:
        begin = time.perf_counter()
        loss = F.cross_entropy(self.model(self.batch), self.target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        loss.item()
        return time.perf_counter() - begin


def measure_resnet(tmp_path: Path) -> dict:
    package = import_generated(template("resnet18"), tmp_path, "bench_resnet18", {"input": RESNET_SHAPE})
    try:
        torch.manual_seed(0)
        generated = package.build_model()
        torch.manual_seed(0)
        hand = HandResNet18()
    finally:
        forget("bench_resnet18")
    counts = (sum(p.numel() for p in generated.parameters()), sum(p.numel() for p in hand.parameters()))
    assert counts == (RESNET18_PARAMS, RESNET18_PARAMS), counts

    torch.manual_seed(1)
    batch = torch.randn(RESNET_BATCH, *RESNET_SHAPE)
    target = torch.randint(0, 1000, (RESNET_BATCH,))
    steppers = {"generated": Stepper(generated, batch, target), "hand": Stepper(hand, batch, target)}
    for _ in range(RESNET_WARMUP):
        for stepper in steppers.values():
            stepper.step()
    times: dict[str, list[float]] = {key: [] for key in steppers}
    for i in range(RESNET_STEPS):
        order = ("generated", "hand") if i % 2 == 0 else ("hand", "generated")  # alternate who goes first
        for key in order:
            times[key].append(steppers[key].step())
    gen, ref = statistics.median(times["generated"]), statistics.median(times["hand"])
    return {"generated_ms": 1000 * gen, "hand_ms": 1000 * ref, "ratio": gen / ref, "params": counts[0]}


# --- the report -------------------------------------------------------------------------------------


def test_run_speed(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        overhead = measure_overhead(tmp_path)
        resnet = measure_resnet(tmp_path)
    finally:
        torch.set_num_threads(threads)

    rounds = ", ".join(f"{r:.2f}/{b:.2f}" for r, b in overhead["rounds"])
    lines = [
        "## Runs: training step time",
        "",
        f"Machine: {machine()}. CPU, `torch.set_num_threads(1)`, fixed seeds; all numbers from one pytest run.",
        "",
        "### Platform overhead (target ratio ≤ 1.10)",
        "",
        f"HybridCMI template ({overhead['params']:,} parameters), {OVERHEAD_STEPS} steps at batch {OVERHEAD_BATCH}, "
        "AdamW lr 1e-3. Run: `training.runner.train` (its `step_time_ms`: median of steps 2..N, each step "
        "including input generation, loss, backward, gradient norm, finiteness checks and the optimizer step), "
        f"with a progress callback attached (~{overhead['progress_events']} events per run). Baseline: the loop "
        "of the generated package's `train.py` (inputs, forward, cross-entropy, backward, AdamW, `loss.item()`) "
        "on the same generated `build_model()`/`example_inputs`, median of steps 2..N. "
        f"{OVERHEAD_ROUNDS} alternating rounds; the median of the round medians is reported.",
        "",
        "| | step time (ms) |",
        "| --- | ---: |",
        f"| run through `training.runner` | {overhead['run_ms']:.2f} |",
        f"| generated `train.py` loop (baseline) | {overhead['loop_ms']:.2f} |",
        f"| ratio | {overhead['ratio']:.3f} ({'met' if overhead['ratio'] <= 1.10 else 'NOT met'}) |",
        "",
        f"Per round (run/baseline, ms): {rounds}.",
        "",
        "### Generated ResNet-18 vs hand-written (target ratio ≤ 1.02)",
        "",
        f"`resnet18.json` generated with 3×{RESNET_SHAPE[1]}×{RESNET_SHAPE[2]} inputs vs a torchvision-style "
        f"BasicBlock ResNet-18 written in the test; both {resnet['params']:,} parameters (checked). "
        f"SGD (lr 0.01, momentum 0.9), batch {RESNET_BATCH}, one fixed batch, {RESNET_WARMUP} warm-up steps each, "
        f"then {RESNET_STEPS} steps each, interleaved (alternating which goes first); median step time.",
        "",
        "| model | step time (ms) |",
        "| --- | ---: |",
        f"| generated | {resnet['generated_ms']:.2f} |",
        f"| hand-written (baseline) | {resnet['hand_ms']:.2f} |",
        f"| ratio | {resnet['ratio']:.3f} ({'met' if resnet['ratio'] <= 1.02 else 'NOT met'}) |",
    ]
    path = write_section("runs", "\n".join(lines))
    print("\n".join(lines))
    print(f"written to {path}")
