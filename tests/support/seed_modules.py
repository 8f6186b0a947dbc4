"""The modules of the seeds' spec-based peers, written out as their examples print them (TorchArc's
``torcharc.build`` output, TorchBricks' bricks), so that the graphs drawn in TorchCanvas can be compared with
them: parameter counts, layer by layer. Also TorchBricks' ``Preprocessor``, the one part no node draws: the
tests use it as the user's own module (a CustomModule on the allow-list).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

# --- TorchArc ---------------------------------------------------------------------------------------------


def torcharc_conv(in_channels: int = 3) -> nn.Sequential:
    """``'layers': [[16, 4, 2, 0, 1], [16, 4, 1, 0, 1]]`` with batch norm, ReLU and Dropout2d(0.2)."""
    layers: list[nn.Module] = []
    for out, kernel, stride in ((16, 4, 2), (16, 4, 1)):
        layers += [nn.Conv2d(in_channels, out, kernel, stride), nn.BatchNorm2d(out), nn.ReLU(), nn.Dropout2d(0.2)]
        in_channels = out
    return nn.Sequential(*layers)


def torcharc_mlp(in_features: int = 8, sizes: Sequence[int] = (64, 32)) -> nn.Sequential:
    """``'layers': [64, 32]`` with batch norm, ReLU and Dropout(0.2)."""
    layers: list[nn.Module] = []
    for out in sizes:
        layers += [nn.Linear(in_features, out), nn.BatchNorm1d(out), nn.ReLU(), nn.Dropout(0.2)]
        in_features = out
    return nn.Sequential(*layers)


class FiLMMerge(nn.Module):
    """TorchArc's FiLMMerge: the conditioner scales and shifts each channel of the feature."""

    def __init__(self, feature_size: int, conditioner_size: int) -> None:
        super().__init__()
        self.conditioner_scale = nn.Linear(conditioner_size, feature_size)
        self.conditioner_shift = nn.Linear(conditioner_size, feature_size)

    def forward(self, feature: torch.Tensor, conditioner: torch.Tensor) -> torch.Tensor:
        scale, shift = self.conditioner_scale(conditioner), self.conditioner_shift(conditioner)
        view = list(scale.shape) + [1] * (feature.dim() - scale.dim())
        return scale.view(*view) * feature + shift.view(*view)


class Hydra(nn.Module):
    """TorchArc's DAG example: image → conv; FiLM by the vector; MLP; 8 outputs split into mean and std."""

    def __init__(self, image_size: int = 20) -> None:
        super().__init__()
        self.image = torcharc_conv()
        self.merge = FiLMMerge(16, 8)
        side = (image_size - 4) // 2 + 1 - 3
        self.Linear = torcharc_mlp(16 * side * side)
        self.out = nn.Linear(32, 8)

    def forward(self, image: torch.Tensor, vector: torch.Tensor) -> dict[str, torch.Tensor]:
        x = torch.flatten(self.merge(self.image(image), vector), 1)
        mean, std = torch.split(self.out(self.Linear(x)), [4, 4], dim=1)
        return {"mean": mean, "std": std}


class _Attention(nn.Module):
    """The time-series transformer's multi-head attention: separate query, key, value and output projections."""

    def __init__(self, d_model: int, q: int, v: int, h: int) -> None:
        super().__init__()
        self._W_q = nn.Linear(d_model, q * h)
        self._W_k = nn.Linear(d_model, q * h)
        self._W_v = nn.Linear(d_model, v * h)
        self._W_o = nn.Linear(h * v, d_model)


class _FeedForward(nn.Module):
    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self._linear1 = nn.Linear(d_model, d_ff)
        self._linear2 = nn.Linear(d_ff, d_model)


class _Encoder(nn.Module):
    def __init__(self, d_model: int, q: int, v: int, h: int, d_ff: int) -> None:
        super().__init__()
        self._selfAttention = _Attention(d_model, q, v, h)
        self._feedForward = _FeedForward(d_model, d_ff)
        self._layerNorm1 = nn.LayerNorm(d_model)
        self._layerNorm2 = nn.LayerNorm(d_model)


class _Decoder(_Encoder):
    def __init__(self, d_model: int, q: int, v: int, h: int, d_ff: int) -> None:
        super().__init__(d_model, q, v, h, d_ff)
        self._encoderDecoderAttention = _Attention(d_model, q, v, h)
        self._layerNorm3 = nn.LayerNorm(d_model)


class TSTransformerLayers(nn.Module):
    """The layers TorchArc's TSTransformer example prints (d_model 64, 8 heads of q = v = 8, 4 + 4 layers,
    feed-forward 2048, one input and one output channel): what its parameter count is made of."""

    def __init__(self) -> None:
        super().__init__()
        self.in_embedding = nn.Linear(1, 64)
        self.encoders = nn.Sequential(*[_Encoder(64, 8, 8, 8, 2048) for _ in range(4)])
        self.decoders = nn.ModuleList([_Decoder(64, 8, 8, 8, 2048) for _ in range(4)])
        self.out_linear = nn.Linear(64, 1)


# --- TorchBricks ------------------------------------------------------------------------------------------


class TinyModel(nn.Module):
    def __init__(self, n_channels: int, n_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(n_channels, n_features, kernel_size=1)


class ClassifierDummy(nn.Module):
    def __init__(self, num_classes: int, in_features: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_features, num_classes)


class ImageClassifier(nn.Module):
    """TorchBricks' head: average pooling, a Linear, softmax and argmax."""

    def __init__(self, num_classes: int, n_features: int) -> None:
        super().__init__()
        self.fc = nn.Linear(n_features, num_classes)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits = self.fc(torch.flatten(features.mean(dim=(2, 3), keepdim=True), 1))
        probabilities = logits.softmax(dim=1)
        return logits, probabilities, probabilities.argmax(dim=1)


class Preprocessor(nn.Module):
    """TorchBricks' Preprocessor: ``transforms.Normalize`` per channel (no parameters, nothing to train)."""

    def __init__(
        self, mean: Sequence[float] = (0.485, 0.456, 0.406), std: Sequence[float] = (0.229, 0.224, 0.225)
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(-1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(-1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
