"""User blocks with several inputs and outputs (named ports), and parameters that default to others.

U-Net's decoder stage is the motivating case: ``Up(x, skip)`` upsamples ``x``, concatenates the skip
connection and convolves; its sizes default to its inputs' channels. Every runnable graph here is also
generated and compared with the reference interpreter (:func:`test_equivalence.check_case`).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from graphgen import Case
from test_equivalence import check_case

import codegen

UP = {
    "doc": "U-Net's decoder stage: upsample x, concatenate the skip connection, convolve.",
    "params": [
        {"name": "mid", "type": "int", "default": "$in_channels // 2", "min": 1},
        {"name": "out_channels", "type": "int", "default": "$skip_channels", "min": 1},
    ],
    "nodes": [
        {"id": "x", "type": "Input"},
        {"id": "skip", "type": "Input"},
        {"id": "up", "type": "ConvTranspose2d", "params": {"out_channels": "$mid", "kernel_size": 2, "stride": 2}},
        {"id": "cat", "type": "Concat", "params": {"dim": 1}},
        {"id": "conv", "type": "Conv2d", "params": {"out_channels": "$out_channels", "kernel_size": 3, "padding": 1}},
        {"id": "act", "type": "ReLU"},
    ],
    "edges": [["x", "up"], ["skip", "cat"], ["up", "cat"], ["cat", "conv"], ["conv", "act"]],
    "inputs": ["x", "skip"],
    "outputs": ["act"],
}

# Two outputs, each from a piece of a multi-output node: Chunk's first half, a Split of the second.
HALVES = {
    "params": [{"name": "width", "type": "int", "default": "$in_channels"}],
    "nodes": [
        {"id": "x", "type": "Input"},
        {"id": "halves", "type": "Chunk", "params": {"chunks": 2}},
        {"id": "left", "type": "Conv2d", "params": {"out_channels": "$width", "kernel_size": 1}},
        {"id": "right", "type": "Split", "params": {"sections": [1, 3]}},
        {"id": "right_act", "type": "ReLU"},
    ],
    "edges": [["x", "halves"], ["halves:0", "left"], ["halves:1", "right"], ["right:1", "right_act"]],
    "inputs": ["x"],
    "outputs": ["left", "right_act"],
}


def unet(*up_edges: list[str], up_params: dict[str, Any] | None = None, shape: list[int] | None = None):
    """Input → enc → pool → bottom → Up(bottom, skip=enc) → head; ``up_edges`` feed the Up instance."""
    edges = up_edges or (["bottom", "up1"], ["enc", "up1", "skip"])
    return {
        "version": "0.2",
        "metadata": {"name": "TinyUNet"},
        "composites": {"Up": copy.deepcopy(UP)},
        "nodes": [
            {"id": "inp", "type": "Input", "params": {"shape": shape or [3, 16, 16]}},
            {"id": "enc", "type": "Conv2d", "params": {"out_channels": 8, "kernel_size": 3, "padding": 1}},
            {"id": "pool", "type": "MaxPool2d", "params": {"kernel_size": 2}},
            {"id": "bottom", "type": "Conv2d", "params": {"out_channels": 16, "kernel_size": 3, "padding": 1}},
            {"id": "up1", "type": "Up", "params": up_params or {}},
            {"id": "head", "type": "Conv2d", "params": {"out_channels": 2, "kernel_size": 1}},
        ],
        "edges": [["inp", "enc"], ["enc", "pool"], ["pool", "bottom"], *edges, ["up1", "head"]],
        "inputs": ["inp"],
        "outputs": ["head"],
    }


def image_case(document: dict[str, Any], shape: tuple[int, ...] = (3, 16, 16)) -> Case:
    return Case(document, None, [("inp", "2d", shape, None)])


def diagnostics(document: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    return codegen.validate(document, **kwargs).to_dict()["diagnostics"]


def source(document: dict[str, Any]) -> str:
    return codegen.generate(document, name="model", layout="file")["model.py"]


def error(code: str, message: str, **where: Any) -> dict[str, Any]:
    return {"severity": "error", "code": code, "message": message, **where}


# ---------------------------------------------------------------------------------------------
# Several inputs


def test_a_two_input_block_renders_forward_with_its_ports_and_runs_as_interpreted(tmp_path: Path) -> None:
    document = unet()
    assert diagnostics(document) == []
    text = source(document)
    assert "    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:\n" in text
    assert "        x = torch.cat([skip, x], dim=1)\n" in text
    assert "        self.up1 = Up(16, 8, mid=8, out_channels=8)\n" in text  # input sizes first, in port order
    assert "        x = self.up1(x, enc)  # (B, 8, 16, 16)\n" in text
    check_case(image_case(document), tmp_path)


def test_a_named_port_takes_its_edge_whatever_the_edge_order() -> None:
    named_first = source(unet(["enc", "up1", "skip"], ["bottom", "up1"]))
    assert "x = self.up1(x, enc)" in named_first
    # Without names, edge order is port order: here enc is x and bottom the skip connection.
    in_order = codegen.validate(unet(["enc", "up1"], ["bottom", "up1"]))
    assert in_order.analysis.info["up1"].inputs[0].source == "enc"


def test_sizes_default_to_the_inputs_channels_and_the_class_computes_them_as_torchvision_does() -> None:
    text = source(unet())
    assert (
        "    def __init__(\n"
        "        self,\n"
        "        in_channels: int,\n"
        "        skip_channels: int,\n"
        "        mid: int | None = None,\n"
        "        out_channels: int | None = None,\n"
        "    ) -> None:\n"
        "        super().__init__()\n"
        "        if mid is None:\n"
        "            mid = in_channels // 2\n"
        "        if out_channels is None:\n"
        "            out_channels = skip_channels\n"
        "        self.up = nn.ConvTranspose2d(in_channels, mid, kernel_size=2, stride=2)\n"
    ) in text
    assert "nn.Conv2d(\n            skip_channels + mid, out_channels" in text


def test_a_value_set_on_the_instance_wins_over_the_computed_default(tmp_path: Path) -> None:
    document = unet(up_params={"out_channels": 5, "mid": None})  # null: the default, as in Python
    analysis = codegen.validate(document).analysis
    assert analysis.info["up1"].params == {"mid": 8, "out_channels": 5}
    assert analysis.info["up1"].out.dims == (5, 16, 16)
    assert "self.up1 = Up(16, 8, mid=8, out_channels=5)" in source(document)
    check_case(image_case(document), tmp_path)


# ---------------------------------------------------------------------------------------------
# Several outputs, Chunk and Split inside


def halves_graph(*outputs: str) -> dict[str, Any]:
    nodes = [
        {"id": "inp", "type": "Input", "params": {"shape": [8, 6, 6]}},
        {"id": "split", "type": "Halves"},
        {"id": "a", "type": "ReLU"},
        {"id": "b", "type": "Sigmoid"},
        {"id": "merge", "type": "Concat"},
    ]
    edges = [["inp", "split"], *([o, t] for o, t in zip(outputs, ("a", "b"))), ["a", "merge"], ["b", "merge"]]
    return {
        "version": "0.2",
        "composites": {"Halves": copy.deepcopy(HALVES)},
        "nodes": nodes,
        "edges": edges,
        "inputs": ["inp"],
        "outputs": ["merge"],
    }


def test_a_two_output_block_with_chunk_and_split_inside_returns_a_tuple_the_call_unpacks(tmp_path: Path) -> None:
    document = halves_graph("split:0", "split:1")
    assert diagnostics(document) == []
    analysis = codegen.validate(document).analysis
    assert [t.dims for t in analysis.info["split"].out] == [(8, 6, 6), (3, 6, 6)]
    text = source(document)
    assert "    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:\n" in text
    assert "        halves_0, halves_1 = torch.chunk(x, 2, dim=1)\n" in text
    assert "        _, right_1 = torch.split(halves_1, [1, 3], dim=1)\n" in text
    assert "        self.left = nn.Conv2d(in_channels // 2, width, kernel_size=1)\n" in text
    assert "        split_0, split_1 = self.split(x)\n" in text
    check_case(image_case(document, (8, 6, 6)), tmp_path)


def test_an_output_nothing_reads_is_unpacked_into_an_underscore(tmp_path: Path) -> None:
    document = halves_graph("split:1")
    document["nodes"] = [n for n in document["nodes"] if n["id"] not in ("b", "merge")]
    document["edges"] = [e for e in document["edges"] if "merge" not in e]
    document["outputs"] = ["a"]
    assert "        _, split_1 = self.split(x)\n" in source(document)
    check_case(image_case(document, (8, 6, 6)), tmp_path)


def test_a_use_whose_split_does_not_add_up_is_a_shape_error_inside_the_block() -> None:
    document = halves_graph("split:0", "split:1")
    document["nodes"][0]["params"]["shape"] = [6, 6, 6]
    assert diagnostics(document) == [
        error(
            "SHAPE",
            "inside block Halves at `right`: sections [1, 3] add up to 4, but axis 1 has size 3",
            node="split",
        )
    ]


def test_reading_a_two_output_block_without_an_index_names_the_sources_to_use() -> None:
    assert diagnostics(halves_graph("split", "split:1")) == [
        error(
            "BAD_PORT",
            "`split` has 2 outputs: connect from `split:0` … `split:1`",
            node="a",
            edge=["split", "a"],
        )
    ]


def test_outputs_are_read_by_position_and_a_name_gets_the_position_to_use() -> None:
    assert error(
        "BAD_PORT",
        "outputs of block Halves are read by position: connect from `split:1` for its output `right_act`",
        node="b",
        edge=["split:right_act", "b"],
        path="edges[2]",
    ) in diagnostics(halves_graph("split:0", "split:right_act"))


def test_a_two_output_block_unpacks_inside_another_blocks_class(tmp_path: Path) -> None:
    document = halves_graph("split:0", "split:1")
    document["composites"]["Outer"] = {
        "nodes": [{"id": "x", "type": "Input"}, {"id": "h", "type": "Halves", "params": {"width": 3}}]
        + [{"id": "sum", "type": "Add"}],
        "edges": [["x", "h"], ["h:0", "sum"], ["h:1", "sum"]],
        "inputs": ["x"],
        "outputs": ["sum"],
    }
    document["nodes"] = [document["nodes"][0], {"id": "outer", "type": "Outer"}]
    document["edges"] = [["inp", "outer"]]
    document["outputs"] = ["outer"]
    assert diagnostics(document) == []
    text = source(document)
    assert "        self.h = Halves(in_channels, width=3)\n" in text
    assert "        h_0, h_1 = self.h(x)\n        x = h_0 + h_1  # (B, 3, ?, ?)\n" in text
    check_case(image_case(document, (8, 6, 6)), tmp_path)


def test_a_two_input_block_nests_in_another_block(tmp_path: Path) -> None:
    """Inside a class, the inner block's sizes are expressions of the outer class's input sizes."""
    document = unet()
    document["composites"]["Decoder"] = {
        "params": [],
        "nodes": [
            {"id": "low", "type": "Input"},
            {"id": "high", "type": "Input"},
            {"id": "stage", "type": "Up", "params": {}},
            {"id": "norm", "type": "BatchNorm2d"},
        ],
        "edges": [["low", "stage"], ["high", "stage", "skip"], ["stage", "norm"]],
        "inputs": ["low", "high"],
        "outputs": ["norm"],
    }
    for node in document["nodes"]:
        if node["id"] == "up1":
            node["type"] = "Decoder"
    document["edges"] = [[a, b, "high"] if len(e) == 3 else e for e in document["edges"] for a, b, *_ in [e]]
    assert diagnostics(document) == []
    text = source(document)
    assert (
        "        self.stage = Up(\n"
        "            in_channels, high_channels, mid=in_channels // 2, out_channels=high_channels\n"
        "        )\n"
    ) in text
    assert "    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:\n" in text
    check_case(image_case(document), tmp_path)


# ---------------------------------------------------------------------------------------------
# Diagnostics at the instance


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        (
            (["bottom", "up1"], ["enc", "up1", "skp"]),
            error(
                "BAD_PORT",
                "block Up has no input port 'skp' (did you mean `skip`? ports: x, skip)",
                node="up1",
                edge=["enc", "up1"],
            ),
        ),
        (
            (["bottom", "up1", "skip"], ["enc", "up1", "skip"]),
            error("BAD_PORT", "two edges feed port `skip`", node="up1"),
        ),
        (
            (["bottom", "up1", "x"],),
            error("ARITY", "block Up takes 2 inputs (x, skip), has 1: connect `skip`", node="up1"),
        ),
        (
            (["enc", "up1", "skip"],),
            error("ARITY", "block Up takes 2 inputs (x, skip), has 1: connect `x`", node="up1"),
        ),
        (
            (["bottom", "up1"], ["enc", "up1"], ["pool", "up1"]),
            error("ARITY", "block Up takes 2 inputs (x, skip), has 3: remove 1 of its edges", node="up1"),
        ),
    ],
    ids=["unknown", "twice", "missing-skip", "missing-x", "too-many"],
)
def test_ports_that_are_unknown_fed_twice_or_left_open_are_named(edges, expected) -> None:
    assert expected in diagnostics(unet(*edges))


def errors_with_x_of_unknown_shape(mid_default: str, **up_params: Any) -> list[dict[str, Any]]:
    """Errors of the U-Net with Up's x straight from an Input without `shape` (its rank unknown)."""
    document = unet(["inp", "up1"], ["enc", "up1", "skip"], up_params=up_params)
    del document["nodes"][0]["params"]["shape"]
    document["composites"]["Up"]["params"][0]["default"] = mid_default
    return [d for d in diagnostics(document) if d["severity"] == "error"]


def test_a_default_of_an_unknown_size_asks_for_the_value_or_a_shape() -> None:
    assert errors_with_x_of_unknown_shape("$in_channels // 2") == [
        error(
            "NEEDS_SHAPE",
            "`mid` of block Up defaults to '$in_channels // 2', but the size of its input `x` is unknown here: "
            "set `mid`, or `shape` on the Input node",
            node="up1",
        )
    ]


def test_a_default_read_from_an_input_of_unknown_rank_needs_its_shape_even_when_set() -> None:
    """The class computes the default itself, so it must take that input's size: the instance cannot give it."""
    assert errors_with_x_of_unknown_shape("$in_features // 2", mid=4) == [
        error(
            "NEEDS_SHAPE",
            "block Up: the default of `mid` reads `in_features`, the size of its input `x`, which cannot be "
            "inferred without input shapes: set `shape` on the Input node",
            node="up1",
        )
    ]


def test_a_computed_default_out_of_range_names_its_value_and_the_fix() -> None:
    document = unet(["pool", "up1"], ["enc", "up1", "skip"])
    document["nodes"][2]["params"] = {"kernel_size": 1}  # pool keeps 16 x 16: give Up a 1-channel input
    document["nodes"][1]["params"]["out_channels"] = 1
    assert error(
        "PARAM_RANGE",
        "`mid` of block Up defaults to '$in_channels // 2': must be ≥ 1, got 0 here; set `mid`",
        node="up1",
    ) in diagnostics(document)


def test_a_default_naming_the_features_of_an_image_says_which_size_to_write() -> None:
    document = unet()
    document["composites"]["Up"]["params"][0]["default"] = "$in_features // 2"
    assert diagnostics(document) == [
        error(
            "COMPOSITE",
            "block Up: the default of `mid` reads `in_features`, but that input's size is `in_channels` here; "
            "write `$in_channels`",
            node="up1",
        )
    ]


# ---------------------------------------------------------------------------------------------
# Diagnostics of the definition


def block_problems(change) -> list[dict[str, Any]]:
    document = unet()
    change(document["composites"]["Up"])
    return [d for d in diagnostics(document) if d.get("path") == "composites.Up"]


def set_default(name: str, value: Any):
    def change(block: dict[str, Any]) -> None:
        next(p for p in block["params"] if p["name"] == name)["default"] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            set_default("mid", "$width"),
            "block Up: the default of `mid` reads `width`, which is neither a parameter (mid, out_channels) "
            "nor an input size (in_channels, in_features, skip_channels, skip_features)",
        ),
        (set_default("mid", "$mid + 1"), "block Up: the default of `mid` refers to itself; give it a number"),
        (
            lambda block: (set_default("mid", "$out_channels")(block), set_default("out_channels", "$mid * 2")(block)),
            "block Up: the defaults of mid → out_channels → mid refer to each other; give one of them a number",
        ),
        (
            lambda block: block["params"].append({"name": "p", "type": "float", "default": "$mid"}),
            'block Up: default of `p` expected number, got "$mid" (only int parameters may default to another)',
        ),
        (
            lambda block: block["params"].append({"name": "skip_channels", "type": "int"}),
            "block Up: `skip_channels` is passed automatically from the input `skip`; do not declare it",
        ),
        (
            lambda block: block["inputs"].append("skip"),
            "block Up lists `skip` twice in `inputs`: each port appears once",
        ),
        (
            lambda block: block["inputs"].remove("skip"),
            "block Up: Input `skip` is not one of its `inputs`; list it there (a port) or remove it",
        ),
    ],
    ids=["unknown-name", "itself", "cycle", "float", "reserved-size", "duplicate-port", "unlisted-input"],
)
def test_a_definition_with_a_bad_default_or_port_list_is_refused_with_the_fix(change, message) -> None:
    assert error("COMPOSITE", message, path="composites.Up") in block_problems(change)


def golden_unet() -> Case:
    """The golden case `composite_ports`: a one-level U-Net with Up(x, skip) and a two-output block."""
    document = json.loads((Path(__file__).parent / "golden" / "composite_ports" / "graph.json").read_text())
    return Case(document, None, [("image", "2d", (3, 16, 16), None)])


def test_the_golden_unet_runs_as_interpreted(tmp_path: Path) -> None:
    check_case(golden_unet(), tmp_path)


def test_module_paths_hold_inside_a_two_input_block_and_on_its_instance(tmp_path: Path) -> None:
    case = golden_unet()
    document = case.graph
    for node in document["composites"]["Up"]["nodes"]:
        if node["id"] in ("conv", "bn", "act"):
            node["path"] = f"block.{['conv', 'bn', 'act'].index(node['id'])}"
    next(n for n in document["nodes"] if n["id"] == "up1")["path"] = "decoder.0"
    text = source(document)
    assert "            out_channels = skip_channels\n        self.up = nn.ConvTranspose2d(" in text
    assert "        self.block = nn.Sequential(\n" in text
    assert "        x = self.decoder[0](x, enc)  # (B, 8, 16, 16)\n" in text
    check_case(case, tmp_path)
