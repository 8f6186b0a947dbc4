"""A run's state between two steps, so that training can stop here and go on elsewhere.

A :class:`Checkpoint` holds the weights, the optimizer's and the gradient scaler's state, the random state
and the loop's history (losses, epoch results, early stopping). :func:`codegen.smoke.train_package` hands
one to ``on_checkpoint`` and takes one back as ``resume=``: it then continues at the next step, in another
process or on another machine, without repeating a step before it.

The file is ``torch.save`` of plain containers and tensors, read back with ``weights_only=True``: loading a
checkpoint never runs code from it. Weights alone (what a user downloads) are :func:`weights_bytes`:
safetensors, or a ``.pt`` state dict.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO, Any

import torch

FORMAT = "torchcanvas-checkpoint/1"
REASONS = ("interval", "epoch", "pause", "end")
WEIGHT_FORMATS = ("safetensors", "pt")


class CheckpointError(ValueError):
    """A file that is not a checkpoint this version can resume from."""


@dataclass
class Checkpoint:
    """The loop's state after ``step`` (of ``epoch``); tensors are the live ones until :meth:`to_bytes`."""

    step: int
    epoch: int
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scaler: dict[str, Any] | None
    history: dict[str, Any]  # the loop's own record: losses, step times, epoch results, early stopping
    rng: dict[str, torch.Tensor]
    reason: str = "interval"  # why it was taken (one of REASONS); not stored
    scheduler: dict[str, Any] | None = None  # the document's learning-rate scheduler, where it has one

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        torch.save(
            {
                "format": FORMAT,
                "step": self.step,
                "epoch": self.epoch,
                "model": self.model,
                "optimizer": self.optimizer,
                "scaler": self.scaler,
                "history": self.history,
                "rng": self.rng,
                "scheduler": self.scheduler,
            },
            buffer,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes | IO[bytes]) -> Checkpoint:
        stream = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
        try:
            saved = torch.load(stream, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise CheckpointError(f"This file is not a readable checkpoint ({type(exc).__name__}).") from exc
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            raise CheckpointError(f"This file is not a {FORMAT} checkpoint.")
        fields = ("step", "epoch", "model", "optimizer", "scaler", "history", "rng")
        return cls(**{name: saved[name] for name in fields}, reason="resume", scheduler=saved.get("scheduler"))


def weights_bytes(state: dict[str, torch.Tensor], fmt: str = "safetensors") -> bytes:
    """A model's ``state_dict`` as a file: safetensors (shared tensors stored once each) or ``torch.save``."""
    tensors = {name: tensor.detach().to("cpu").contiguous().clone() for name, tensor in state.items()}
    if fmt == "pt":
        buffer = io.BytesIO()
        torch.save(tensors, buffer)
        return buffer.getvalue()
    if fmt != "safetensors":
        raise ValueError(f"Unknown weights format {fmt!r}: choose one of {', '.join(WEIGHT_FORMATS)}.")
    from safetensors.torch import save

    return save(tensors, metadata={"format": "pt", "producer": "torchcanvas"})


def load_weights(data: bytes) -> dict[str, torch.Tensor]:
    """A state dict from :func:`weights_bytes` output (either format, told apart by its first bytes)."""
    if data[:2] == b"PK":  # torch.save writes a ZIP
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    from safetensors.torch import load

    return load(data)


__all__ = ["REASONS", "WEIGHT_FORMATS", "Checkpoint", "CheckpointError", "load_weights", "weights_bytes"]
