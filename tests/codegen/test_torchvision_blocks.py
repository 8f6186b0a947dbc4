"""The built-in blocks configured as torchvision's compute what torchvision's modules compute.

Each reference below is torchvision's module (torchvision/models/*.py) written out by hand at toy
sizes (torchvision is not a dependency, see docs/decisions.md): the same submodule names, the same
forward. The generated block loads the reference's ``state_dict`` by name with ``strict=True`` and
must give the same output in eval mode, with the same parameter count.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
import torch
from test_blocks import build, full_params
from test_vit_reference import HEADS, HIDDEN, MLP
from torch import nn

from codegen.blocks import StochasticDepth
from codegen.tensor import SEQUENCE, tensor
from tests.support.torchvision_models import torchvision_module


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
    encoder_block = torchvision_module("vision_transformer", "EncoderBlock")
    reference = encoder_block(HEADS, HIDDEN, MLP, 0.0, 0.0)  # torchvision's, LayerNorm(eps=1e-6)
    for norm in (reference.ln_1, reference.ln_2):  # random affine terms, so a swapped norm shows
        nn.init.normal_(norm.weight), nn.init.normal_(norm.bias)
    params = {"num_heads": HEADS, "mlp_ratio": MLP / HIDDEN, "eps": 1e-6}
    x_type = tensor(5, HIDDEN, layout=SEQUENCE)
    block = build("TransformerEncoderBlock", full_params("TransformerEncoderBlock", **params), x_type)[0]
    assert [m.eps for m in block.modules() if isinstance(m, nn.LayerNorm)] == [1e-6, 1e-6]
    # Inputs of tiny variance make eps matter: the default 1e-5 fails this comparison on every element.
    assert_same(reference, block, 1e-3 * torch.randn(2, 5, HIDDEN))


class Conv2dNormActivation(nn.Sequential):
    """torchvision.ops.Conv2dNormActivation: conv (no bias before a norm), norm, optional activation."""

    def __init__(self, cin: int, cout: int, kernel_size: int, stride: int = 1, groups: int = 1, **kw: Any) -> None:
        norm_layer, activation_layer = kw.get("norm_layer", nn.BatchNorm2d), kw.get("activation_layer", nn.ReLU)
        padding = (kernel_size - 1) // 2
        layers = [nn.Conv2d(cin, cout, kernel_size, stride, padding, groups=groups, bias=False), norm_layer(cout)]
        if activation_layer is not None:
            layers.append(activation_layer())
        super().__init__(*layers)


class TorchvisionSqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation."""

    def __init__(self, input_channels: int, squeeze_channels: int, activation=nn.ReLU, scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(input)))))
        return scale * input


def make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision.models._utils._make_divisible."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class TorchvisionMBConv(nn.Module):
    """torchvision.models.efficientnet.MBConv (B0-B7: BatchNorm2d, SiLU, SE width input // 4)."""

    def __init__(self, expand_ratio: int, kernel: int, stride: int, cin: int, cout: int, sd_prob: float) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        expanded = cin * expand_ratio
        if expanded != cin:
            layers.append(Conv2dNormActivation(cin, expanded, 1, activation_layer=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded, expanded, kernel, stride, expanded, activation_layer=nn.SiLU))
        layers.append(TorchvisionSqueezeExcitation(expanded, max(1, cin // 4), activation=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded, cout, 1, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(sd_prob, "row")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


@pytest.mark.parametrize(
    ("expand_ratio", "kernel", "stride", "cin", "cout"),
    [(1, 3, 1, 16, 16), (6, 3, 2, 16, 24), (6, 5, 1, 24, 24), (4, 5, 2, 8, 12)],
)
def test_mbconv_matches_torchvisions_efficientnet_mbconv(expand_ratio, kernel, stride, cin, cout):
    torch.manual_seed(4)
    reference = TorchvisionMBConv(expand_ratio, kernel, stride, cin, cout, sd_prob=0.2)
    params = {"out_channels": cout, "expand_ratio": expand_ratio, "kernel_size": kernel, "stride": stride}
    block = generated("MBConv", cin, 8, **params, stochastic_depth_prob=0.2)
    assert_same(reference, block, torch.randn(2, cin, 8, 8))


def test_mbconv_stochastic_depth_drops_whole_samples_of_the_branch_in_training_only():
    torch.manual_seed(5)
    block = generated("MBConv", 8, 4, out_channels=8, stochastic_depth_prob=0.5)
    x = torch.randn(64, 8, 4, 4)
    with torch.no_grad():
        branch = block.block(x)
        block.train()
        y = block(x)
        block.eval()
        assert torch.equal(block(x), block.block(x) + x)
    kept = [torch.allclose(y[i], x[i] + 2 * branch[i], atol=1e-5) for i in range(64)]
    dropped = [torch.equal(y[i], x[i]) for i in range(64)]
    assert all(k != d for k, d in zip(kept, dropped))  # each sample either keeps its scaled branch or loses it
    assert 10 < sum(dropped) < 54


class TorchvisionInvertedResidual(nn.Module):
    """torchvision.models.mobilenetv3.InvertedResidual, with MobileNetV3's BatchNorm(eps=0.001, momentum=0.01)."""

    def __init__(self, cin: int, kernel: int, expanded: int, cout: int, use_se: bool, use_hs: bool, stride: int):
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        activation_layer = nn.Hardswish if use_hs else nn.ReLU
        conv = partial(Conv2dNormActivation, norm_layer=norm_layer)
        layers: list[nn.Module] = []
        if expanded != cin:
            layers.append(conv(cin, expanded, 1, activation_layer=activation_layer))
        layers.append(conv(expanded, expanded, kernel, stride, expanded, activation_layer=activation_layer))
        if use_se:
            squeeze = make_divisible(expanded // 4, 8)
            layers.append(TorchvisionSqueezeExcitation(expanded, squeeze, scale_activation=nn.Hardsigmoid))
        layers.append(conv(expanded, cout, 1, activation_layer=None))
        self.block = nn.Sequential(*layers)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result += input
        return result


@pytest.mark.parametrize(
    ("cin", "kernel", "expanded", "cout", "use_se", "use_hs", "stride"),
    [  # rows of torchvision's mobilenet_v3_large and _small bneck_conf
        (16, 3, 16, 16, False, False, 1),
        (16, 3, 64, 24, False, False, 2),
        (24, 5, 72, 40, True, False, 2),
        (40, 5, 120, 40, True, False, 1),
        (40, 3, 240, 80, False, True, 2),
        (80, 3, 480, 112, True, True, 1),
        (16, 3, 16, 16, True, False, 2),
        (96, 5, 576, 96, True, True, 1),
    ],
)
def test_inverted_residual_matches_torchvisions_mobilenet_v3_block(cin, kernel, expanded, cout, use_se, use_hs, stride):
    torch.manual_seed(6)
    reference = TorchvisionInvertedResidual(cin, kernel, expanded, cout, use_se, use_hs, stride)
    params: dict[str, Any] = {"expanded_channels": expanded, "out_channels": cout, "kernel_size": kernel}
    params |= {"stride": stride, "use_se": use_se, "activation": "hardswish" if use_hs else "relu"}
    block = generated("InvertedResidual", cin, 8, **params)
    assert_same(reference, block, torch.randn(2, cin, 8, 8))
