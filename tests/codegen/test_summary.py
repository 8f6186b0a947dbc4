"""The model summary: FLOPs per node type equal FlopCounterMode's count on the generated module, the templates
match the published figures, and the summary reads well as a table, Markdown and CSV."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import make_chain, make_node
from test_composite_calls import GROUPED_BOTTLENECK, chain_of_blocks
from test_smoke_loop import import_generated
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import codegen
from codegen.summary import summarize
from codegen.templates import load_template, template_names


def generated_model(document: dict[str, Any], folder: Path) -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    """The generated package's model in eval mode and one sample (batch 1) of its inputs."""
    name, package = import_generated(document, folder)
    try:
        return package.build_model().eval(), package.example_inputs(1)
    finally:
        for key in [key for key in sys.modules if key == name or key.startswith(f"{name}.")]:
            del sys.modules[key]


def counted_flops(model: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> int:
    """FlopCounterMode's total, on the unfused paths it can see (math attention, LSTM without oneDNN)."""
    with (
        FlopCounterMode(display=False) as counter,
        sdpa_kernel(SDPBackend.MATH),
        torch.backends.mkldnn.flags(enabled=False),
    ):
        model(*inputs)
    return counter.get_total_flops()


def two_inputs(node_type: str, a: list[int], b: list[int], layout: str = "auto", **params: Any) -> dict[str, Any]:
    return {
        "version": "0.2",
        "nodes": [
            make_node("a", "Input", shape=a, layout=layout),
            make_node("b", "Input", shape=b, layout=layout),
            make_node("op", node_type, **params),
        ],
        "edges": [["a", "op"], ["b", "op"]],
        "inputs": ["a", "b"],
        "outputs": ["op"],
    }


# One small graph per node type that does matmul/conv-like work, with the parameters that change the count.
FLOP_CASES = {
    "Conv1d": make_chain(
        make_node("op", "Conv1d", out_channels=6, kernel_size=3, stride=2, dilation=2, groups=2), shape=[4, 19]
    ),
    "Conv2d": make_chain(
        make_node("op", "Conv2d", out_channels=8, kernel_size=[3, 5], stride=[2, 1], padding=1, groups=4, bias=False),
        shape=[4, 11, 9],
    ),
    "Conv2d same dilated": make_chain(
        make_node("op", "Conv2d", out_channels=5, kernel_size=3, padding="same", dilation=2), shape=[3, 8, 8]
    ),
    "Conv3d": make_chain(make_node("op", "Conv3d", out_channels=4, kernel_size=2, stride=2), shape=[2, 6, 6, 6]),
    "ConvTranspose1d": make_chain(
        make_node("op", "ConvTranspose1d", out_channels=4, kernel_size=4, stride=2, padding=1), shape=[6, 9]
    ),
    "ConvTranspose2d": make_chain(
        make_node("op", "ConvTranspose2d", out_channels=6, kernel_size=3, stride=2, groups=2, output_padding=1),
        shape=[4, 5, 7],
    ),
    "Linear": make_chain(make_node("op", "Linear", out_features=7), shape=[12]),
    "Linear on a sequence": make_chain(make_node("op", "Linear", out_features=5, bias=False), shape=[9, 6]),
    "MatMul": two_inputs("MatMul", [2, 3, 4], [2, 4, 5]),
    "MultiheadAttention": make_chain(make_node("op", "MultiheadAttention", num_heads=2), layout="BTH", shape=[7, 8]),
    "TransformerEncoderLayer": make_chain(
        make_node("op", "TransformerEncoderLayer", nhead=2, dim_feedforward=24, activation="gelu", norm_first=True),
        layout="BTH",
        shape=[5, 8],
    ),
    "TransformerDecoderLayer": two_inputs(
        "TransformerDecoderLayer", [5, 8], [7, 8], layout="BTH", nhead=2, dim_feedforward=24, norm_first=True
    ),
    "FiLM": two_inputs("FiLM", [4, 6, 5], [3]),
    "GRU": make_chain(
        make_node("op", "GRU", hidden_size=6, num_layers=2, bidirectional=True), layout="BTH", shape=[7, 5]
    ),
    "LSTM": make_chain(make_node("op", "LSTM", hidden_size=6, num_layers=2), layout="BTH", shape=[7, 5]),
    "RNN": make_chain(
        make_node("op", "RNN", hidden_size=6, bias=False, bidirectional=True), layout="BTH", shape=[7, 5]
    ),
    "GRUBlock": make_chain(make_node("op", "GRUBlock", hidden_size=6, bidirectional=True), layout="BTH", shape=[7, 5]),
}


def test_every_node_type_that_counts_macs_has_a_case() -> None:
    declared = {t for t, spec in codegen.NODE_SPECS.items() if spec.macs is not None}
    covered = {document["nodes"][-1]["type"] for document in FLOP_CASES.values()}
    assert declared - {"Bilinear"} == covered  # Bilinear: see its own test


@pytest.mark.parametrize("case", list(FLOP_CASES))
def test_it_counts_the_flops_flop_counter_mode_counts_on_the_generated_module(case: str, tmp_path: Path) -> None:
    document = FLOP_CASES[case]
    summary = summarize(document)
    row = next(r for r in summary.rows if r.id == "op")
    assert row.macs and row.flops == 2 * row.macs
    assert row.flops == summary.flops == counted_flops(*generated_model(document, tmp_path))


def test_bilinear_counts_its_textbook_products_which_flop_counter_mode_does_not_see(tmp_path: Path) -> None:
    document = two_inputs("Bilinear", [3, 4], [3, 5], out_features=6)
    assert summarize(document).macs == 3 * 6 * 4 * 5
    # FlopCounterMode has no formula for aten._trilinear; if it gains one, this convention needs a look.
    assert counted_flops(*generated_model(document, tmp_path)) == 0


def test_layers_without_matmul_work_count_no_flops_as_flop_counter_mode(tmp_path: Path) -> None:
    document = make_chain(
        make_node("bn", "BatchNorm2d"),
        make_node("act", "GELU"),
        make_node("pool", "MaxPool2d", kernel_size=2),
        make_node("norm", "GroupNorm", num_groups=2),
        make_node("up", "Upsample", scale_factor=2, mode="bilinear"),
        make_node("gap", "GlobalAvgPool"),
        shape=[4, 8, 8],
    )
    summary = summarize(document)
    assert summary.flops == summary.macs == counted_flops(*generated_model(document, tmp_path)) == 0
    assert summary.params == 8 + 8


@pytest.mark.parametrize("name", template_names())
def test_every_templates_flops_equal_flop_counter_mode_on_its_generated_model(name: str, tmp_path: Path) -> None:
    document = load_template(name)
    with torch.device("meta"):  # the same ops as on a CPU, without the arithmetic or the weights' memory
        model, inputs = generated_model(document, tmp_path)
    assert summarize(document).flops == counted_flops(model, inputs)


@pytest.mark.parametrize(("name", "published_gmacs"), [("vgg16", 15.5), ("resnet50", 4.1)])
def test_vgg16_and_resnet50_match_the_published_figures(name: str, published_gmacs: float) -> None:
    summary = summarize(load_template(name))
    assert summary.macs / 1e9 == pytest.approx(published_gmacs, rel=0.02)
    assert summary.params == codegen.validate(load_template(name)).params_total


def test_a_user_block_is_one_row_with_its_totals_and_its_inner_rows_as_children() -> None:
    document = chain_of_blocks(
        make_node, "Grouped", GROUPED_BOTTLENECK, [64, 8, 8], {"planes": 16, "groups": 4, "width": 16}
    )
    summary = summarize(document)
    block = next(r for r in summary.rows if r.id == "b0")
    assert block.type == "Grouped"
    assert [child.id for child in block.children] == ["reduce", "conv", "expand", "drop"]
    assert block.macs == sum(child.macs for child in block.children) > 0
    assert block.params == sum(child.params for child in block.children)
    assert block.output_shapes == [["B", 64, 8, 8]]
    assert summary.macs == block.macs and summary.params == block.params


def test_instances_of_one_block_share_their_rows_and_a_disabled_one_counts_nothing() -> None:
    same = {"planes": 16, "groups": 4, "width": 16}
    document = chain_of_blocks(make_node, "Grouped", GROUPED_BOTTLENECK, [64, 8, 8], same, same, same)
    document["nodes"][3]["disabled"] = True
    summary = summarize(document)
    b0, b1, b2 = summary.rows[1:]
    assert b0.children is b1.children  # one expansion, one set of rows
    assert (b2.macs, b2.params, b2.children) == (0, 0, ())
    assert summary.macs == 2 * b0.macs


def test_parameters_are_all_trainable_as_nothing_marks_them_frozen() -> None:
    summary = summarize(make_chain(make_node("fc", "Linear", out_features=3), shape=[4]))
    assert (summary.params, summary.params_trainable, summary.params_frozen) == (15, 15, 0)
    fc = summary.rows[-1]
    assert (fc.params_trainable, fc.params_frozen) == (15, 0)


def test_activation_memory_is_fp32_bytes_of_each_output_per_sample() -> None:
    summary = summarize(make_chain(make_node("fc", "Linear", out_features=3), shape=[4]))
    assert [r.activation_bytes for r in summary.rows] == [16, 12]
    assert summary.activation_bytes == 28


def test_a_disabled_node_does_no_work() -> None:
    document = make_chain(make_node("fc", "Linear", out_features=4), shape=[4])
    document["nodes"][1]["disabled"] = True
    assert summarize(document).macs == 0


def test_without_input_shapes_the_flops_are_unknown_and_given_shapes_fill_them_in() -> None:
    document = make_chain(make_node("conv", "Conv1d", out_channels=4, kernel_size=3))
    assert summarize(document).flops is None
    assert summarize(document, input_shapes={"inp": [2, 10]}).macs == 4 * 8 * 2 * 3


def test_to_dict_is_json_safe_with_totals_and_one_entry_per_node() -> None:
    data = summarize(load_template("se_resnet_tiny")).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert [n["id"] for n in data["nodes"]] == codegen.validate(load_template("se_resnet_tiny")).analysis.order
    assert data["batch_size"] == 1 and data["activation_memory"] == "bytes per sample, fp32"
    assert set(data["totals"]) == {"params", "params_trainable", "params_frozen", "flops", "macs", "activation_bytes"}
    first = data["nodes"][0]
    assert first == {
        "id": first["id"],
        "type": "Input",
        "output_shapes": [["B", 3, 32, 32]],
        "params": 0,
        "params_trainable": 0,
        "params_frozen": 0,
        "flops": 0,
        "macs": 0,
        "activation_bytes": 3 * 32 * 32 * 4,
    }


def test_markdown_has_the_totals_and_one_table_line_per_node() -> None:
    document = chain_of_blocks(make_node, "Grouped", GROUPED_BOTTLENECK, [64, 8, 8], {"planes": 16})
    summary = summarize(document)
    text = summary.to_markdown()
    lines = text.splitlines()
    assert lines[0] == "# Model: model summary"
    assert "Batch 1; activation memory per sample (fp32)." in lines
    assert "- Parameters: 203 (203 trainable, 0 frozen)" in lines
    assert f"- FLOPs: {summary.flops / 1e3:.3g}k ({summary.macs / 1e3:.3g}k MACs)" in lines
    table = [line for line in lines if line.startswith("|")]
    assert table[0].startswith("| node | type | output shape | params |")
    assert table[1] == "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    assert len(table) == 2 + 1 + 1 + 4 + 1  # header, rule, input, block, its four children, total
    assert table[4].startswith(
        "| \u00a0\u00a0reduce | Conv2d | (B, 1, 8, 8) | 65 | 65 | 0 | 8.19k | 4.1k | 256 bytes |"
    )
    assert table[-1].startswith("| **total** |")


def test_csv_has_exact_integers_and_names_children_by_their_block() -> None:
    document = chain_of_blocks(make_node, "Grouped", GROUPED_BOTTLENECK, [64, 8, 8], {"planes": 16})
    summary = summarize(document)
    rows = list(csv.reader(io.StringIO(summary.to_csv())))
    assert rows[0] == [
        "node",
        "type",
        "output shape",
        "params",
        "trainable",
        "frozen",
        "FLOPs",
        "MACs",
        "activations (bytes/sample)",
    ]
    assert [r[0] for r in rows[1:]] == ["inp", "b0", "b0/reduce", "b0/conv", "b0/expand", "b0/drop", "total"]
    assert rows[-1][3:] == [
        str(summary.params),
        str(summary.params),
        "0",
        str(summary.flops),
        str(summary.macs),
        str(summary.activation_bytes),
    ]


def test_the_text_table_aligns_its_columns() -> None:
    lines = summarize(load_template("resnet18")).to_table().splitlines()
    assert lines[0] == "ResNet18: batch 1, activation memory per sample (fp32)"
    assert lines[1].split()[:3] == ["node", "type", "output"]
    assert len({len(line) for line in lines[1:3]}) == 1  # header and rule as wide as each other
    assert lines[-1].split()[0] == "total"


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("{not json", "PARSE"),
        (make_chain(make_node("fc", "Linaer", out_features=3), shape=[4]), "UNKNOWN_TYPE"),
        (make_chain(make_node("conv", "Conv2d", out_channels=4), shape=[9]), "RANK"),
    ],
)
def test_an_invalid_graph_raises_a_graph_error_with_its_diagnostics(document: Any, code: str) -> None:
    with pytest.raises(codegen.GraphError) as caught:
        summarize(document)
    assert code in [d.code for d in caught.value.diagnostics]
