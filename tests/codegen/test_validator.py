"""The validator, one diagnostic code at a time: code, node or edge, exact message and suggestion."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

import codegen
from codegen import Limits
from codegen.diagnostics import CODES

# The seed's two examples, copied verbatim from the design README.
SEED_1D_DEMO = """
{
  "version": "0.2",
  "metadata": {"name": "my_model", "tags": ["demo"]},
  "nodes": [
    {"id":"inp","type":"Input","params":{}},
    {"id":"conv","type":"Conv1d","params":{"out_channels":64,"kernel_size":5,"padding":"same"}},
    {"id":"relu","type":"ReLU","params":{}},
    {"id":"perm","type":"Permute_BCT_to_BTH","params":{}},
    {"id":"gru","type":"GRUBlock","params":{"hidden_size":128,"out":"last"}},
    {"id":"fc","type":"Linear","params":{"out_features":18}}
  ],
  "edges": [["inp","conv"],["conv","relu"],["relu","perm"],["perm","gru"],["gru","fc"]],
  "inputs": ["inp"],
  "outputs": ["fc"]
}
"""

SEED_VGG_BRIEF = """
{
  "nodes": [
    {"id":"inp","type":"Input","params":{}},

    {"id":"b1","type":"VGGBlock","params":{"c1":64,"c2":64,"k":3,"pool":true}},
    {"id":"b2","type":"VGGBlock","params":{"c1":128,"c2":128,"k":3,"pool":true}},
    {"id":"b3","type":"VGGBlock","params":{"c1":256,"c2":256,"k":3,"pool":true}},
    {"id":"b4","type":"VGGBlock","params":{"c1":512,"c2":512,"k":3,"pool":true}},
    {"id":"b5","type":"VGGBlock","params":{"c1":512,"c2":512,"k":3,"pool":true}},

    {"id":"flat","type":"Flatten","params":{}},
    {"id":"fc1","type":"Linear","params":{"out_features":4096}},
    {"id":"relu1","type":"ReLU","params":{}},
    {"id":"fc2","type":"Linear","params":{"out_features":4096}},
    {"id":"relu2","type":"ReLU","params":{}},
    {"id":"fc3","type":"Linear","params":{"out_features":1000}}
  ],
  "edges": [
    ["inp","b1"],["b1","b2"],["b2","b3"],["b3","b4"],["b4","b5"],
    ["b5","flat"],["flat","fc1"],["fc1","relu1"],["relu1","fc2"],["fc2","relu2"],["relu2","fc3"]
  ],
  "inputs":["inp"],"outputs":["fc3"]
}
"""


def demo() -> dict[str, Any]:
    return json.loads(SEED_1D_DEMO)


def diagnostics(graph: Any, **kwargs: Any) -> list[dict[str, Any]]:
    return codegen.validate(graph, **kwargs).to_dict()["diagnostics"]


def graph(nodes: list[dict[str, Any]], edges: list[list[str]], outputs: list[str], inputs=("inp",)) -> dict[str, Any]:
    return {"version": "0.2", "nodes": nodes, "edges": edges, "inputs": list(inputs), "outputs": outputs}


def error(code: str, message: str, **where: Any) -> dict[str, Any]:
    """A diagnostic as ``to_dict()`` gives it (``edge`` as a list, keys only when set)."""
    return {"severity": "error", "code": code, "message": message, **where}


def warning(code: str, message: str, **where: Any) -> dict[str, Any]:
    return {"severity": "warning", "code": code, "message": message, **where}


# ---------------------------------------------------------------------------------------------
# The seed's examples


def test_the_seed_1d_demo_validates_with_concrete_shapes_on_every_edge():
    result = codegen.validate(SEED_1D_DEMO, input_shapes={"inp": [9, 256]}).to_dict()
    assert result["ok"] is True and result["diagnostics"] == []
    assert result["edges"] == [
        {"source": "inp", "target": "conv", "shape": ["B", 9, 256]},
        {"source": "conv", "target": "relu", "shape": ["B", 64, 256]},
        {"source": "relu", "target": "perm", "shape": ["B", 64, 256]},
        {"source": "perm", "target": "gru", "shape": ["B", 256, 64]},
        {"source": "gru", "target": "fc", "shape": ["B", 128]},
    ]
    assert result["shapes"]["fc"] == ["B", 18]
    assert result["params_total"] == (9 * 64 * 5 + 64) + 3 * (64 * 128 + 128 * 128 + 2 * 128) + (128 * 18 + 18)
    assert result["order"] == ["inp", "conv", "relu", "perm", "gru", "fc"]


def test_the_seed_1d_demo_validates_without_input_shapes():
    result = codegen.validate(SEED_1D_DEMO).to_dict()
    assert (result["ok"], result["diagnostics"]) == (True, [])
    assert result["shapes"]["conv"] == ["B", 64, None]
    assert result["shapes"]["fc"] == ["B", 18]


def test_the_seed_vgg_brief_validates_without_input_shapes():
    result = codegen.validate(SEED_VGG_BRIEF).to_dict()
    assert (result["ok"], result["diagnostics"]) == (True, [])
    assert result["shapes"]["b5"] == ["B", 512, None, None]
    assert result["shapes"]["fc3"] == ["B", 1000]
    assert result["params_total"] is None  # fc1 is a LazyLinear until the input size is known


def test_the_seed_vgg_brief_at_224_pixels_has_vgg_sizes_and_parameter_count():
    result = codegen.validate(SEED_VGG_BRIEF, input_shapes={"inp": [3, 224, 224]}).to_dict()
    assert result["ok"] is True
    assert [result["shapes"][b] for b in ("b1", "b5", "flat")] == [["B", 64, 112, 112], ["B", 512, 7, 7], ["B", 25088]]
    widths = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 512), (512, 512)]
    widths += [(512, 512), (512, 512)]
    convs = sum(i * o * 9 + o for i, o in widths)
    dense = sum(i * o + o for i, o in [(25088, 4096), (4096, 4096), (4096, 1000)])
    assert result["params_total"] == convs + dense


# ---------------------------------------------------------------------------------------------
# Topology


def test_it_names_the_nodes_on_a_cycle(chain, node):
    document = chain(node("add", "Add"), node("relu", "ReLU"), node("conv", "Conv1d", out_channels=4))
    document["edges"].append(["conv", "add"])
    assert diagnostics(document) == [
        error(
            "CYCLE",
            "the graph has a cycle: add → relu → conv → add",
            node="add",
            edge=["conv", "add"],
            suggestion={"action": "remove_edge", "edge": ["conv", "add"]},
        )
    ]


def test_a_cycle_downstream_of_a_node_listed_first_is_still_named_exactly(node):
    document = graph(
        [node("out", "ReLU"), node("inp", "Input"), node("a", "Add"), node("b", "ReLU")],
        [["inp", "a"], ["a", "b"], ["b", "a"], ["b", "out"]],
        ["out"],
    )
    [cycle] = diagnostics(document)
    assert cycle["message"] == "the graph has a cycle: a → b → a"


def test_it_refuses_a_self_loop(chain, node):
    document = chain(node("relu", "ReLU"))
    document["edges"].append(["relu", "relu"])
    assert diagnostics(document) == [
        error(
            "SELF_LOOP",
            "edge connects `relu` to itself",
            node="relu",
            edge=["relu", "relu"],
            path="edges[1]",
            suggestion={"action": "remove_edge", "edge": ["relu", "relu"]},
        )
    ]


def test_it_suggests_the_closest_type_for_an_unknown_one(chain, node):
    assert diagnostics(chain(node("act", "ReLUU"))) == [
        error(
            "UNKNOWN_TYPE",
            "unknown node type 'ReLUU'; did you mean `ReLU`?",
            node="act",
            path="nodes[1].type",
            suggestion={"action": "set_type", "node": "act", "type": "ReLU"},
        )
    ]


def test_an_unknown_type_without_a_close_match_has_no_suggestion(chain, node):
    assert diagnostics(chain(node("x", "Frobnicator"))) == [
        error("UNKNOWN_TYPE", "unknown node type 'Frobnicator'", node="x", path="nodes[1].type")
    ]


def test_an_unconnected_node_is_only_a_warning(chain, node):
    document = chain(node("relu", "ReLU"))
    document["nodes"].append(node("spare", "Conv2d", out_channels=8))
    result = codegen.validate(document, input_shapes={"inp": [3, 8, 8]})
    assert result.ok
    assert result.to_dict()["diagnostics"] == [
        warning(
            "UNCONNECTED",
            "`spare` is not connected to anything",
            node="spare",
            suggestion={"action": "remove_node", "node": "spare"},
        )
    ]
    assert "spare" not in result.to_dict()["order"]


def test_a_node_that_leads_nowhere_is_a_dead_node_warning(chain, node):
    document = chain(node("relu", "ReLU"))
    document["nodes"].append(node("side", "Tanh"))
    document["edges"].append(["inp", "side"])
    result = codegen.validate(document)
    assert result.ok
    assert result.to_dict()["diagnostics"] == [
        warning(
            "DEAD_NODE",
            "`side` does not lead to any output; it is left out of the code",
            node="side",
            suggestion={"action": "remove_node", "node": "side"},
        )
    ]
    assert result.to_dict()["order"] == ["inp", "relu"]


def test_an_output_the_only_input_does_not_reach_offers_the_tail_as_output_not_removing_the_input(node):
    # The issue 12 graph: Input → Conv2d → ReLU drawn, but the output is a Linear left on the side.
    document = graph(
        [
            node("inp", "Input", shape=[3, 8, 8]),
            node("conv", "Conv2d", out_channels=4, kernel_size=3),
            node("relu", "ReLU"),
            node("head", "Linear", out_features=10),
        ],
        [["inp", "conv"], ["conv", "relu"]],
        ["head"],
    )
    found = diagnostics(document)
    suggestions = [d["suggestion"] for d in found if "suggestion" in d]
    assert {"action": "remove_node", "node": "inp"} not in suggestions
    first = next(d for d in found if "suggestion" in d)
    assert first["node"] == "inp" and first["code"] == "DEAD_NODE"
    assert first["suggestion"] == {"action": "set_outputs", "outputs": ["relu"]}
    fixed = apply(document, first["suggestion"])
    result = codegen.validate(fixed).to_dict()
    assert result["ok"] and result["order"] == ["inp", "conv", "relu"]


def test_a_chain_drawn_on_a_new_graph_offers_its_end_as_the_output_not_removing_it(node):
    # "+ New graph" starts with outputs: ["input"]; the user then draws input → conv → relu.
    document = graph(
        [
            node("input", "Input", shape=[3, 8, 8]),
            node("conv", "Conv2d", out_channels=4, kernel_size=3),
            node("relu", "ReLU"),
        ],
        [["input", "conv"], ["conv", "relu"]],
        ["input"],
        inputs=("input",),
    )
    dead = [d for d in diagnostics(document) if d["code"] == "DEAD_NODE"]
    assert [d["node"] for d in dead] == ["conv", "relu"]
    assert [d["suggestion"] for d in dead] == [{"action": "set_outputs", "outputs": ["relu"]}] * 2
    result = codegen.validate(apply(document, dead[0]["suggestion"])).to_dict()
    assert result["ok"] and result["diagnostics"] == [] and result["order"] == ["input", "conv", "relu"]


def test_a_dead_input_keeps_the_outputs_other_inputs_reach_and_adds_its_tail(node):
    document = graph(
        [node("a", "Input", shape=[4]), node("b", "Input", shape=[4]), node("fa", "ReLU"), node("fb", "Tanh")],
        [["a", "fa"], ["b", "fb"]],
        ["fa"],
        inputs=("a", "b"),
    )
    dead = [d for d in diagnostics(document) if d["code"] == "DEAD_NODE"]
    assert [d["node"] for d in dead] == ["b", "fb"]
    assert dead[0]["suggestion"] == {"action": "set_outputs", "outputs": ["fa", "fb"]}
    assert dead[1]["suggestion"] == {"action": "remove_node", "node": "fb"}


def test_the_only_input_left_unconnected_is_never_offered_for_removal(node):
    document = graph(
        [node("inp", "Input", shape=[4]), node("a", "ReLU"), node("b", "Tanh")],
        [["a", "b"]],
        ["b"],
    )
    unconnected = [d for d in diagnostics(document) if d["code"] == "UNCONNECTED"]
    assert [d["node"] for d in unconnected] == ["inp"] and "suggestion" not in unconnected[0]


def test_a_spare_input_beside_another_may_still_be_removed(chain, node):
    document = chain(node("relu", "ReLU"), shape=[4])
    document["nodes"].append(node("spare", "Input", shape=[4]))
    document["inputs"].append("spare")
    unconnected = [d for d in diagnostics(document) if d["code"] == "UNCONNECTED"]
    assert unconnected[0]["suggestion"] == {"action": "remove_node", "node": "spare"}


def test_an_edge_to_a_missing_node_is_dangling(chain, node):
    document = chain(node("relu", "ReLU"))
    document["edges"].append(["relu", "ghost"])
    assert diagnostics(document) == [
        error(
            "DANGLING_EDGE",
            "edge relu → ghost names unknown node `ghost`",
            edge=["relu", "ghost"],
            path="edges[1]",
            suggestion={"action": "remove_edge", "edge": ["relu", "ghost"]},
        )
    ]


def test_a_repeated_edge_is_a_warning_and_counts_as_a_second_input(chain, node):
    document = chain(node("add", "Add"))
    document["edges"].append(["inp", "add"])
    result = codegen.validate(document, input_shapes={"inp": [4]})
    assert result.ok
    assert result.to_dict()["diagnostics"] == [
        warning("DUPLICATE_EDGE", "edge inp → add appears twice", node="add", edge=["inp", "add"], path="edges[1]")
    ]


def test_two_nodes_with_one_id_are_refused(node):
    document = graph([node("inp", "Input"), node("inp", "ReLU")], [], ["inp"])
    assert diagnostics(document) == [
        error("DUPLICATE_ID", "two nodes have the id `inp`", node="inp", path="nodes[1].id")
    ]


def test_a_graph_without_an_input_node_has_no_inputs(node):
    document = graph([node("w", "Identity")], [], ["w"], inputs=[])
    assert diagnostics(document) == [
        error("NO_INPUTS", "the graph has no Input node", suggestion={"action": "add_node", "type": "Input"}),
        error("ARITY", "Identity needs exactly 1 input, has 0", node="w"),
    ]


def test_a_graph_without_outputs_suggests_its_sinks(chain, node):
    document = chain(node("relu", "ReLU"))
    document["outputs"] = []
    assert diagnostics(document) == [
        error("NO_OUTPUTS", "the graph declares no outputs", suggestion={"action": "set_outputs", "outputs": ["relu"]})
    ]


def test_inputs_must_name_input_nodes(chain, node):
    document = chain(node("relu", "ReLU"))
    document["inputs"] = ["inp", "relu", "nope"]
    assert diagnostics(document) == [
        error("UNKNOWN_INPUT", "inputs[1] names `relu`: `relu` is a ReLU, not an Input", node="relu", path="inputs[1]"),
        error("UNKNOWN_INPUT", "inputs[2] names `nope`: no such node", path="inputs[2]"),
    ]


def test_input_shapes_must_name_input_nodes(chain, node):
    document = chain(node("relu", "ReLU"))
    assert diagnostics(document, input_shapes={"relu": [3], "nope": [3]}) == [
        error("UNKNOWN_INPUT", "input shape given for `relu`, a ReLU, not an Input"),
        error("UNKNOWN_INPUT", "input shape given for `nope`, which is not a node"),
    ]


def test_an_input_shape_is_checked_like_a_param(chain, node):
    assert diagnostics(chain(node("relu", "ReLU")), input_shapes={"inp": [3, 0]}) == [
        error("PARAM_RANGE", "input shape for `inp`: must be ≥ 1, got 0", node="inp")
    ]


def test_outputs_must_name_nodes(chain, node):
    document = chain(node("relu", "ReLU"))
    document["outputs"] = ["relu", "nope"]
    assert diagnostics(document) == [
        error("UNKNOWN_OUTPUT", "outputs[1] names `nope`, which is not a node", path="outputs[1]")
    ]


def test_an_input_that_is_not_declared_is_used_with_a_warning(chain, node):
    document = chain(node("relu", "ReLU"))
    document["inputs"] = []
    result = codegen.validate(document)
    assert result.ok
    assert result.to_dict()["diagnostics"] == [
        warning(
            "UNDECLARED_INPUT",
            "Input `inp` is not listed in `inputs`; it is used as one",
            node="inp",
            suggestion={"action": "add_input", "node": "inp"},
        )
    ]


def test_an_input_cannot_have_incoming_edges(node):
    document = graph([node("inp", "Input"), node("b", "Input"), node("relu", "ReLU")], [], ["relu"], ["inp", "b"])
    document["edges"] = [["b", "inp"], ["inp", "relu"]]
    assert diagnostics(document) == [error("INPUT_HAS_EDGES", "Input `inp` cannot have incoming edges", node="inp")]


# ---------------------------------------------------------------------------------------------
# Arity and ports


@pytest.mark.parametrize("node_type", ["Concat", "Add", "Mul"])
def test_a_merge_needs_at_least_two_inputs(chain, node, node_type):
    assert diagnostics(chain(node("merge", node_type))) == [
        error("ARITY", f"{node_type} needs at least 2 inputs, has 1", node="merge")
    ]


def test_a_single_input_layer_refuses_a_second_input(node):
    document = graph(
        [node("inp", "Input"), node("b", "Input"), node("relu", "ReLU")], [["inp", "relu"], ["b", "relu"]], ["relu"]
    )
    document["inputs"] = ["inp", "b"]
    assert diagnostics(document) == [error("ARITY", "ReLU needs exactly 1 input, has 2", node="relu")]


def test_a_two_port_layer_names_its_missing_input(chain, node):
    assert diagnostics(chain(node("bi", "Bilinear", out_features=3), shape=[4])) == [
        error("ARITY", "Bilinear needs exactly 2 inputs, has 1", node="bi")
    ]


def test_an_edge_must_name_an_existing_port(node):
    document = graph(
        [node("inp", "Input", shape=[4]), node("bi", "Bilinear", out_features=3)],
        [["inp", "bi", "x1"], ["inp", "bi", "x3"]],
        ["bi"],
    )
    assert diagnostics(document) == [
        error("BAD_PORT", "Bilinear has no input port 'x3' (ports: x1, x2)", node="bi", edge=["inp", "bi"])
    ]


def test_a_multi_output_node_must_be_read_through_an_index(chain, node):
    document = chain(node("split", "Split", sections=[2, 4]), node("relu", "ReLU"), shape=[6, 5])
    assert diagnostics(document) == [
        error(
            "BAD_PORT",
            "`split` has 2 outputs: connect from `split:0` … `split:1`",
            node="relu",
            edge=["split", "relu"],
        )
    ]


def test_a_multi_output_node_is_a_model_output_through_its_port(chain, node):
    assert diagnostics(chain(node("split", "Split", sections=[2, 4]), shape=[6, 5])) == [
        error(
            "BAD_PORT",
            "outputs[0] names `split`, which has 2 outputs; name one of them: `split:0` … `split:1`",
            node="split",
            path="outputs[0]",
        )
    ]


def test_an_output_index_past_the_last_output_is_refused(chain, node):
    document = chain(node("chunk", "Chunk", chunks=2), node("relu", "ReLU"), shape=[6, 5])
    document["edges"][1] = ["chunk:2", "relu"]
    assert diagnostics(document) == [
        error("BAD_PORT", "`chunk` has no output 2 (it has 2)", node="relu", edge=["chunk", "relu"])
    ]


# ---------------------------------------------------------------------------------------------
# Rank, layout, dtype and sizes


def test_a_conv2d_fed_a_rank_3_tensor_is_a_rank_error(chain, node):
    assert diagnostics(chain(node("conv", "Conv2d", out_channels=8), shape=[9, 256])) == [
        error(
            "RANK",
            "expects rank 4 (B, C, H, W), got rank 3 BCT (B, 9, 256)",
            node="conv",
            edge=["inp", "conv"],
        )
    ]


def test_it_suggests_a_permute_before_a_gru():
    document = demo()
    document["nodes"] = [n for n in document["nodes"] if n["id"] != "perm"]
    document["edges"] = [["inp", "conv"], ["conv", "relu"], ["relu", "gru"], ["gru", "fc"]]
    assert diagnostics(document, input_shapes={"inp": [9, 256]}) == [
        error(
            "LAYOUT",
            "GRUBlock expects (B, T, H) but receives rank 3 BCT (B, 64, 256); insert Permute_BCT_to_BTH",
            node="gru",
            edge=["relu", "gru"],
            suggestion={"action": "insert_node", "type": "Permute_BCT_to_BTH", "between": ["relu", "gru"]},
        )
    ]


def test_it_suggests_a_flatten_before_a_linear_fed_a_4d_tensor(chain, node):
    document = chain(node("conv", "Conv2d", out_channels=8), node("fc", "Linear", out_features=10), shape=[3, 8, 8])
    assert diagnostics(document) == [
        error(
            "RANK",
            "Linear acts on the last axis, the width of rank 4 BCHW (B, 8, 6, 6); flatten it first "
            "(or Permute the channels last with dims [0, 2, 3, 1])",
            node="fc",
            edge=["conv", "fc"],
            suggestion={"action": "insert_node", "type": "Flatten", "between": ["conv", "fc"]},
        )
    ]


def test_a_linear_over_time_steps_is_a_layout_warning(chain, node):
    document = chain(node("conv", "Conv1d", out_channels=8), node("fc", "Linear", out_features=10), shape=[3, 16])
    result = codegen.validate(document)
    assert result.ok
    assert result.to_dict()["diagnostics"] == [
        warning(
            "LAYOUT",
            "Linear acts on the last axis of rank 3 BCT (B, 8, 14), i.e. on time steps, not channels",
            node="fc",
            edge=["conv", "fc"],
            suggestion={"action": "insert_node", "type": "Permute_BCT_to_BTH", "between": ["conv", "fc"]},
        )
    ]


def test_token_ids_need_an_embedding_first(chain, node):
    document = chain(node("fc", "Linear", out_features=10), shape=[16], dtype="int64")
    assert diagnostics(document) == [
        error(
            "DTYPE",
            "receives integer token ids; it needs float32 (add an Embedding first for tokens)",
            node="fc",
            edge=["inp", "fc"],
        )
    ]


def test_a_window_larger_than_its_input_is_an_impossible_output(chain, node):
    document = chain(node("pool3", "MaxPool2d", kernel_size=7), shape=[3, 5, 5])
    assert diagnostics(document) == [
        error("IMPOSSIBLE_OUTPUT", "kernel 7 is larger than the padded input height 5 at `pool3`", node="pool3")
    ]


def test_a_dilated_kernel_counts_its_span(chain, node):
    document = chain(node("conv", "Conv1d", out_channels=4, kernel_size=3, dilation=4, padding=1), shape=[2, 6])
    assert diagnostics(document) == [
        error("IMPOSSIBLE_OUTPUT", "kernel 9 is larger than the padded input length 8 at `conv`", node="conv")
    ]


def test_downsampling_to_nothing_is_an_impossible_output(chain, node):
    document = chain(node("down", "Upsample", scale_factor=0.1), shape=[3, 5, 5])
    assert diagnostics(document) == [
        error("IMPOSSIBLE_OUTPUT", "scale_factor 0.1 shrinks a size of 5 to 0 at `down`", node="down")
    ]


def test_sizes_that_do_not_divide_are_a_shape_error(chain, node):
    document = chain(node("conv", "Conv2d", out_channels=8, groups=3), shape=[4, 5, 5])
    assert diagnostics(document) == [error("SHAPE", "input channels 4 are not divisible by groups=3", node="conv")]


def test_a_reshape_must_keep_the_number_of_values(chain, node):
    assert diagnostics(chain(node("r", "Reshape", shape=[7]), shape=[4, 5])) == [
        error("SHAPE", "cannot reshape rank 3 BCT (B, 4, 5) (20 values per sample) into [7]", node="r")
    ]


def test_a_layer_without_a_lazy_variant_asks_for_input_shapes(chain, node):
    assert diagnostics(chain(node("ln", "LayerNorm"))) == [
        error(
            "NEEDS_SHAPE",
            "cannot infer LayerNorm's normalized size without input shapes: set `shape` on the Input node",
            node="ln",
        )
    ]


def test_a_shape_rule_failure_names_its_node_once_and_stops_there(chain, node):
    document = chain(node("conv", "Conv2d", out_channels=8), node("relu", "ReLU"), node("bn", "BN"), shape=[9, 256])
    assert [(d["code"], d["node"]) for d in diagnostics(document)] == [("RANK", "conv")]


# ---------------------------------------------------------------------------------------------
# Merges


def two_branches(node, left: dict[str, Any], right: dict[str, Any], merge: dict[str, Any], shape=(3, 8, 8)):
    return graph(
        [node("inp", "Input", shape=list(shape)), left, right, merge],
        [["inp", left["id"]], ["inp", right["id"]], [left["id"], merge["id"]], [right["id"], merge["id"]]],
        [merge["id"]],
    )


def test_concat_needs_equal_rank(node):
    document = two_branches(
        node, node("a", "Conv2d", out_channels=4, padding=1), node("f", "Flatten"), node("cat", "Concat")
    )
    assert diagnostics(document) == [
        error(
            "MERGE", "inputs must have equal rank; got a: rank 4 BCHW (B, 4, 8, 8), f: rank 2 BF (B, 192)", node="cat"
        )
    ]


def test_concat_needs_equal_sizes_off_its_axis(node):
    document = two_branches(
        node, node("a", "Conv2d", out_channels=4, padding=1), node("b", "Conv2d", out_channels=5), node("cat", "Cat")
    )
    assert diagnostics(document) == [
        error(
            "MERGE",
            "Concat along dim 1 needs equal sizes on every other axis; axis 2 is 8 from `a` but 6 from `b`",
            node="cat",
            edge=["b", "cat"],
        )
    ]


def test_concat_adds_up_its_axis(node):
    document = two_branches(
        node,
        node("a", "Conv2d", out_channels=4, padding=1),
        node("b", "Conv2d", out_channels=5, padding=1),
        node("cat", "Concat"),
    )
    assert codegen.validate(document).shapes()["cat"] == ["B", 9, 8, 8]


def test_add_needs_each_axis_equal_or_one(node):
    document = two_branches(
        node,
        node("a", "Conv2d", out_channels=4, padding=1),
        node("b", "Conv2d", out_channels=5, padding=1),
        node("add", "Add"),
    )
    assert diagnostics(document) == [
        error(
            "MERGE",
            "Add needs each axis equal or 1 in one input (PyTorch broadcasting): axis 1 is 4 from `a` "
            "rank 4 BCHW (B, 4, 8, 8) but 5 from `b` rank 4 BCHW (B, 5, 8, 8)",
            node="add",
            edge=["b", "add"],
        )
    ]


def test_mul_broadcasts_size_1_axes_only(node):
    gate = two_branches(node, node("a", "Conv2d", out_channels=4, padding=1), node("g", "GAP"), node("m", "Mul"))
    assert (
        diagnostics(gate)[0]["code"] == "MERGE"
    )  # (B, 4, 8, 8) * (B, 3): ranks differ (tests/codegen/test_broadcasting.py)
    document = two_branches(
        node, node("a", "Conv2d", out_channels=4, padding=1), node("b", "Conv2d", out_channels=4), node("m", "Mul")
    )
    assert diagnostics(document) == [
        error(
            "MERGE",
            "Mul needs each axis equal or 1 in one input (PyTorch broadcasting): axis 2 is 8 from `a` "
            "rank 4 BCHW (B, 4, 8, 8) but 6 from `b` rank 4 BCHW (B, 4, 6, 6)",
            node="m",
            edge=["b", "m"],
        )
    ]


# ---------------------------------------------------------------------------------------------
# Composite blocks

IDENTITY_BLOCK = {"nodes": [{"id": "x", "type": "Input"}], "edges": [], "inputs": ["x"], "outputs": ["x"]}


def with_block(node, name: str, definition: dict[str, Any], **params: Any) -> dict[str, Any]:
    document = graph([node("inp", "Input", shape=[4]), node("blk", name, **params)], [["inp", "blk"]], ["blk"])
    document["composites"] = {name: definition}
    return document


def test_a_block_needs_an_input_and_an_output(node):
    no_outputs = {
        "nodes": [node("a", "Input"), node("act", "ReLU")],
        "edges": [["a", "act"]],
        "inputs": ["a"],
        "outputs": [],
    }
    assert error(
        "COMPOSITE",
        "block Sink needs at least one input and one output (has 1 and 0): "
        "list its Input nodes in `inputs` and the nodes it returns in `outputs`",
        path="composites.Sink",
    ) in diagnostics(with_block(node, "Sink", no_outputs))


def test_a_block_cannot_take_a_builtin_name(node):
    assert diagnostics(with_block(node, "Identity", IDENTITY_BLOCK)) == [
        error("COMPOSITE", "block name Identity is taken by a built-in type; rename it", path="composites.Identity")
    ]


SE_BLOCK = {
    "params": [{"name": "channels", "type": "int", "default": 8}, {"name": "squeeze", "type": "int", "default": 2}],
    "nodes": [
        {"id": "x", "type": "Input"},
        {"id": "pool", "type": "AdaptiveAvgPool2d", "params": {"output_size": 1}},
        {"id": "fc1", "type": "Conv2d", "params": {"out_channels": "$squeeze", "kernel_size": 1}},
        {"id": "act", "type": "ReLU"},
        {"id": "fc2", "type": "Conv2d", "params": {"out_channels": "$channels", "kernel_size": 1}},
        {"id": "gate", "type": "Sigmoid"},
        {"id": "scale", "type": "Mul"},
    ],
    "edges": [["x", "pool"], ["pool", "fc1"], ["fc1", "act"], ["act", "fc2"], ["fc2", "gate"], ["x", "scale"]]
    + [["gate", "scale"]],
    "inputs": ["x"],
    "outputs": ["scale"],
}


def se_graph(node, *extra_nodes):
    nodes = [node("inp", "Input", shape=[8, 4, 4]), node("se", "SqueezeExcitation"), *extra_nodes]
    edges = [["inp", "se"]] + [[a["id"], b["id"]] for a, b in zip(nodes[1:], nodes[2:])]
    document = graph(nodes, edges, [nodes[-1]["id"]])
    document["composites"] = {"SqueezeExcitation": SE_BLOCK}
    return document


def test_a_block_may_take_the_name_of_a_helper_class_the_graph_does_not_use(node):
    """`SqueezeExcitation` is no node type: only MBConv's generated code carries a class of that name."""
    document = se_graph(node)
    assert diagnostics(document) == []
    assert "class SqueezeExcitation(nn.Module):" in "".join(codegen.generate(document).values())


def test_a_block_named_like_a_helper_class_the_graph_uses_is_refused(node):
    document = se_graph(node, node("mb", "MBConv", out_channels=8))
    assert diagnostics(document) == [
        error(
            "COMPOSITE",
            "block name SqueezeExcitation is also the helper class that the built-in MBConv uses in generated "
            "code; rename the block SqueezeExcitation",
            node="mb",
            path="composites.SqueezeExcitation",
        )
    ]


def test_a_block_cannot_declare_its_input_size(node):
    definition = {**IDENTITY_BLOCK, "params": [{"name": "in_channels"}]}
    assert diagnostics(with_block(node, "Blk", definition, in_channels=4)) == [
        error(
            "COMPOSITE",
            "block Blk: `in_channels` is passed automatically from the input; do not declare it",
            path="composites.Blk",
        )
    ]


def test_a_block_param_default_is_checked(node):
    definition = {**IDENTITY_BLOCK, "params": [{"name": "width", "default": "wide"}]}
    assert diagnostics(with_block(node, "Blk", definition)) == [
        error("COMPOSITE", 'block Blk: default of `width` expected int, got "wide"', path="composites.Blk")
    ]


def test_a_block_param_reference_must_be_declared(node):
    definition = {
        "params": [{"name": "width"}],
        "nodes": [node("x", "Input"), node("fc", "Linear", out_features="$widht")],
        "edges": [["x", "fc"]],
        "inputs": ["x"],
        "outputs": ["fc"],
    }
    assert diagnostics(with_block(node, "Blk", definition, width=3)) == [
        error(
            "COMPOSITE",
            "inside block Blk at `fc`: '$widht' refers to unknown parameter 'widht' (declared: width)",
            node="blk",
        )
    ]


def test_a_block_instance_needs_its_required_params(node):
    definition = {**IDENTITY_BLOCK, "params": [{"name": "width"}]}
    assert diagnostics(with_block(node, "Blk", definition)) == [
        error("MISSING_PARAM", "Blk needs `width`", node="blk", path="nodes[1].params.width")
    ]


def test_a_block_that_contains_itself_is_refused(node):
    definition = {"nodes": [node("x", "Input"), node("again", "Loop")], "edges": [["x", "again"]]}
    definition |= {"inputs": ["x"], "outputs": ["again"]}
    assert diagnostics(with_block(node, "Loop", definition)) == [
        error(
            "COMPOSITE_RECURSION",
            "inside block Loop at `again`: block Loop contains itself: Loop → Loop",
            node="blk",
        )
    ]


def test_blocks_that_contain_each_other_are_refused(node):
    def calls(other: str) -> dict[str, Any]:
        return {
            "nodes": [node("x", "Input"), node("i", other)],
            "edges": [["x", "i"]],
            "inputs": ["x"],
            "outputs": ["i"],
        }

    document = with_block(node, "Ping", calls("Pong"))
    document["composites"]["Pong"] = calls("Ping")
    assert diagnostics(document) == [
        error(
            "COMPOSITE_RECURSION",
            "inside block Ping at `i`: inside block Pong at `i`: block Ping contains itself: Ping → Pong → Ping",
            node="blk",
        )
    ]


# ---------------------------------------------------------------------------------------------
# Budgets and limits


def test_a_model_over_the_parameter_budget_is_refused(chain, node):
    document = chain(node("fc", "Linear", out_features=1000), shape=[1000])
    assert diagnostics(document, limits=Limits(max_params=1_000_000)) == [
        error("BUDGET", "1,001,000 parameters exceed the budget of 1,000,000")
    ]
    assert diagnostics(document, limits=Limits(max_params=1_001_000)) == []


def test_a_model_over_the_memory_budget_is_refused(chain, node):
    document = chain(node("fc", "Linear", out_features=1000), shape=[1000])
    assert diagnostics(document, limits=Limits(max_memory_bytes=1000)) == [
        error("BUDGET", "about 7.8 KiB of activations per sample exceed the budget of 1,000 bytes")
    ]
    assert diagnostics(document, limits=Limits(max_memory_bytes=2**30 + 1)) == []


def test_a_graph_over_the_node_limit_is_refused(chain, node):
    document = chain(node("a", "ReLU"), node("b", "ReLU"), node("c", "ReLU"))
    assert diagnostics(document, limits=Limits(max_nodes=3)) == [
        error("LIMIT", "nodes: 4 nodes exceed the limit of 3", path="nodes")
    ]
    assert diagnostics(document, limits=Limits(max_edges=2)) == [
        error("LIMIT", "edges: 3 edges exceed the limit of 2", path="edges")
    ]


def test_blocks_nested_too_deep_are_refused(node):
    def wraps(inner: str) -> dict[str, Any]:
        return {
            "nodes": [node("x", "Input"), node("i", inner)],
            "edges": [["x", "i"]],
            "inputs": ["x"],
            "outputs": ["i"],
        }

    document = with_block(node, "A", wraps("B"))
    document["composites"] |= {"B": wraps("C"), "C": {**IDENTITY_BLOCK}}
    assert diagnostics(document, limits=Limits(max_composite_depth=2)) == [
        error(
            "LIMIT", "inside block A at `i`: inside block B at `i`: blocks are nested deeper than 2 levels", node="blk"
        )
    ]
    assert diagnostics(document, limits=Limits(max_composite_depth=3)) == []


def test_an_id_over_the_length_limit_is_refused(chain, node):
    assert diagnostics(chain(node("x" * 11, "ReLU")), limits=Limits(max_id_length=10)) == [
        error("BAD_ID", "nodes[1].id: ids must be 1 to 10 characters without control characters", path="nodes[1].id")
    ]


# ---------------------------------------------------------------------------------------------
# Malformed documents: every problem with its JSON path, as diagnostics rather than exceptions


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("{nodes: ", ["invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes"]),
        ([1, 2], ["expected a JSON object with nodes, edges, inputs and outputs, got list"]),
        ({"version": "0.2", "nodes": "many"}, ['nodes: expected list of nodes, got "many"']),
        (
            {"version": "0.3", "nodes": [], "wat": 1},
            [
                "wat: unknown field (allowed: composites, edges, inputs, metadata, nodes, outputs, training, version)",
                'version: unsupported version "0.3"; this engine reads 0.2',
            ],
        ),
        (
            {
                "nodes": [
                    {"id": "inp", "type": "Input"},
                    {"id": "a", "type": "ReLU"},
                    {"id": "b", "type": "ReLU"},
                    {"id": "c", "type": "ReLU", "params": [1]},
                ],
                "edges": [],
            },
            ["nodes[3].params: expected object, got list"],
        ),
        (
            {"nodes": [7, {"id": 3, "type": None, "disabled": "yes", "zz": 1}]},
            [
                "nodes[0]: expected object with id, type and params, got int",
                "nodes[1].zz: unknown field (allowed: disabled, id, init, label, params, path, stage, trainable, type, ui)",
                "nodes[1].id: expected string, got int",
                "nodes[1].type: expected string, got null",
                'nodes[1].disabled: expected bool, got "yes"',
            ],
        ),
        (
            {"nodes": [], "edges": [["inp"], "x"], "inputs": "inp", "outputs": [3]},
            [
                "edges[0]: expected [source, target] or [source, target, port] of strings, got list",
                'edges[1]: expected [source, target] or [source, target, port] of strings, got "x"',
                'inputs: expected list of node ids, got "inp"',
                "outputs[0]: expected node id string, got int",
            ],
        ),
        (
            {"nodes": [], "composites": {"lower": {}, "Blk": {"params": [{"name": "1x", "type": "str"}], "nodes": []}}},
            [
                "composites.lower: block names must be ASCII identifiers starting with a capital letter (e.g. MyBlock)",
                'composites.Blk.params[0].name: expected an ASCII identifier, got "1x"',
                "composites.Blk.params[0].type: expected one of int, float, bool, choice",
            ],
        ),
    ],
    ids=["text", "not-an-object", "nodes", "version", "params", "node-fields", "edges", "composites"],
)
def test_a_malformed_document_is_described_with_json_paths(document, expected):
    result = codegen.validate(document).to_dict()
    assert result["ok"] is False
    assert {d["code"] for d in result["diagnostics"]} == {"PARSE"}
    assert [d["message"] for d in result["diagnostics"]] == expected
    assert all(d["message"].startswith(f"{d['path']}: ") for d in result["diagnostics"] if "path" in d)


def test_loading_a_malformed_document_raises_with_the_same_diagnostics():
    with pytest.raises(codegen.GraphError) as caught:
        codegen.load_graph({"nodes": [{"id": "a", "type": "ReLU", "params": [1]}]})
    assert [d.path for d in caught.value.diagnostics] == ["nodes[0].params"]


# ---------------------------------------------------------------------------------------------
# Suggestions are machine-applicable: applying one yields a graph without that problem


def apply(document: dict[str, Any], suggestion: dict[str, Any]) -> dict[str, Any]:
    """What the canvas does with a one-click fix."""
    document = copy.deepcopy(document)
    nodes = {n["id"]: n for n in document["nodes"]}
    action = suggestion["action"]
    if action == "insert_node":
        source, target = suggestion["between"]
        new_id = f"{suggestion['type'].lower()}_fix"
        document["nodes"].append({"id": new_id, "type": suggestion["type"], "params": suggestion.get("params", {})})
        document["edges"].remove([source, target])
        document["edges"] += [[source, new_id], [new_id, target]]
    elif action == "remove_edge":
        document["edges"].remove(suggestion["edge"])
    elif action == "remove_node":
        document["nodes"].remove(nodes[suggestion["node"]])
        document["edges"] = [e for e in document["edges"] if suggestion["node"] not in e[:2]]
    elif action == "set_type":
        nodes[suggestion["node"]]["type"] = suggestion["type"]
    elif action == "rename_param":
        params = nodes[suggestion["node"]]["params"]
        params[suggestion["to"]] = params.pop(suggestion["param"])
    elif action == "set_param":
        nodes[suggestion["node"]]["params"][suggestion["param"]] = suggestion["value"]
    elif action == "set_outputs":
        document["outputs"] = suggestion["outputs"]
    elif action == "add_input":
        document["inputs"].append(suggestion["node"])
    else:
        raise AssertionError(f"unknown action {action}")
    return document


def broken_graphs(node, chain) -> list[tuple[str, dict[str, Any]]]:
    no_perm = demo()
    no_perm["nodes"] = [n for n in no_perm["nodes"] if n["id"] != "perm"]
    no_perm["edges"] = [["inp", "conv"], ["conv", "relu"], ["relu", "gru"], ["gru", "fc"]]
    no_perm["nodes"][0]["params"]["shape"] = [9, 256]
    cycle = chain(node("add", "Add"), node("relu", "ReLU"))
    cycle["nodes"].append(node("side", "Tanh"))
    cycle["edges"] += [["inp", "side"], ["side", "add"], ["relu", "add"]]
    dangling = chain(node("relu", "ReLU"))
    dangling["edges"].append(["relu", "ghost"])
    no_outputs = chain(node("relu", "ReLU"))
    no_outputs["outputs"] = []
    undeclared = chain(node("relu", "ReLU"))
    undeclared["inputs"] = []
    return [
        ("LAYOUT", no_perm),
        ("RANK", chain(node("conv", "Conv2d", out_channels=4), node("fc", "FC", out_features=2), shape=[3, 8, 8])),
        ("CYCLE", cycle),
        ("DANGLING_EDGE", dangling),
        ("UNKNOWN_TYPE", chain(node("act", "Sigmiod"))),
        ("UNKNOWN_PARAM", chain(node("conv", "Conv1d", out_channel=4, kernel_size=3), shape=[2, 9])),
        ("PARAM_RANGE", chain(node("se", "SEBlock", reduction=64), shape=[16, 4, 4])),
        ("PARAM_RANGE", chain(node("res", "ResidualBlock", out_channels=8, kernel_size=4), shape=[4, 6, 6])),
        (
            "IMPOSSIBLE_OUTPUT",
            chain(node("vgg", "VGGBlock", c1=4, c2=4), node("v2", "VGGBlock", c1=4, c2=4), shape=[3, 2, 2]),
        ),
        ("NO_OUTPUTS", no_outputs),
        ("UNDECLARED_INPUT", undeclared),
    ]


def test_every_suggestion_fixes_what_it_was_made_for(node, chain):
    for code, document in broken_graphs(node, chain):
        found = [d for d in diagnostics(document) if d["code"] == code]
        assert found and "suggestion" in found[0], (code, diagnostics(document))
        fixed = apply(document, found[0]["suggestion"])
        remaining = diagnostics(fixed)
        assert not [d for d in remaining if d["code"] == code or d["severity"] == "error"], (code, remaining)


def test_every_code_is_documented_and_every_diagnostic_uses_one(chain, node):
    assert all(isinstance(text, str) and text.endswith(".") for text in CODES.values())
    document = chain(node("x", "Nope"), node("fc", "Linear", out_features=0))
    assert {d["code"] for d in diagnostics(document)} <= set(CODES)


@pytest.mark.parametrize(
    ("node_type", "params"),
    [("Conv1d", {"out_channels": 2}), ("BatchNorm1d", {}), ("GroupNorm", {"num_groups": 1}), ("InstanceNorm1d", {})],
)
def test_it_suggests_a_permute_before_a_channels_first_layer_fed_a_sequence(node_type, params):
    document = {
        "nodes": [
            {"id": "inp", "type": "Input", "params": {"shape": [5, 3], "layout": "BTH"}},
            {"id": "layer", "type": node_type, "params": params},
        ],
        "edges": [["inp", "layer"]],
        "inputs": ["inp"],
        "outputs": ["layer"],
    }
    (diagnostic,) = codegen.validate(document).errors
    assert diagnostic.to_dict() == {
        "severity": "error",
        "code": "LAYOUT",
        "message": "expects channels first (B, C, T) but receives rank 3 BTH (B, 5, 3); insert Permute_BTH_to_BCT",
        "node": "layer",
        "edge": ["inp", "layer"],
        "suggestion": {"action": "insert_node", "type": "Permute_BTH_to_BCT", "between": ["inp", "layer"]},
    }


def test_it_refuses_a_groupnorm_whose_groups_hold_a_single_value():
    document = {
        "nodes": [
            {"id": "inp", "type": "Input", "params": {"shape": [4, 1]}},
            {"id": "gn", "type": "GroupNorm", "params": {"num_groups": 4}},
        ],
        "edges": [["inp", "gn"]],
        "inputs": ["inp"],
        "outputs": ["gn"],
    }
    (diagnostic,) = codegen.validate(document).errors
    assert (diagnostic.code, diagnostic.node, diagnostic.message) == (
        "SHAPE",
        "gn",
        "each of the 4 groups would normalise a single value; use fewer groups",
    )


# ---------------------------------------------------------------------------------------------
# Activation memory: fp32 bytes of the forward activations of one sample


CONV_RELU_BLOCK = {
    "nodes": [
        {"id": "x", "type": "Input"},
        {"id": "conv", "type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3, "padding": 1}},
        {"id": "act", "type": "ReLU"},
    ],
    "edges": [["x", "conv"], ["conv", "act"]],
    "inputs": ["x"],
    "outputs": ["act"],
}


def test_activation_memory_of_a_flat_chain_counts_every_value_once_per_sample(chain, node):
    document = chain(node("conv", "Conv2d", out_channels=4, kernel_size=3, padding=1), node("relu", "ReLU"))
    document["nodes"][0]["params"]["shape"] = [3, 8, 8]
    # input 3·8·8 = 192, conv 4·8·8 = 256, relu 256: 704 values of 4 bytes
    assert codegen.validate(document).to_dict()["memory_bytes"] == 704 * 4


def test_activation_memory_counts_the_values_inside_a_user_block(node):
    document = graph(
        [node("inp", "Input", shape=[3, 8, 8]), node("blk", "ConvRelu"), node("flat", "Flatten")],
        [["inp", "blk"], ["blk", "flat"]],
        ["flat"],
    )
    document["composites"] = {"ConvRelu": copy.deepcopy(CONV_RELU_BLOCK)}
    # input 192; inside the block conv 256 and act 256 (the block's output, not counted twice; its Input is
    # the caller's value); flatten 256: 960 values
    assert codegen.validate(document).to_dict()["memory_bytes"] == 960 * 4


def test_activation_memory_of_nested_blocks_adds_up_to_the_flat_graph(node):
    document = graph(
        [node("inp", "Input", shape=[3, 8, 8]), node("outer", "Outer")],
        [["inp", "outer"]],
        ["outer"],
    )
    document["composites"] = {
        "ConvRelu": copy.deepcopy(CONV_RELU_BLOCK),
        "Outer": {
            "nodes": [{"id": "x", "type": "Input"}, {"id": "a", "type": "ConvRelu"}, {"id": "b", "type": "ConvRelu"}],
            "edges": [["x", "a"], ["a", "b"]],
            "inputs": ["x"],
            "outputs": ["b"],
        },
    }
    # input 192 + two blocks of (conv 256 + act 256): 1,216 values
    assert codegen.validate(document).to_dict()["memory_bytes"] == 1216 * 4
