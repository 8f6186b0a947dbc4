"""The built-in paper blocks: real modules agree with their shape rules, render rules and param counts."""

from __future__ import annotations

import ast
import builtins
import inspect
import math
import textwrap
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from codegen.blocks import BLOCK_CLASSES, BLOCK_SPECS
from codegen.diagnostics import ShapeError
from codegen.dims import Sym
from codegen.ir import Evaluator, Ref, render_expr
from codegen.params import ParamError
from codegen.spec import NODE_SPECS, EmitCtx, InferCtx, NodeCode
from codegen.tensor import SEQUENCE, UNKNOWN, TensorType, tensor

EXAMPLES = settings(max_examples=10, deadline=None, derandomize=True)


def full_params(block: str, **given: Any) -> dict[str, Any]:
    """Every param of ``block``: defaults overridden by ``given``, each checked by its declaration."""
    spec = NODE_SPECS[block]
    values = {p.name: p.default for p in spec.params if not p.required} | given
    return {name: spec.param(name).coerce(value) for name, value in values.items()}


def infer(block: str, params: dict[str, Any], x: TensorType) -> TensorType:
    return NODE_SPECS[block].infer(InferCtx(node="b", params=params, inputs=[x], sources=["x"]))


def render(block: str, params: dict[str, Any], x: TensorType) -> NodeCode:
    ctx = EmitCtx(
        name="block",
        params=params,
        in_types=[x],
        out_type=infer(block, params, x),
        inputs=[Ref("x")],
        outputs=("y",),
        new_temp=lambda hint: hint,
    )
    return NODE_SPECS[block].emit(ctx)


def build(block: str, params: dict[str, Any], x: TensorType) -> tuple[nn.Module, NodeCode]:
    """The module the render rule describes, made by evaluating its constructor call."""
    code = render(block, params, x)
    return Evaluator(dict(BLOCK_CLASSES)).eval(code.init), code


def run(code: NodeCode, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The forward statements of the render rule, evaluated against ``module``."""
    holder = nn.Module()
    holder.block = module
    evaluator = Evaluator(dict(BLOCK_CLASSES), module=holder, local={"x": x})
    for stmt in code.body:
        evaluator.run(stmt)
    return evaluator.local["y"]


# ---------------------------------------------------------------------------------------------
# Random configurations: (params, input type); sizes small enough for a quick CPU forward.

sizes = st.integers(1, 9)


@st.composite
def se_cases(draw):
    channels = draw(st.integers(1, 24))
    spatial = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
    return {"reduction": draw(st.integers(1, channels))}, tensor(channels, *spatial)


@st.composite
def residual_cases(draw):
    params = {
        "out_channels": draw(st.integers(1, 8)),
        "kernel_size": draw(st.sampled_from([1, 3, 5])),
        "stride": draw(st.integers(1, 3)),
    }
    return params, tensor(draw(st.integers(1, 8)), draw(sizes), draw(sizes))


@st.composite
def bottleneck_cases(draw):
    expansion = draw(st.integers(1, 4))
    params = {
        "out_channels": draw(st.integers(expansion, 16)),
        "stride": draw(st.integers(1, 3)),
        "expansion": expansion,
        "groups": draw(st.sampled_from([1, 2, 4])),
        "width_per_group": draw(st.sampled_from([64, 128, 256])),
    }
    return params, tensor(draw(st.integers(1, 8)), draw(sizes), draw(sizes))


@st.composite
def vgg_cases(draw):
    params = {
        "c1": draw(st.integers(1, 6)),
        "c2": draw(st.integers(1, 6)),
        "k": draw(st.integers(1, 5)),
        "pool": draw(st.booleans()),
        "lrn": draw(st.booleans()),
        "convs": draw(st.integers(1, 3)),
        "batch_norm": draw(st.booleans()),
    }
    channels = draw(st.none() | st.integers(1, 4))  # None: the first convolution goes lazy
    return params, tensor(channels, draw(st.integers(2, 9)), draw(st.integers(2, 9)))


@st.composite
def inception_cases(draw):
    names = ("c1", "c3_reduce", "c3", "c5_reduce", "c5", "pool_proj")
    return {name: draw(st.integers(1, 5)) for name in names}, tensor(draw(st.integers(1, 6)), draw(sizes), draw(sizes))


@st.composite
def dense_layer_cases(draw):
    params = {
        "growth_rate": draw(st.integers(1, 6)),
        "bn_size": draw(st.integers(1, 4)),
        "drop_rate": draw(st.sampled_from([0.0, 0.2])),
    }
    return params, tensor(draw(st.integers(1, 8)), draw(sizes), draw(sizes))


def image_cases(**params: st.SearchStrategy) -> st.SearchStrategy:
    """Params drawn from the given strategies, with a (C, H, W) input of small random sizes."""
    return st.tuples(st.fixed_dictionaries(params), st.builds(tensor, st.integers(1, 8), sizes, sizes))


def mbconv_cases():
    return image_cases(
        out_channels=st.integers(1, 8),
        expand_ratio=st.integers(1, 4),
        kernel_size=st.sampled_from([1, 3, 5]),
        stride=st.integers(1, 3),
        se_ratio=st.sampled_from([0.0, 0.25, 0.5, 1.0]),
        stochastic_depth_prob=st.sampled_from([0.0, 0.5]),
    )


def inverted_residual_cases():
    return image_cases(
        expanded_channels=st.integers(1, 24),
        out_channels=st.integers(1, 8),
        kernel_size=st.sampled_from([1, 3, 5]),
        stride=st.integers(1, 3),
        use_se=st.booleans(),
        activation=st.sampled_from(["relu", "hardswish"]),
    )


@st.composite
def transformer_cases(draw):
    heads = draw(st.integers(1, 4))
    params = {
        "num_heads": heads,
        "mlp_ratio": draw(st.sampled_from([1.0, 1.5, 2.0, 4.0])),
        "dropout": draw(st.sampled_from([0.0, 0.1])),
        "eps": draw(st.sampled_from([1e-5, 1e-6])),
    }
    return params, tensor(draw(st.integers(1, 6)), heads * draw(st.integers(1, 6)), layout=SEQUENCE)


@st.composite
def positional_encoding_cases(draw):
    length = draw(st.integers(1, 6))
    params = {"max_len": draw(st.integers(length, 9)), "dropout": draw(st.sampled_from([0.0, 0.1]))}
    return params, tensor(length, draw(st.integers(1, 7)), layout=SEQUENCE)


# The blocks of torchvision's CNN classifiers (tests/codegen/test_cnn_blocks.py compares them with torchvision's).


@st.composite
def basic_conv_cases(draw):
    kernel = draw(st.integers(1, 3))
    params = {
        "out_channels": draw(st.integers(1, 8)),
        "kernel_size": kernel,
        "stride": draw(st.integers(1, 3)),
        "padding": draw(st.integers(0, 2)),
    }
    return params, tensor(draw(st.integers(1, 8)), draw(st.integers(kernel, 9)), draw(st.integers(kernel, 9)))


def inception_v1_cases():
    names = ("c1", "c3_reduce", "c3", "c5_reduce", "c5", "pool_proj")
    return image_cases(**{name: st.integers(1, 5) for name in names})


def inverted_residual_v2_cases():
    return image_cases(out_channels=st.integers(1, 8), stride=st.integers(1, 3), expand_ratio=st.integers(1, 4))


@st.composite
def shufflenet_unit_cases(draw):
    half, stride = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    channels = 2 * half if stride == 1 else draw(st.integers(1, 8))
    return {"out_channels": 2 * half, "stride": stride}, tensor(channels, draw(sizes), draw(sizes))


def fire_cases():
    names = ("squeeze_channels", "expand1x1_channels", "expand3x3_channels")
    return image_cases(**{name: st.integers(1, 6) for name in names})


@st.composite
def dense_transition_cases(draw):
    size = st.integers(2, 9)
    return {"out_channels": draw(st.integers(1, 8))}, tensor(draw(st.integers(1, 8)), draw(size), draw(size))


@st.composite
def res_bottleneck_cases(draw):
    group_width, groups = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    params = {
        "out_channels": group_width * groups,  # at bottleneck_multiplier 1: the group width divides the bottleneck
        "stride": draw(st.integers(1, 3)),
        "group_width": group_width,
        "se_ratio": draw(st.sampled_from([0.0, 0.25, 1.0])),
    }
    return params, tensor(draw(st.integers(4, 8)), draw(sizes), draw(sizes))


@st.composite
def regnet_stage_cases(draw):
    params, x = draw(res_bottleneck_cases())
    return params | {"depth": draw(st.integers(1, 3)), "stage_index": draw(st.integers(1, 4))}, x


@st.composite
def cnblock_cases(draw):
    params = {
        "layer_scale": draw(st.sampled_from([1e-6, 0.5, 1.0])),
        "stochastic_depth_prob": draw(st.sampled_from([0.0, 0.1])),
    }
    return params, tensor(draw(st.integers(1, 8)), draw(sizes), draw(sizes))


@st.composite
def swin_cases(draw):
    heads, window = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    params = {
        "num_heads": heads,
        "window_size": window,
        "shift_size": draw(st.integers(0, window // 2)),
        "mlp_ratio": draw(st.sampled_from([1.0, 2.0, 4.0])),
        "stochastic_depth_prob": draw(st.sampled_from([0.0, 0.1])),
    }
    return params, tensor(draw(sizes), draw(sizes), heads * draw(st.integers(1, 4)), layout="BHWC")


@st.composite
def patch_merging_cases(draw):
    return {}, tensor(draw(sizes), draw(sizes), draw(st.integers(1, 8)), layout="BHWC")


CASES = {
    "SEBlock": se_cases(),
    "ResidualBlock": residual_cases(),
    "Bottleneck": bottleneck_cases(),
    "VGGBlock": vgg_cases(),
    "InceptionBlock": inception_cases(),
    "DenseLayer": dense_layer_cases(),
    "MBConv": mbconv_cases(),
    "InvertedResidual": inverted_residual_cases(),
    "TransformerEncoderBlock": transformer_cases(),
    "PositionalEncoding": positional_encoding_cases(),
    "BasicConv2d": basic_conv_cases(),
    "Inception": inception_v1_cases(),
    "InvertedResidualV2": inverted_residual_v2_cases(),
    "ShuffleNetV2Unit": shufflenet_unit_cases(),
    "Fire": fire_cases(),
    "DenseTransition": dense_transition_cases(),
    "ResBottleneckBlock": res_bottleneck_cases(),
    "RegNetStage": regnet_stage_cases(),
    "CNBlock": cnblock_cases(),
    "SwinTransformerBlock": swin_cases(),
    "PatchMerging": patch_merging_cases(),
}


def test_every_block_spec_has_random_cases_here():
    assert set(CASES) == {spec.type for spec in BLOCK_SPECS}


@pytest.mark.parametrize("block", sorted(CASES))
@EXAMPLES
@given(data=st.data())
def test_a_real_forward_and_backward_match_the_shape_rule(block, data):
    given_params, x_type = data.draw(CASES[block])
    params = full_params(block, **given_params)
    expected = infer(block, params, x_type)
    module, code = build(block, params, x_type)
    x = torch.randn(2, *(3 if d is None else d for d in x_type.dims), requires_grad=True)

    y = run(code, module, x)
    y.square().mean().backward()

    assert tuple(y.shape[1:]) == expected.dims
    assert expected.layout == x_type.layout
    assert x.grad is not None
    assert all(p.grad is not None for p in module.parameters())


@pytest.mark.parametrize("block", sorted(CASES))
def test_spec_defaults_are_the_class_defaults_and_name_its_parameters(block):
    spec = NODE_SPECS[block]
    signature = list(inspect.signature(spec.block_class).parameters.values())
    assert [p.name for p in signature[1:]] == [p.name for p in spec.params]
    for declared, real in zip(spec.params, signature[1:]):
        if real.default is not inspect.Parameter.empty:
            assert declared.default == real.default and type(declared.default) is type(real.default)
    assert spec.category == "block" and spec.composite and spec.paper
    assert spec.block_class is BLOCK_CLASSES[block]


def test_every_class_has_a_docstring_citing_its_paper():
    for cls in BLOCK_CLASSES.values():
        assert "arxiv.org/abs/" in cls.__doc__, cls.__name__


# ---------------------------------------------------------------------------------------------
# Render rules


@pytest.mark.parametrize(
    ("block", "params", "x", "source"),
    [
        ("SEBlock", {}, tensor(64, 32, 32), "SEBlock(64)"),
        ("SEBlock", {"reduction": 4}, tensor(64, 100), "SEBlock(64, reduction=4)"),
        ("ResidualBlock", {"out_channels": 128, "stride": 2}, tensor(64, 56, 56), "ResidualBlock(64, 128, stride=2)"),
        ("Bottleneck", {"out_channels": 256}, tensor(64, 56, 56), "Bottleneck(64, 256)"),
        ("VGGBlock", {"c1": 64, "c2": 64, "k": 3, "pool": True}, UNKNOWN, "VGGBlock(None, 64, 64)"),
        ("VGGBlock", {"c1": 256, "c2": 256, "convs": 3}, tensor(128, 56, 56), "VGGBlock(128, 256, 256, convs=3)"),
        ("InceptionBlock", {}, tensor(192, 28, 28), "InceptionBlock(192, 64, 96, 128, 16, 32, 32)"),
        ("DenseLayer", {"drop_rate": 0.2}, tensor(64, 8, 8), "DenseLayer(64, drop_rate=0.2)"),
        (
            "MBConv",
            {"out_channels": 24, "expand_ratio": 6, "kernel_size": 5, "stride": 2},
            tensor(16, 64, 64),
            "MBConv(16, 24, expand_ratio=6, kernel_size=5, stride=2)",
        ),
        (
            "MBConv",
            {"out_channels": 16, "expand_ratio": 6, "stochastic_depth_prob": 0.2},
            tensor(16, 8, 8),
            "MBConv(16, 16, expand_ratio=6, stochastic_depth_prob=0.2)",
        ),
        (
            "InvertedResidual",
            {"expanded_channels": 72, "out_channels": 40, "kernel_size": 5, "stride": 2, "use_se": True},
            tensor(24, 56, 56),
            "InvertedResidual(24, 72, 40, kernel_size=5, stride=2, use_se=True)",
        ),
        (
            "InvertedResidual",
            {"expanded_channels": 240, "out_channels": 80, "activation": "hardswish"},
            tensor(40, 28, 28),
            'InvertedResidual(40, 240, 80, activation="hardswish")',
        ),
        (
            "TransformerEncoderBlock",
            {"num_heads": 4},
            tensor(197, 64, layout=SEQUENCE),
            "TransformerEncoderBlock(64, num_heads=4)",
        ),
        (
            "PositionalEncoding",
            {"max_len": 64},
            tensor(64, 128, layout=SEQUENCE),
            "PositionalEncoding(128, max_len=64)",
        ),
        (
            "PositionalEncoding",
            {"dropout": 0.1},
            tensor(None, 16, layout=SEQUENCE),
            "PositionalEncoding(16, dropout=0.1)",
        ),
    ],
)
def test_the_render_rule_calls_the_class_leaving_defaults_out(block, params, x, source):
    code = render(block, full_params(block, **params), x)
    assert render_expr(code.init) == source
    assert [render_expr(stmt.value) for stmt in code.body] == ["self.block(x)"]


def test_symbolic_sizes_render_as_expressions():
    params = {"reduction": Sym("reduction")}
    assert (
        render_expr(render("SEBlock", params, tensor(Sym("channels"), 8)).init)
        == "SEBlock(channels, reduction=reduction)"
    )


# ---------------------------------------------------------------------------------------------
# Shape rules: symbolic and unknown sizes, seed graphs, impossible configurations


def symbolic(block: str) -> dict[str, Any]:
    """Every int param as a symbol of its own name; the other params at their defaults."""
    params = full_params(block, **{p.name: 1 for p in NODE_SPECS[block].params if p.required})
    return {name: Sym(name) if type(value) is int else value for name, value in params.items()}


@pytest.mark.parametrize("block", sorted(CASES))
def test_shape_rules_accept_symbolic_params_and_sizes(block):
    layout = SEQUENCE if block in ("TransformerEncoderBlock", "PositionalEncoding") else None
    x = tensor(Sym("n"), Sym("channels"), layout=layout) if layout else tensor(Sym("channels"), 32, Sym("w"))
    if block in ("SwinTransformerBlock", "PatchMerging"):  # Swin reads (B, H, W, C)
        x = tensor(32, Sym("w"), Sym("channels"), layout="BHWC")
    out = infer(block, symbolic(block), x)
    assert out.rank == x.rank


def test_symbolic_channel_counts_come_out_as_expressions():
    x = tensor(Sym("channels"), 8, 8)
    assert str(infer("InceptionBlock", symbolic("InceptionBlock"), x).dims[0]) == "c1 + c3 + c5 + pool_proj"
    assert str(infer("DenseLayer", symbolic("DenseLayer"), x).dims[0]) == "channels + growth_rate"
    assert infer("ResidualBlock", symbolic("ResidualBlock"), x).dims == (Sym("out_channels"), None, None)


def test_the_seed_vgg_graph_goes_lazy_without_an_input_shape():
    x = UNKNOWN
    for c in (64, 128, 256, 512, 512):
        x = infer("VGGBlock", full_params("VGGBlock", c1=c, c2=c, k=3, pool=True), x)
    assert x.dims == (512, None, None)


def test_vgg16_stages_take_224_pixels_down_to_7():
    x = tensor(3, 224, 224)
    for c, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        x = infer("VGGBlock", full_params("VGGBlock", c1=c, c2=c, convs=convs), x)
    assert x.dims == (512, 7, 7)


IMPOSSIBLE = [
    pytest.param("SEBlock", {"reduction": 16}, tensor(8, 4, 4), "PARAM_RANGE", id="se-reduction-above-channels"),
    pytest.param("SEBlock", {}, UNKNOWN, "NEEDS_SHAPE", id="se-without-input-shape"),
    pytest.param("SEBlock", {}, tensor(64), "RANK", id="se-on-flat-features"),
    pytest.param("SEBlock", {}, tensor(10, 64, layout=SEQUENCE), "LAYOUT", id="se-on-a-sequence"),
    pytest.param("SEBlock", {}, TensorType((10,), dtype="int64"), "DTYPE", id="se-on-token-ids"),
    pytest.param(
        "ResidualBlock", {"out_channels": 8, "kernel_size": 4}, tensor(8, 8, 8), "PARAM_RANGE", id="even-kernel"
    ),
    pytest.param("ResidualBlock", {"out_channels": 8}, tensor(8, 8), "RANK", id="residual-on-1d"),
    pytest.param(
        "ResidualBlock", {"out_channels": 8}, tensor(None, 8, 8), "NEEDS_SHAPE", id="residual-unknown-channels"
    ),
    pytest.param("Bottleneck", {"out_channels": 2}, tensor(8, 8, 8), "PARAM_RANGE", id="bottleneck-without-width"),
    pytest.param("VGGBlock", {"c1": 8, "c2": 8}, tensor(3, 1, 8), "IMPOSSIBLE_OUTPUT", id="vgg-pool-on-height-1"),
    pytest.param("InceptionBlock", {}, tensor(None, 8, 8), "NEEDS_SHAPE", id="inception-unknown-channels"),
    pytest.param("DenseLayer", {}, UNKNOWN, "NEEDS_SHAPE", id="dense-layer-without-input-shape"),
    pytest.param("MBConv", {"out_channels": 8, "kernel_size": 2}, tensor(8, 8, 8), "PARAM_RANGE", id="mbconv-even"),
    pytest.param(
        "InvertedResidual",
        {"expanded_channels": 16, "out_channels": 8, "kernel_size": 4},
        tensor(8, 8, 8),
        "PARAM_RANGE",
        id="inverted-residual-even",
    ),
    pytest.param(
        "InvertedResidual",
        {"expanded_channels": 16, "out_channels": 8},
        tensor(8, 5, layout=SEQUENCE),
        "RANK",
        id="inverted-residual-on-a-sequence",
    ),
    pytest.param("TransformerEncoderBlock", {}, tensor(10, 30, layout=SEQUENCE), "SHAPE", id="heads-not-dividing"),
    pytest.param("TransformerEncoderBlock", {}, tensor(64, 10), "LAYOUT", id="transformer-on-channels-first"),
    pytest.param("TransformerEncoderBlock", {}, tensor(None, layout=SEQUENCE), "RANK", id="transformer-on-flat"),
    pytest.param(
        "TransformerEncoderBlock", {"mlp_ratio": 0.01}, tensor(4, 8, layout=SEQUENCE), "PARAM_RANGE", id="empty-mlp"
    ),
    pytest.param(
        "PositionalEncoding", {"max_len": 8}, tensor(9, 16, layout=SEQUENCE), "PARAM_RANGE", id="longer-than-max-len"
    ),
    pytest.param("PositionalEncoding", {}, tensor(16, 9), "LAYOUT", id="positions-on-channels-first"),
    pytest.param(
        "PositionalEncoding", {}, tensor(9, None, layout=SEQUENCE), "NEEDS_SHAPE", id="positions-unknown-size"
    ),
]


@pytest.mark.parametrize(("block", "params", "x", "code"), IMPOSSIBLE)
def test_impossible_configurations_raise_the_right_code(block, params, x, code):
    with pytest.raises(ShapeError) as error:
        infer(block, full_params(block, **params), x)
    assert error.value.code == code


def test_an_se_reduction_too_large_suggests_one_that_fits():
    with pytest.raises(ShapeError) as error:
        infer("SEBlock", full_params("SEBlock"), tensor(8, 4, 4))
    assert error.value.message == "reduction 16 leaves no hidden units for 8 channels; use a reduction ≤ 8"
    assert error.value.suggestion == {"action": "set_param", "node": "b", "param": "reduction", "value": 8}


def test_a_bottleneck_too_narrow_for_its_width_per_group_suggests_the_least_that_works():
    params = full_params("Bottleneck", out_channels=64, width_per_group=3)
    with pytest.raises(ShapeError) as error:
        infer("Bottleneck", params, tensor(8, 4, 4))
    assert error.value.message == (
        "width_per_group 3 leaves no inner width: (out_channels // expansion) * width_per_group // 64 "
        "is 16 * 3 // 64 = 0; use width_per_group ≥ 4"
    )
    assert error.value.suggestion == {"action": "set_param", "node": "b", "param": "width_per_group", "value": 4}
    assert infer("Bottleneck", params | {"width_per_group": 4}, tensor(8, 4, 4)).dims == (64, 4, 4)


@pytest.mark.parametrize(
    ("params", "x", "warned"),
    [
        ({"out_channels": 16, "stochastic_depth_prob": 0.2}, tensor(16, 8, 8), False),
        ({"out_channels": 24, "stochastic_depth_prob": 0.2}, tensor(16, 8, 8), True),
        ({"out_channels": 16, "stride": 2, "stochastic_depth_prob": 0.2}, tensor(16, 8, 8), True),
        ({"out_channels": 24}, tensor(16, 8, 8), False),
    ],
)
def test_stochastic_depth_on_an_mbconv_without_a_residual_is_a_warning(params, x, warned):
    ctx = InferCtx(node="b", params=full_params("MBConv", **params), inputs=[x], sources=["x"])
    NODE_SPECS["MBConv"].infer(ctx)
    if not warned:
        assert ctx.warnings == []
        return
    [warning] = ctx.warnings
    assert warning.code == "PARAM_RANGE"
    assert warning.message.startswith("stochastic_depth_prob 0.2 has no effect")
    assert warning.suggestion == {"action": "set_param", "node": "b", "param": "stochastic_depth_prob", "value": 0.0}


def test_a_sequence_longer_than_max_len_suggests_its_length():
    with pytest.raises(ShapeError) as error:
        infer("PositionalEncoding", full_params("PositionalEncoding", max_len=64), tensor(100, 16, layout=SEQUENCE))
    assert error.value.message == "max_len 64 is shorter than the sequence's 100 steps; use a max_len ≥ 100"
    assert error.value.suggestion == {"action": "set_param", "node": "b", "param": "max_len", "value": 100}


def test_a_sequence_of_unknown_length_is_left_to_the_run_time_check():
    x = tensor(None, 16, layout=SEQUENCE)
    assert infer("PositionalEncoding", full_params("PositionalEncoding", max_len=1), x) == x


@pytest.mark.parametrize(
    ("block", "name", "value"),
    [
        ("SEBlock", "reduction", 0),
        ("ResidualBlock", "stride", 0),
        ("Bottleneck", "groups", 0),
        ("Bottleneck", "width_per_group", 0),
        ("VGGBlock", "c1", 0),
        ("DenseLayer", "drop_rate", 1.0),
        ("MBConv", "se_ratio", 1.5),
        ("MBConv", "stochastic_depth_prob", 1.5),
        ("InvertedResidual", "expanded_channels", 0),
        ("InvertedResidual", "activation", "relu6"),
        ("TransformerEncoderBlock", "dropout", -0.1),
        ("TransformerEncoderBlock", "eps", -1e-6),
        ("PositionalEncoding", "max_len", 0),
        ("PositionalEncoding", "dropout", 1.0),
    ],
)
def test_declared_ranges_reject_values_outside_them(block, name, value):
    with pytest.raises(ParamError) as error:
        NODE_SPECS[block].param(name).coerce(value)
    assert error.value.code == "PARAM_RANGE"


# ---------------------------------------------------------------------------------------------
# The classes themselves


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def resnet(block: type, depths: tuple[int, ...], widths: tuple[int, ...]) -> nn.Module:
    """A torchvision-layout ResNet: stem, stages of ``block`` (each but the first starting strided), head."""
    layers: list[nn.Module] = [
        nn.Conv2d(3, 64, 7, 2, 3, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
    ]
    channels = 64
    for stage, (depth, width) in enumerate(zip(depths, widths)):
        for i in range(depth):
            layers.append(block(channels, width, stride=2 if i == 0 and stage > 0 else 1))
            channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 1000)]
    return nn.Sequential(*layers)


def test_resnet18_from_residual_blocks_has_torchvisions_11689512_params():
    with torch.device("meta"):
        model = resnet(BLOCK_CLASSES["ResidualBlock"], (2, 2, 2, 2), (64, 128, 256, 512))
    assert count(model) == 11_689_512


def test_resnet50_from_bottlenecks_has_torchvisions_25557032_params():
    with torch.device("meta"):
        model = resnet(BLOCK_CLASSES["Bottleneck"], (3, 4, 6, 3), (256, 512, 1024, 2048))
    assert count(model) == 25_557_032


def test_vgg11_bn_from_vgg_blocks_has_torchvisions_132868840_params():
    stages = ((64, 1), (128, 1), (256, 2), (512, 2), (512, 2))  # configuration A
    with torch.device("meta"):
        blocks = [
            BLOCK_CLASSES["VGGBlock"](3 if i == 0 else stages[i - 1][0], c, c, convs=n, batch_norm=True)
            for i, (c, n) in enumerate(stages)
        ]
        head = [nn.Flatten(), nn.Linear(512 * 7 * 7, 4096), nn.Linear(4096, 4096), nn.Linear(4096, 1000)]
        model = nn.Sequential(*blocks, *head)
    assert count(model) == 132_868_840


def test_efficientnet_b0_from_mbconvs_has_torchvisions_5288548_params():
    stages = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3))
    stages += ((6, 5, 2, 192, 4), (6, 3, 1, 320, 1))  # expand_ratio, kernel, stride, channels, blocks
    with torch.device("meta"):
        layers: list[nn.Module] = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.SiLU()]
        channels = 32
        for expand, kernel, stride, width, depth in stages:
            for i in range(depth):
                layers.append(BLOCK_CLASSES["MBConv"](channels, width, expand, kernel, stride if i == 0 else 1))
                channels = width
        layers += [nn.Conv2d(320, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.Linear(1280, 1000)]
        model = nn.Sequential(*layers)
    assert count(model) == 5_288_548


MOBILENET_V3_LARGE = (  # torchvision's bneck_conf: in, kernel, expanded, out, SE, activation, stride
    (16, 3, 16, 16, False, "relu", 1),
    (16, 3, 64, 24, False, "relu", 2),
    (24, 3, 72, 24, False, "relu", 1),
    (24, 5, 72, 40, True, "relu", 2),
    (40, 5, 120, 40, True, "relu", 1),
    (40, 5, 120, 40, True, "relu", 1),
    (40, 3, 240, 80, False, "hardswish", 2),
    (80, 3, 200, 80, False, "hardswish", 1),
    (80, 3, 184, 80, False, "hardswish", 1),
    (80, 3, 184, 80, False, "hardswish", 1),
    (80, 3, 480, 112, True, "hardswish", 1),
    (112, 3, 672, 112, True, "hardswish", 1),
    (112, 5, 672, 160, True, "hardswish", 2),
    (160, 5, 960, 160, True, "hardswish", 1),
    (160, 5, 960, 160, True, "hardswish", 1),
)


def test_mobilenet_v3_large_from_inverted_residuals_has_torchvisions_5483032_params():
    with torch.device("meta"):
        layers: list[nn.Module] = [nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16)]
        for cin, kernel, expanded, out, se, activation, stride in MOBILENET_V3_LARGE:
            layers.append(BLOCK_CLASSES["InvertedResidual"](cin, expanded, out, kernel, stride, se, activation))
        layers += [nn.Conv2d(160, 960, 1, bias=False), nn.BatchNorm2d(960), nn.Linear(960, 1280), nn.Linear(1280, 1000)]
        model = nn.Sequential(*layers)
    assert count(model) == 5_483_032


def test_a_vgg_block_without_input_channels_is_lazy_until_its_first_forward():
    block = BLOCK_CLASSES["VGGBlock"](None, 8, 8)
    assert isinstance(block.layers[0], nn.LazyConv2d)

    y = block(torch.randn(2, 3, 16, 16))

    assert y.shape == (2, 8, 8, 8)
    assert count(block) == (3 * 9 * 8 + 8) + (8 * 9 * 8 + 8)


def test_optional_parts_become_identities():
    assert isinstance(BLOCK_CLASSES["ResidualBlock"](64, 64).downsample, nn.Identity)
    assert isinstance(BLOCK_CLASSES["ResidualBlock"](64, 128).downsample, nn.Sequential)
    assert isinstance(BLOCK_CLASSES["VGGBlock"](3, 8, 8, pool=False).pool, nn.Identity)
    assert isinstance(BLOCK_CLASSES["DenseLayer"](8).dropout, nn.Identity)
    # torchvision's MBConv and InvertedResidual leave skipped stages out of ``block``, renumbering the rest.
    assert [type(m).__name__ for m in BLOCK_CLASSES["MBConv"](8, 8, expand_ratio=1, se_ratio=0.0).block] == [
        "Sequential",
        "Sequential",
    ]
    assert [type(m).__name__ for m in BLOCK_CLASSES["InvertedResidual"](8, 8, 8, use_se=True).block] == [
        "Sequential",
        "SqueezeExcitation",
        "Sequential",
    ]


def test_the_residual_block_keeps_torchvisions_state_dict_layout():
    keys = set(BLOCK_CLASSES["ResidualBlock"](64, 128, stride=2).state_dict())
    torchvision_keys = {
        f"{layer}.{name}"
        for layer in ("bn1", "bn2", "downsample.1")
        for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    } | {"conv1.weight", "conv2.weight", "downsample.0.weight"}
    assert keys == torchvision_keys


def test_resnext50_32x4d_and_wide_resnet50_2_from_bottlenecks_have_torchvisions_params():
    def variant(**kwargs: int) -> type:
        return lambda cin, cout, stride: BLOCK_CLASSES["Bottleneck"](cin, cout, stride, **kwargs)

    depths, widths = (3, 4, 6, 3), (256, 512, 1024, 2048)
    with torch.device("meta"):
        resnext = resnet(variant(groups=32, width_per_group=4), depths, widths)
        wide = resnet(variant(width_per_group=128), depths, widths)
    assert count(resnext) == 25_028_904
    assert count(wide) == 68_883_240


def test_bad_constructor_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="channels // reduction"):
        BLOCK_CLASSES["SEBlock"](8, 16)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        BLOCK_CLASSES["ResidualBlock"](8, 8, kernel_size=2)
    with pytest.raises(ValueError, match='activation must be "relu" or "hardswish"'):
        BLOCK_CLASSES["InvertedResidual"](8, 8, 8, activation="relu6")


def textbook_positions(length: int, dim: int) -> torch.Tensor:
    """PE(pos, 2i) = sin(pos / 10000^(2i / dim)) and PE(pos, 2i + 1) = cos(pos / 10000^(2i / dim)), one by one."""
    rows = [
        [(math.sin if j % 2 == 0 else math.cos)(pos / 10000 ** ((j - j % 2) / dim)) for j in range(dim)]
        for pos in range(length)
    ]
    return torch.tensor(rows, dtype=torch.float32)


@pytest.mark.parametrize("dim", [16, 7, 1])
def test_positional_encoding_adds_the_papers_sinusoids_for_even_and_odd_sizes(dim):
    module = BLOCK_CLASSES["PositionalEncoding"](dim, max_len=50)
    x = torch.randn(3, 20, dim)
    torch.testing.assert_close(module(x), x + textbook_positions(20, dim), rtol=0, atol=1e-5)


def test_the_positional_table_is_a_buffer_not_a_weight():
    module = BLOCK_CLASSES["PositionalEncoding"](8, max_len=10)
    assert count(module) == 0
    assert module.state_dict() == {}
    assert dict(module.named_buffers())["table"].shape == (10, 8)


def test_a_sequence_longer_than_max_len_is_a_value_error_at_run_time():
    module = BLOCK_CLASSES["PositionalEncoding"](8, max_len=10)
    assert module(torch.randn(2, 10, 8)).shape == (2, 10, 8)
    with pytest.raises(ValueError, match="sequence length 11 exceeds max_len=10"):
        module(torch.randn(2, 11, 8))


EXAMPLE_ARGS = {
    "SEBlock": ((8, 2), (8, 5, 5)),
    "ResidualBlock": ((4, 8, 3, 2), (4, 9, 9)),
    "Bottleneck": ((4, 8, 2), (4, 9, 9)),
    "VGGBlock": ((None, 4, 4, 3, True, True, 3), (3, 8, 8)),
    "InceptionBlock": ((4, 2, 2, 3, 2, 3, 2), (4, 6, 6)),
    "DenseLayer": ((4, 4, 2, 0.1), (4, 6, 6)),
    "SqueezeExcitation": ((8, 2), (8, 4, 4)),
    "MBConv": ((8, 8, 4, 3, 1, 0.25, 0.2), (8, 6, 6)),
    "InvertedResidual": ((8, 24, 8, 3, 1, True, "hardswish"), (8, 6, 6)),
    "TransformerEncoderBlock": ((8, 2, 2.0, 0.1), (5, 8)),
    "PositionalEncoding": ((7, 10, 0.1), (6, 7)),
    "StochasticDepth": ((0.5, "row"), (4, 5)),
    "LayerNorm2d": ((4, 1e-6), (4, 5, 6)),
    "Conv2dNormActivation": ((4, 6, 3, 2, 2, nn.ReLU6), (4, 7, 7)),
    "BasicConv2d": ((4, 6, 3, 2, 1), (4, 7, 7)),
    "Inception": ((4, 2, 2, 3, 2, 3, 2), (4, 6, 6)),
    "InvertedResidualV2": ((4, 4, 1, 2), (4, 5, 5)),
    "ShuffleNetV2Unit": ((4, 6, 2), (4, 5, 5)),
    "Fire": ((4, 2, 3, 3), (4, 5, 5)),
    "DenseTransition": ((4, 2), (4, 6, 6)),
    "ResBottleneckBlock": ((4, 8, 2, 2, 1.0, 0.5), (4, 6, 6)),
    "RegNetStage": ((4, 8, 2, 2, 2, 1.0, 0.5, 3), (4, 6, 6)),
    "PermuteAxes": (([0, 2, 3, 1],), (4, 5, 6)),
    "CNBlock": ((8, 0.5, 0.1), (8, 5, 5)),
    "ShiftedWindowAttention": ((8, 2, 3, 1, 0.1, 0.1), (7, 5, 8)),
    "SwinTransformerBlock": ((8, 2, 3, 1, 2.0, 0.1, 0.1, 0.2), (7, 5, 8)),
    "PatchMerging": ((4,), (5, 6, 4)),
    "FiLM": ((4, 3), [(4, 5, 6), (3,)]),  # several inputs: a list of shapes
}


def requires_of(name: str) -> tuple[str, ...]:
    spec = NODE_SPECS.get(name)
    return spec.requires if spec is not None and spec.block_class is BLOCK_CLASSES[name] else ()


def free_names(source: str) -> set[str]:
    """Names a class body reads without binding them (a coarse, scope-blind approximation)."""
    tree = ast.parse(source)
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args + n.kwonlyargs}
    bound |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}  # a nested helper's name
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return loaded - bound - set(dir(builtins))


def test_every_class_has_example_arguments_here():
    assert set(EXAMPLE_ARGS) == set(BLOCK_CLASSES)


@pytest.mark.parametrize("name", sorted(BLOCK_CLASSES))
def test_each_class_source_stands_alone_with_torch_nn_f_and_its_requires(name):
    source = textwrap.dedent(inspect.getsource(BLOCK_CLASSES[name]))
    requires = requires_of(name)
    assert free_names(source) <= {"torch", "nn", "F", *requires}
    assert {n for n in free_names(source) if n in BLOCK_CLASSES} == set(requires)

    namespace: dict[str, Any] = {"torch": torch, "nn": nn, "F": F, **{r: BLOCK_CLASSES[r] for r in requires}}
    exec(compile(source, f"<{name}>", "exec"), namespace)
    args, shape = EXAMPLE_ARGS[name]
    module = namespace[name](*args)
    shapes = shape if isinstance(shape, list) else [shape]
    y = module(*(torch.randn(2, *s, requires_grad=True) for s in shapes))  # some blocks have no weights
    y.sum().backward()
    assert type(module) is not BLOCK_CLASSES[name] and y.shape[0] == 2
