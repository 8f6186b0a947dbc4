"""The built-in blocks configured as torchvision's compute what torchvision's modules compute.

Each reference is torchvision's own module at toy sizes (tests/support/torchvision_models.py; the
product does not depend on torchvision, see docs/decisions.md); a VGG stage is built the way
``vgg.make_layers`` builds one. The generated block loads the reference's ``state_dict`` by name with ``strict=True`` and
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


def torchvision_bottleneck(inplanes: int, planes: int, stride: int, groups: int, base_width: int) -> nn.Module:
    """torchvision's ResNet ``Bottleneck``, with the projection ``ResNet._make_layer`` gives it when shapes change."""
    downsample = None
    if stride != 1 or inplanes != planes * 4:
        downsample = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))
    bottleneck = torchvision_module("resnet", "Bottleneck")
    return bottleneck(inplanes, planes, stride, downsample, groups, base_width)


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
    reference = torchvision_bottleneck(inplanes, planes, stride, groups, base_width)
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


def torchvision_mbconv(expand_ratio: int, kernel: int, stride: int, cin: int, cout: int, sd_prob: float) -> nn.Module:
    """torchvision's EfficientNet ``MBConv`` (B0-B7: BatchNorm2d, SiLU, SE width input // 4)."""
    config = torchvision_module("efficientnet", "MBConvConfig")(expand_ratio, kernel, stride, cin, cout, 1)
    return torchvision_module("efficientnet", "MBConv")(config, sd_prob, nn.BatchNorm2d)


@pytest.mark.parametrize(
    ("expand_ratio", "kernel", "stride", "cin", "cout"),
    [(1, 3, 1, 16, 16), (6, 3, 2, 16, 24), (6, 5, 1, 24, 24), (4, 5, 2, 8, 16)],
)
def test_mbconv_matches_torchvisions_efficientnet_mbconv(expand_ratio, kernel, stride, cin, cout):
    torch.manual_seed(4)
    reference = torchvision_mbconv(expand_ratio, kernel, stride, cin, cout, sd_prob=0.2)
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


def torchvision_inverted_residual(
    cin: int, kernel: int, expanded: int, cout: int, use_se: bool, use_hs: bool, stride: int
) -> nn.Module:
    """torchvision's MobileNetV3 ``InvertedResidual``, with MobileNetV3's BatchNorm(eps=0.001, momentum=0.01)."""
    config = torchvision_module("mobilenetv3", "InvertedResidualConfig")
    block = config(cin, kernel, expanded, cout, use_se, "HS" if use_hs else "RE", stride, 1, 1.0)
    norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
    return torchvision_module("mobilenetv3", "InvertedResidual")(block, norm_layer)


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
    reference = torchvision_inverted_residual(cin, kernel, expanded, cout, use_se, use_hs, stride)
    params: dict[str, Any] = {"expanded_channels": expanded, "out_channels": cout, "kernel_size": kernel}
    params |= {"stride": stride, "use_se": use_se, "activation": "hardswish" if use_hs else "relu"}
    block = generated("InvertedResidual", cin, 8, **params)
    assert_same(reference, block, torch.randn(2, cin, 8, 8))
