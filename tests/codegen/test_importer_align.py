"""Aligning a re-imported generated package with its source version: an unedited package is that version,
an edit shows on the diff (``graphs.diff.diff_documents``, what the diff page shows) as just that edit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from codegen.importer import from_module, load_generated
from codegen.importer_align import align, canonical_params
from codegen.templates import load_template
from graphs.diff import diff_documents
from tests.codegen.graphgen import random_graph
from tests.codegen.test_importer import RANDOM_SEEDS, write_package

BLOCKS = {  # a user block used three times: the importer folds its class back into one composite
    "version": "0.2",
    "metadata": {"name": "Blocky", "tags": ["test"]},
    "nodes": [
        {"id": "inp", "type": "Input", "params": {"shape": [3, 16, 16]}, "ui": {"x": 0, "y": 0}},
        {"id": "b1", "type": "ConvBlock", "params": {"width": 8}, "label": "first", "ui": {"x": 0, "y": 100}},
        {"id": "b2", "type": "ConvBlock", "params": {"width": 16}},
        {"id": "b3", "type": "ConvBlock", "params": {"width": 16}},
        {"id": "pool", "type": "GlobalAvgPool", "params": {}},
        {"id": "fc", "type": "Linear", "params": {"out_features": 4}},
    ],
    "edges": [["inp", "b1"], ["b1", "b2"], ["b2", "b3"], ["b3", "pool"], ["pool", "fc"]],
    "inputs": ["inp"],
    "outputs": ["fc"],
    "composites": {
        "ConvBlock": {
            "params": [{"name": "width", "type": "int", "default": 16}],
            "nodes": [
                {"id": "x", "type": "Input"},
                {
                    "id": "conv",
                    "type": "Conv2d",
                    "params": {"out_channels": "$width", "kernel_size": [3, 3], "padding": 1},
                },
                {"id": "bn", "type": "BatchNorm2d", "params": {}},
                {"id": "act", "type": "ReLU", "params": {}},
            ],
            "edges": [["x", "conv"], ["conv", "bn"], ["bn", "act"]],
            "inputs": ["x"],
            "outputs": ["act"],
        }
    },
}

ONCE = {  # a user block used once, with a residual Add inside: the importer inlines its layers
    "version": "0.2",
    "metadata": {"name": "Once"},
    "nodes": [
        {"id": "inp", "type": "Input", "params": {"shape": [8, 16, 16]}},
        {"id": "stem", "type": "Conv2d", "params": {"out_channels": 8, "kernel_size": 1}},
        {"id": "blk", "type": "ResBlock", "params": {"width": 8}, "ui": {"x": 5, "y": 5}},
        {"id": "pool", "type": "GlobalAvgPool", "params": {}},
        {"id": "fc", "type": "Linear", "params": {"out_features": 4}},
    ],
    "edges": [["inp", "stem"], ["stem", "blk"], ["blk", "pool"], ["pool", "fc"]],
    "inputs": ["inp"],
    "outputs": ["fc"],
    "composites": {
        "ResBlock": {
            "params": [{"name": "width", "type": "int", "default": 16}],
            "nodes": [
                {"id": "x", "type": "Input"},
                {"id": "conv", "type": "Conv2d", "params": {"out_channels": "$width", "kernel_size": 3, "padding": 1}},
                {"id": "bn", "type": "BatchNorm2d", "params": {}},
                {"id": "add", "type": "Add", "params": {}},
                {"id": "act", "type": "ReLU", "params": {}},
            ],
            "edges": [["x", "conv"], ["conv", "bn"], ["bn", "add"], ["x", "add"], ["add", "act"]],
            "inputs": ["x"],
            "outputs": ["act"],
        }
    },
}


def reimport(base: dict[str, Any], tmp_path: Path, edits: list[tuple[str, str]] = (), file: str = "model.py"):
    """``base``'s generated package, with each (old, new) text replaced once in ``file``, imported and aligned."""
    package = write_package(base, tmp_path, "Pkg")
    source = package / file
    text = source.read_text()
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    source.write_text(text)
    model, shapes, _ = load_generated(package)
    return align(from_module(model, shapes), base)


def changes(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The diff page's lists, without the ones that are empty."""
    diff = diff_documents(base, new)
    found = {f"nodes.{k}": v for k, v in diff["nodes"].items() if v}
    found |= {f"edges.{k}": sorted(v) for k, v in diff["edges"].items() if v}
    found |= {k: diff[k] for k in ("inputs", "outputs", "metadata") if diff[k]}
    found |= {f"composites.{k}": v for k, v in diff["composites"].items() if v}
    return found


@pytest.mark.parametrize(
    "template", ["resnet18", "se_resnet_tiny", "unet_small", "transformer_classifier", "mobilenet_v3_small"]
)
def test_an_unedited_template_package_imports_back_to_its_document(template: str, tmp_path: Path) -> None:
    base = load_template(template)
    assert reimport(base, tmp_path) == base


# Graphs whose code the importer reads back in another spelling of the same model, which alignment does not
# yet map onto the base's: the push of such an unedited package shows a change.
SPELLED_OTHERWISE = {
    47: "an Add of three reads back as two chained Adds",
    89: "two blocks used once (ConvUnit, Swish2D) come back as their layers, not folded into block nodes",
    218: "a Bottleneck's expansion 2 reads back as 4 (the same inner width)",
    229: "a Sum of three reads back as two chained Adds",
    232: "a Mul of three reads back as two chained Muls",
    240: "a Bottleneck's expansion 2 reads back as 4 or 1 (the same inner width)",
}


@pytest.mark.parametrize(
    "seed",
    [
        pytest.param(seed, marks=pytest.mark.xfail(strict=True, reason=SPELLED_OTHERWISE[seed]))
        if seed in SPELLED_OTHERWISE
        else seed
        for seed in RANDOM_SEEDS
    ],
)
def test_an_unedited_random_graph_imports_back_to_its_document(seed: int, tmp_path: Path) -> None:
    """Dead nodes, disabled ones, blocks used once or nested, aliases, look-alike functions: all come back."""
    case = random_graph(seed)
    shapes = {node_id: list(dims) for node_id, _, dims, _ in case.inputs}
    model, shapes, _ = load_generated(write_package(case.graph, tmp_path, "Pkg", shapes))
    assert align(from_module(model, shapes), case.graph) == case.graph


def test_an_unedited_package_with_a_user_block_imports_back_to_its_document(tmp_path: Path) -> None:
    assert reimport(BLOCKS, tmp_path) == BLOCKS


def test_an_unedited_package_with_a_block_used_once_imports_back_to_its_document(tmp_path: Path) -> None:
    assert reimport(ONCE, tmp_path) == ONCE


def test_an_edited_literal_in_a_block_used_once_changes_the_block(tmp_path: Path) -> None:
    new = reimport(ONCE, tmp_path, [("kernel_size=3, padding=1", "kernel_size=5, padding=2")], file="blocks.py")
    assert changes(ONCE, new) == {"composites.changed": ["ResBlock"]}
    conv = next(n for n in new["composites"]["ResBlock"]["nodes"] if n["id"] == "conv")
    assert conv["params"] == {"out_channels": "$width", "kernel_size": 5, "padding": 2}


def test_an_edited_argument_of_a_block_used_once_changes_the_instance(tmp_path: Path) -> None:
    new = reimport(
        ONCE,
        tmp_path,
        [
            ("nn.Conv2d(8, 8, kernel_size=1)", "nn.Conv2d(8, 12, kernel_size=1)"),
            ("ResBlock(8, width=8)", "ResBlock(12, width=12)"),
            ("nn.Linear(8, 4)", "nn.Linear(12, 4)"),
        ],
    )
    assert changes(ONCE, new) == {
        "nodes.changed": {
            "stem": {"params": {"out_channels": {"old": 8, "new": 12}}},
            "blk": {"params": {"width": {"old": 8, "new": 12}}},
        }
    }


def test_a_disabled_node_its_code_bypasses_comes_back(tmp_path: Path) -> None:
    base = load_template("se_resnet_tiny")
    next(n for n in base["nodes"] if n["id"] == "block1_relu1")["disabled"] = True
    assert reimport(base, tmp_path) == base


def test_an_input_the_base_leaves_unsized_stays_unsized(tmp_path: Path) -> None:
    base = load_template("hybridcmi")
    (node,) = [n for n in base["nodes"] if n["type"] == "Input"]
    shape = node["params"].pop("shape")
    package = write_package(base, tmp_path, "Pkg")
    model, shapes, _ = load_generated(package, {"x": shape})
    assert align(from_module(model, shapes), base) == base


@pytest.mark.parametrize(
    "base",
    [
        {},
        {"nodes": "x", "inputs": "x"},
        {"nodes": [{"id": "a", "params": []}], "edges": [["a", "b"], 3]},
        {"nodes": [{"id": "x", "type": ["Conv2d"], "params": "k"}, {"id": "y", "type": "Conv2d", "params": [3]}]},
        {"nodes": [{"id": "stem_conv", "type": {}, "path": "stem_conv"}], "inputs": ["x"], "outputs": [None]},
    ],
)
def test_a_malformed_base_gives_the_import_with_fresh_ids(base: dict[str, Any], tmp_path: Path) -> None:
    model, shapes, _ = load_generated(write_package(load_template("se_resnet_tiny"), tmp_path, "Pkg"))
    imported = from_module(model, shapes)
    aligned = align(imported, base)
    assert [n["type"] for n in aligned["nodes"]] == [n["type"] for n in imported["nodes"]]
    assert len(aligned["edges"]) == len(imported["edges"])


def test_a_changed_kernel_size_is_one_changed_node(tmp_path: Path) -> None:
    base = load_template("se_resnet_tiny")
    new = reimport(
        base,
        tmp_path,
        [
            (
                "self.block1_conv2 = nn.Conv2d(32, 32, kernel_size=3, padding=1",
                "self.block1_conv2 = nn.Conv2d(32, 32, kernel_size=5, padding=2",
            )
        ],
    )
    assert changes(base, new) == {
        "nodes.changed": {
            "block1_conv2": {"params": {"kernel_size": {"old": 3, "new": 5}, "padding": {"old": 1, "new": 2}}}
        }
    }
    node = next(n for n in new["nodes"] if n["id"] == "block1_conv2")
    assert node["ui"] == next(n for n in base["nodes"] if n["id"] == "block1_conv2")["ui"]


def test_a_changed_stem_of_resnet18_is_one_changed_node(tmp_path: Path) -> None:
    base = load_template("resnet18")
    new = reimport(base, tmp_path, [("kernel_size=7, stride=2, padding=3", "kernel_size=5, stride=2, padding=2")])
    assert changes(base, new) == {
        "nodes.changed": {"conv1": {"params": {"kernel_size": {"old": 7, "new": 5}, "padding": {"old": 3, "new": 2}}}}
    }


def test_an_added_dropout_is_one_added_node_and_its_edges(tmp_path: Path) -> None:
    base = load_template("se_resnet_tiny")
    new = reimport(
        base,
        tmp_path,
        [
            ("self.fc = nn.Linear(64, 10)", "self.drop = nn.Dropout(0.2)\n        self.fc = nn.Linear(64, 10)"),
            ("x = self.fc(x)", "x = self.drop(x)\n        x = self.fc(x)"),
        ],
    )
    pool = next(e[0] for e in base["edges"] if e[1] == "fc")
    assert changes(base, new) == {
        "nodes.added": [{"id": "drop", "type": "Dropout"}],
        "edges.added": [[pool, "drop"], ["drop", "fc"]],
        "edges.removed": [[pool, "fc"]],
    }
    assert next(n for n in new["nodes"] if n["id"] == "drop")["params"] == {"p": 0.2}


def test_a_removed_layer_is_one_removed_node_and_its_edges(tmp_path: Path) -> None:
    base = load_template("se_resnet_tiny")
    new = reimport(
        base,
        tmp_path,
        [
            ("        self.block1_relu1 = nn.ReLU()\n", ""),
            ("        x = self.block1_relu1(x)  # (B, 32, 32, 32)\n", ""),
        ],
    )
    assert changes(base, new) == {
        "nodes.removed": [{"id": "block1_relu1", "type": "ReLU"}],
        "edges.added": [["block1_bn1", "block1_conv2"]],
        "edges.removed": [["block1_bn1", "block1_relu1"], ["block1_relu1", "block1_conv2"]],
    }


def test_a_rewired_functional_node_keeps_its_id(tmp_path: Path) -> None:
    """The residual Add has no module path: it is found through its inputs, and its new input shows as edges."""
    base = load_template("se_resnet_tiny")
    new = reimport(base, tmp_path, [("x = x + stem_relu", "x = x + x")])
    diff = changes(base, new)
    assert not diff.get("nodes.added") and not diff.get("nodes.removed")
    (add,) = {e[1] for e in diff["edges.removed"]}
    assert next(n for n in base["nodes"] if n["id"] == add)["type"] == "Add"


def test_a_changed_user_block_replaces_its_definition_under_its_name(tmp_path: Path) -> None:
    new = reimport(BLOCKS, tmp_path, [("kernel_size=(3, 3), padding=1", "kernel_size=5, padding=2")], file="blocks.py")
    diff = changes(BLOCKS, new)
    assert diff["composites.changed"] == ["ConvBlock"]
    assert not diff.get("nodes.added") and not diff.get("nodes.removed") and not diff.get("edges.added")
    assert [n["type"] for n in new["nodes"]][1:4] == ["ConvBlock"] * 3
    conv = next(n for n in new["composites"]["ConvBlock"]["nodes"] if n["id"] == "conv")
    assert conv["params"]["kernel_size"] == 5


def test_a_renamed_attribute_is_a_changed_module_path(tmp_path: Path) -> None:
    base = load_template("se_resnet_tiny")
    new = reimport(
        base, tmp_path, [("self.fc = nn.Linear", "self.head = nn.Linear"), ("x = self.fc(x)", "x = self.head(x)")]
    )
    assert changes(base, new) == {"nodes.changed": {"fc": {"path": {"old": None, "new": "head"}}}}


def test_new_nodes_never_take_a_base_id(tmp_path: Path) -> None:
    base = load_template("se_resnet_tiny")
    new = reimport(
        base,
        tmp_path,  # a second ReLU module after the first, named like a node that exists elsewhere
        [
            ("self.fc = nn.Linear(64, 10)", "self.fc = nn.Linear(64, 10)\n        self.block1_relu1_x = nn.ReLU()"),
            ("x = self.fc(x)", "x = self.fc(x)\n        x = self.block1_relu1_x(x)"),
        ],
    )
    added = changes(base, new)["nodes.added"]
    assert len(added) == 1 and added[0]["id"] not in {n["id"] for n in base["nodes"]}


def test_params_compare_up_to_defaults_and_uniform_sizes() -> None:
    written = {"type": "Conv2d", "params": {"out_channels": 8, "kernel_size": [3, 3], "padding": [1, 1]}}
    short = {"type": "Conv2d", "params": {"out_channels": 8, "padding": 1}}
    assert canonical_params(written) == canonical_params(short)
    assert canonical_params(written) != canonical_params({"type": "Conv2d", "params": {"out_channels": 8}})


class ConvBNAct(torch.nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn = torch.nn.BatchNorm2d(cout)
        self.act = torch.nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class TinyNet(torch.nn.Module):
    def __init__(self, head_kernel: int = 1) -> None:
        super().__init__()
        self.stem = ConvBNAct(3, 8)
        self.stage = torch.nn.Sequential(ConvBNAct(8, 16, 2), ConvBNAct(16, 16))
        self.head = torch.nn.Conv2d(16, 4, head_kernel, padding=head_kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stage(self.stem(x)) + 1.0).mean(dim=(2, 3))


def test_a_hand_written_model_imported_before_aligns_by_its_module_paths() -> None:
    """Bring your own code: its first import is the base; the import of the edited code diffs as the edit."""
    base = from_module(TinyNet(), [3, 16, 16])
    assert align(from_module(TinyNet(), [3, 16, 16]), base) == base
    new = align(from_module(TinyNet(head_kernel=3), [3, 16, 16]), base)
    head = next(n["id"] for n in base["nodes"] if n.get("path") == "head")
    assert changes(base, new) == {
        "nodes.changed": {head: {"params": {"kernel_size": {"old": 1, "new": 3}, "padding": {"old": None, "new": 1}}}}
    }
