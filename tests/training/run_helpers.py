"""Helpers shared by the run tests (a conftest is not importable; this module is)."""

from __future__ import annotations

import copy
from contextlib import AbstractContextManager

import torch

from training.runner import CudaBackend

# Input(4) → Linear(8) → BatchNorm1d → two heads: "a" (3 class scores) and "b" (one value).
TWO_HEADS = {
    "version": "0.2",
    "nodes": [
        {"id": "inp", "type": "Input", "params": {"shape": [4]}},
        {"id": "fc1", "type": "Linear", "params": {"out_features": 8}},
        {"id": "bn", "type": "BatchNorm1d", "params": {}},
        {"id": "a", "type": "Linear", "params": {"out_features": 3}},
        {"id": "b", "type": "Linear", "params": {"out_features": 1}},
    ],
    "edges": [["inp", "fc1"], ["fc1", "bn"], ["bn", "a"], ["bn", "b"]],
    "inputs": ["inp"],
    "outputs": ["a", "b"],
}

# Input(4) → wide (8) → fc1 (8) → add(wide, fc1) → act → out (5): without wide, the Add gets 4 and 8 features.
RESIDUAL = {
    "version": "0.2",
    "nodes": [
        {"id": "inp", "type": "Input", "params": {"shape": [4]}},
        {"id": "wide", "type": "Linear", "params": {"out_features": 8}},
        {"id": "fc1", "type": "Linear", "params": {"out_features": 8}},
        {"id": "add", "type": "Add", "params": {}},
        {"id": "act", "type": "ReLU", "params": {}},
        {"id": "out", "type": "Linear", "params": {"out_features": 5}},
    ],
    "edges": [["inp", "wide"], ["wide", "fc1"], ["wide", "add"], ["fc1", "add"], ["add", "act"], ["act", "out"]],
    "inputs": ["inp"],
    "outputs": ["out"],
}


def document(base: dict) -> dict:
    return copy.deepcopy(base)


class FakeCuda(CudaBackend):
    """A "GPU" that computes on the CPU: the runner's CUDA paths (mixed precision, the gradient scaler,
    peak memory, freeing memory after an out-of-memory error) without a GPU."""

    def __init__(self, *, bf16: bool = True, memory_fraction: float | None = None):
        super().__init__(0, memory_fraction)
        self.device = torch.device("cpu")
        self.bf16 = bf16
        self.freed = 0
        self.prepared = 0

    def available(self) -> bool:
        return True

    def label(self) -> str:
        return "cuda:0 (Fake GPU)"

    def prepare(self) -> None:
        self.prepared += 1

    def autocast(self, dtype: torch.dtype) -> AbstractContextManager:
        return torch.autocast("cpu", dtype=dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        return torch.amp.GradScaler("cpu")

    def supports_bf16(self) -> bool:
        return self.bf16

    def peak_memory(self) -> int:
        return 123_456

    def free_memory(self) -> None:
        self.freed += 1
        super().free_memory()  # gc.collect() and torch.cuda.empty_cache(), a no-op without CUDA
