"""Training on a real dataset: its batches, the validation metrics of each epoch, and when to stop early.

:class:`ArrayData` holds a whole dataset as two tensors (inputs and targets) with a seeded train/validation
split; :func:`codegen.smoke.train_package` takes it as ``data=`` and then trains on its batches instead of
random ones. Batches are drawn by indexing tensors that sit on the training device (moved there once), so
an epoch costs what the same loop written by hand costs. The order of each epoch is a permutation seeded by
``(seed, epoch)``: a run resumed from a checkpoint mid-epoch sees the batches it had not seen yet, no more.

No Django: the platform's worker (:mod:`training.runner`) builds an :class:`ArrayData` from a stored dataset.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .tensor import shape_text

TASKS = ("classification", "regression")
# What early stopping may watch; "min" metrics improve downwards.
STOP_METRICS = {"val_loss": "min", "val_accuracy": "max", "val_mae": "min"}
# Validation runs in batches this many times larger than training's (no gradients kept).
VAL_BATCH_FACTOR = 4


class DataProblem(ValueError):
    """A dataset that does not fit the model or the loss, with the sentence the user reads."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def steps_per_epoch(train_samples: int, batch_size: int) -> int:
    """Batches in one pass over ``train_samples``; a last batch of one sample is dropped (batch norm needs two)."""
    steps = math.ceil(train_samples / batch_size)
    if steps > 1 and train_samples % batch_size == 1:
        steps -= 1
    return max(steps, 1)


@dataclass
class ArrayData:
    """A dataset in memory: ``x`` (n, *input_shape) float32, ``y`` (n,) class indices or float targets."""

    x: torch.Tensor
    y: torch.Tensor
    train_index: torch.Tensor  # int64 positions into x and y
    val_index: torch.Tensor | None
    task: str  # one of TASKS
    classes: int | None = None  # classification: how many
    _order: dict[tuple[int, int], torch.Tensor] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise DataProblem(f"Unknown task {self.task!r}: choose one of {', '.join(TASKS)}.")
        if len(self.train_index) == 0:
            raise DataProblem("The training split is empty: the dataset needs more samples.")

    @property
    def train_samples(self) -> int:
        return len(self.train_index)

    @property
    def val_samples(self) -> int:
        return 0 if self.val_index is None else len(self.val_index)

    def steps_per_epoch(self, batch_size: int) -> int:
        return steps_per_epoch(self.train_samples, batch_size)

    def to(self, device: torch.device) -> ArrayData:
        """The same data on ``device``: moved once, so a step only indexes."""
        return ArrayData(
            self.x.to(device),
            self.y.to(device),
            self.train_index.to(device),
            None if self.val_index is None else self.val_index.to(device),
            self.task,
            self.classes,
        )

    def batch(self, epoch: int, index: int, batch_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch ``index`` (from 0) of ``epoch`` (from 1): the same batch whenever it is asked for again."""
        order = self._order.get((seed, epoch))
        if order is None:
            generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
            permutation = torch.randperm(self.train_samples, generator=generator).to(self.train_index.device)
            order = self.train_index[permutation]
            self._order.clear()  # one epoch at a time is all a run needs
            self._order[(seed, epoch)] = order
        rows = order[index * batch_size : (index + 1) * batch_size]
        return self.x[rows], self.y[rows]

    def val_batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self.val_index is None:
            return
        size = batch_size * VAL_BATCH_FACTOR
        for start in range(0, len(self.val_index), size):
            rows = self.val_index[start : start + size]
            yield self.x[rows], self.y[rows]


def loss_for_task(output: torch.Tensor, data: ArrayData, choice: str, name: str) -> Callable[..., torch.Tensor]:
    """The loss of output ``name`` against the dataset's targets: ``fn(output, y)``.

    ``auto`` is cross-entropy for a classification dataset and MSE for a regression one; a loss that does
    not suit the dataset's targets, or an output of the wrong shape, is a :class:`DataProblem`.
    """
    shown = shape_text(["B", *output.shape[1:]])
    if data.task == "classification":
        if choice not in ("auto", "cross_entropy"):
            raise DataProblem(
                f"This dataset's targets are classes, so it trains with cross-entropy, not {choice}: choose auto."
            )
        if output.dim() != 2 or output.shape[1] != data.classes:
            raise DataProblem(
                f"The dataset has {data.classes} classes, so output {name} must be (B, {data.classes}) class scores; "
                f"it is {shown}."
            )
        return lambda out, y: F.cross_entropy(out.float(), y)
    if choice == "cross_entropy":
        raise DataProblem("This dataset's target is a number (regression): choose mse, l1 or auto.")
    if output[0].numel() != 1:
        raise DataProblem(f"The dataset's target is one number per sample, but output {name} is {shown}.")
    loss = F.l1_loss if choice == "l1" else F.mse_loss
    return lambda out, y: loss(out.float().reshape(y.shape), y)


@dataclass(frozen=True)
class EpochResult:
    """One finished epoch: its mean training loss and the validation metrics (when there is a split)."""

    epoch: int
    epochs: int
    step: int
    train_loss: float
    val_loss: float | None = None
    val_accuracy: float | None = None
    val_mae: float | None = None
    best: bool = False
    measured: dict[str, float] = field(default_factory=dict)  # the document's metrics: train_<name>, val_<name>

    @classmethod
    def of(cls, epoch: int, epochs: int, step: int, best: bool, values: dict[str, Any]) -> EpochResult:
        """From ``train_loss`` and whatever validation measured (the fields named here, the rest ``measured``)."""
        named = {k: values[k] for k in ("train_loss", "val_loss", "val_accuracy", "val_mae") if k in values}
        rest = {k: v for k, v in values.items() if k not in named}
        return cls(epoch, epochs, step, best=best, measured=rest, **named)

    def payload(self) -> dict[str, Any]:
        """The WebSocket ``epoch`` message, without its ``type``."""
        return {
            **self.measured,
            "epoch": self.epoch,
            "epochs": self.epochs,
            "step": self.step,
            "train_loss": self.train_loss,
            "val_loss": self.val_loss,
            "val_accuracy": self.val_accuracy,
            "val_mae": self.val_mae,
            "best": self.best,
        }

    def metric(self, name: str) -> float | None:
        return getattr(self, name) if hasattr(self, name) else self.measured.get(name)


@torch.no_grad()
def evaluate(
    model: nn.Module, data: ArrayData, loss_fn: Callable[..., torch.Tensor], batch_size: int, autocast
) -> dict[str, float]:
    """Validation loss, and accuracy (classification) or mean absolute error (regression), over the split."""
    was_training = model.training
    model.eval()
    total_loss = torch.zeros((), device=data.x.device)
    score = torch.zeros((), device=data.x.device)
    try:
        for x, y in data.val_batches(batch_size):
            with autocast():
                out = model(x)
            out = out[0] if isinstance(out, tuple | list) else out
            total_loss += loss_fn(out, y).float() * len(y)
            if data.task == "classification":
                score += (out.argmax(dim=1) == y).sum()
            else:
                score += (out.float().reshape(y.shape) - y).abs().sum()
    finally:
        model.train(was_training)
    count = data.val_samples
    loss, value = (total_loss / count).item(), (score / count).item()
    return {"val_loss": loss, "val_accuracy" if data.task == "classification" else "val_mae": value}


@dataclass
class EarlyStop:
    """Stop once ``metric`` has not improved for ``patience`` epochs in a row."""

    metric: str
    patience: int
    best: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0

    def improved(self, value: float | None, epoch: int) -> bool:
        """Record ``value`` of ``epoch``; True when it is the best so far."""
        if value is None:
            return False
        better = STOP_METRICS[self.metric] == "min"
        if self.best is None or (value < self.best if better else value > self.best):
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def exhausted(self) -> bool:
        return self.patience > 0 and self.bad_epochs >= self.patience

    def state(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def restore(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.bad_epochs = state["best"], state["best_epoch"], state["bad_epochs"]


__all__ = [
    "STOP_METRICS",
    "TASKS",
    "ArrayData",
    "DataProblem",
    "EarlyStop",
    "EpochResult",
    "evaluate",
    "loss_for_task",
    "steps_per_epoch",
]
