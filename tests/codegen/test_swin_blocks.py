"""SwinTransformerBlock, PatchMerging and CNBlock are torchvision's: same state_dict, same outputs, same training noise.

The references are torchvision's own classes (``tests/support/torchvision_models.py``). Each built-in loads the
reference's ``state_dict`` by name with ``strict=True`` (buffers included) and must give the same output in eval
mode and, from the same random seed, in training mode with every dropout and stochastic depth switched on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from test_blocks import build, full_params, infer
from test_equivalence import Case, check_case
from torch import nn

import codegen
from codegen.blocks import CNBlock, PatchMerging, SwinTransformerBlock
from codegen.diagnostics import ShapeError
from codegen.ir import render_expr
from codegen.tensor import tensor
from tests.support.torchvision_models import torchvision_module

CHANNELS_LAST = "BHWC"


def randomise(module: nn.Module) -> None:
    """Every parameter drawn afresh, LayerNorm affine terms and position biases included, so a swap shows."""
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.normal_(0.0, 0.5)


def assert_same(reference: nn.Module, ours: nn.Module, x: torch.Tensor) -> None:
    torch.manual_seed(0)
    randomise(reference)
    assert list(ours.state_dict()) == list(reference.state_dict())
    ours.load_state_dict(reference.state_dict(), strict=True)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in reference.parameters())
    with torch.no_grad():
        for training in (False, True):
            reference.train(training), ours.train(training)
            torch.manual_seed(1)
            expected = reference(x)
            torch.manual_seed(1)
            torch.testing.assert_close(ours(x), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("height", "width", "window", "shift"),
    [
        pytest.param(8, 8, 4, 0, id="whole-windows"),
        pytest.param(8, 8, 4, 2, id="shifted"),
        pytest.param(7, 10, 4, 2, id="shifted-and-padded"),
        pytest.param(14, 9, 7, 3, id="swin-t-window-padded-width"),
        pytest.param(5, 5, 7, 3, id="window-larger-than-the-map-does-not-shift"),
        pytest.param(3, 12, 4, 2, id="shifted-along-the-width-only"),
    ],
)
def test_swin_transformer_block_is_torchvisions(height, width, window, shift):
    reference = torchvision_module("swin_transformer", "SwinTransformerBlock")(
        12, 3, [window, window], [shift, shift], mlp_ratio=2.0, dropout=0.1, attention_dropout=0.2,
        stochastic_depth_prob=0.3,
    )  # fmt: skip
    params = {"num_heads": 3, "window_size": window, "shift_size": shift, "mlp_ratio": 2.0, "dropout": 0.1}
    params |= {"attention_dropout": 0.2, "stochastic_depth_prob": 0.3}
    ours = build("SwinTransformerBlock", full_params("SwinTransformerBlock", **params), image(height, width, 12))[0]
    assert_same(reference, ours, torch.randn(2, height, width, 12))


def test_the_relative_position_index_is_a_persistent_buffer_equal_to_torchvisions():
    reference = torchvision_module("swin_transformer", "ShiftedWindowAttention")(8, [7, 7], [3, 3], 2)
    ours = SwinTransformerBlock(8, 2, shift_size=3).attn
    assert torch.equal(ours.relative_position_index, reference.relative_position_index)
    assert "relative_position_index" in ours.state_dict()
    assert ours.relative_position_bias_table.shape == (13 * 13, 2)


@pytest.mark.parametrize(("height", "width"), [(8, 8), (7, 5), (1, 4)])
def test_patch_merging_is_torchvisions_and_pads_odd_sizes(height, width):
    reference = torchvision_module("swin_transformer", "PatchMerging")(6)
    x_type = image(height, width, 6)
    ours = build("PatchMerging", full_params("PatchMerging"), x_type)[0]
    assert_same(reference, ours, torch.randn(2, height, width, 6))
    out = infer("PatchMerging", full_params("PatchMerging"), x_type)
    assert out.dims == ((height + 1) // 2, (width + 1) // 2, 12) and out.layout == CHANNELS_LAST


@pytest.mark.parametrize(("channels", "size"), [(8, 9), (16, 4)])
def test_cnblock_is_torchvisions_convnext_block(channels, size):
    reference = torchvision_module("convnext", "CNBlock")(channels, 0.5, 0.2)
    params = full_params("CNBlock", layer_scale=0.5, stochastic_depth_prob=0.2)
    ours = build("CNBlock", params, tensor(channels, size, size))[0]
    assert_same(reference, ours, torch.randn(2, channels, size, size))


def test_the_defaults_are_those_of_swin_t_and_convnext_tiny():
    norms = [m for m in SwinTransformerBlock(96, 3).modules() if isinstance(m, nn.LayerNorm)]
    assert [m.eps for m in norms] == [1e-5, 1e-5] and SwinTransformerBlock(96, 3).attn.window_size == 7
    assert PatchMerging(96).norm.eps == 1e-5
    block = CNBlock(96)
    assert block.block[2].eps == 1e-6 and torch.all(block.layer_scale == 1e-6)


def image(height: int, width: int, channels: int):
    return tensor(height, width, channels, layout=CHANNELS_LAST)


@pytest.mark.parametrize(
    ("block", "params", "x", "source"),
    [
        ("SwinTransformerBlock", {"num_heads": 3}, image(56, 56, 96), "SwinTransformerBlock(96, 3)"),
        (
            "SwinTransformerBlock",
            {"num_heads": 24, "shift_size": 3, "stochastic_depth_prob": 0.2},
            image(7, 7, 768),
            "SwinTransformerBlock(768, 24, shift_size=3, stochastic_depth_prob=0.2)",
        ),
        ("PatchMerging", {}, image(56, 56, 96), "PatchMerging(96)"),
        ("CNBlock", {"stochastic_depth_prob": 0.1}, tensor(96, 56, 56), "CNBlock(96, stochastic_depth_prob=0.1)"),
    ],
)
def test_the_render_rule_reads_like_torchvisions_constructor_calls(block, params, x, source):
    _, code = build(block, full_params(block, **params), x)
    assert render_expr(code.init) == source


def swin_graph(*before: dict[str, Any], shape: list[int], **params: Any) -> dict[str, Any]:
    """Input → the ``before`` nodes → a SwinTransformerBlock ``swin`` with ``params``."""
    nodes = [{"id": "inp", "type": "Input", "params": {"shape": shape}}, *before]
    nodes.append({"id": "swin", "type": "SwinTransformerBlock", "params": {"num_heads": 3, **params}})
    ids = [n["id"] for n in nodes]
    edges = [list(e) for e in zip(ids, ids[1:])]
    return {"version": "0.2", "nodes": nodes, "edges": edges, "inputs": ["inp"], "outputs": ["swin"]}


def last(*dims: int) -> dict[str, Any]:
    return {"id": "last", "type": "Permute", "params": {"dims": list(dims)}}


@pytest.mark.parametrize(
    ("graph", "code", "message", "suggestion"),
    [
        pytest.param(
            swin_graph(shape=[12, 8, 8]),
            "LAYOUT",
            "SwinTransformerBlock reads channels last (B, H, W, C) but receives rank 4 BCHW (B, 12, 8, 8); "
            "insert a Permute with dims [0, 2, 3, 1]",
            {"action": "insert_node", "type": "Permute", "between": ["inp", "swin"], "params": {"dims": [0, 2, 3, 1]}},
            id="channels-first",
        ),
        pytest.param(
            swin_graph(last(0, 3, 2, 1), shape=[12, 8, 6]),
            "LAYOUT",
            "SwinTransformerBlock reads channels last (B, H, W, C) but receives rank 4 BWHC (B, 6, 8, 12); "
            "insert a Permute with dims [0, 2, 1, 3]",
            {"action": "insert_node", "type": "Permute", "between": ["last", "swin"], "params": {"dims": [0, 2, 1, 3]}},
            id="width-before-height",
        ),
        pytest.param(
            swin_graph(last(0, 2, 3, 1), shape=[16, 8, 8]),
            "SHAPE",
            "16 channels cannot be split into 3 attention heads; use a num_heads that divides 16, such as 2",
            {"action": "set_param", "node": "swin", "param": "num_heads", "value": 2},
            id="heads-not-dividing",
        ),
        pytest.param(
            swin_graph(last(0, 2, 3, 1), shape=[12, 8, 8], window_size=4, shift_size=4),
            "PARAM_RANGE",
            "shift_size 4 must be smaller than window_size 4; Swin shifts by window_size // 2",
            {"action": "set_param", "node": "swin", "param": "shift_size", "value": 2},
            id="shift-not-below-window",
        ),
        pytest.param(
            swin_graph(shape=[5, 12]),
            "RANK",
            "SwinTransformerBlock expects a rank 4 channels-last image (B, H, W, C), got rank 3 BCT (B, 5, 12)",
            None,
            id="sequence",
        ),
    ],
)
def test_bad_input_is_a_diagnostic_on_the_node_with_its_fix(graph, code, message, suggestion):
    result = codegen.validate(graph)
    (error,) = result.errors
    assert (error.code, error.node, error.message) == (code, "swin", message)
    assert error.suggestion == suggestion


def test_following_the_suggested_permute_makes_the_graph_valid():
    graph = swin_graph(last(0, 2, 3, 1), shape=[12, 8, 8])
    assert codegen.validate(graph).ok
    assert codegen.validate(graph).params_total == sum(p.numel() for p in SwinTransformerBlock(12, 3).parameters())


@pytest.mark.parametrize(("block", "params"), [("SwinTransformerBlock", {"num_heads": 1}), ("PatchMerging", {})])
def test_without_the_channel_count_the_blocks_ask_for_input_shapes(block, params):
    with pytest.raises(ShapeError) as error:
        infer(block, full_params(block, **params), image(8, 8, None))
    assert error.value.code == "NEEDS_SHAPE"


def test_the_golden_swin_and_convnext_graph_runs_as_interpreted(tmp_path: Path):
    graph = json.loads((Path(__file__).parent / "golden" / "swin_blocks" / "graph.json").read_text())
    check_case(Case(graph, None, [(graph["inputs"][0], "2d", (3, 28, 28), None)]), tmp_path)
