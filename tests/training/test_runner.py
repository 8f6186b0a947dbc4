"""The training loop on its own (no database, no broker): every template trains, and every way a run can
go wrong ends in one clear sentence."""

from __future__ import annotations

import math
import sys

import pytest
import torch
from run_helpers import TWO_HEADS, FakeCuda, document
from smoke_fixtures import TINY, FakeClock

from codegen import smoke
from codegen.templates import load_template, template_names
from training import runner
from training.config import Caps, parse_config
from training.runner import RunCancelled, RunFailed, train

# Smaller inputs where the graph allows it (global pooling before the classifier), and SGD for the two
# largest models (Adam's moments on 138 M parameters cost seconds per step on a laptop CPU).
LIGHTER = {
    "resnet18": {"input_shapes": {"input": [3, 32, 32]}},
    "resnet50": {"input_shapes": {"input": [3, 32, 32]}, "optimizer": "sgd"},
    "vgg16": {"input_shapes": {"input": [3, 32, 32]}, "optimizer": "sgd"},
    "resnext50_32x4d": {"input_shapes": {"input": [3, 32, 32]}, "optimizer": "sgd"},
    "mobilenet_v3_small": {"input_shapes": {"input": [3, 32, 32]}},
    "efficientnet_b0": {"input_shapes": {"input": [3, 32, 32]}},
    "swin_t": {"input_shapes": {"input": [3, 64, 64]}, "optimizer": "sgd"},
    "convnext_tiny": {"input_shapes": {"input": [3, 64, 64]}, "optimizer": "sgd"},
    "vit_b_16": {"optimizer": "sgd"},  # its position embedding fixes the input at 224x224
}


def config(**values):
    return parse_config({"steps": 2, "batch_size": 2, **values})


@pytest.mark.parametrize("name", template_names())
def test_every_template_trains_two_steps_on_the_cpu(name):
    started, progress = [], []
    metrics = train(
        load_template(name), config(**LIGHTER.get(name, {})), on_start=started.append, on_progress=progress.append
    )
    assert started[0].device == "cpu" and started[0].params_total > 0 and started[0].precision == "fp32"
    assert [p.step for p in progress] == [1, 2]  # the first and the last step are always reported
    assert metrics["steps"] == 2 and math.isfinite(metrics["loss"])
    assert metrics["peak_memory_bytes"] > 0 and metrics["memory_kind"] == "rss"
    assert metrics["samples_per_s"] > 0 and metrics["step_time_ms"] > 0
    assert metrics["loss_curve"] == [[1, metrics["first_loss"]], [2, metrics["loss"]]]
    assert not [module for module in sys.modules if module.startswith("torchcanvas_run_")]


def test_the_default_loss_is_cross_entropy_over_the_class_count_of_the_output():
    # 5 classes at initialisation: the loss starts near ln(5).
    metrics = train(document(TINY), config(steps=1, batch_size=64))
    assert abs(metrics["first_loss"] - math.log(5)) < 0.6


def test_each_output_gets_its_loss_and_they_add_up():
    progress = []
    metrics = train(document(TWO_HEADS), config(batch_size=4), on_progress=progress.append)
    assert math.isfinite(metrics["loss"]) and metrics["params_total"] == 92


@pytest.mark.parametrize("loss", ["mse", "l1"])
def test_regression_losses_train_against_random_targets(loss):
    metrics = train(document(TINY), config(loss=loss))
    assert metrics["steps"] == 2 and math.isfinite(metrics["loss"])


def test_cross_entropy_on_an_output_without_classes_is_refused_before_training():
    with pytest.raises(RunFailed) as failure:
        train(document(TWO_HEADS), config(loss="cross_entropy"))
    assert failure.value.message == (
        "Cross-entropy needs class scores (B, classes, …) but output b is (B, 1): choose mse or l1."
    )


def test_optimizers_and_epochs_report_their_epoch():
    for optimizer in ("sgd", "adam", "adamw"):
        progress = []
        train(document(TINY), config(optimizer=optimizer, epochs=2), on_progress=progress.append, clock=FakeClock(1))
        assert [(p.step, p.epoch, p.total) for p in progress] == [(1, 1, 4), (2, 1, 4), (3, 2, 4), (4, 2, 4)]


def test_the_same_seed_gives_the_same_losses():
    first = train(document(TINY), config(seed=7))
    second = train(document(TINY), config(seed=7))
    assert first["loss_curve"] == second["loss_curve"]


def test_progress_is_throttled_to_ten_reports_a_second_with_the_first_and_last_step():
    fast = []
    train(document(TINY), config(steps=40), on_progress=fast.append, clock=FakeClock(0.0005))
    assert [p.step for p in fast] == [1, 40]
    slow = []
    train(document(TINY), config(steps=5), on_progress=slow.append, clock=FakeClock(0.05))
    assert [p.step for p in slow] == [1, 2, 3, 4, 5]  # each step takes longer than 0.1 s of fake time
    payload = slow[-1].payload()
    assert set(payload) >= {"step", "total", "epoch", "loss", "samples_per_s", "elapsed_s"}
    assert payload["step_time_ms"] > 0 and payload["grad_norm"] > 0


def test_a_document_that_no_longer_validates_fails_with_its_first_error():
    broken = document(TINY)
    broken["nodes"][1]["type"] = "NoSuchLayer"
    with pytest.raises(RunFailed) as failure:
        train(broken, config())
    assert failure.value.message.startswith("graph no longer validates: ")
    assert "NoSuchLayer" in failure.value.message


def test_an_input_without_a_shape_needs_input_shapes(demo_graph):
    with pytest.raises(RunFailed) as failure:
        train(demo_graph, config())
    assert failure.value.message.startswith("Input inp has no shape: set it on the Input node")
    metrics = train(demo_graph, config(input_shapes={"inp": [9, 16]}, steps=1))
    assert metrics["params_total"] == 79762


def test_a_loss_that_becomes_nan_stops_the_run_at_that_step(monkeypatch):
    real = smoke.loss_for

    def poisoned(output, choice, name, fixed=False, **options):
        loss = real(output, choice, name, fixed, **options)
        calls = []

        def maybe_nan(out):
            calls.append(1)
            value = loss(out)
            return value * float("nan") if len(calls) == 3 else value

        return maybe_nan

    monkeypatch.setattr(smoke, "loss_for", poisoned)
    progress = []
    with pytest.raises(RunFailed) as failure:
        train(document(TINY), config(steps=5), on_progress=progress.append, clock=FakeClock(1))
    assert failure.value.message == "loss became NaN at step 3"
    assert [p.step for p in progress] == [1, 2]  # nothing non-finite is reported


def test_gradients_that_overflow_stop_an_fp32_run(monkeypatch):
    monkeypatch.setattr(smoke, "total_grad_norm", lambda parameters: torch.tensor(float("inf")))
    with pytest.raises(RunFailed) as failure:
        train(document(TINY), config())
    assert failure.value.message == "gradient norm became inf at step 1"


def test_an_error_inside_a_step_names_the_step_and_the_exception(monkeypatch):
    class Exploding(torch.optim.SGD):
        def step(self, closure=None):
            raise RuntimeError("kaboom\nwith a long traceback-ish second line")

    monkeypatch.setattr(smoke, "make_optimizer", lambda name, parameters, lr: Exploding(parameters, lr=lr))
    with pytest.raises(RunFailed) as failure:
        train(document(TINY), config())
    assert failure.value.message == "Training failed at step 1: RuntimeError: kaboom"


def test_batch_norm_at_batch_one_asks_for_a_bigger_batch():
    with pytest.raises(RunFailed) as failure:
        train(document(TWO_HEADS), config(batch_size=1))
    assert failure.value.message == (
        "Batch normalisation needs more than one value per channel while training, and gets one at batch 1: "
        "use a batch size of 2 or more."
    )


def test_cancel_is_honoured_between_steps():
    answers = iter([False, False, True])
    progress = []
    with pytest.raises(RunCancelled) as cancelled:
        train(
            document(TINY),
            config(steps=10),
            on_progress=progress.append,
            control=lambda: "cancel" if next(answers) else None,
        )
    assert cancelled.value.steps == 2
    assert progress[-1].step == 2


def test_the_time_limit_stops_the_run_between_steps():
    with pytest.raises(RunFailed) as failure:
        train(document(TINY), config(steps=100, time_limit_s=1), clock=FakeClock(0.2))
    message = failure.value.message
    assert message.startswith("Time limit of 1 s reached after ") and message.endswith(" of 100 steps.")


def test_the_caps_are_checked_again_by_the_runner():
    with pytest.raises(RunFailed) as failure:
        train(document(TWO_HEADS), config(), caps=Caps(max_params=50))
    assert failure.value.message == "This model has 92 parameters; runs are limited to 50."


def test_a_run_that_would_not_fit_in_memory_suggests_a_batch_that_does():
    # VGG-16 at 224×224: ~2.2 GiB of weights, gradients and Adam state, and every layer's activations
    # (drawn as single layers, as torchvision's features are, each output counts).
    with pytest.raises(RunFailed) as failure:
        train(load_template("vgg16"), config(batch_size=512), caps=Caps(max_memory_bytes=4 * 2**30))
    assert failure.value.message == (
        "This run needs about 112.1 GiB of memory at batch 512 (the limit is 4.0 GiB): try batch 8."
    )


def test_precision_falls_back_to_fp32_on_the_cpu():
    started = []
    metrics = train(document(TINY), config(precision="bf16"), on_start=started.append)
    assert started[0].precision == "fp32" and metrics["precision"] == "fp32"


# --- the CUDA paths, on a fake GPU that computes on the CPU -----------------------------------------


@pytest.mark.parametrize("precision", ["bf16", "fp16", "fp32"])
def test_mixed_precision_runs_under_autocast_on_a_gpu(precision):
    gpu = FakeCuda()
    started = []
    metrics = train(document(TINY), config(precision=precision, device="cuda"), cuda=gpu, on_start=started.append)
    assert started[0].device == "cuda:0 (Fake GPU)" and started[0].precision == precision
    assert metrics["precision"] == precision and metrics["memory_kind"] == "cuda"
    assert metrics["peak_memory_bytes"] == 123_456 and math.isfinite(metrics["loss"])
    assert gpu.prepared == 1 and gpu.freed >= 1  # cached memory is given back after every run


def test_a_gpu_without_bf16_says_so():
    with pytest.raises(RunFailed) as failure:
        train(document(TINY), config(precision="bf16"), cuda=FakeCuda(bf16=False))
    assert failure.value.message == "This GPU does not support bf16: choose fp16 or fp32."


def test_cuda_out_of_memory_frees_the_memory_suggests_a_batch_and_the_next_run_works(monkeypatch):
    class OutOfMemory(torch.optim.SGD):
        def step(self, closure=None):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB total)")

    gpu = FakeCuda()
    real_optimizer = smoke.make_optimizer
    monkeypatch.setattr(smoke, "make_optimizer", lambda name, parameters, lr: OutOfMemory(parameters, lr=lr))
    with pytest.raises(RunFailed) as failure:
        train(document(TINY), config(batch_size=256), cuda=gpu)
    assert failure.value.message == "CUDA out of memory at batch 256: try 64"
    assert gpu.freed >= 1
    with pytest.raises(RunFailed) as failure:
        train(document(TINY), config(batch_size=1), cuda=gpu)
    assert failure.value.message == "CUDA out of memory at batch 1: the model does not fit in this device's memory"

    monkeypatch.setattr(smoke, "make_optimizer", real_optimizer)
    assert train(document(TINY), config(), cuda=gpu)["steps"] == 2


def test_running_out_of_memory_on_the_cpu_says_so(monkeypatch):
    class OutOfMemory(torch.optim.SGD):
        def step(self, closure=None):
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(smoke, "make_optimizer", lambda name, parameters, lr: OutOfMemory(parameters, lr=lr))
    with pytest.raises(RunFailed) as failure:
        train(document(TINY), config(batch_size=64))
    assert failure.value.message == "Out of memory on the CPU at batch 64: try 16"


def test_the_gpu_memory_fraction_is_set_once_per_process(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "set_per_process_memory_fraction", lambda f, i: calls.append((f, i)))
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device: None)
    monkeypatch.setattr(runner.CudaBackend, "_fraction_set", set())
    backend = runner.CudaBackend(memory_fraction=0.45)
    backend.prepare()
    backend.prepare()
    assert calls == [(0.45, 0)]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_cuda_without_a_gpu_fails_clearly_and_auto_falls_back_to_the_cpu():
    with pytest.raises(RunFailed) as failure:
        train(document(TINY), config(device="cuda"))
    assert failure.value.message.startswith("This run asks for a CUDA GPU, but this worker has none")
    assert train(document(TINY), config(device="auto"))["memory_kind"] == "rss"


def test_soft_time_limits_pass_through_untouched(monkeypatch):
    class SoftLimit(Exception):
        pass

    def hit_limit(name, parameters, lr):
        raise SoftLimit()

    monkeypatch.setattr(smoke, "make_optimizer", hit_limit)
    with pytest.raises(SoftLimit):
        train(document(TINY), config(), passthrough=(SoftLimit,))


def test_long_runs_keep_a_thinned_loss_curve_ending_at_the_last_step(monkeypatch):
    monkeypatch.setattr(smoke, "MAX_CURVE_POINTS", 5)
    metrics = train(document(TINY), config(steps=12))
    steps = [point[0] for point in metrics["loss_curve"]]
    assert steps[0] == 1 and steps[-1] == 12 and len(steps) <= 6


def test_the_run_code_is_named_after_the_graph_when_the_document_is_untitled():
    untitled = {**document(TWO_HEADS), "metadata": {"name": "untitled"}}
    with runner.generated_package(untitled, title="MiniCNN") as package:
        assert type(package.build_model()).__name__ == "MiniCNN"
