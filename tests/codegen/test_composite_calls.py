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


def chain_of_blocks(node, name: str, definition: dict[str, Any], shape: list[int], *params: dict[str, Any]):
    """Input, then one instance of the block per entry of ``params``, in a chain."""
    nodes = [node("inp", "Input", shape=shape)]
    nodes += [node(f"b{i}", name, **p) for i, p in enumerate(params)]
    return {
        "version": "0.2",
        "nodes": nodes,
        "edges": [[a["id"], b["id"]] for a, b in zip(nodes, nodes[1:])],
        "inputs": ["inp"],
        "outputs": [nodes[-1]["id"]],
        "composites": {name: definition},
    }


def model_source(document: dict[str, Any]) -> str:
    return codegen.generate(document, name="model", layout="file")["model.py"]


def test_calls_spell_out_every_size_even_at_the_blocks_default(node, tmp_path: Path) -> None:
    document = chain_of_blocks(
        node,
        "GroupedBottleneck",
        GROUPED_BOTTLENECK,
        [64, 8, 8],
        {"groups": 32},
        {"planes": 64, "groups": 32, "drop": 0.1},
    )
    source = model_source(document)
    assert "self.b0 = GroupedBottleneck(64, planes=64, groups=32, width=4)\n" in source
    assert "self.b1 = GroupedBottleneck(256, planes=64, groups=32, width=4, drop=0.1)\n" in source
    for declared in ("planes: int = 64,", "groups: int = 1,", "width: int = 4,", "drop: float = 0.0"):
        assert declared in source  # the class's defaults are the block's declared defaults
    check_case(Case(document, None, [("inp", "2d", (64, 8, 8), None)]), tmp_path)


# ShuffleNetV2's stride-1 unit: half the channels pass through, half go through a branch, then shuffle.
SHUFFLE_UNIT = {
    "params": [{"name": "branch", "type": "int", "default": 4}],
    "nodes": [
        {"id": "x", "type": "Input"},
        {"id": "split", "type": "Chunk", "params": {"chunks": 2, "dim": 1}},
        {"id": "pw", "type": "Conv2d", "params": {"out_channels": "$branch", "kernel_size": 1}},
        {"id": "bn", "type": "BatchNorm2d"},
        {"id": "act", "type": "ReLU"},
        {"id": "cat", "type": "Concat", "params": {"dim": 1}},
        {"id": "shuffle", "type": "ChannelShuffle", "params": {"groups": 2}},
    ],
    "edges": [["x", "split"], ["split:1", "pw"], ["pw", "bn"], ["bn", "act"], ["split:0", "cat"], ["act", "cat"]]
    + [["cat", "shuffle"]],
    "inputs": ["x"],
    "outputs": ["shuffle"],
}


def test_a_block_chunks_its_symbolic_channels_and_runs_as_interpreted(node, tmp_path: Path) -> None:
    document = chain_of_blocks(node, "ShuffleUnit", SHUFFLE_UNIT, [8, 6, 6], {}, {})
    assert codegen.validate(document).to_dict()["diagnostics"] == []
    source = model_source(document)
    assert "torch.chunk(x, 2, dim=1)" in source
    assert "self.pw = nn.Conv2d(in_channels // 2, branch, kernel_size=1)" in source  # one class, symbolic half
    check_case(Case(document, None, [("inp", "2d", (8, 6, 6), None)]), tmp_path)


def test_a_use_whose_channels_do_not_halve_is_a_shape_error_naming_the_chunk(node) -> None:
    assert codegen.validate(chain_of_blocks(node, "ShuffleUnit", SHUFFLE_UNIT, [7, 6, 6], {}, {})).to_dict()[
        "diagnostics"
    ] == [
        {
            "severity": "error",
            "code": "SHAPE",
            "message": "inside block ShuffleUnit at `split`: axis 1 of size 7 does not split into 2 equal chunks: "
            "make it a multiple of 2 or use Split with explicit sizes",
            "node": "b0",
        }
    ]
