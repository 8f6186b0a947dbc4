"""Graph documents that once broke the site, shared by the API tests of the engine and of runs."""

from __future__ import annotations

from typing import Any


def long_expression_graph(terms: int = 1000) -> dict[str, Any]:
    """Input(4) → a block whose Linear has `$c+$c+...` (``terms`` terms) output features.

    Parsing recursed once per term: ~1,000 raised RecursionError (a 500, and a run's "internal error").
    """
    expression = "+".join(["$c"] * terms)
    return {
        "composites": {
            "Wide": {
                "params": [{"name": "c", "type": "int", "default": 2}],
                "nodes": [
                    {"id": "x", "type": "Input"},
                    {"id": "fc", "type": "Linear", "params": {"out_features": expression}},
                ],
                "edges": [["x", "fc"]],
                "inputs": ["x"],
                "outputs": ["fc"],
            }
        },
        "nodes": [{"id": "inp", "type": "Input", "params": {"shape": [4]}}, {"id": "wide", "type": "Wide"}],
        "edges": [["inp", "wide"]],
        "inputs": ["inp"],
        "outputs": ["wide"],
    }
