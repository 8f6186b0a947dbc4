"""Every node type in the registry: its shape rule agrees with a real forward, its params are checked."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import codegen
from codegen.analysis import analyze, emit_context
from codegen.diagnostics import ShapeError
from codegen.interpreter import base_namespaces
from codegen.ir import Evaluator
from codegen.params import REQUIRED, Param
from codegen.schema import parse_graph
from codegen.spec import ALIASES, CATEGORY_COLORS, NODE_SPECS, InferCtx
from codegen.tensor import TensorType, tensor


@dataclass
class Example:
    """One valid use of a node type: input shapes without the batch axis, and params."""

    inputs: list[list[int]]
    params: dict[str, Any] = field(default_factory=dict)
    layout: str = "auto"
    dtype: str = "float32"


def ex(*inputs: list[int], layout: str = "auto", dtype: str = "float32", **params: Any) -> Example:
    return Example(list(inputs), params, layout, dtype)


BCT, BTH = [4, 6], [7, 8]  # (B, C, T) and (B, T, H) samples

EXAMPLES: dict[str, Example] = {
    "Input": ex([3, 5]),
    # activations and dropout
    "ReLU": ex(BCT),
    "LeakyReLU": ex(BCT, negative_slope=0.2),
    "GELU": ex(BCT, approximate="tanh"),
    "SiLU": ex(BCT),
    "ELU": ex(BCT, alpha=0.5),
    "Mish": ex(BCT),
    "Hardswish": ex(BCT),
    "ReLU6": ex(BCT),
    "Hardsigmoid": ex(BCT),
    "Hardtanh": ex(BCT, min_val=-0.5, max_val=2.0),
    "PReLU": ex(BCT, num_parameters=4, init=0.1),
    "Softplus": ex(BCT, beta=2.0, threshold=5.0),
    "Sigmoid": ex(BCT),
    "Tanh": ex(BCT),
    "Identity": ex([3, 4, 5]),
    "Softmax": ex(BCT, dim=1),
    "LogSoftmax": ex(BCT, dim=-1),
    "Dropout": ex(BCT, p=0.3),
    "Dropout2d": ex([4, 5, 6], p=0.2),
    "StochasticDepth": ex([4, 5, 6], p=0.2, mode="batch"),
    # recurrent and attention
    "GRU": ex(BTH, layout="BTH", hidden_size=6, bidirectional=True),
    "LSTM": ex(BTH, layout="BTH", hidden_size=6, num_layers=2, dropout=0.1),
    "RNN": ex(BTH, layout="BTH", hidden_size=6, nonlinearity="relu"),
    "GRUBlock": ex(BTH, layout="BTH", hidden_size=6, bidirectional=True),
    "MultiheadAttention": ex(BTH, layout="BTH", num_heads=2),
    "TransformerEncoderLayer": ex(BTH, layout="BTH", nhead=2, dim_feedforward=16, layer_norm_eps=1e-6, bias=False),
    "TransformerDecoderLayer": ex(
        BTH, [5, 8], layout="BTH", nhead=2, dim_feedforward=16, activation="gelu", causal=True
    ),
    # convolutions
    "Conv1d": ex([3, 16], out_channels=4, kernel_size=3, stride=2, padding=1, dilation=2),
    "Conv2d": ex([4, 9, 10], out_channels=6, kernel_size=[3, 2], stride=[2, 1], padding=[1, 0], groups=2),
    "Conv3d": ex([2, 5, 6, 7], out_channels=4, kernel_size=3, padding="same", bias=False),
    "ConvTranspose1d": ex([4, 5], out_channels=2, kernel_size=3, stride=2, output_padding=1),
    "ConvTranspose2d": ex([4, 5, 6], out_channels=2, kernel_size=[3, 2], stride=2, padding=1, groups=2),
    # dense
    "Linear": ex([5], out_features=3),
    "Bilinear": ex([5], [4], out_features=3),
    "Embedding": ex([7], dtype="int64", num_embeddings=10, embedding_dim=4, padding_idx=0),
    # merge and split
    "Concat": ex([3, 5], [2, 5]),
    "Add": ex([3, 5], [3, 5], [3, 5]),
    "Mul": ex([3, 5], [1, 5]),
    "Sub": ex([3, 5], [3, 1]),
    "Div": ex([1, 5], [3, 5]),
    "Stack": ex([3, 5], [3, 5], [3, 5], dim=-1),
    "FiLM": ex([4, 5, 6], [3]),
    # arithmetic
    "Scalar": ex(BCT, op="div", value=8.0),
    "MatMul": ex([2, 3, 4], [1, 4, 5]),
    "LearnedScale": ex(BCT, value=0.5, learnable=False),
    "Constant": ex(BCT, value=-1.5, shape=[2, 3]),
    "ArgMax": ex([3, 4, 5], dim=2, keepdim=True),
    "Chunk": ex([6, 5], chunks=3),
    "Split": ex([6, 5], sections=[2, 3], dim=-1),
    # normalisation
    "BatchNorm1d": ex(BCT, momentum=0.2),
    "BatchNorm2d": ex([4, 5, 6], eps=1e-3),
    "LayerNorm": ex(BCT, elementwise_affine=False),
    "LayerNorm2d": ex([4, 5, 6], eps=1e-6),
    "GroupNorm": ex([6, 5, 5], num_groups=3),
    "InstanceNorm1d": ex(BCT, affine=True),
    "InstanceNorm2d": ex([4, 5, 6]),
    "LocalResponseNorm": ex([6, 5, 5], size=3),
    "Normalize": ex([3, 4, 5], p=1.0, dim=-1, eps=1e-6),
    # pooling
    "MaxPool1d": ex([3, 11], kernel_size=3, stride=2, padding=1, ceil_mode=True),
    "MaxPool2d": ex([3, 9, 8]),
    "AvgPool1d": ex([3, 10], kernel_size=4, stride=3),
    "AvgPool2d": ex([3, 7, 7], kernel_size=[3, 2], padding=1, ceil_mode=True),
    "AdaptiveAvgPool1d": ex([3, 10], output_size=4),
    "AdaptiveAvgPool2d": ex([3, 9, 7], output_size=[2, 3]),
    "AdaptiveMaxPool1d": ex([3, 10], output_size=3),
    "AdaptiveMaxPool2d": ex([3, 9, 7], output_size=2),
    "GlobalAvgPool": ex([3, 5, 6]),
    # layout
    "Flatten": ex([3, 4, 5], start_dim=2),
    "Reshape": ex(BCT, shape=[2, -1, 3]),
    "Permute": ex([3, 4, 5], dims=[0, 3, 1, 2]),
    "Permute_BCT_to_BTH": ex(BCT),
    "Permute_BTH_to_BCT": ex(BTH, layout="BTH"),
    "Transpose": ex([3, 4, 5], dim0=1, dim1=-1),
    "Squeeze": ex([3, 1, 5], dim=2),
    "Unsqueeze": ex(BCT, dim=1),
    "ChannelShuffle": ex([6, 4, 5], groups=3),
    # resampling
    "Upsample": ex([3, 4, 5], scale_factor=1.5, mode="bilinear", align_corners=True),
    "PixelShuffle": ex([8, 3, 4]),
    "ZeroPad2d": ex([3, 4, 5], padding=[1, 2, 0, 3]),
    # paper blocks
    "SEBlock": ex([8, 4, 4], reduction=4),
    "ResidualBlock": ex([4, 6, 6], out_channels=8, stride=2),
    "Bottleneck": ex([4, 6, 6], out_channels=8),
    "VGGBlock": ex([3, 6, 6], c1=4, c2=5, lrn=True),
    "InceptionBlock": ex([4, 6, 6], c1=2, c3_reduce=2, c3=3, c5_reduce=2, c5=3, pool_proj=2),
    "DenseLayer": ex([4, 5, 5], growth_rate=4, bn_size=2),
    "MBConv": ex([4, 6, 6], out_channels=6, stride=2),
    "InvertedResidual": ex([4, 6, 6], expanded_channels=12, out_channels=4, use_se=True, activation="hardswish"),
    "BasicConv2d": ex([3, 7, 7], out_channels=4, kernel_size=3, stride=2, padding=1),
    "Inception": ex([4, 6, 6], c1=2, c3_reduce=2, c3=3, c5_reduce=2, c5=3, pool_proj=2),
    "InvertedResidualV2": ex([4, 6, 6], out_channels=6, stride=2, expand_ratio=2),
    "ShuffleNetV2Unit": ex([4, 6, 6], out_channels=8, stride=2),
    "Fire": ex([4, 5, 5], squeeze_channels=2, expand1x1_channels=3, expand3x3_channels=4),
    "DenseTransition": ex([6, 5, 5], out_channels=3),
    "ResBottleneckBlock": ex([4, 6, 6], out_channels=8, stride=2, group_width=4, se_ratio=0.25),
    "RegNetStage": ex([4, 6, 6], out_channels=8, depth=2, group_width=4, se_ratio=0.25, stage_index=3),
    "TransformerEncoderBlock": ex([5, 8], layout="BTH", num_heads=2, mlp_ratio=2.0),
    "PositionalEncoding": ex(BTH, layout="BTH", max_len=7, dropout=0.1),  # max_len: exactly T
    # learned tensors (ViT, ConvNeXt)
    "ClassToken": ex(BTH, layout="BTH", init="trunc_normal", std=0.5),
    "PositionEmbedding": ex(BTH, layout="BTH"),
    "LayerScale": ex([4, 5, 6], init="constant", value=0.5),
    "SelectToken": ex(BTH, layout="BTH", index=6),
    # ConvNeXt and Swin
    "CNBlock": ex([4, 6, 6], layer_scale=0.5),
    "SwinTransformerBlock": ex([5, 7, 4], layout="BHWC", num_heads=2, window_size=3, shift_size=1),
    "PatchMerging": ex([5, 7, 4], layout="BHWC"),
}

# Every model type but the import placeholder, which computes nothing (tests/codegen/test_not_imported.py), and
# the user's own module, which needs an allow-list and a class to import (tests/codegen/test_custom_module.py).
# Targets, losses and metrics sit outside the model: tests/codegen/test_recipe_nodes.py covers them.
RECIPE_TYPES = {t for t, spec in NODE_SPECS.items() if spec.category in ("loss", "metric") or t == "Target"}
TYPES = sorted(set(NODE_SPECS) - {"NotImported", "CustomModule"} - RECIPE_TYPES)


def one_node_graph(node_type: str, example: Example, with_shapes: bool = True) -> dict[str, Any]:
    """Inputs ``in0``, ``in1``, … → node ``n`` (the output; or Identity nodes after each of its outputs).

    A channels-last example (layout ``"BHWC"``, shape (H, W, C)) reads an image input (C, H, W) through a
    Permute, as a graph gets one: the Input node has no channels-last layout.
    """
    inputs = [f"in{i}" for i in range(len(example.inputs))]
    channels_last = example.layout == "BHWC"
    nodes = []
    for name, shape in zip(inputs, example.inputs):
        params: dict[str, Any] = {"dtype": example.dtype, "layout": "auto" if channels_last else example.layout}
        if with_shapes:
            params["shape"] = [shape[-1], *shape[:-1]] if channels_last else shape
        nodes.append({"id": name, "type": "Input", "params": params})
    if node_type == "Input":
        return {"nodes": nodes, "edges": [], "inputs": inputs, "outputs": inputs}
    nodes.append({"id": "n", "type": node_type, "params": example.params})
    edges = [[i, "n"] for i in inputs]
    if channels_last:
        nodes += [{"id": f"last{i}", "type": "Permute", "params": {"dims": [0, 2, 3, 1]}} for i in inputs]
        edges = [edge for i in inputs for edge in ([i, f"last{i}"], [f"last{i}", "n"])]
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in example.params.items()}
    count = NODE_SPECS[ALIASES.get(node_type, node_type)].num_outputs(params)
    if count == 1:
        return {"nodes": nodes, "edges": edges, "inputs": inputs, "outputs": ["n"]}
    outputs = [f"out{k}" for k in range(count)]
    nodes += [{"id": name, "type": "Identity"} for name in outputs]
    edges += [[f"n:{k}", name] for k, name in enumerate(outputs)]
    return {"nodes": nodes, "edges": edges, "inputs": inputs, "outputs": outputs}


def example_tensors(example: Example) -> list[torch.Tensor]:
    if example.dtype == "int64":
        return [torch.randint(0, 10, (2, *shape)) for shape in example.inputs]
    return [torch.randn(2, *shape) for shape in example.inputs]


def run_node(analysis: codegen.Analysis, args: list[torch.Tensor]) -> tuple[nn.Module, list[torch.Tensor]]:
    """Build node ``n`` exactly as its render rule describes, and run its forward statements on ``args``.

    Returns the module holding what the constructor made (a submodule or a learned tensor) as ``n``.
    """
    info = analysis.info["n"]
    names = [f"x{i}" for i in range(len(args))]
    outputs = tuple(f"y{k}" for k in range(info.num_outputs))
    code = info.spec.emit(emit_context(analysis, info, "n", names, outputs))
    holder = nn.Module()
    if code.init is not None:
        holder.n = Evaluator(base_namespaces()).eval(code.init)
    holder.eval()  # dropout off; batch norm uses its (fresh) running statistics
    evaluator = Evaluator(base_namespaces(), holder, dict(zip(names, args)))
    with torch.no_grad():
        for statement in code.body:
            evaluator.run(statement)
    return holder, [evaluator.local[name] for name in outputs]


def inferred(analysis: codegen.Analysis, node_id: str) -> list[TensorType]:
    out = analysis.info[node_id].out
    return list(out) if isinstance(out, tuple) else [out]


def test_every_registered_type_has_an_example():
    assert set(EXAMPLES) == set(TYPES)


@pytest.mark.parametrize("node_type", TYPES)
def test_the_shape_rule_agrees_with_a_real_forward(node_type):
    example = EXAMPLES[node_type]
    analysis = analyze(parse_graph(one_node_graph(node_type, example)))
    assert analysis.diagnostics == []
    args = example_tensors(example)
    if node_type == "Input":
        assert inferred(analysis, "in0")[0].to_json() == ["B", *example.inputs[0]]
        return
    holder, outputs = run_node(analysis, args)
    expected = inferred(analysis, "n")
    assert [["B", *o.shape[1:]] for o in outputs] == [t.to_json() for t in expected]
    assert [str(o.dtype) for o in outputs] == [f"torch.{t.dtype}" for t in expected]
    real_params = sum(p.numel() for p in holder.parameters())
    assert analysis.info["n"].param_count == real_params


@pytest.mark.parametrize("node_type", TYPES)
def test_without_input_shapes_the_rule_claims_only_what_is_true(node_type):
    """Rank-level inference: every size it does claim matches reality; layers go lazy or ask for shapes."""
    example = EXAMPLES[node_type]
    analysis = analyze(parse_graph(one_node_graph(node_type, example, with_shapes=False)))
    assert {d.code for d in analysis.diagnostics} <= {"NEEDS_SHAPE"}
    if node_type == "Input" or not analysis.ok:
        return
    _, outputs = run_node(analysis, example_tensors(example))
    for real, claimed in zip(outputs, inferred(analysis, "n"), strict=True):
        if claimed.rank_known:
            assert real.dim() == claimed.rank
            assert all(c is None or c == r for c, r in zip(claimed.dims, real.shape[1:]))


def test_without_input_shapes_only_layers_that_cannot_go_lazy_ask_for_them():
    asking = set()
    for node_type in TYPES:
        analysis = analyze(parse_graph(one_node_graph(node_type, EXAMPLES[node_type], with_shapes=False)))
        if not analysis.ok:
            asking.add(node_type)
    assert asking == {
        "Bilinear",
        "GRU",
        "GRUBlock",
        "GroupNorm",
        "LSTM",
        "LayerNorm",
        "LayerNorm2d",
        "MultiheadAttention",
        "RNN",
        "TransformerEncoderLayer",
        "TransformerDecoderLayer",
        "TransformerEncoderBlock",
        "FiLM",
        "PositionalEncoding",
        "SEBlock",
        "ResidualBlock",
        "Bottleneck",
        "InceptionBlock",
        "DenseLayer",
        "MBConv",
        "InvertedResidual",
        "BasicConv2d",
        "Inception",
        "InvertedResidualV2",
        "ShuffleNetV2Unit",
        "Fire",
        "DenseTransition",
        "ResBottleneckBlock",
        "RegNetStage",
        "ClassToken",
        "PositionEmbedding",
        "LayerScale",
        "CNBlock",
        "SwinTransformerBlock",
        "PatchMerging",
    }


# ---------------------------------------------------------------------------------------------
# Window arithmetic against PyTorch over random configurations

WINDOWS = settings(max_examples=60, deadline=None, derandomize=True)


def infer_one(node_type: str, params: dict[str, Any], *inputs: TensorType) -> TensorType:
    spec = NODE_SPECS[node_type]
    values = {p.name: p.default for p in spec.params if not p.required} | params
    checked = {name: spec.param(name).coerce(value) for name, value in values.items()}
    ctx = InferCtx("n", checked, list(inputs), ["x"] * len(inputs))
    return spec.infer(ctx)


@WINDOWS
@given(
    size=st.integers(1, 24),
    kernel=st.integers(1, 9),
    stride=st.integers(1, 4),
    padding=st.integers(0, 4),
    dilation=st.integers(1, 3),
)
def test_the_convolution_output_size_is_pytorchs(size, kernel, stride, padding, dilation):
    params = {"out_channels": 2, "kernel_size": kernel, "stride": stride, "padding": padding, "dilation": dilation}
    conv = nn.Conv1d(3, 2, kernel, stride, padding, dilation)
    try:
        out = infer_one("Conv1d", params, tensor(3, size))
    except ShapeError as exc:
        assert exc.code == "IMPOSSIBLE_OUTPUT"
        with pytest.raises(RuntimeError):
            conv(torch.randn(1, 3, size))
        return
    assert out.to_json() == ["B", *conv(torch.randn(1, 3, size)).shape[1:]]


@WINDOWS
@given(
    height=st.integers(1, 16),
    width=st.integers(1, 16),
    kernel=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
)
def test_the_2d_convolution_output_size_is_pytorchs(height, width, kernel, stride, padding, dilation):
    params = {
        "out_channels": 2,
        "kernel_size": list(kernel),
        "stride": list(stride),
        "padding": list(padding),
        "dilation": list(dilation),
    }
    conv = nn.Conv2d(1, 2, kernel, stride, padding, dilation)
    try:
        out = infer_one("Conv2d", params, tensor(1, height, width))
    except ShapeError as exc:
        assert exc.code == "IMPOSSIBLE_OUTPUT"
        with pytest.raises(RuntimeError):
            conv(torch.randn(1, 1, height, width))
        return
    assert out.to_json() == ["B", *conv(torch.randn(1, 1, height, width)).shape[1:]]


@WINDOWS
@given(
    size=st.integers(1, 12),
    kernel=st.integers(1, 6),
    stride=st.integers(1, 4),
    padding=st.integers(0, 3),
    dilation=st.integers(1, 3),
    output_padding=st.integers(0, 3),
)
def test_the_transposed_convolution_output_size_is_pytorchs(size, kernel, stride, padding, dilation, output_padding):
    params = {
        "out_channels": 2,
        "kernel_size": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "output_padding": output_padding,
    }
    try:
        out = infer_one("ConvTranspose1d", params, tensor(3, size))
    except ShapeError as exc:
        assert exc.code in ("IMPOSSIBLE_OUTPUT", "PARAM_RANGE")
        with pytest.raises((RuntimeError, ValueError)):
            conv = nn.ConvTranspose1d(3, 2, kernel, stride, padding, output_padding, dilation=dilation)
            conv(torch.randn(1, 3, size))
        return
    conv = nn.ConvTranspose1d(3, 2, kernel, stride, padding, output_padding, dilation=dilation)
    assert out.to_json() == ["B", *conv(torch.randn(1, 3, size)).shape[1:]]


@WINDOWS
@given(
    kind=st.sampled_from(["Max", "Avg"]),
    size=st.integers(1, 20),
    kernel=st.integers(1, 7),
    stride=st.none() | st.integers(1, 4),
    padding=st.integers(0, 3),
    ceil_mode=st.booleans(),
)
def test_the_pooling_output_size_is_pytorchs(kind, size, kernel, stride, padding, ceil_mode):
    params = {"kernel_size": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
    pool = getattr(nn, f"{kind}Pool1d")(kernel, stride, padding, ceil_mode=ceil_mode)
    try:
        out = infer_one(f"{kind}Pool1d", params, tensor(3, size))
    except ShapeError as exc:
        assert exc.code in ("IMPOSSIBLE_OUTPUT", "PARAM_RANGE")
        with pytest.raises(RuntimeError):
            pool(torch.randn(1, 3, size))
        return
    assert out.to_json() == ["B", *pool(torch.randn(1, 3, size)).shape[1:]]


@WINDOWS
@given(
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    scale=st.floats(0.25, 4.0).map(lambda s: round(s, 2)),
    mode=st.sampled_from(["nearest", "bilinear", "bicubic"]),
)
def test_the_upsampled_size_is_pytorchs(height, width, scale, mode):
    upsample = nn.Upsample(scale_factor=scale, mode=mode)
    try:
        out = infer_one("Upsample", {"scale_factor": scale, "mode": mode}, tensor(2, height, width))
    except ShapeError as exc:
        assert exc.code == "IMPOSSIBLE_OUTPUT"
        with pytest.raises(RuntimeError):
            upsample(torch.randn(1, 2, height, width))
        return
    assert out.to_json() == ["B", *upsample(torch.randn(1, 2, height, width)).shape[1:]]


# ---------------------------------------------------------------------------------------------
# Parameter checks, for every declared parameter of every type


def example_with(node_type: str, name: str, value: Any) -> dict[str, Any]:
    """The type's example as a chain inp → n, with ``params[name] = value`` (node ``n`` is nodes[1])."""
    example = EXAMPLES[node_type]
    params = {**example.params, name: value}
    return {
        "nodes": [
            {"id": "inp", "type": "Input", "params": {"shape": example.inputs[0], "dtype": example.dtype}},
            {"id": "n", "type": node_type, "params": params},
        ],
        "edges": [["inp", "n"]],
        "inputs": ["inp"],
        "outputs": ["n"],
    }


def param_diagnostics(node_type: str, name: str, value: Any) -> list[dict[str, Any]]:
    result = codegen.validate(example_with(node_type, name, value)).to_dict()
    return [d for d in result["diagnostics"] if d.get("path") == f"nodes[1].params.{name}"]


PARAMS = [(t, p) for t in TYPES for p in NODE_SPECS[t].params]
PARAM_IDS = [f"{t}.{p.name}" for t, p in PARAMS]


def wrong_type_message(param: Param) -> tuple[str, str]:
    """What a string like "3x3" gives for a parameter of this kind: (code, message)."""
    got = 'got "3x3"'
    return {
        "int": ("PARAM_TYPE", f"expected int, {got}"),
        "ints": ("PARAM_TYPE", f"expected int, {got}"),
        "padding": ("PARAM_RANGE", f'must be an int, a list of ints, "same" or "valid"; {got}'),
        "float": ("PARAM_TYPE", f"expected number, {got}"),
        "bool": ("PARAM_TYPE", f"expected bool, {got}"),
        "choice": ("PARAM_RANGE", f"must be one of {', '.join(getattr(param, 'choices', ()))}; {got}"),
        "int_list": ("PARAM_TYPE", f"expected list of ints, {got}"),
    }[param.kind]


@pytest.mark.parametrize(("node_type", "param"), PARAMS, ids=PARAM_IDS)
def test_a_value_of_the_wrong_type_is_reported_with_its_path(node_type, param):
    [diagnostic] = param_diagnostics(node_type, param.name, "3x3")
    code, message = wrong_type_message(param)
    assert (diagnostic["code"], diagnostic["node"]) == (code, "n")
    assert diagnostic["message"] == f"nodes[1].params.{param.name}: {message}"


def fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def out_of_range(param: Param) -> list[tuple[Any, str]]:
    """Values just outside the declared range, with the message each one gives."""
    cases = []
    step = 0.5 if param.kind == "float" else 1
    as_value = float if param.kind == "float" else int
    wrap = (lambda v: [v] * max(param.min_length, 1)) if param.kind == "int_list" else (lambda v: v)
    if param.min is not None:
        value = as_value(param.min - step)
        cases.append((wrap(value), f"must be ≥ {fmt(param.min)}, got {value!r}"))
    if param.max is not None:
        value = as_value(param.max if param.max_exclusive else param.max + step)
        sign = "<" if param.max_exclusive else "≤"
        cases.append((wrap(value), f"must be {sign} {fmt(param.max)}, got {value!r}"))
    return cases


RANGED = [(t, p, v, m) for t, p in PARAMS for v, m in out_of_range(p)]


@pytest.mark.parametrize(
    ("node_type", "param", "value", "message"), RANGED, ids=[f"{t}.{p.name}={v}" for t, p, v, _ in RANGED]
)
def test_a_value_out_of_range_is_reported_with_its_path(node_type, param, value, message):
    [diagnostic] = param_diagnostics(node_type, param.name, value)
    assert (diagnostic["code"], diagnostic["node"]) == ("PARAM_RANGE", "n")
    assert diagnostic["message"] == f"nodes[1].params.{param.name}: {message}"


REQUIRED_PARAMS = [(t, p) for t, p in PARAMS if p.default is REQUIRED]


@pytest.mark.parametrize(("node_type", "param"), REQUIRED_PARAMS, ids=[f"{t}.{p.name}" for t, p in REQUIRED_PARAMS])
def test_a_missing_required_param_is_reported(node_type, param):
    document = example_with(node_type, param.name, None)
    del document["nodes"][1]["params"][param.name]
    diagnostic = next(d for d in codegen.validate(document).to_dict()["diagnostics"] if d["code"] == "MISSING_PARAM")
    assert diagnostic == {
        "severity": "error",
        "code": "MISSING_PARAM",
        "message": f"{node_type} needs `{param.name}` ({param.doc.rstrip('.')})",
        "node": "n",
        "path": f"nodes[1].params.{param.name}",
    }


@pytest.mark.parametrize(
    ("node_type", "name", "value", "message"),
    [
        ("Conv2d", "kernel_size", 0, "must be ≥ 1, got 0"),
        ("Conv2d", "kernel_size", "3x3", 'expected int, got "3x3"'),
        ("Conv2d", "kernel_size", [3, 0], "must be ≥ 1, got 0"),
        ("Conv2d", "kernel_size", [3, 3, 3], "expected int or list of 2 ints, got list"),
        ("Conv2d", "out_channels", 0, "must be ≥ 1, got 0"),
        ("Conv2d", "out_channels", 2.5, "expected int, got float"),
        ("Conv2d", "out_channels", True, "expected int, got bool"),
        ("Conv2d", "padding", "full", 'must be an int, a list of ints, "same" or "valid"; got "full"'),
        ("SEBlock", "reduction", 0, "must be ≥ 1, got 0"),
        ("Dropout", "p", 1, "must be < 1, got 1.0"),
        ("Dropout", "p", -0.1, "must be ≥ 0, got -0.1"),
        ("Dropout", "p", "half", 'expected number, got "half"'),
        ("GRU", "dropout", 1.0, "must be < 1, got 1.0"),
        ("GRUBlock", "out", "first", 'must be one of last, seq; got "first"'),
        ("Linear", "bias", 1, "expected bool, got int"),
        ("Reshape", "shape", [2, "x"], "expected list of ints, got list"),
    ],
)
def test_it_explains_a_bad_param_value(node_type, name, value, message):
    [diagnostic] = param_diagnostics(node_type, name, value)
    assert diagnostic["message"] == f"nodes[1].params.{name}: {message}"


def test_a_whole_number_float_is_accepted_as_an_int():
    result = codegen.validate(example_with("Conv2d", "out_channels", 8.0), input_shapes={"inp": [4, 9, 10]})
    assert result.ok
    assert result.shapes()["n"][1] == 8


def test_an_unknown_param_suggests_the_closest_name(chain, node, only):
    result = codegen.validate(chain(node("conv", "Conv2d", out_channels=8, kernal_size=3)))
    assert only(result, "UNKNOWN_PARAM") == {
        "severity": "error",
        "code": "UNKNOWN_PARAM",
        "message": "Conv2d has no parameter 'kernal_size'; did you mean `kernel_size`?",
        "node": "conv",
        "path": "nodes[1].params.kernal_size",
        "suggestion": {"action": "rename_param", "node": "conv", "param": "kernal_size", "to": "kernel_size"},
    }


def test_an_unknown_param_without_a_close_match_lists_what_the_type_takes(chain, node, only):
    result = codegen.validate(chain(node("act", "LeakyReLU", zzz=1), node("relu", "ReLU", width=2)))
    assert [d["message"] for d in result.to_dict()["diagnostics"]] == [
        "LeakyReLU has no parameter 'zzz' (LeakyReLU takes: negative_slope)",
        "ReLU has no parameter 'width' (ReLU takes: no parameters)",
    ]


# ---------------------------------------------------------------------------------------------
# Aliases and the registry


@pytest.mark.parametrize(("alias", "canonical"), sorted(ALIASES.items()))
def test_an_alias_behaves_as_its_type(alias, canonical):
    example = EXAMPLES[canonical]
    by_alias = analyze(parse_graph(one_node_graph(alias, example)))
    by_name = analyze(parse_graph(one_node_graph(canonical, example)))
    assert by_alias.diagnostics == []
    assert by_alias.info["n"].type_name == canonical
    assert by_alias.info["n"].out == by_name.info["n"].out
    assert by_alias.info["n"].param_count == by_name.info["n"].param_count


def test_conv_and_bn_are_conv2d_and_batchnorm2d(chain, node):
    graph = chain(node("c", "Conv", out_channels=8, kernel_size=3, padding=1), node("bn", "BN"), shape=[3, 8, 8])
    result = codegen.validate(graph)
    assert result.ok
    assert result.shapes()["bn"] == ["B", 8, 8, 8]
    assert result.to_dict()["params"] == {"inp": 0, "c": 3 * 8 * 9 + 8, "bn": 16}


def test_the_registry_describes_every_type_for_the_palette():
    registry = codegen.registry_json()
    json.dumps(registry)  # plain JSON all the way down
    nodes = {n["type"]: n for n in registry["nodes"]}
    assert len(nodes) >= 45
    assert set(nodes) == set(NODE_SPECS)
    categories = {c["name"] for c in registry["categories"]}
    for entry in nodes.values():
        assert entry["category"] in categories and entry["category"] in CATEGORY_COLORS
        assert entry["doc"] and isinstance(entry["ports"], list)
        for param in entry["params"]:
            assert {"name", "type", "doc", "required"} <= param.keys()
            assert param["doc"], (entry["type"], param["name"])
            assert param["required"] or "default" in param
    assert nodes["Conv2d"]["params"][1] == {
        "name": "kernel_size",
        "type": "ints",
        "doc": "Window size.",
        "required": False,
        "default": 3,
        "min": 1,
        "max": 10_000,
        "length": 2,
    }
    assert (nodes["Conv2d"]["aliases"], nodes["BatchNorm2d"]["aliases"]) == (["Conv"], ["BN"])
    assert (nodes["Concat"]["min_inputs"], nodes["Concat"]["max_inputs"]) == (2, None)
    assert (nodes["Bilinear"]["ports"], nodes["Input"]["ports"]) == (["x1", "x2"], [])
    assert nodes["SEBlock"]["composite"] is True and "arXiv" in nodes["SEBlock"]["paper"]
    assert set(registry["diagnostic_codes"]) >= {"CYCLE", "LAYOUT", "MERGE", "BUDGET"}
