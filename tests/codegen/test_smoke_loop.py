"""The one smoke-training loop (:mod:`codegen.smoke`) on its own: tiny generated packages, fake clocks, no
Django. The platform's side (validation, caps, the worker's messages) is in tests/training/test_runner.py,
the command line's in tests/codegen/test_cli.py."""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from smoke_fixtures import TINY, FakeClock
from torch import nn

import codegen
from codegen import smoke, train_dummy
from codegen.smoke import RunCancelled, RunFailed, SmokeSettings, train_package

ROOT = Path(__file__).resolve().parents[2]

# Input (no shape) → Linear(8) → two heads: "a" (3 class scores) and "b" (one value); sized by ``shapes``.
TWO_HEADS = {
    "version": "0.2",
    "nodes": [
        {"id": "inp", "type": "Input", "params": {}},
        {"id": "fc1", "type": "Linear", "params": {"out_features": 8}},
        {"id": "a", "type": "Linear", "params": {"out_features": 3}},
        {"id": "b", "type": "Linear", "params": {"out_features": 1}},
    ],
    "edges": [["inp", "fc1"], ["fc1", "a"], ["fc1", "b"]],
    "inputs": ["inp"],
    "outputs": ["a", "b"],
}


def import_generated(document: dict, folder: Path) -> tuple[str, object]:
    """Generate ``document``'s package into ``folder`` under a fresh name and import it."""
    name = f"smoke_{uuid.uuid4().hex[:10]}"
    for path, text in codegen.generate(document, name=name, layout="package").items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text, encoding="utf-8")
    sys.path.insert(0, str(folder))
    try:
        return name, importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("smoke")
    names, packages = [], {}
    for key, document in (("tiny", TINY), ("two_heads", TWO_HEADS)):
        name, packages[key] = import_generated(document, folder)
        names.append(name)
    yield SimpleNamespace(folder=folder, names=names, **packages)
    for key in [key for key in sys.modules if key.split(".")[0] in names]:
        del sys.modules[key]


def settings(**values) -> SmokeSettings:
    return SmokeSettings(**{"steps": 3, "batch_size": 4, **values})


def cpu() -> smoke.CpuBackend:
    return smoke.CpuBackend()


def test_a_generated_package_trains_and_reports_its_metrics(generated):
    started, progress = [], []
    metrics = train_package(
        generated.tiny, settings(epochs=2), backend=cpu(), on_start=started.append, on_progress=progress.append
    )
    info = started[0]
    assert (info.device, info.params_total, info.precision, info.total_steps) == ("cpu", 25, "fp32", 6)
    assert info.model_name == type(generated.tiny.build_model()).__name__
    assert progress[0].step == 1 and progress[-1].step == 6 and progress[-1].epoch == 2
    assert metrics["steps"] == 6 and metrics["samples"] == 24 and math.isfinite(metrics["loss"])
    assert [point[0] for point in metrics["loss_curve"]] == [1, 2, 3, 4, 5, 6]
    assert metrics["memory_kind"] == "rss" and metrics["peak_memory_bytes"] > 0
    assert metrics["params_total"] == 25 and metrics["skipped_steps"] == 0


def test_the_same_seed_gives_the_same_losses(generated):
    first = train_package(generated.tiny, settings(seed=3), backend=cpu())
    second = train_package(generated.tiny, settings(seed=3), backend=cpu())
    assert first["loss_curve"] == second["loss_curve"]


def test_a_fixed_batch_is_learnt_while_fresh_random_batches_stay_at_chance(generated):
    fixed = train_package(generated.tiny, settings(data="fixed", steps=60, batch_size=8, lr=0.05), backend=cpu())
    random = train_package(generated.tiny, settings(data="random", steps=60, batch_size=8, lr=0.05), backend=cpu())
    assert fixed["loss"] < 0.2 * fixed["first_loss"], fixed["loss_curve"]
    assert random["loss"] > 0.5 * random["first_loss"], random["loss_curve"]


def test_fixed_targets_are_drawn_once_and_random_targets_at_every_call():
    torch.manual_seed(0)
    scores = torch.randn(64, 5)  # not uniform: cross-entropy then depends on which classes are the targets
    for loss in ("cross_entropy", "mse", "l1"):
        fixed, fresh = smoke.loss_for(scores, loss, "fc", fixed=True), smoke.loss_for(scores, loss, "fc")
        assert fixed(scores).item() == fixed(scores).item(), loss
        assert fresh(scores).item() != fresh(scores).item(), loss


def test_shapes_size_an_open_input_and_each_output_gets_its_loss(generated):
    name = next(iter(generated.two_heads.INPUT_SHAPES))
    with pytest.raises(RunFailed, match="^Building the model failed: ValueError: give the shape"):
        train_package(generated.two_heads, settings(), backend=cpu())
    started = []
    metrics = train_package(generated.two_heads, settings(), backend=cpu(), shapes={name: [6]}, on_start=started.append)
    assert started[0].params_total == (6 * 8 + 8) + (8 * 3 + 3) + (8 + 1)
    assert math.isfinite(metrics["loss"])


def test_progress_is_throttled_with_the_first_and_last_step_or_sent_every_step(generated):
    fast = []
    train_package(generated.tiny, settings(steps=40), backend=cpu(), on_progress=fast.append, clock=FakeClock(0.0005))
    assert [p.step for p in fast] == [1, 40]
    every = []
    train_package(
        generated.tiny,
        settings(steps=5),
        backend=cpu(),
        on_progress=every.append,
        clock=FakeClock(0.0005),
        progress_interval_s=0,
    )
    assert [p.step for p in every] == [1, 2, 3, 4, 5]
    payload = every[-1].payload()
    assert payload["total"] == 5 and payload["step_time_ms"] > 0 and payload["grad_norm"] > 0


def test_cancel_is_honoured_between_steps_and_the_last_step_is_reported(generated):
    answers = iter([False, False, True])
    progress = []
    with pytest.raises(RunCancelled) as cancelled:
        train_package(
            generated.tiny,
            settings(steps=10),
            backend=cpu(),
            on_progress=progress.append,
            control=lambda: "cancel" if next(answers) else None,
            clock=FakeClock(0.0001),  # step 2 falls inside the throttle window: reported on the way out
        )
    assert cancelled.value.steps == 2
    assert [p.step for p in progress] == [1, 2]


class Poisoned(nn.Module):
    """Linear(4 → 5) whose output turns NaN at its ``at``-th forward pass."""

    def __init__(self, at: int):
        super().__init__()
        self.fc = nn.Linear(4, 5)
        self.calls = 0
        self.at = at

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        out = self.fc(x)
        return out * float("nan") if self.calls == self.at else out


def poisoned_package(at: int) -> SimpleNamespace:
    return SimpleNamespace(build_model=lambda: Poisoned(at), example_inputs=lambda batch: (torch.randn(batch, 4),))


def test_a_loss_that_becomes_nan_stops_the_run_at_that_step():
    progress = []
    with pytest.raises(RunFailed) as failure:
        train_package(
            poisoned_package(3), settings(steps=5), backend=cpu(), on_progress=progress.append, clock=FakeClock(1)
        )
    assert failure.value.message == "loss became NaN at step 3"
    assert [p.step for p in progress] == [1, 2]  # nothing non-finite is reported


def test_gradients_that_overflow_stop_the_run(generated, monkeypatch):
    monkeypatch.setattr(smoke, "total_grad_norm", lambda parameters: torch.tensor(float("-inf")))
    with pytest.raises(RunFailed) as failure:
        train_package(generated.tiny, settings(), backend=cpu())
    assert failure.value.message == "gradient norm became -inf at step 1"


def test_the_time_limit_stops_the_run_between_steps(generated):
    with pytest.raises(RunFailed) as failure:
        train_package(generated.tiny, settings(steps=100, time_limit_s=1), backend=cpu(), clock=FakeClock(0.2))
    message = failure.value.message
    assert message.startswith("Time limit of 1 s reached after ") and message.endswith(" of 100 steps.")
    steps = int(message.split(" after ")[1].split(" of ")[0])
    assert 0 < steps < 100


def test_the_time_limit_counts_from_started_at(generated):
    with pytest.raises(RunFailed, match=r"^Time limit of 2\.5 s reached after 0 of 3 steps\.$"):
        train_package(generated.tiny, settings(time_limit_s=2.5), backend=cpu(), clock=lambda: 10.0, started_at=7.0)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_every_optimizer_trains(generated, optimizer):
    metrics = train_package(generated.tiny, settings(optimizer=optimizer, steps=2), backend=cpu())
    assert metrics["steps"] == 2 and math.isfinite(metrics["loss"])


def test_unknown_choices_are_refused_in_one_sentence(generated):
    with pytest.raises(RunFailed, match="^Unknown optimizer 'lion'"):
        train_package(generated.tiny, settings(optimizer="lion"), backend=cpu())
    with pytest.raises(RunFailed, match="^Unknown loss 'hinge'"):
        train_package(generated.tiny, settings(loss="hinge"), backend=cpu())
    with pytest.raises(RunFailed, match="^Unknown data mode 'real': choose one of fixed, random"):
        train_package(generated.tiny, settings(data="real"), backend=cpu())
    with pytest.raises(RunFailed, match="^Nothing to train"):
        train_package(generated.tiny, settings(steps=0), backend=cpu())


# --- targets derived from the outputs -----------------------------------------------------------


def test_cross_entropy_draws_class_indices_from_the_output():
    torch.manual_seed(0)
    logits = torch.zeros(4096, 5)
    assert abs(smoke.loss_for(logits, "auto", "fc")(logits).item() - math.log(5)) < 1e-5
    sequence = torch.zeros(64, 5, 7)  # (B, classes, T): one class index per position
    assert abs(smoke.loss_for(sequence, "cross_entropy", "fc")(sequence).item() - math.log(5)) < 1e-5


def test_mse_and_l1_train_against_a_standard_normal():
    torch.manual_seed(0)
    zeros = torch.zeros(4096, 1)
    assert abs(smoke.loss_for(zeros, "auto", "b")(zeros).item() - 1.0) < 0.1  # E[z²] = 1
    assert abs(smoke.loss_for(zeros, "mse", "b")(zeros).item() - 1.0) < 0.1
    assert abs(smoke.loss_for(zeros, "l1", "b")(zeros).item() - math.sqrt(2 / math.pi)) < 0.05  # E|z|


def test_outputs_that_cannot_be_trained_say_why():
    with pytest.raises(RunFailed) as failure:
        smoke.loss_for(torch.zeros(2, 1), "cross_entropy", "b")
    assert failure.value.message == (
        "Cross-entropy needs class scores (B, classes, …) but output b is (B, 1): choose mse or l1."
    )
    with pytest.raises(RunFailed, match="^Output ids holds torch.int64 values, not floats"):
        smoke.loss_for(torch.zeros(2, 3, dtype=torch.long), "auto", "ids")


@pytest.mark.parametrize("loss", ["cross_entropy", "mse", "l1"])
def test_a_package_trains_with_each_loss(generated, loss):
    metrics = train_package(generated.tiny, settings(loss=loss, steps=2), backend=cpu())
    assert metrics["steps"] == 2 and math.isfinite(metrics["loss"])


def test_num_classes_checks_the_first_output(generated):
    assert train_package(generated.tiny, settings(num_classes=5, steps=1), backend=cpu())["steps"] == 1
    with pytest.raises(RunFailed) as failure:
        train_package(generated.tiny, settings(num_classes=7), backend=cpu(), output_names=["fc"])
    assert failure.value.message == "Output fc has 5 classes, but 7 were expected."
    with pytest.raises(RunFailed) as failure:
        smoke.check_classes(torch.zeros(2, 1), "#1", 3)
    assert failure.value.message == "3 classes were expected, but output #1 is (B, 1): not (B, classes) scores."


# --- devices and memory -------------------------------------------------------------------------


def test_running_out_of_memory_names_the_batch_and_a_smaller_one(generated, monkeypatch):
    class OutOfMemory(torch.optim.SGD):
        def step(self, closure=None):
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(smoke, "make_optimizer", lambda name, parameters, lr: OutOfMemory(parameters, lr=lr))
    with pytest.raises(RunFailed) as failure:
        train_package(generated.tiny, settings(batch_size=64), backend=cpu())
    assert failure.value.message == "Out of memory on the CPU at batch 64: try 16"


def test_passthrough_exceptions_are_not_turned_into_failures(generated, monkeypatch):
    class SoftLimit(Exception):
        pass

    def hit_limit(name, parameters, lr):
        raise SoftLimit()

    monkeypatch.setattr(smoke, "make_optimizer", hit_limit)
    with pytest.raises(SoftLimit):
        train_package(generated.tiny, settings(), backend=cpu(), passthrough=(SoftLimit,))


def test_max_params_refuses_a_larger_model(generated):
    with pytest.raises(RunFailed) as failure:
        train_package(generated.tiny, settings(max_params=10), backend=cpu())
    assert failure.value.message == "This model has 25 parameters; runs are limited to 10."


def test_select_backend():
    assert isinstance(smoke.select_backend("cpu"), smoke.CpuBackend)
    with pytest.raises(RunFailed, match="^Unknown device 'tpu'"):
        smoke.select_backend("tpu")
    if torch.cuda.is_available():
        assert smoke.select_backend("auto").is_cuda
        return
    assert isinstance(smoke.select_backend("auto"), smoke.CpuBackend)
    with pytest.raises(RunFailed) as failure:
        smoke.select_backend("cuda:0")
    assert failure.value.message == smoke.NO_GPU
    with pytest.raises(RunFailed, match="^no GPU here$"):
        smoke.select_backend("cuda", no_gpu="no GPU here")


# --- the command line runs through the same loop ------------------------------------------------


def test_train_dummy_prints_every_step_and_a_summary(generated, capsys, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # main() puts --pkg-path first
    argv = ["--pkg", generated.names[0], "--pkg-path", str(generated.folder), "--steps-per-epoch", "2"]
    assert train_dummy.main([*argv, "--epochs", "2", "--device", "cpu", "--num-classes", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(": 25 parameters on cpu")
    assert [line.split("  loss ")[0] for line in lines[1:5]] == [
        "epoch 1 step 1/4",
        "epoch 1 step 2/4",
        "epoch 2 step 3/4",
        "epoch 2 step 4/4",
    ]
    assert lines[-1].startswith("done: 32 samples in ") and "final loss" in lines[-1]

    assert train_dummy.main([*argv, "--num-classes", "7"]) == 1
    assert capsys.readouterr().err.strip() == "error: Output #0 has 5 classes, but 7 were expected."


def test_the_loop_and_the_cli_import_no_django():
    probe = "import sys, codegen.smoke, codegen.train_dummy; print('django' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
