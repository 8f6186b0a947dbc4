"""A generated package's training recipe, as the training loop (:mod:`codegen.smoke`) uses it.

A package whose graph has a loss stage exports ``build_loss``, ``example_targets`` (and ``build_metrics``
with metric nodes); one whose document names an optimizer exports ``build_optimizer`` and
``build_scheduler`` (see :mod:`codegen.recipe_render`). Runs then train what the document says: its loss on
the outputs it names, its metrics, its optimizer over the trainable parameters. A package without them
keeps the loop's own choices (the run's loss, optimizer and learning rate).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import torch
from torch import nn


class PackageRecipe:
    """The recipe parts a package has; each is None where the document leaves it to the run."""

    def __init__(self, package: Any):
        self.loss: nn.Module | None = package.build_loss() if hasattr(package, "build_loss") else None
        self.metrics: nn.Module | None = package.build_metrics() if hasattr(package, "build_metrics") else None
        self.example_targets: Callable[[int], dict[str, torch.Tensor]] | None = getattr(
            package, "example_targets", None
        )
        self.build_optimizer: Callable[[nn.Module], torch.optim.Optimizer] | None = getattr(
            package, "build_optimizer", None
        )
        self.build_scheduler: Callable[[torch.optim.Optimizer], Any] | None = getattr(package, "build_scheduler", None)
        # Each Target's sizes without the batch axis (a dataset's labels are reshaped to them), read once from a
        # sample drawn aside: the run's random stream stays as it is.
        self.target_shapes: dict[str, tuple[int, ...]] = {}
        if self.example_targets is not None:
            with torch.random.fork_rng(devices=[]):
                self.target_shapes = {name: tuple(t.shape[1:]) for name, t in self.example_targets(1).items()}
        self._sums: dict[str, torch.Tensor] = {}
        self._samples = 0

    def label_targets(self, target: str, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """A dataset's labels as the targets the loss and metrics read: ``target``'s, shaped as it is."""
        return {target: labels.reshape(len(labels), *self.target_shapes[target])}

    def to(self, device: torch.device) -> PackageRecipe:
        for part in (self.loss, self.metrics):
            if part is not None:
                part.to(device)
        return self

    def targets(self, batch_size: int, device: torch.device) -> dict[str, torch.Tensor]:
        assert self.example_targets is not None
        return {name: t.to(device, non_blocking=True) for name, t in self.example_targets(batch_size).items()}

    def step_loss(self, outputs: Any, targets: dict[str, torch.Tensor], batch_size: int) -> torch.Tensor:
        """The document's total loss of one batch; its metrics are added to the epoch's sums."""
        assert self.loss is not None
        loss = self.loss(outputs, targets)["loss"]
        if self.metrics is not None:
            with torch.no_grad():
                self._add(self.metrics(_detached(outputs), targets), batch_size)
        return loss

    def _add(self, measured: dict[str, torch.Tensor], samples: int) -> None:
        for name, value in measured.items():
            weighted = value.detach().float() * samples
            self._sums[name] = self._sums[name] + weighted if name in self._sums else weighted
        self._samples += samples

    def epoch_metrics(self, prefix: str) -> dict[str, float]:
        """The means of the metrics since the last call (one device-to-host copy), as ``<prefix><name>``."""
        if not self._sums or not self._samples:
            return {}
        names = list(self._sums)
        values = (torch.stack([self._sums[n] for n in names]) / self._samples).tolist()
        self._sums, self._samples = {}, 0
        return {f"{prefix}{name}": value for name, value in zip(names, values)}

    def evaluate(
        self,
        model: nn.Module,
        batches: Iterator[tuple[torch.Tensor, torch.Tensor]],
        target: str,
        autocast: Callable[[], AbstractContextManager],
    ) -> dict[str, float]:
        """``val_loss`` and ``val_<metric>`` over a dataset's validation batches, the model in eval mode."""
        assert self.loss is not None
        was_training = model.training
        model.eval()
        total: torch.Tensor | None = None
        samples = 0
        try:
            with torch.no_grad():
                for x, y in batches:
                    with autocast():
                        outputs = model(x)
                    targets = self.label_targets(target, y)
                    loss = self.loss(outputs, targets)["loss"].float() * len(y)
                    total = loss if total is None else total + loss
                    samples += len(y)
                    if self.metrics is not None:
                        self._add(self.metrics(outputs, targets), len(y))
        finally:
            model.train(was_training)
        if total is None:
            return {}
        return {"val_loss": (total / samples).item(), **self.epoch_metrics("val_")}


def _detached(outputs: Any) -> Any:
    if isinstance(outputs, dict):
        return {k: v.detach() for k, v in outputs.items()}
    if isinstance(outputs, tuple | list):
        return tuple(v.detach() for v in outputs)
    return outputs.detach()
