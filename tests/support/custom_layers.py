"""A user's own layer for the CustomModule tests: importable, with parameters, on the tests' allow-list."""

from __future__ import annotations

import torch
from torch import nn


class GatedProjection(nn.Module):
    """``Linear(in_features → out_features)`` gated by a learned per-feature sigmoid, then scaled."""

    def __init__(self, in_features: int, out_features: int, scale: float = 1.0, bias: bool = True) -> None:
        super().__init__()
        self.proj = nn.Linear(in_features, out_features, bias=bias)
        self.gate = nn.Parameter(torch.zeros(out_features))
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x) * torch.sigmoid(self.gate) * self.scale


class ChannelMix(nn.Module):
    """A 1x1 convolution over channels whose kernel sizes come as a list (to check list kwargs)."""

    def __init__(self, channels: int, kernel: list[int]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=tuple(kernel), padding="same")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x)
