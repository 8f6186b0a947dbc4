"""Scalar arithmetic, MatMul, Sub/Div, LayerNorm2d, and Linear over the last axis of a permuted image.

Shape rules on concrete and symbolic sizes, the diagnostics that name the node and the fix, and a
ConvNeXt block drawn from these nodes against a torchvision-style ``CNBlock`` written by hand.
"""

from __future__ import annotations

import pytest
import torch
from graphgen import Case
from test_equivalence import EDGE_CASES, check_case
from torch import nn
from torch.nn import functional as F

import codegen
from codegen.diagnostics import ShapeError
from codegen.dims import Sym
from codegen.interpreter import build_reference
from codegen.spec import NODE_SPECS, InferCtx
from codegen.tensor import SEQUENCE, TensorType, tensor


def infer(node_type: str, *inputs: TensorType, **params) -> TensorType:
    spec = NODE_SPECS[node_type]
    values = {p.name: p.default for p in spec.params if not p.required} | params
    checked = {name: spec.param(name).coerce(value) for name, value in values.items()}
    return spec.infer(InferCtx("n", checked, list(inputs), ["a", "b"][: len(inputs)]))


def refused(node_type: str, *inputs: TensorType, **params) -> ShapeError:
    with pytest.raises(ShapeError) as error:
        infer(node_type, *inputs, **params)
    return error.value


def test_the_new_edge_cases_are_valid_so_their_equivalence_runs():
    names = ("linear_channels_last", "linear_after_transposing_channels_last", "layernorm2d", "scalar_ops")
    assert all(codegen.validate(EDGE_CASES[name].graph).ok for name in names)


# ---------------------------------------------------------------------------------------------
# MatMul


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((2, 3, 4), (2, 4, 5), (2, 3, 5)),
        ((1, 3, 4), (7, 4, 5), (7, 3, 5)),
        ((6, 3, 4), (1, 4, 5), (6, 3, 5)),
        ((3, 4), (4, 5), (3, 5)),
    ],
)
def test_matmul_broadcasts_as_torch_does(a, b, expected):
    out = infer("MatMul", tensor(*a), tensor(*b))
    real = torch.matmul(torch.randn(2, *a), torch.randn(2, *b))
    assert out.to_json() == ["B", *expected] == ["B", *real.shape[1:]]


def test_matmul_keeps_symbolic_sizes():
    heads, n, d = Sym("heads"), Sym("n"), Sym("head_dim")
    out = infer("MatMul", tensor(heads, n, d), tensor(heads, d, n))
    assert out.dims == (heads, n, n)


def test_matmul_with_an_unknown_input_keeps_the_rank():
    assert infer("MatMul", tensor(3, 4), TensorType(None)).dims == (None, None)


def test_matmul_names_both_inputs_when_the_inner_sizes_differ():
    error = refused("MatMul", tensor(2, 3, 4), tensor(2, 5, 6))
    assert error.code == "SHAPE"
    assert str(error) == (
        "MatMul needs the last axis of `a` (4) to equal the second-to-last axis of `b` (5): "
        "rank 4 BCHW (B, 2, 3, 4) @ rank 4 BCHW (B, 2, 5, 6); Transpose one of them"
    )


@pytest.mark.parametrize(
    ("a", "b", "code"),
    [
        (tensor(4), tensor(4), "RANK"),
        (tensor(3, 4), tensor(2, 4, 5), "RANK"),
        (tensor(2, 3, 4), tensor(3, 4, 5), "SHAPE"),
    ],
    ids=["flat", "unequal-ranks", "leading-axes-differ"],
)
def test_matmul_refuses_what_torch_would_not_run_as_drawn(a, b, code):
    assert refused("MatMul", a, b).code == code


def test_a_matmul_mismatch_in_a_graph_names_the_node(node):
    graph = {
        "version": "0.2",
        "nodes": [
            node("q", "Input", shape=[6, 8], layout="BTH"),
            node("k", "Input", shape=[6, 8], layout="BTH"),
            node("scores", "MatMul"),
        ],
        "edges": [["q", "scores"], ["k", "scores"]],
        "inputs": ["q", "k"],
        "outputs": ["scores"],
    }
    [error] = codegen.validate(graph).to_dict()["diagnostics"]
    assert (error["code"], error["node"], error["edge"]) == ("SHAPE", "scores", ["k", "scores"])
    assert "Transpose one of them" in error["message"]


# ---------------------------------------------------------------------------------------------
# Scalar, Sub, Div


@pytest.mark.parametrize(
    ("op", "expected"), [("mul", "x * 0.125"), ("add", "x + 0.125"), ("sub", "x - 0.125"), ("div", "x / 0.125")]
)
def test_a_scalar_op_reads_as_python(chain, node, op, expected):
    graph = chain(node("scale", "Scalar", op=op, value=0.125), shape=[4, 5])
    source = codegen.generate(graph, name="m", layout="file", with_train=False)["m.py"]
    assert f"x = {expected}  # (B, 4, 5)" in source


def test_dividing_by_zero_is_refused_with_the_fix(chain, node, only):
    result = codegen.validate(chain(node("scale", "Scalar", op="div", value=0), shape=[4]))
    error = only(result, "PARAM_RANGE")
    assert error["node"] == "scale"
    assert error["message"].endswith("dividing by 0 makes every value inf or nan; use a non-zero `value`")


def test_a_scalar_keeps_the_shape_and_layout():
    x = tensor(Sym("n"), 8, layout=SEQUENCE)
    assert infer("Scalar", x, op="sub", value=2.0) == x


@pytest.mark.parametrize("node_type", ["Sub", "Div"])
def test_sub_and_div_broadcast_size_one_axes(node_type):
    assert infer(node_type, tensor(3, 1), tensor(1, 5)).dims == (3, 5)
    assert infer(node_type, tensor(Sym("c"), 1), tensor(Sym("c"), 4)).dims == (Sym("c"), 4)
    error = refused(node_type, tensor(3, 4), tensor(2, 4))
    assert (error.code, error.edge_index) == ("MERGE", 1)
    assert str(error).startswith(f"{node_type} needs each axis equal or 1 in one input (PyTorch broadcasting)")


def test_sub_and_div_keep_their_operand_order(chain, node):
    graph = {
        "version": "0.2",
        "nodes": [node("a", "Input", shape=[4]), node("b", "Input", shape=[4]), node("d", "Div"), node("s", "Sub")],
        "edges": [["a", "d"], ["b", "d"], ["b", "s"], ["d", "s"]],
        "inputs": ["a", "b"],
        "outputs": ["s"],
    }
    model = build_reference(codegen.analyze(codegen.load_graph(graph)))
    a, b = torch.randn(2, 4), torch.rand(2, 4) + 0.5
    torch.testing.assert_close(model(a, b), b - a / b)


# ---------------------------------------------------------------------------------------------
# Layouts after Permute, and Linear over the last axis


def test_a_permute_to_channels_last_is_labelled_so():
    out = infer("Permute", tensor(16, 7, 9), dims=[0, 2, 3, 1])
    assert (out.dims, out.layout) == ((7, 9, 16), "BHWC")
    assert out.describe() == "rank 4 BHWC (B, 7, 9, 16)"
    assert out.features == 16
    back = infer("Permute", out, dims=[0, 3, 1, 2])
    assert back == tensor(16, 7, 9)


def test_a_5d_permute_and_a_transpose_track_the_axes_too():
    assert infer("Permute", tensor(2, 3, 4, 5), dims=[0, 2, 3, 4, 1]).layout == "BDHWC"
    assert infer("Transpose", tensor(2, 3, 4), dim0=1, dim1=-1).describe() == "rank 4 BWHC (B, 4, 3, 2)"


def test_linear_maps_the_last_axis_of_a_channels_last_image():
    x = infer("Permute", tensor(Sym("c"), 7, 7), dims=[0, 2, 3, 1])
    out = infer("Linear", x, out_features=32)
    assert (out.dims, out.layout) == ((7, 7, 32), "BHWC")


def test_a_conv_after_a_permute_to_channels_last_suggests_permuting_back(chain, node, only):
    graph = chain(node("perm", "Permute", dims=[0, 2, 3, 1]), node("conv", "Conv2d", out_channels=4), shape=[3, 8, 8])
    error = only(codegen.validate(graph), "LAYOUT")
    assert error["message"] == (
        "expects channels first (B, C, H, W) but receives rank 4 BHWC (B, 8, 8, 3); "
        "insert a Permute with dims [0, 3, 1, 2]"
    )
    assert error["suggestion"] == {
        "action": "insert_node",
        "type": "Permute",
        "between": ["perm", "conv"],
        "params": {"dims": [0, 3, 1, 2]},
    }


@pytest.mark.parametrize(
    ("node_type", "params"),
    [("MaxPool2d", {"kernel_size": 2}), ("GlobalAvgPool", {}), ("Upsample", {}), ("SEBlock", {}), ("BatchNorm2d", {})],
)
def test_every_image_layer_refuses_a_channels_last_tensor(node_type, params):
    x = infer("Permute", tensor(4, 6, 6), dims=[0, 2, 3, 1])
    error = refused(node_type, x, **params)
    assert (error.code, error.suggestion["params"]) == ("LAYOUT", {"dims": [0, 3, 1, 2]})


def test_swapping_height_and_width_keeps_the_channels_first(chain, node):
    graph = chain(node("swap", "Permute", dims=[0, 1, 3, 2]), node("conv", "Conv2d", out_channels=2), shape=[3, 5, 6])
    result = codegen.validate(graph)
    assert result.ok
    assert result.shapes()["conv"] == ["B", 2, 4, 3]


def test_a_linear_on_a_permuted_image_without_channels_last_warns_and_suggests_channels_last(chain, node):
    graph = chain(node("perm", "Permute", dims=[0, 2, 1, 3]), node("fc", "Linear", out_features=4), shape=[3, 5, 6])
    result = codegen.validate(graph)
    assert result.ok
    [warning] = result.to_dict()["diagnostics"]
    assert warning["code"] == "LAYOUT"
    assert warning["message"] == (
        "Linear acts on the last axis of rank 4 BHCW (B, 5, 3, 6), i.e. on W, not on the channels"
    )
    assert warning["suggestion"]["params"] == {"dims": [0, 1, 3, 2]}


# ---------------------------------------------------------------------------------------------
# LayerNorm2d


def test_layernorm2d_needs_channels_first_images():
    assert infer("LayerNorm2d", tensor(Sym("c"), 5, 5)).dims == (Sym("c"), 5, 5)
    assert refused("LayerNorm2d", tensor(4, 5)).code == "RANK"
    assert refused("LayerNorm2d", TensorType((None, 5, 5))).code == "NEEDS_SHAPE"


def test_a_layernorm_over_the_width_of_an_image_suggests_layernorm2d(chain, node):
    result = codegen.validate(chain(node("norm", "LayerNorm"), shape=[4, 3, 5]))
    assert result.ok
    [warning] = result.to_dict()["diagnostics"]
    assert (warning["code"], warning["node"]) == ("LAYOUT", "norm")
    assert warning["message"] == (
        "LayerNorm normalises the last axis of rank 4 BCHW (B, 4, 3, 5), i.e. the width; "
        "LayerNorm2d normalises the channels at each position, as ConvNeXt does"
    )
    assert warning["suggestion"] == {"action": "set_type", "node": "norm", "type": "LayerNorm2d"}
    channels_last = chain(node("perm", "Permute", dims=[0, 2, 3, 1]), node("norm", "LayerNorm"), shape=[4, 3, 5])
    assert codegen.validate(channels_last).to_dict()["diagnostics"] == []


def test_layernorm2d_normalises_over_the_channels_with_weights_of_shape_c(chain, node):
    graph = chain(node("norm", "LayerNorm2d", eps=1e-6), shape=[4, 3, 5])
    model = build_reference(codegen.analyze(codegen.load_graph(graph)))
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {"norm.weight": (4,), "norm.bias": (4,)}
    with torch.no_grad():
        model.norm.weight.normal_()
        model.norm.bias.normal_()
    x = torch.randn(2, 4, 3, 5)
    expected = F.layer_norm(x.permute(0, 2, 3, 1), (4,), model.norm.weight, model.norm.bias, 1e-6).permute(0, 3, 1, 2)
    torch.testing.assert_close(model(x), expected)


# ---------------------------------------------------------------------------------------------
# A ConvNeXt block drawn from nodes, against torchvision's CNBlock written out by hand


class LayerNorm2d(nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Permute(nn.Module):
    def __init__(self, dims: list[int]):
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.permute(x, self.dims)


class CNBlock(nn.Module):
    """torchvision.models.convnext.CNBlock in eval mode (stochastic depth is then the identity)."""

    def __init__(self, dim: int, layer_scale: float):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(dim, 4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(4 * dim, dim, bias=True),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer_scale * self.block(x) + x


def test_a_drawn_convnext_block_equals_torchvisions_cnblock(chain, node):
    dim = 16
    graph = {
        "version": "0.2",
        "nodes": [
            node("inp", "Input", shape=[dim, 9, 9]),
            node("norm_in", "LayerNorm2d", eps=1e-6),
            node("dwconv", "Conv2d", out_channels=dim, kernel_size=7, padding=3, groups=dim),
            node("to_last", "Permute", dims=[0, 2, 3, 1]),
            node("norm", "LayerNorm", eps=1e-6),
            node("fc1", "Linear", out_features=4 * dim),
            node("act", "GELU"),
            node("fc2", "Linear", out_features=dim),
            node("to_first", "Permute", dims=[0, 3, 1, 2]),
            node("scale", "Scalar", op="mul", value=0.5),
            node("residual", "Add"),
        ],
        "edges": [
            ["inp", "norm_in"],
            ["norm_in", "dwconv"],
            ["dwconv", "to_last"],
            ["to_last", "norm"],
            ["norm", "fc1"],
            ["fc1", "act"],
            ["act", "fc2"],
            ["fc2", "to_first"],
            ["to_first", "scale"],
            ["scale", "residual"],
            ["norm_in", "residual"],
        ],
        "inputs": ["inp"],
        "outputs": ["residual"],
    }
    result = codegen.validate(graph)
    assert result.ok, result.to_dict()["diagnostics"]
    assert result.shapes()["fc1"] == ["B", 9, 9, 64]
    namespace: dict = {}
    exec(
        compile(codegen.generate(graph, name="cn", layout="file", with_train=False)["cn.py"], "cn.py", "exec"),
        namespace,
    )
    drawn = namespace["build_model"]()

    torch.manual_seed(0)
    reference = nn.Sequential(LayerNorm2d(dim, eps=1e-6), CNBlock(dim, layer_scale=0.5))
    with torch.no_grad():
        for name, weight in reference.named_parameters():
            if name != "1.layer_scale":  # the drawn block's Scalar holds it as a constant
                weight.add_(torch.randn_like(weight) * 0.1)
    weights = [v for k, v in reference.state_dict().items() if k != "1.layer_scale"]
    drawn.load_state_dict(dict(zip(drawn.state_dict(), weights, strict=True)), strict=True)
    assert [tuple(v.shape) for v in drawn.state_dict().values()] == [tuple(w.shape) for w in weights]

    x = torch.randn(2, dim, 9, 9)
    drawn.eval(), reference.eval()
    with torch.no_grad():
        torch.testing.assert_close(drawn(x), reference(x), rtol=1e-4, atol=1e-5)


def test_a_convnext_block_as_a_user_block_sizes_its_layers_from_its_parameters(tmp_path):
    """Symbolic sizes through channels-last Linear layers: one class, two instances, run as interpreted."""
    block = {
        "params": [{"name": "expand", "type": "int", "default": 4, "min": 1}],
        "nodes": [
            {"id": "in", "type": "Input"},
            {"id": "norm2d", "type": "LayerNorm2d", "params": {"eps": 1e-6}},
            {"id": "last", "type": "Permute", "params": {"dims": [0, 2, 3, 1]}},
            {"id": "fc1", "type": "Linear", "params": {"out_features": "$expand * 16"}},
            {"id": "fc2", "type": "Linear", "params": {"out_features": 16}},
            {"id": "first", "type": "Permute", "params": {"dims": [0, 3, 1, 2]}},
            {"id": "scale", "type": "Scalar", "params": {"op": "mul", "value": 0.5}},
            {"id": "add", "type": "Add"},
        ],
        "edges": [
            ["in", "norm2d"],
            ["norm2d", "last"],
            ["last", "fc1"],
            ["fc1", "fc2"],
            ["fc2", "first"],
            ["first", "scale"],
            ["scale", "add"],
            ["in", "add"],
        ],
        "inputs": ["in"],
        "outputs": ["add"],
    }
    graph = {
        "version": "0.2",
        "nodes": [
            {"id": "inp", "type": "Input", "params": {"shape": [16, 5, 5]}},
            {"id": "b1", "type": "CNB", "params": {}},
            {"id": "b2", "type": "CNB", "params": {"expand": 2}},
        ],
        "edges": [["inp", "b1"], ["b1", "b2"]],
        "inputs": ["inp"],
        "outputs": ["b2"],
        "composites": {"CNB": block},
    }
    source = codegen.generate(graph, name="m", layout="file", with_train=False)["m.py"]
    assert "self.norm2d = LayerNorm2d(in_channels, eps=1e-06)" in source
    assert "self.fc1 = nn.Linear(in_channels, expand * 16)" in source
    check_case(Case(graph, None, [("inp", "2d", (16, 5, 5), None)]), tmp_path)
