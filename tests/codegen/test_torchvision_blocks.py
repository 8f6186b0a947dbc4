"""The built-in blocks configured as torchvision's compute what torchvision's modules compute.

Each reference below is torchvision's module (torchvision/models/*.py) written out by hand at toy
sizes (torchvision is not a dependency, see docs/decisions.md): the same submodule names, the same
forward. The generated block loads the reference's ``state_dict`` by name with ``strict=True`` and
must give the same output in eval mode, with the same parameter count.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from test_blocks import build, full_params
from test_vit_reference import HEADS, HIDDEN, MLP, EncoderBlock
from torch import nn

from codegen.tensor import SEQUENCE, tensor


def generated(block: str, in_channels: int, size: int, **given: Any) -> nn.Module:
    """The module a ``block`` node with ``given`` params renders to, for a (in_channels, size, size) input."""
    return build(block, full_params(block, **given), tensor(in_channels, size, size))[0]


def randomise(module: nn.Module) -> None:
    """Non-trivial BatchNorm statistics and affine terms, so that a misplaced BN shows in the output."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.5, 0.5)


def assert_same(reference: nn.Module, block: nn.Module, x: torch.Tensor, prefix: str = "") -> None:
    """Weights copied by name (each reference key under ``prefix``), then the same output in eval mode."""
    torch.manual_seed(0)
    with torch.no_grad():
        randomise(reference)
        block.load_state_dict({prefix + k: v for k, v in reference.state_dict().items()}, strict=True)
        reference.eval(), block.eval()
        torch.testing.assert_close(block(x), reference(x), rtol=1e-4, atol=1e-5)
    assert sum(p.numel() for p in block.parameters()) == sum(p.numel() for p in reference.parameters())


class TorchvisionBottleneck(nn.Module):
    """torchvision.models.resnet.Bottleneck."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, groups: int = 1, base_width: int = 64) -> None:
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, padding=1, groups=groups, bias=False, dilation=1)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != planes * self.expansion:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes * self.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * self.expansion),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


@pytest.mark.parametrize(
    ("inplanes", "planes", "stride", "groups", "base_width"),
    [
        pytest.param(64, 16, 1, 1, 64, id="resnet-identity"),
        pytest.param(32, 16, 2, 1, 64, id="resnet-downsample"),
        pytest.param(32, 16, 2, 8, 4, id="resnext-32x4d-style"),
        pytest.param(64, 16, 1, 4, 16, id="resnext-identity"),
        pytest.param(32, 16, 1, 1, 128, id="wide-resnet-2"),
    ],
)
def test_bottleneck_matches_torchvisions_resnet_resnext_and_wide_resnet(inplanes, planes, stride, groups, base_width):
    torch.manual_seed(1)
    reference = TorchvisionBottleneck(inplanes, planes, stride, groups, base_width)
    params: dict[str, Any] = {"out_channels": planes * 4, "stride": stride}
    params |= {"groups": groups, "width_per_group": base_width}
    block = generated("Bottleneck", inplanes, 8, **params)
    assert_same(reference, block, torch.randn(2, inplanes, 8, 8))


def torchvision_vgg_stage(in_channels: int, widths: tuple[int, ...]) -> nn.Sequential:
    """One stage of torchvision.models.vgg.make_layers(cfg, batch_norm=True): its layers, flat."""
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        in_channels = width
    return nn.Sequential(*layers, nn.MaxPool2d(2, 2))


@pytest.mark.parametrize(("in_channels", "widths"), [(3, (8,)), (4, (8, 8)), (8, (16, 16, 16))])
def test_vgg_block_with_batch_norm_matches_a_torchvision_vgg_bn_stage(in_channels, widths):
    torch.manual_seed(2)
    reference = torchvision_vgg_stage(in_channels, widths)
    params = {"c1": widths[0], "c2": widths[-1], "convs": len(widths), "batch_norm": True}
    block = generated("VGGBlock", in_channels, 8, **params)
    # torchvision's features are one flat Sequential; the block's convolutions sit in ``layers``.
    assert_same(reference, block, torch.randn(2, in_channels, 8, 8), prefix="layers.")


def test_transformer_encoder_block_with_eps_1e_6_is_torchvisions_vit_encoder_block():
    torch.manual_seed(3)
    reference = EncoderBlock()  # torchvision's, at HIDDEN features and HEADS heads, LayerNorm(eps=1e-6)
    for norm in (reference.ln_1, reference.ln_2):  # random affine terms, so a swapped norm shows
        nn.init.normal_(norm.weight), nn.init.normal_(norm.bias)
    params = {"num_heads": HEADS, "mlp_ratio": MLP / HIDDEN, "eps": 1e-6}
    x_type = tensor(5, HIDDEN, layout=SEQUENCE)
    block = build("TransformerEncoderBlock", full_params("TransformerEncoderBlock", **params), x_type)[0]
    assert [m.eps for m in block.modules() if isinstance(m, nn.LayerNorm)] == [1e-6, 1e-6]
    # Inputs of tiny variance make eps matter: the default 1e-5 fails this comparison on every element.
    assert_same(reference, block, 1e-3 * torch.randn(2, 5, HIDDEN))
