"""Graph builders shared by the engine tests, handed out as fixtures (a conftest is not importable)."""

from __future__ import annotations

from typing import Any

import pytest


def make_node(node_id: str, node_type: str, **params: Any) -> dict[str, Any]:
    """One node of a graph document."""
    return {"id": node_id, "type": node_type, "params": params}


def make_chain(*nodes: dict[str, Any], shape: list[int] | None = None, **input_params: Any) -> dict[str, Any]:
    """Input ``inp`` (with ``shape`` when given) → each node in turn; the last node is the output."""
    if shape is not None:
        input_params["shape"] = shape
    ids = ["inp", *(n["id"] for n in nodes)]
    return {
        "version": "0.2",
        "nodes": [make_node("inp", "Input", **input_params), *nodes],
        "edges": [[a, b] for a, b in zip(ids, ids[1:])],
        "inputs": ["inp"],
        "outputs": [ids[-1]],
    }


def only(result: Any, code: str) -> dict[str, Any]:
    """The one diagnostic with ``code`` in a validation result (``Validation`` or its ``to_dict()``)."""
    data = result if isinstance(result, dict) else result.to_dict()
    found = [d for d in data["diagnostics"] if d["code"] == code]
    assert len(found) == 1, data["diagnostics"]
    return found[0]


@pytest.fixture(scope="session")
def node():
    return make_node


@pytest.fixture(scope="session")
def chain():
    return make_chain


@pytest.fixture(scope="session", name="only")
def only_fixture():
    return only
