"""Whole graphs: serial, branch, skip and merge, 1D, 2D and recurrent paths, splits, ablations and user blocks.

Every inferred shape is checked against a real forward of the reference interpreter, which builds the
modules exactly as generated code does.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import codegen
from codegen.interpreter import build_reference


def graph(nodes: list[dict[str, Any]], edges: list[list[str]], outputs: list[str], inputs=("inp",)) -> dict[str, Any]:
    return {"version": "0.2", "nodes": nodes, "edges": edges, "inputs": list(inputs), "outputs": outputs}


def checked(document: dict[str, Any], input_shapes: dict[str, list[int]] | None = None) -> codegen.Validation:
    """Validate, then run a real forward with every single-output live node as a model output, and compare."""
    result = codegen.validate(document, input_shapes=input_shapes)
    assert result.ok, result.to_dict()["diagnostics"]
    analysis = result.analysis
    shapes = {name: list(shape) for name, shape in (input_shapes or {}).items()}
    for name in analysis.inputs:
        if name not in shapes:
            shapes[name] = analysis.info[name].node.params["shape"]
    probes = [n for n in analysis.order if n not in analysis.inputs and not isinstance(analysis.info[n].out, tuple)]
    probed = codegen.analyze(codegen.load_graph({**document, "outputs": probes}), input_shapes)
    example = tuple(torch.randn(2, *shapes[name]) for name in probed.inputs)
    model = build_reference(probed, example).eval()
    with torch.no_grad():
        outputs = model(*example)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    real = {name: ["B", *out.shape[1:]] for name, out in zip(probes, outputs)}
    assert real == {name: result.shapes()[name] for name in probes}
    if result.params_total is not None:
        assert result.params_total == sum(p.numel() for p in model.parameters())
    return result


# ---------------------------------------------------------------------------------------------
# Topologies


def test_a_serial_2d_stack(chain, node):
    document = chain(
        node("conv", "Conv2d", out_channels=8, kernel_size=3, padding=1),
        node("bn", "BatchNorm2d"),
        node("relu", "ReLU"),
        node("pool", "MaxPool2d", kernel_size=2),
        node("flat", "Flatten"),
        node("fc", "Linear", out_features=10),
        shape=[3, 16, 12],
    )
    result = checked(document)
    assert result.shapes()["pool"] == ["B", 8, 8, 6]
    assert result.shapes()["fc"] == ["B", 10]
    assert result.params_total == (3 * 8 * 9 + 8) + 16 + (8 * 8 * 6 * 10 + 10)


def test_a_serial_1d_stack(chain, node):
    document = chain(
        node("conv", "Conv1d", out_channels=16, kernel_size=5, stride=2),
        node("bn", "BatchNorm1d"),
        node("act", "GELU"),
        node("pool", "AvgPool1d", kernel_size=3, ceil_mode=True),
        node("gap", "GlobalAvgPool"),
        node("fc", "Linear", out_features=4),
        shape=[9, 64],
    )
    result = checked(document)
    assert [result.shapes()[n] for n in ("conv", "pool", "gap")] == [["B", 16, 30], ["B", 16, 10], ["B", 16]]


def test_branches_merged_by_concat(node):
    document = graph(
        [
            node("inp", "Input", shape=[3, 9, 9]),
            node("a", "Conv2d", out_channels=4, kernel_size=3, padding=1),
            node("b", "Conv2d", out_channels=6, kernel_size=5, padding=2),
            node("cat", "Concat"),
            node("head", "Conv2d", out_channels=2, kernel_size=1),
        ],
        [["inp", "a"], ["inp", "b"], ["a", "cat"], ["b", "cat"], ["cat", "head"]],
        ["head"],
    )
    result = checked(document)
    assert result.shapes()["cat"] == ["B", 10, 9, 9]
    assert result.to_dict()["order"] == ["inp", "a", "b", "cat", "head"]


def test_concat_along_the_last_axis_with_numbered_ports(node):
    document = graph(
        [
            node("inp", "Input", shape=[4, 6]),
            node("a", "Conv1d", out_channels=4, kernel_size=3),
            node("b", "MaxPool1d", kernel_size=2),
            node("cat", "Concat", dim=-1),
        ],
        [["inp", "a"], ["inp", "b"], ["a", "cat", "1"], ["b", "cat", "0"]],
        ["cat"],
    )
    result = checked(document)
    assert result.shapes()["cat"] == ["B", 4, 3 + 4]
    assert [e["source"] for e in result.edges() if e["target"] == "cat"] == ["b", "a"]


def test_a_residual_skip_connection(node):
    document = graph(
        [
            node("inp", "Input", shape=[8, 10, 10]),
            node("conv", "Conv2d", out_channels=8, padding="same"),
            node("bn", "BN"),
            node("relu", "ReLU"),
            node("add", "Add"),
            node("out", "ReLU"),
        ],
        [["inp", "conv"], ["conv", "bn"], ["bn", "relu"], ["relu", "add"], ["inp", "add"], ["add", "out"]],
        ["out"],
    )
    result = checked(document)
    assert result.shapes()["add"] == ["B", 8, 10, 10]


def test_a_squeeze_excitation_gate_broadcasts_over_space(node):
    document = graph(
        [
            node("inp", "Input", shape=[8, 5, 5]),
            node("gap", "AdaptiveAvgPool2d", output_size=1),
            node("fc", "Conv2d", out_channels=8, kernel_size=1),
            node("gate", "Sigmoid"),
            node("scale", "Mul"),
        ],
        [["inp", "gap"], ["gap", "fc"], ["fc", "gate"], ["inp", "scale"], ["gate", "scale"]],
        ["scale"],
    )
    assert checked(document).shapes()["scale"] == ["B", 8, 5, 5]


def test_two_outputs_from_two_heads(node):
    document = graph(
        [
            node("inp", "Input", shape=[16]),
            node("trunk", "Linear", out_features=8),
            node("cls", "Linear", out_features=3),
            node("reg", "Linear", out_features=1),
        ],
        [["inp", "trunk"], ["trunk", "cls"], ["trunk", "reg"]],
        ["cls", "reg"],
    )
    result = checked(document)
    assert (result.shapes()["cls"], result.shapes()["reg"]) == (["B", 3], ["B", 1])


def test_two_inputs_meet_in_a_bilinear_layer(node):
    document = graph(
        [node("a", "Input", shape=[5]), node("b", "Input", shape=[7]), node("bi", "Bilinear", out_features=3)],
        [["b", "bi", "x2"], ["a", "bi", "x1"]],
        ["bi"],
        inputs=["a", "b"],
    )
    assert checked(document).to_dict()["params"]["bi"] == 5 * 7 * 3 + 3


def test_the_recurrent_path(chain, node):
    document = chain(
        node("conv", "Conv1d", out_channels=16, kernel_size=3, padding=1),
        node("perm", "Permute_BCT_to_BTH"),
        node("gru", "GRU", hidden_size=12, bidirectional=True),
        node("fc", "Linear", out_features=5),
        shape=[9, 20],
    )
    result = checked(document)
    assert [result.shapes()[n] for n in ("perm", "gru", "fc")] == [["B", 20, 16], ["B", 20, 24], ["B", 20, 5]]


def test_tokens_through_an_embedding_and_attention(chain, node):
    document = chain(
        node("emb", "Embedding", num_embeddings=50, embedding_dim=16),
        node("attn", "MultiheadAttention", num_heads=4),
        node("enc", "TransformerEncoderLayer", nhead=4, dim_feedforward=32),
        node("pool", "GAP"),
        node("fc", "Linear", out_features=2),
        shape=[12],
        dtype="int64",
        vocab_size=50,
    )
    result = codegen.validate(document)
    assert result.ok
    assert [result.shapes()[n] for n in ("emb", "enc", "pool", "fc")] == [
        ["B", 12, 16],
        ["B", 12, 16],
        ["B", 16],
        ["B", 2],
    ]
    model = build_reference(result.analysis).eval()
    assert model(torch.randint(0, 50, (2, 12))).shape == (2, 2)


def test_a_split_is_consumed_through_its_numbered_outputs(chain, node):
    document = chain(node("split", "Split", sections=[2, 6]), shape=[8, 5])
    document["nodes"] += [
        node("a", "Conv1d", out_channels=3, kernel_size=1),
        node("b", "Tanh"),
        node("cat", "Concat"),
    ]
    document["edges"] += [["split:0", "a"], ["split:1", "b"], ["a", "cat"], ["b", "cat"]]
    document["outputs"] = ["cat"]
    result = checked(document)
    assert result.shapes()["split"] == [["B", 2, 5], ["B", 6, 5]]
    assert {e["source"]: e["shape"] for e in result.edges() if e["target"] in ("a", "b")} == {
        "split:0": ["B", 2, 5],
        "split:1": ["B", 6, 5],
    }
    assert result.shapes()["cat"] == ["B", 9, 5]


def test_chunks_gate_each_other(chain, node):
    document = chain(node("proj", "Linear", out_features=8), node("chunk", "Chunk", chunks=2), shape=[4])
    document["nodes"] += [node("gate", "Sigmoid"), node("glu", "Mul")]
    document["edges"] += [["chunk:1", "gate"], ["chunk:0", "glu"], ["gate", "glu"]]
    document["outputs"] = ["glu"]
    assert checked(document).shapes()["glu"] == ["B", 4]


# ---------------------------------------------------------------------------------------------
# Ablation: a disabled node is the identity


def test_a_disabled_layer_passes_its_input_through(chain, node):
    document = chain(
        node("conv", "Conv2d", out_channels=16, kernel_size=3),
        node("bn", "BatchNorm2d"),
        node("flat", "Flatten"),
        node("fc", "Linear", out_features=2),
        shape=[3, 6, 6],
    )
    document["nodes"][1]["disabled"] = True
    result = checked(document)
    assert result.shapes()["conv"] == ["B", 3, 6, 6]
    assert result.shapes()["flat"] == ["B", 3 * 6 * 6]
    assert result.to_dict()["params"]["conv"] == 0
    assert result.params_total == 6 + (3 * 6 * 6 * 2 + 2)


def test_a_disabled_merge_passes_its_first_input_with_a_warning(node):
    document = graph(
        [
            node("inp", "Input", shape=[4, 5]),
            node("a", "Conv1d", out_channels=4, kernel_size=1),
            node("b", "Conv1d", out_channels=6, kernel_size=1),
            node("cat", "Concat"),
        ],
        [["inp", "a"], ["inp", "b"], ["a", "cat"], ["b", "cat"]],
        ["cat"],
    )
    document["nodes"][3]["disabled"] = True
    result = codegen.validate(document)
    assert result.ok
    assert [(d.code, d.severity, d.message) for d in result.diagnostics] == [
        ("ARITY", "warning", "a disabled node passes its first input through; the others are ignored")
    ]
    assert result.shapes()["cat"] == ["B", 4, 5]


def test_disabling_a_layer_can_surface_a_shape_error_downstream(chain, node):
    document = chain(node("flat", "Flatten"), node("fc", "Linear", out_features=2), shape=[3, 4, 4])
    document["nodes"][1]["disabled"] = True
    [diagnostic] = codegen.validate(document).diagnostics
    assert (diagnostic.code, diagnostic.node) == ("RANK", "fc")


# ---------------------------------------------------------------------------------------------
# User-defined composite blocks with "$name" parameters

CONV_BN = {
    "doc": "Convolution, batch norm and ReLU.",
    "params": [
        {"name": "out", "type": "int", "min": 1},
        {"name": "k", "type": "int", "default": 3},
    ],
    "nodes": [
        {"id": "x", "type": "Input"},
        {"id": "conv", "type": "Conv2d", "params": {"out_channels": "$out", "kernel_size": "$k", "padding": "same"}},
        {"id": "bn", "type": "BatchNorm2d"},
        {"id": "act", "type": "ReLU"},
    ],
    "edges": [["x", "conv"], ["conv", "bn"], ["bn", "act"]],
    "inputs": ["x"],
    "outputs": ["act"],
}

GATE = {
    "params": [{"name": "channels"}, {"name": "reduction", "default": 4, "min": 1}],
    "nodes": [
        {"id": "x", "type": "Input"},
        {"id": "gap", "type": "GlobalAvgPool"},
        {"id": "fc1", "type": "Linear", "params": {"out_features": "$channels // $reduction"}},
        {"id": "relu", "type": "ReLU"},
        {"id": "fc2", "type": "Linear", "params": {"out_features": "$channels"}},
        {"id": "sig", "type": "Sigmoid"},
        {"id": "u1", "type": "Unsqueeze", "params": {"dim": -1}},
        {"id": "u2", "type": "Unsqueeze", "params": {"dim": -1}},
        {"id": "scale", "type": "Mul"},
    ],
    "edges": [["x", "gap"], ["gap", "fc1"], ["fc1", "relu"], ["relu", "fc2"], ["fc2", "sig"], ["sig", "u1"]]
    + [["u1", "u2"], ["x", "scale"], ["u2", "scale"]],
    "inputs": ["x"],
    "outputs": ["scale"],
}

STAGE = {  # a block made of blocks: ConvBN(width) → ConvBN(width, k=1) → Gate(width), then 2×2 pooling
    "params": [{"name": "width"}],
    "nodes": [
        {"id": "x", "type": "Input"},
        {"id": "c1", "type": "ConvBN", "params": {"out": "$width"}},
        {"id": "c2", "type": "ConvBN", "params": {"out": "$width", "k": 1}},
        {"id": "se", "type": "Gate", "params": {"channels": "$width"}},
        {"id": "pool", "type": "MaxPool2d", "params": {"kernel_size": 2}},
    ],
    "edges": [["x", "c1"], ["c1", "c2"], ["c2", "se"], ["se", "pool"]],
    "inputs": ["x"],
    "outputs": ["pool"],
}


def with_blocks(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "composites": {"ConvBN": CONV_BN, "Gate": GATE, "Stage": STAGE}}


def conv_bn_params(cin: int, cout: int, k: int) -> int:
    return cin * cout * k * k + cout + 2 * cout


def test_a_user_block_is_sized_by_its_params(chain, node):
    document = with_blocks(
        chain(
            node("b1", "ConvBN", out=8),
            node("b2", "ConvBN", out=4, k=5),
            node("se", "Gate", channels=4),
            shape=[3, 6, 6],
        )
    )
    result = checked(document)
    assert [result.shapes()[n] for n in ("b1", "b2", "se")] == [["B", 8, 6, 6], ["B", 4, 6, 6], ["B", 4, 6, 6]]
    params = result.to_dict()["params"]
    assert params["b1"] == conv_bn_params(3, 8, 3)
    assert params["b2"] == conv_bn_params(8, 4, 5)
    assert params["se"] == (4 * 1 + 1) + (1 * 4 + 4)


def test_user_blocks_nest(chain, node):
    document = with_blocks(chain(node("s1", "Stage", width=8), node("s2", "Stage", width=16), shape=[3, 8, 8]))
    result = checked(document)
    assert (result.shapes()["s1"], result.shapes()["s2"]) == (["B", 8, 4, 4], ["B", 16, 2, 2])
    gate = (16 * 4 + 4) + (4 * 16 + 16)
    assert result.to_dict()["params"]["s2"] == conv_bn_params(8, 16, 3) + conv_bn_params(16, 16, 1) + gate


def test_a_bool_block_param_reaches_the_inner_layer(chain, node):
    projection = {
        "params": [{"name": "bias", "type": "bool", "default": True}],
        "nodes": [
            {"id": "x", "type": "Input"},
            {"id": "fc", "type": "Linear", "params": {"out_features": 4, "bias": "$bias"}},
        ],
        "edges": [["x", "fc"]],
        "inputs": ["x"],
        "outputs": ["fc"],
    }
    document = chain(node("biased", "Projection"), node("plain", "Projection", bias=False), shape=[4])
    document["composites"] = {"Projection": projection}
    assert checked(document).to_dict()["params"] == {"inp": 0, "biased": 4 * 4 + 4, "plain": 4 * 4}


def test_a_block_param_out_of_its_declared_range_is_refused(chain, node):
    result = codegen.validate(with_blocks(chain(node("b", "ConvBN", out=0), shape=[3, 6, 6])))
    assert [(d.code, d.node, d.message) for d in result.diagnostics] == [
        ("PARAM_RANGE", "b", "nodes[1].params.out: must be ≥ 1, got 0")
    ]


def test_an_error_inside_a_block_instance_names_the_instance_and_the_inner_node(chain, node):
    result = codegen.validate(with_blocks(chain(node("se", "Gate", channels=3), shape=[3, 6, 6])))
    assert [(d.code, d.node, d.message) for d in result.diagnostics] == [
        (
            "PARAM_RANGE",
            "se",
            "inside block Gate at `fc1`: composites.Gate.nodes[2].params.out_features: must be ≥ 1, got 0",
        )
    ]


def test_a_user_block_works_without_input_shapes(chain, node):
    document = with_blocks(
        chain(node("c", "Conv2d", out_channels=8), node("b", "ConvBN", out=4), node("se", "Gate", channels=4))
    )
    result = codegen.validate(document)
    assert result.ok
    assert result.shapes()["se"] == ["B", 4, None, None]
    assert result.to_dict()["params"] == {"inp": 0, "c": None, "b": conv_bn_params(8, 4, 3), "se": 5 + 8}


def test_nested_user_blocks_work_without_input_shapes(chain, node):
    result = codegen.validate(with_blocks(chain(node("s", "Stage", width=8), node("gap", "GAP"))))
    assert result.diagnostics == []
    assert (result.shapes()["s"], result.shapes()["gap"]) == (["B", 8, None, None], ["B", 8])


# ---------------------------------------------------------------------------------------------
# Without input shapes: ranks and whatever sizes the params fix


def test_without_input_shapes_sizes_are_unknown_but_ranks_and_channels_are_not(chain, node):
    document = chain(
        node("conv", "Conv2d", out_channels=8),
        node("pool", "MaxPool2d"),
        node("flat", "Flatten"),
        node("fc", "Linear", out_features=10),
    )
    result = codegen.validate(document)
    assert result.ok
    assert result.shapes() == {
        "inp": None,
        "conv": ["B", 8, None, None],
        "pool": ["B", 8, None, None],
        "flat": ["B", None],
        "fc": ["B", 10],
    }
    assert (result.params_total, result.analysis.memory_bytes) == (None, None)
    assert result.to_dict()["params"] == {"inp": 0, "conv": None, "pool": 0, "flat": 0, "fc": None}


def test_input_shapes_given_at_validation_fill_in_the_sizes(chain, node):
    document = chain(node("conv", "Conv2d", out_channels=8), node("pool", "MaxPool2d"))
    result = checked(document, input_shapes={"inp": [3, 10, 10]})
    assert result.shapes()["pool"] == ["B", 8, 4, 4]


def test_the_input_layout_decides_how_a_rank_3_tensor_is_read(chain, node):
    sequence = chain(node("gru", "GRU", hidden_size=4), shape=[10, 6], layout="BTH")
    assert checked(sequence).shapes()["gru"] == ["B", 10, 4]
    channels_first = chain(node("gru", "GRU", hidden_size=4), shape=[10, 6])
    assert [d.code for d in codegen.validate(channels_first).diagnostics] == ["LAYOUT"]


# ---------------------------------------------------------------------------------------------
# Learned tensors: ViT's token path and ConvNeXt's layer scale


def vit_tokens(chain, node, *after: dict[str, Any]) -> dict[str, Any]:
    """Patch embedding (4×4 patches of a 3×8×8 image, width 16) → tokens (B, 4, 16) → ``after``."""
    return chain(
        node("conv_proj", "Conv2d", out_channels=16, kernel_size=4, stride=4),
        node("flat", "Flatten", start_dim=2),
        node("tokens", "Permute_BCT_to_BTH"),
        *after,
        shape=[3, 8, 8],
    )


def test_a_vit_head_prepends_the_class_token_adds_positions_and_reads_token_0(chain, node):
    document = vit_tokens(
        chain,
        node,
        node("class_token", "ClassToken"),
        node("pos_embedding", "PositionEmbedding"),
        node("encoder", "TransformerEncoderLayer", nhead=2, dim_feedforward=32),
        node("cls", "SelectToken"),
        node("head", "Linear", out_features=5),
    )
    result = checked(document)
    shapes = result.shapes()
    assert shapes["tokens"] == ["B", 4, 16]
    assert shapes["class_token"] == ["B", 5, 16]
    assert shapes["pos_embedding"] == ["B", 5, 16]
    assert shapes["cls"] == ["B", 16]
    assert result.to_dict()["params"]["class_token"] == 16
    assert result.to_dict()["params"]["pos_embedding"] == 5 * 16


def test_layer_scale_holds_one_value_per_channel(chain, node):
    channels_first = checked(chain(node("layer_scale", "LayerScale"), shape=[6, 3, 3]))
    tokens = checked(chain(node("layer_scale", "LayerScale"), shape=[5, 6], layout="BTH"))
    assert channels_first.to_dict()["params"]["layer_scale"] == 6
    assert tokens.to_dict()["params"]["layer_scale"] == 6
    model = build_reference(channels_first.analysis)
    assert model.layer_scale.shape == (6, 1, 1)  # torchvision ConvNeXt's layer_scale
    assert torch.all(model.layer_scale == 1e-6)
    assert build_reference(tokens.analysis).layer_scale.shape == (6,)


def test_a_class_token_on_channels_first_tokens_is_refused_with_the_permute_to_insert(chain, node, only):
    document = chain(node("class_token", "ClassToken"), shape=[16, 4])
    assert only(codegen.validate(document), "LAYOUT") == {
        "severity": "error",
        "code": "LAYOUT",
        "message": "expects tokens (B, N, D) but receives rank 3 BCT (B, 16, 4); insert Permute_BCT_to_BTH",
        "node": "class_token",
        "edge": ["inp", "class_token"],
        "suggestion": {"action": "insert_node", "type": "Permute_BCT_to_BTH", "between": ["inp", "class_token"]},
    }


def test_a_position_embedding_without_a_known_length_asks_for_the_input_shape(chain, node, only):
    document = chain(node("pos_embedding", "PositionEmbedding"), shape=[4, 16], layout="BTH")
    document["nodes"][0]["params"].pop("shape")
    diagnostic = only(codegen.validate(document), "NEEDS_SHAPE")
    assert diagnostic["node"] == "pos_embedding"
    assert "set `shape` on the Input node" in diagnostic["message"]


def test_a_stated_length_that_disagrees_with_the_tokens_names_the_length_to_set(chain, node, only):
    document = vit_tokens(chain, node, node("pos_embedding", "PositionEmbedding", length=5))
    diagnostic = only(codegen.validate(document), "PARAM_RANGE")
    assert diagnostic["node"] == "pos_embedding"
    assert diagnostic["message"] == "length=5 but the input has 4 tokens; set length to 4 or leave it empty"
    assert checked(vit_tokens(chain, node, node("pos_embedding", "PositionEmbedding", length=4))).ok


def test_selecting_a_token_past_the_end_names_the_node_and_the_valid_range(chain, node, only):
    document = vit_tokens(chain, node, node("cls", "SelectToken", index=4))
    diagnostic = only(codegen.validate(document), "PARAM_RANGE")
    assert diagnostic["node"] == "cls"
    assert diagnostic["message"] == (
        "index=4 is past the last of the 4 tokens of rank 3 BTH (B, 4, 16); use an index below 4"
    )


def test_an_oversized_position_table_is_refused_by_the_parameter_budget(chain, node, only):
    document = chain(node("pos_embedding", "PositionEmbedding"), shape=[200_000, 20_000], layout="BTH")
    assert "parameters exceed the budget" in only(codegen.validate(document), "BUDGET")["message"]


# ---------------------------------------------------------------------------------------------
# Totals


def test_params_total_and_memory_bytes_add_up_over_live_nodes(node):
    document = graph(
        [
            node("inp", "Input", shape=[3, 4, 4]),
            node("conv", "Conv2d", out_channels=2, kernel_size=1),
            node("dead", "Conv2d", out_channels=64, kernel_size=3),
            node("flat", "Flatten"),
        ],
        [["inp", "conv"], ["inp", "dead"], ["conv", "flat"]],
        ["flat"],
    )
    result = codegen.validate(document)
    assert result.params_total == 3 * 2 + 2
    values = 3 * 4 * 4 + 2 * 4 * 4 + 2 * 4 * 4  # inp, conv, flat (the dead branch is left out)
    assert result.analysis.memory_bytes == values * 4
    assert result.to_dict()["order"] == ["inp", "conv", "flat"]


# ---------------------------------------------------------------------------------------------
# Random stacks of windows: the validator accepts exactly what PyTorch can run


@st.composite
def window_stacks(draw):
    layers = []
    for index in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["Conv2d", "MaxPool2d", "AvgPool2d"]))
        kernel = draw(st.integers(1, 5))
        params: dict[str, Any] = {"kernel_size": kernel, "stride": draw(st.integers(1, 3))}
        params["padding"] = draw(st.integers(0, kernel // 2))
        if kind == "Conv2d":
            params |= {"out_channels": draw(st.integers(1, 4)), "dilation": draw(st.integers(1, 2))}
        else:
            params["ceil_mode"] = draw(st.booleans())
        layers.append({"id": f"l{index}", "type": kind, "params": params})
    return layers, [draw(st.integers(1, 4)), draw(st.integers(1, 12)), draw(st.integers(1, 12))]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(stack=window_stacks())
def test_a_random_stack_of_windows_is_valid_exactly_when_pytorch_runs_it(chain, stack):
    layers, shape = stack
    document = chain(*layers, shape=shape)
    result = codegen.validate(document)
    if result.ok:
        checked(document)
        return
    [failure] = result.errors  # the first impossible layer; nothing after it is inferred
    assert failure.code == "IMPOSSIBLE_OUTPUT"
    x = torch.randn(1, *shape)
    for layer in layers:
        params = dict(layer["params"])
        if layer["type"] == "Conv2d":
            module = nn.Conv2d(x.shape[1], params.pop("out_channels"), **params)
        else:
            module = getattr(nn, layer["type"])(**params)
        if layer["id"] == failure.node:
            with pytest.raises(RuntimeError):
                module(x)
            return
        x = module(x)
    raise AssertionError(f"{failure.node} is not in the stack")
