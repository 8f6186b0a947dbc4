"""Training on a dataset with the one loop (:mod:`codegen.smoke` with :mod:`codegen.fit`): validation per epoch,
early stopping, checkpoints that resume to the same result, stop and pause. No Django."""

from __future__ import annotations

import math

import pytest
import torch

from codegen import fit, loader
from codegen.checkpoint import Checkpoint, CheckpointError, load_weights, weights_bytes
from codegen.smoke import CpuBackend, RunFailed, RunPaused, SmokeSettings, train_package


def mlp(out_features: int, hidden: int = 16) -> dict:
    return {
        "version": "0.2",
        "nodes": [
            {"id": "inp", "type": "Input", "params": {"shape": [2]}},
            {"id": "fc1", "type": "Linear", "params": {"out_features": hidden}},
            {"id": "act", "type": "ReLU", "params": {}},
            {"id": "fc2", "type": "Linear", "params": {"out_features": out_features}},
        ],
        "edges": [["inp", "fc1"], ["fc1", "act"], ["act", "fc2"]],
        "inputs": ["inp"],
        "outputs": ["fc2"],
    }


def moons(samples: int = 400, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaved half circles: separable by a small MLP, not by a line."""
    generator = torch.Generator().manual_seed(seed)
    half = samples // 2
    angle = torch.rand(samples, generator=generator) * math.pi
    upper = torch.stack([torch.cos(angle[:half]), torch.sin(angle[:half])], dim=1)
    lower = torch.stack([1 - torch.cos(angle[half:]), 0.5 - torch.sin(angle[half:])], dim=1)
    x = torch.cat([upper, lower]) + 0.1 * torch.randn(samples, 2, generator=generator)
    y = torch.cat([torch.zeros(half), torch.ones(samples - half)]).long()
    return x, y


def data(task: str = "classification", samples: int = 400, val: float = 0.25) -> fit.ArrayData:
    x, y = moons(samples)
    if task == "regression":
        y = (x[:, 0] * 2 + x[:, 1]).float()  # a plane: an MLP fits it closely
    order = torch.randperm(samples, generator=torch.Generator().manual_seed(1))
    cut = int(samples * val)
    return fit.ArrayData(x, y, order[cut:], order[:cut] if cut else None, task, 2 if task == "classification" else None)


def settings(**values) -> SmokeSettings:
    return SmokeSettings(**{"batch_size": 32, "epochs": 4, "optimizer": "adam", "lr": 0.02, **values})


@pytest.fixture(scope="module")
def classifier():
    with loader.generated_package(mlp(2)) as package:
        yield package


@pytest.fixture(scope="module")
def regressor():
    with loader.generated_package(mlp(1)) as package:
        yield package


def test_batches_cover_the_training_split_once_per_epoch_in_a_seeded_order():
    dataset = data(samples=103, val=0)
    assert dataset.steps_per_epoch(10) == 11  # 103 = 10 × 10 + 3
    assert fit.steps_per_epoch(101, 10) == 10  # a last batch of one sample is dropped (batch norm needs two)
    first = [dataset.batch(1, i, 10, seed=5)[1] for i in range(11)]
    again = [dataset.batch(1, i, 10, seed=5)[1] for i in range(11)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    rows = torch.cat([dataset.batch(1, i, 10, seed=5)[0] for i in range(11)])
    assert len(rows) == 103 and len({tuple(r.tolist()) for r in rows}) == 103
    other_epoch = torch.cat([dataset.batch(2, i, 10, seed=5)[0] for i in range(11)])
    assert not torch.equal(rows, other_epoch)


def test_a_classifier_learns_the_dataset_and_reports_each_epoch(classifier):
    epochs = []
    metrics = train_package(classifier, settings(), backend=CpuBackend(), data=data(), on_epoch=epochs.append)
    assert [e.epoch for e in epochs] == [1, 2, 3, 4]
    assert all(e.val_loss is not None and e.val_accuracy is not None and e.val_mae is None for e in epochs)
    assert metrics["val_accuracy"] > 0.9  # chance is 0.5
    assert metrics["epochs_done"] == 4 and metrics["steps"] == 4 * math.ceil(300 / 32)
    assert metrics["val_curve"] == [[e.step, e.val_loss] for e in epochs]
    assert metrics["best_epoch"] == max(epochs, key=lambda e: -e.val_loss).epoch
    assert "stopped" not in metrics


def test_a_regression_reports_mean_absolute_error(regressor):
    metrics = train_package(regressor, settings(epochs=6), backend=CpuBackend(), data=data("regression"))
    assert metrics["val_mae"] < 0.3 and "val_accuracy" not in metrics


def test_early_stopping_ends_the_run_once_the_metric_stops_improving(classifier):
    epochs = []
    # lr 0: nothing improves after the first epoch, so patience 2 stops after epoch 3.
    metrics = train_package(
        classifier,
        settings(lr=1e-12, epochs=10, early_stop_patience=2, optimizer="sgd"),
        backend=CpuBackend(),
        data=data(),
        on_epoch=epochs.append,
    )
    assert metrics["stopped"] == "early_stop" and metrics["epochs_done"] == 3 == len(epochs)
    assert [e.best for e in epochs] == [True, False, False]


def test_a_paused_run_resumed_from_its_checkpoint_ends_exactly_as_an_uninterrupted_one(classifier):
    whole = train_package(classifier, settings(), backend=CpuBackend(), data=data())

    saved: list[bytes] = []
    steps_seen: list[int] = []

    def pause_at_step_13():
        return "pause" if len(steps_seen) == 13 else None

    with pytest.raises(RunPaused) as paused:
        train_package(
            classifier,
            settings(),
            backend=CpuBackend(),
            data=data(),
            progress_interval_s=0,
            on_progress=lambda p: steps_seen.append(p.step),
            on_checkpoint=lambda c: saved.append(c.to_bytes()),
            control=pause_at_step_13,
        )
    assert paused.value.steps == 13
    checkpoint = Checkpoint.from_bytes(saved[-1])  # through bytes, as another worker reads it
    assert checkpoint.step == 13 and checkpoint.epoch == 2  # 10 steps per epoch

    resumed_steps: list[int] = []
    torch.manual_seed(999)  # another process: its random state is not the paused one's
    resumed = train_package(
        classifier,
        settings(),
        backend=CpuBackend(),
        data=data(),
        progress_interval_s=0,
        on_progress=lambda p: resumed_steps.append(p.step),
        resume=checkpoint,
    )
    assert resumed_steps[0] == 14 and resumed_steps[-1] == 40  # no step before the checkpoint again
    assert resumed["resumed_from_step"] == 13
    assert resumed["loss_curve"] == whole["loss_curve"]
    assert resumed["val_curve"] == whole["val_curve"]


def test_stop_ends_with_the_results_so_far_and_validates_the_partial_epoch(classifier):
    done: list[int] = []
    metrics = train_package(
        classifier,
        settings(),
        backend=CpuBackend(),
        data=data(),
        progress_interval_s=0,
        on_progress=lambda p: done.append(p.step),
        control=lambda: "stop" if len(done) == 15 else None,
    )
    assert metrics["steps"] == 15 and metrics["stopped"] == "user"
    assert metrics["epochs_done"] == 2 and metrics["val_accuracy"] is not None  # epoch 2 stopped halfway


def test_checkpoints_go_out_after_each_epoch_and_at_the_end_with_the_live_weights(classifier):
    taken: list[tuple[str, int]] = []
    train_package(
        classifier,
        settings(epochs=3),
        backend=CpuBackend(),
        data=data(),
        on_checkpoint=lambda c: taken.append((c.reason, c.step)),
    )
    assert taken == [("epoch", 10), ("epoch", 20), ("end", 30)]


def test_a_dataset_the_model_cannot_train_on_is_refused_with_a_sentence(classifier, regressor):
    with pytest.raises(RunFailed) as failure:
        train_package(regressor, settings(), backend=CpuBackend(), data=data())
    assert failure.value.message == (
        "The dataset has 2 classes, so output #0 must be (B, 2) class scores; it is (B, 1)."
    )
    with pytest.raises(RunFailed) as failure:
        train_package(classifier, settings(loss="mse"), backend=CpuBackend(), data=data())
    assert "targets are classes" in failure.value.message
    with pytest.raises(RunFailed) as failure:
        train_package(classifier, settings(), backend=CpuBackend(), data=data("regression"))
    assert failure.value.message == "The dataset's target is one number per sample, but output #0 is (B, 2)."


def test_weights_round_trip_in_both_formats_and_start_another_run(classifier):
    saved: list[Checkpoint] = []
    first = train_package(
        classifier, settings(), backend=CpuBackend(), data=data(), on_checkpoint=lambda c: saved.append(c)
    )
    state = {name: tensor.clone() for name, tensor in saved[-1].model.items()}
    for fmt in ("safetensors", "pt"):
        loaded = load_weights(weights_bytes(state, fmt))
        assert loaded.keys() == state.keys() and all(torch.equal(loaded[k], state[k]) for k in state)
    warm = train_package(classifier, settings(epochs=1), backend=CpuBackend(), data=data(), initial_weights=state)
    assert warm["first_loss"] < first["first_loss"] / 2  # it starts where the first run ended
    with pytest.raises(RunFailed) as failure:
        train_package(
            classifier, settings(), backend=CpuBackend(), data=data(), initial_weights={"nope": state["fc1.weight"]}
        )
    assert failure.value.message.startswith("The starting weights do not fit this model: RuntimeError:")


def test_a_file_that_is_not_a_checkpoint_is_refused():
    with pytest.raises(CheckpointError):
        Checkpoint.from_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        Checkpoint.from_bytes(weights_bytes({"w": torch.zeros(2)}, "pt"))
