"""Add, Mul, Sub and Div broadcast as PyTorch does: shapes against ``torch.broadcast_shapes``, the errors.

Axes are aligned from the last; on each, sizes are equal or one of them is 1. Inputs of different
ranks are refused: every tensor of a graph has its batch axis first, so the shorter one's batch axis
would meet a data axis of the longer one.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch
from graphgen import Case
from test_equivalence import check_case

import codegen

ELEMENTWISE = ("Add", "Mul", "Sub", "Div")


def two_inputs(node_type: str, a: list[int], b: list[int]) -> dict:
    return {
        "version": "0.2",
        "nodes": [
            {"id": "a", "type": "Input", "params": {"shape": a}},
            {"id": "b", "type": "Input", "params": {"shape": b}},
            {"id": "m", "type": node_type, "params": {}},
        ],
        "edges": [["a", "m"], ["b", "m"]],
        "inputs": ["a", "b"],
        "outputs": ["m"],
    }


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("broadcasting")


SHAPES = [[3, 1, 5], [1, 4, 5], [3, 4, 1], [1, 1, 1], [3, 4, 5], [2, 4, 5]]


@pytest.mark.parametrize("node_type", ELEMENTWISE)
def test_the_inferred_shape_is_torchs_broadcast_shape(node_type):
    for a, b in itertools.product(SHAPES, repeat=2):
        result = codegen.validate(two_inputs(node_type, a, b))
        try:
            expected = torch.broadcast_shapes((2, *a), (2, *b))
        except RuntimeError:
            assert [d.code for d in result.errors] == ["MERGE"], (a, b)
            continue
        assert result.ok, (a, b, [str(d) for d in result.diagnostics])
        assert result.shapes()["m"] == ["B", *expected[1:]]


def test_an_axis_that_disagrees_names_both_sources_their_shapes_and_the_axis():
    error = codegen.validate(two_inputs("Add", [3, 1, 5], [3, 4, 6])).to_dict()["diagnostics"]
    assert error == [
        {
            "severity": "error",
            "code": "MERGE",
            "message": "Add needs each axis equal or 1 in one input (PyTorch broadcasting): axis 3 is 5 from `a` "
            "rank 4 BCHW (B, 3, 1, 5) but 6 from `b` rank 4 BCHW (B, 3, 4, 6)",
            "node": "m",
            "edge": ["b", "m"],
        }
    ]


def test_the_message_names_the_input_a_size_came_from():
    """In a sum of three, a size that a later input stretched is reported as that input's."""
    graph = two_inputs("Add", [1, 5], [4, 5])
    graph["nodes"].insert(2, {"id": "c", "type": "Input", "params": {"shape": [3, 5]}})
    graph["edges"].append(["c", "m"])
    graph["inputs"].append("c")
    [error] = codegen.validate(graph).to_dict()["diagnostics"]
    assert error["message"] == (
        "Add needs each axis equal or 1 in one input (PyTorch broadcasting): axis 1 is 4 from `b` "
        "rank 3 BCT (B, 4, 5) but 3 from `c` rank 3 BCT (B, 3, 5)"
    )
    assert error["edge"] == ["c", "m"]


def test_a_lower_rank_input_is_refused_with_the_reshape_that_lines_it_up():
    """(B, C) against (B, C, H, W): PyTorch pairs (B, C) with (H, W), not what a gate means."""
    [error] = codegen.validate(two_inputs("Mul", [8], [8, 4, 4])).to_dict()["diagnostics"]
    assert error == {
        "severity": "error",
        "code": "MERGE",
        "message": "Mul aligns shapes from the last axis, as PyTorch broadcasting does: `a` rank 2 BF (B, 8) "
        "against `b` rank 4 BCHW (B, 8, 4, 4) puts (B, 8) on (4, 4), its batch axis on a data axis; "
        "reshape `a` to (B, 8, 1, 1) (or Unsqueeze it) so that its axes meet the leading ones",
        "node": "m",
        "edge": ["a", "m"],
        "suggestion": {
            "action": "insert_node",
            "type": "Reshape",
            "between": ["a", "m"],
            "params": {"shape": [8, 1, 1]},
        },
    }
    # The suggested fix validates, and the result is what the gate meant: (B, 8, 4, 4).
    fixed = two_inputs("Mul", [8], [8, 4, 4])
    fixed["nodes"].append({"id": "r", "type": "Reshape", "params": {"shape": [8, 1, 1]}})
    fixed["edges"] = [["a", "r"], ["r", "m"], ["b", "m"]]
    assert codegen.validate(fixed).shapes()["m"] == ["B", 8, 4, 4]


def test_size_one_axes_stretch_on_either_side():
    result = codegen.validate(two_inputs("Sub", [4, 1], [1, 6]))
    assert result.shapes()["m"] == ["B", 4, 6]


def test_a_broadcast_on_the_time_axis_of_a_sequence_keeps_its_layout():
    graph = two_inputs("Add", [5, 1], [5, 8])
    for n in graph["nodes"][:2]:
        n["params"]["layout"] = "BTH"
    graph["nodes"].append({"id": "gru", "type": "GRU", "params": {"hidden_size": 3}})
    graph["edges"].append(["m", "gru"])
    graph["outputs"] = ["gru"]
    assert codegen.validate(graph).ok


@pytest.mark.parametrize(
    ("node_type", "a", "b"), [("Add", [3, 1, 5], [1, 4, 5]), ("Mul", [1, 4, 1], [3, 1, 2]), ("Div", [4, 1], [4, 6])]
)
def test_broadcast_merges_run_as_the_reference_interpreter(node_type, a, b, workdir):
    graph = two_inputs(node_type, a, b)
    check_case(Case(graph, None, [("a", "1d", tuple(a), None), ("b", "1d", tuple(b), None)]), workdir)
