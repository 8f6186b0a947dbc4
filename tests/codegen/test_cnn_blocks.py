"""The blocks of torchvision's CNN classifiers compute what torchvision's own classes compute.

GoogLeNet's ``BasicConv2d`` and ``Inception``, MobileNetV2's and ShuffleNetV2's inverted residuals, SqueezeNet's
``Fire``, DenseNet's layer and transition and RegNet's ``ResBottleneckBlock``: each reference is torchvision's
class itself (``tests/support/torchvision_models.py``). The generated block loads the reference's ``state_dict``
by name with ``strict=True``, has its parameter count and gives the same output in eval mode. Then the render
rules, and the diagnostics for configurations torchvision's classes refuse or cannot build.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
import torch
from test_blocks import full_params, infer, render
from test_torchvision_blocks import assert_same, generated
from torch import nn

from codegen.blocks import BLOCK_CLASSES
from codegen.diagnostics import ShapeError
from codegen.ir import render_expr
from codegen.tensor import SEQUENCE, UNKNOWN, tensor
from tests.support.torchvision_models import torchvision_module


def reference(module: str, name: str, *args: Any, **kwargs: Any) -> nn.Module:
    torch.manual_seed(0)
    return torchvision_module(module, name)(*args, **kwargs)


# ---------------------------------------------------------------------------------------------
# Equivalence with torchvision's classes


@pytest.mark.parametrize(
    ("cin", "cout", "kernel", "stride", "padding", "size"),
    [(3, 64, 7, 2, 3, 16), (64, 64, 1, 1, 0, 8), (64, 192, 3, 1, 1, 8), (4, 8, 3, 2, 0, 9)],
)
def test_basic_conv2d_is_googlenets(cin, cout, kernel, stride, padding, size):
    ref = reference("googlenet", "BasicConv2d", cin, cout, kernel_size=kernel, stride=stride, padding=padding)
    block = generated("BasicConv2d", cin, size, out_channels=cout, kernel_size=kernel, stride=stride, padding=padding)
    assert_same(ref, block, torch.randn(2, cin, size, size))


@pytest.mark.parametrize(
    "config",
    [  # rows of torchvision's GoogLeNet, and a small one
        (192, 64, 96, 128, 16, 32, 32),
        (480, 192, 96, 208, 16, 48, 64),
        (832, 384, 192, 384, 48, 128, 128),
        (6, 2, 3, 4, 1, 5, 3),
    ],
)
def test_inception_is_googlenets(config):
    cin, *channels = config
    ref = reference("googlenet", "Inception", cin, *channels)
    names = ("c1", "c3_reduce", "c3", "c5_reduce", "c5", "pool_proj")
    block = generated("Inception", cin, 7, **dict(zip(names, channels)))
    assert_same(ref, block, torch.randn(2, cin, 7, 7))


@pytest.mark.parametrize(
    ("cin", "cout", "stride", "expand_ratio"),
    [(32, 16, 1, 1), (16, 24, 2, 6), (24, 24, 1, 6), (64, 96, 1, 6), (8, 8, 1, 1), (8, 12, 2, 3)],
)
def test_inverted_residual_v2_is_mobilenet_v2s(cin, cout, stride, expand_ratio):
    ref = reference("mobilenetv2", "InvertedResidual", cin, cout, stride, expand_ratio=expand_ratio)
    block = generated("InvertedResidualV2", cin, 8, out_channels=cout, stride=stride, expand_ratio=expand_ratio)
    assert_same(ref, block, torch.randn(2, cin, 8, 8))


def test_inverted_residual_v2_without_expansion_shifts_its_layer_indices_as_torchvision():
    keys = set(generated("InvertedResidualV2", 8, 4, out_channels=8, expand_ratio=1).state_dict())
    assert {"conv.0.0.weight", "conv.1.weight", "conv.2.running_var"} <= keys and "conv.3.weight" not in keys
    keys = set(generated("InvertedResidualV2", 8, 4, out_channels=8).state_dict())
    assert {"conv.0.0.weight", "conv.1.0.weight", "conv.2.weight", "conv.3.running_var"} <= keys


@pytest.mark.parametrize(("cin", "cout", "stride"), [(24, 116, 2), (116, 116, 1), (8, 8, 1), (6, 10, 2), (4, 8, 3)])
def test_shufflenet_v2_unit_is_shufflenet_v2s_inverted_residual(cin, cout, stride):
    ref = reference("shufflenetv2", "InvertedResidual", cin, cout, stride)
    block = generated("ShuffleNetV2Unit", cin, 9, out_channels=cout, stride=stride)
    assert_same(ref, block, torch.randn(2, cin, 9, 9))


@pytest.mark.parametrize("config", [(64, 16, 64, 64), (384, 64, 256, 256), (5, 2, 3, 4)])
def test_fire_is_squeezenets(config):
    cin, squeeze, e1, e3 = config
    ref = reference("squeezenet", "Fire", cin, squeeze, e1, e3)
    names = {"squeeze_channels": squeeze, "expand1x1_channels": e1, "expand3x3_channels": e3}
    block = generated("Fire", cin, 6, **names)
    assert_same(ref, block, torch.randn(2, cin, 6, 6))


def concatenated_dense_layer(*args: Any) -> nn.Module:
    """torchvision's ``_DenseLayer``, which returns only its new features, with them appended to its input."""

    class Concatenated(torchvision_module("densenet", "_DenseLayer")):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([x, super().forward(x)], 1)

    torch.manual_seed(0)
    return Concatenated(*args)


@pytest.mark.parametrize(("cin", "growth", "bn_size"), [(64, 32, 4), (96, 32, 4), (5, 3, 2)])
def test_dense_layer_is_densenets_with_its_output_appended(cin, growth, bn_size):
    ref = concatenated_dense_layer(cin, growth, bn_size, 0.0)
    block = generated("DenseLayer", cin, 6, growth_rate=growth, bn_size=bn_size)
    assert_same(ref, block, torch.randn(2, cin, 6, 6))


def test_a_chain_of_dense_layers_is_torchvisions_dense_block():
    """torchvision's block feeds every layer the list of all earlier features; a chain of concatenations is equal."""
    ref = reference("densenet", "_DenseBlock", 3, 8, bn_size=2, growth_rate=4, drop_rate=0.0)
    chain = nn.Sequential()
    for i in range(3):
        chain.add_module(f"denselayer{i + 1}", generated("DenseLayer", 8 + 4 * i, 5, growth_rate=4, bn_size=2))
    assert_same(ref, chain, torch.randn(2, 8, 5, 5))


@pytest.mark.parametrize(("cin", "cout", "size"), [(256, 128, 8), (7, 3, 5)])
def test_dense_transition_is_densenets(cin, cout, size):
    ref = reference("densenet", "_Transition", cin, cout)
    block = generated("DenseTransition", cin, size, out_channels=cout)
    assert_same(ref, block, torch.randn(2, cin, size, size))


@pytest.mark.parametrize(
    ("cin", "cout", "stride", "group_width", "multiplier", "se_ratio"),
    [  # regnet_y_400mf's first blocks, a RegNetX-style block without SE, one with a narrower bottleneck
        (32, 48, 2, 8, 1.0, 0.25),
        (48, 48, 1, 8, 1.0, 0.25),
        (48, 104, 2, 8, 1.0, 0.25),
        (16, 16, 1, 4, 1.0, None),
        (16, 32, 2, 4, 0.5, 0.25),
    ],
)
def test_res_bottleneck_block_is_regnets(cin, cout, stride, group_width, multiplier, se_ratio):
    norm = partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1)
    ref = reference("regnet", "ResBottleneckBlock", cin, cout, stride, norm, nn.ReLU, group_width, multiplier, se_ratio)
    params: dict[str, Any] = {"out_channels": cout, "stride": stride, "group_width": group_width}
    params |= {"bottleneck_multiplier": multiplier, "se_ratio": se_ratio or 0.0}
    block = generated("ResBottleneckBlock", cin, 8, **params)
    assert_same(ref, block, torch.randn(2, cin, 8, 8))


@pytest.mark.parametrize(
    ("cin", "cout", "depth", "stride", "stage_index"), [(32, 48, 1, 2, 1), (48, 104, 3, 2, 2), (8, 8, 2, 1, 4)]
)
def test_regnet_stage_is_regnets_any_stage_with_its_block_names(cin, cout, depth, stride, stage_index):
    norm = partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1)
    block_class = torchvision_module("regnet", "ResBottleneckBlock")
    args = (cin, cout, stride, depth, block_class, norm, nn.ReLU, 8, 1.0, 0.25)
    ref = reference("regnet", "AnyStage", *args, stage_index=stage_index)
    params: dict[str, Any] = {"out_channels": cout, "depth": depth, "stride": stride, "group_width": 8}
    params |= {"se_ratio": 0.25, "stage_index": stage_index}
    block = generated("RegNetStage", cin, 8, **params)
    assert_same(ref, block, torch.randn(2, cin, 8, 8))
    assert f"block{stage_index}-{depth - 1}.f.se.fc1.weight" in block.state_dict()


# ---------------------------------------------------------------------------------------------
# Render rules


@pytest.mark.parametrize(
    ("block", "params", "x", "source"),
    [
        (
            "BasicConv2d",
            {"out_channels": 64, "kernel_size": 7, "stride": 2, "padding": 3},
            tensor(3, 224, 224),
            "BasicConv2d(3, 64, 7, stride=2, padding=3)",
        ),
        ("BasicConv2d", {"out_channels": 64, "kernel_size": 1}, tensor(64, 56, 56), "BasicConv2d(64, 64, 1)"),
        ("Inception", {}, tensor(192, 28, 28), "Inception(192, 64, 96, 128, 16, 32, 32)"),
        (
            "InvertedResidualV2",
            {"out_channels": 16, "expand_ratio": 1},
            tensor(32, 8, 8),
            "InvertedResidualV2(32, 16, expand_ratio=1)",
        ),
        (
            "InvertedResidualV2",
            {"out_channels": 24, "stride": 2},
            tensor(16, 8, 8),
            "InvertedResidualV2(16, 24, stride=2)",
        ),
        (
            "ShuffleNetV2Unit",
            {"out_channels": 116, "stride": 2},
            tensor(24, 56, 56),
            "ShuffleNetV2Unit(24, 116, stride=2)",
        ),
        ("ShuffleNetV2Unit", {"out_channels": 116}, tensor(116, 28, 28), "ShuffleNetV2Unit(116, 116)"),
        (
            "Fire",
            {"squeeze_channels": 16, "expand1x1_channels": 64, "expand3x3_channels": 64},
            tensor(64, 55, 55),
            "Fire(64, 16, 64, 64)",
        ),
        ("DenseTransition", {"out_channels": 128}, tensor(256, 56, 56), "DenseTransition(256, 128)"),
        (
            "ResBottleneckBlock",
            {"out_channels": 48, "stride": 2, "group_width": 8, "se_ratio": 0.25},
            tensor(32, 112, 112),
            "ResBottleneckBlock(32, 48, stride=2, group_width=8, se_ratio=0.25)",
        ),
        ("ResBottleneckBlock", {"out_channels": 64}, tensor(64, 8, 8), "ResBottleneckBlock(64, 64)"),
        (
            "RegNetStage",
            {"out_channels": 104, "depth": 3, "group_width": 8, "se_ratio": 0.25, "stage_index": 2},
            tensor(48, 56, 56),
            "RegNetStage(48, 104, 3, group_width=8, se_ratio=0.25, stage_index=2)",
        ),
    ],
)
def test_the_render_rule_calls_the_class_leaving_defaults_out(block, params, x, source):
    code = render(block, full_params(block, **params), x)
    assert render_expr(code.init) == source
    assert [render_expr(stmt.value) for stmt in code.body] == ["self.block(x)"]


# ---------------------------------------------------------------------------------------------
# Shape rules


@pytest.mark.parametrize(
    ("block", "params", "x", "dims"),
    [
        (
            "BasicConv2d",
            {"out_channels": 64, "kernel_size": 7, "stride": 2, "padding": 3},
            tensor(3, 224, 224),
            (64, 112, 112),
        ),
        ("BasicConv2d", {"out_channels": 4, "kernel_size": 3}, tensor(3, 9, 5), (4, 7, 3)),
        ("Inception", {}, tensor(192, 28, 28), (256, 28, 28)),
        ("InvertedResidualV2", {"out_channels": 24, "stride": 2}, tensor(16, 112, 112), (24, 56, 56)),
        ("InvertedResidualV2", {"out_channels": 24, "stride": 2}, tensor(16, 7, 7), (24, 4, 4)),
        ("ShuffleNetV2Unit", {"out_channels": 116, "stride": 2}, tensor(24, 56, 56), (116, 28, 28)),
        ("ShuffleNetV2Unit", {"out_channels": 8, "stride": 3}, tensor(4, 7, 7), (8, 3, 3)),
        (
            "Fire",
            {"squeeze_channels": 16, "expand1x1_channels": 64, "expand3x3_channels": 32},
            tensor(64, 55, 55),
            (96, 55, 55),
        ),
        ("DenseTransition", {"out_channels": 128}, tensor(256, 56, 57), (128, 28, 28)),
        ("ResBottleneckBlock", {"out_channels": 48, "stride": 2, "group_width": 8}, tensor(32, 111, 112), (48, 56, 56)),
    ],
)
def test_shape_rules_give_torchvisions_output_sizes(block, params, x, dims):
    assert infer(block, full_params(block, **params), x).dims == dims


IMPOSSIBLE = [
    pytest.param(
        "BasicConv2d",
        {"out_channels": 8, "kernel_size": 7},
        tensor(3, 5, 5),
        "IMPOSSIBLE_OUTPUT",
        None,
        id="basic-conv-kernel-too-large",
    ),
    pytest.param(
        "BasicConv2d", {"out_channels": 8, "kernel_size": 3}, tensor(3, 5), "RANK", None, id="basic-conv-on-1d"
    ),
    pytest.param("Inception", {}, tensor(None, 8, 8), "NEEDS_SHAPE", None, id="inception-unknown-channels"),
    pytest.param("Inception", {}, tensor(10, 8, layout=SEQUENCE), "RANK", None, id="inception-on-a-sequence"),
    pytest.param(
        "InvertedResidualV2", {"out_channels": 8}, UNKNOWN, "NEEDS_SHAPE", None, id="mobilenet-v2-without-shape"
    ),
    pytest.param(
        "ShuffleNetV2Unit",
        {"out_channels": 7, "stride": 2},
        tensor(4, 8, 8),
        "PARAM_RANGE",
        ("out_channels", 8),
        id="shuffle-odd-out",
    ),
    pytest.param(
        "ShuffleNetV2Unit",
        {"out_channels": 16},
        tensor(8, 8, 8),
        "PARAM_RANGE",
        ("out_channels", 8),
        id="shuffle-stride-1-widens",
    ),
    pytest.param(
        "Fire",
        {"squeeze_channels": 1, "expand1x1_channels": 1, "expand3x3_channels": 1},
        tensor(None, 4, 4),
        "NEEDS_SHAPE",
        None,
        id="fire-unknown-channels",
    ),
    pytest.param(
        "DenseTransition", {"out_channels": 4}, tensor(8, 1, 8), "IMPOSSIBLE_OUTPUT", None, id="transition-on-height-1"
    ),
    pytest.param(
        "ResBottleneckBlock",
        {"out_channels": 48, "group_width": 32},
        tensor(48, 8, 8),
        "PARAM_RANGE",
        ("group_width", 24),
        id="regnet-group-width-not-dividing",
    ),
    pytest.param(
        "ResBottleneckBlock",
        {"out_channels": 8, "group_width": 16},
        tensor(8, 8, 8),
        "PARAM_RANGE",
        ("group_width", 8),
        id="regnet-group-wider-than-bottleneck",
    ),
    pytest.param(
        "ResBottleneckBlock",
        {"out_channels": 8, "bottleneck_multiplier": 0.01},
        tensor(8, 8, 8),
        "PARAM_RANGE",
        ("bottleneck_multiplier", 1.0),
        id="regnet-empty-bottleneck",
    ),
    pytest.param(
        "RegNetStage",
        {"out_channels": 48, "depth": 2, "group_width": 32},
        tensor(48, 8, 8),
        "PARAM_RANGE",
        ("group_width", 24),
        id="regnet-stage-group-width-not-dividing",
    ),
    pytest.param(
        "RegNetStage",
        {"out_channels": 2, "depth": 2, "group_width": 2, "se_ratio": 0.25},
        tensor(8, 8, 8),
        "PARAM_RANGE",
        ("se_ratio", 0.0),
        id="regnet-stage-empty-se-in-its-later-blocks",
    ),
    pytest.param(
        "ResBottleneckBlock",
        {"out_channels": 8, "se_ratio": 0.1},
        tensor(4, 8, 8),
        "PARAM_RANGE",
        ("se_ratio", 0.0),
        id="regnet-empty-se",
    ),
]


@pytest.mark.parametrize(("block", "params", "x", "code", "fix"), IMPOSSIBLE)
def test_impossible_configurations_raise_the_right_code_and_fix(block, params, x, code, fix):
    with pytest.raises(ShapeError) as error:
        infer(block, full_params(block, **params), x)
    assert error.value.code == code
    if fix is not None:
        param, value = fix
        assert error.value.suggestion == {"action": "set_param", "node": "b", "param": param, "value": value}
        # The suggested value is one the block accepts.
        infer(block, full_params(block, **params | {param: value}), x)


@pytest.mark.parametrize(
    ("block", "args"),
    [("ShuffleNetV2Unit", (4, 7, 2)), ("ShuffleNetV2Unit", (8, 16, 1)), ("ResBottleneckBlock", (48, 48, 1, 32))],
)
def test_the_classes_refuse_what_the_shape_rules_refuse(block, args):
    """Code written by hand (or a graph edited past the validator) fails at construction, not in forward."""
    with pytest.raises(ValueError):
        BLOCK_CLASSES[block](*args)
