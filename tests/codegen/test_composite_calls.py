"""How instances of user blocks are called in generated code, and blocks that split their input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphgen import Case
from test_equivalence import check_case

import codegen

# ResNeXt's grouped bottleneck as a user block: planes and width set its sizes, groups its convolution.
GROUPED_BOTTLENECK = {
    "params": [
        {"name": "planes", "type": "int", "default": 64},
        {"name": "groups", "type": "int", "default": 1},
        {"name": "width", "type": "int", "default": 4},
        {"name": "drop", "type": "float", "default": 0.0},
    ],
    "nodes": [
        {"id": "x", "type": "Input"},
        {
            "id": "reduce",
            "type": "Conv2d",
            "params": {"out_channels": "$planes * $width // 64 * $groups", "kernel_size": 1},
        },
        {
            "id": "conv",
            "type": "Conv2d",
            "params": {
                "out_channels": "$planes * $width // 64 * $groups",
                "kernel_size": 3,
                "padding": 1,
                "groups": "$groups",
            },
        },
        {"id": "expand", "type": "Conv2d", "params": {"out_channels": "$planes * 4", "kernel_size": 1}},
        {"id": "drop", "type": "Dropout", "params": {"p": "$drop"}},
    ],
    "edges": [["x", "reduce"], ["reduce", "conv"], ["conv", "expand"], ["expand", "drop"]],
    "inputs": ["x"],
    "outputs": ["drop"],
}


def bottleneck_graph(node, *params: dict[str, Any]) -> dict[str, Any]:
    nodes = [node("inp", "Input", shape=[64, 8, 8])]
    nodes += [node(f"b{i}", "GroupedBottleneck", **p) for i, p in enumerate(params)]
    document = {
        "version": "0.2",
        "nodes": nodes,
        "edges": [[a["id"], b["id"]] for a, b in zip(nodes, nodes[1:])],
        "inputs": ["inp"],
        "outputs": [nodes[-1]["id"]],
        "composites": {"GroupedBottleneck": GROUPED_BOTTLENECK},
    }
    return document


def model_source(document: dict[str, Any]) -> str:
    return codegen.generate(document, name="model", layout="file")["model.py"]


def test_calls_spell_out_every_size_even_at_the_blocks_default(node, tmp_path: Path) -> None:
    document = bottleneck_graph(node, {"groups": 32}, {"planes": 64, "groups": 32, "drop": 0.1})
    source = model_source(document)
    assert "self.b0 = GroupedBottleneck(64, planes=64, groups=32, width=4)\n" in source
    assert "self.b1 = GroupedBottleneck(256, planes=64, groups=32, width=4, drop=0.1)\n" in source
    for declared in ("planes: int = 64,", "groups: int = 1,", "width: int = 4,", "drop: float = 0.0"):
        assert declared in source  # the class's defaults are the block's declared defaults
    check_case(Case(document, None, [("inp", "2d", (64, 8, 8), None)]), tmp_path)
