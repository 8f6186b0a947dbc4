"""The import placeholder: keeps the shape of what it stands for, is always an error, generates nothing."""

from __future__ import annotations

import pytest

import codegen
from codegen.diagnostics import GraphError


def graph(**params) -> dict:
    placeholder = {
        "op": "function `torch.erf`",
        "reason": "no node type does this",
        "source": "model.py:12 `torch.erf(x)`",
        "shape": [3, 8, 8],
        **params,
    }
    return {
        "version": "0.2",
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [3, 8, 8]}},
            {"id": "erf", "type": "NotImported", "params": placeholder},
            {"id": "conv", "type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3}},
        ],
        "edges": [["x", "erf"], ["erf", "conv"]],
        "inputs": ["x"],
        "outputs": ["conv"],
    }


def test_it_is_one_error_naming_the_op_and_line_and_the_rest_validates_around_it():
    result = codegen.validate(graph())
    assert [(d.code, d.severity, d.node) for d in result.diagnostics] == [("NOT_IMPORTED", "error", "erf")]
    assert result.diagnostics[0].message == (
        "function `torch.erf` at model.py:12 `torch.erf(x)` was not imported: no node type does this; "
        "replace this placeholder with nodes that compute it"
    )
    assert result.analysis.info["conv"].out.to_json() == ["B", 4, 6, 6]
    assert result.analysis.info["conv"].param_count == 3 * 4 * 9 + 4


def test_no_code_is_generated_until_it_is_replaced():
    with pytest.raises(GraphError) as caught:
        codegen.generate(graph(), name="Model")
    assert [d.code for d in caught.value.diagnostics] == ["NOT_IMPORTED"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"op": 3}, "expected text, got int"),
        ({"reason": "x" * 501}, "must be at most 500 characters, got 501"),
        ({"source": "line\nbreak"}, "must be one line without control characters"),
        ({"shape": [0]}, "must be ≥ 1, got 0"),
    ],
)
def test_its_params_are_checked(params, message):
    result = codegen.validate(graph(**params))
    assert {d.code for d in result.diagnostics} & {"PARAM_TYPE", "PARAM_RANGE"}
    assert any(message in d.message for d in result.diagnostics)


def test_the_registry_keeps_it_out_of_the_palette():
    (spec,) = [n for n in codegen.registry_json()["nodes"] if n["type"] == "NotImported"]
    assert spec["palette"] is False and spec["category"] == "imported"
    assert all("palette" not in n for n in codegen.registry_json()["nodes"] if n["type"] != "NotImported")
