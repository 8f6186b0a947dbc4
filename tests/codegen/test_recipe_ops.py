"""FiLM, Stack, ArgMax, Normalize, Constant, Scale and TransformerDecoderLayer, and the TSTransformer template.

Each node type against a hand-written PyTorch reference (weights copied by name, outputs compared),
its shape errors, and the generated code against the reference interpreter (``check_case``).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from graphgen import Case
from test_equivalence import EDGE_CASES, check_case, forget, import_fresh, write
from test_importer import write_package
from torch import nn

import codegen
from codegen.importer import from_module, load_generated
from codegen.spec import lookup
from codegen.summary import summarize
from codegen.templates import load_template

_names = itertools.count()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("recipe_ops")


def graph(inputs: dict[str, dict[str, Any]], nodes: list[tuple[str, str, dict]], edges: list[list[str]]) -> dict:
    """Inputs (id → Input params), then nodes (id, type, params); the last node is the output."""
    return {
        "version": "0.2",
        "nodes": [{"id": i, "type": "Input", "params": p} for i, p in inputs.items()]
        + [{"id": i, "type": t, "params": p} for i, t, p in nodes],
        "edges": edges,
        "inputs": list(inputs),
        "outputs": [nodes[-1][0]],
    }


def generated(document: dict, folder: Path) -> nn.Module:
    """The generated single-file module's ``build_model()``, in eval mode."""
    name = f"recipe{next(_names)}"
    write(codegen.generate(document, name=name, layout="file"), folder)
    try:
        return import_fresh(name, folder).build_model().eval()
    finally:
        forget(name)


def diagnostics(document: dict) -> list[dict]:
    return codegen.validate(document).to_dict()["diagnostics"]


def case(document: dict, *kinds: tuple[str, tuple[int, ...]]) -> Case:
    """A ``check_case`` case: each input's kind ("tokens" for int64, else float) and sizes."""
    return Case(document, None, [(i, kind, dims, 5) for i, (kind, dims) in zip(document["inputs"], kinds)])


def test_the_recipe_edge_cases_of_the_equivalence_table_are_valid_so_they_run():
    names = ("normalize_scale_argmax_embedding", "constant_then_frozen_scale")
    assert all(codegen.validate(EDGE_CASES[name].graph).ok for name in names)


# ---------------------------------------------------------------------------------------------
# FiLM


class FiLMMerge(nn.Module):
    """TorchArc's FiLMMerge, written out: conditioner (B, F) → scale and shift per channel of (B, C, ...)."""

    def __init__(self, channels: int, conditioner: int) -> None:
        super().__init__()
        self.conditioner_scale = nn.Linear(conditioner, channels)
        self.conditioner_shift = nn.Linear(conditioner, channels)

    def forward(self, feature: torch.Tensor, conditioner: torch.Tensor) -> torch.Tensor:
        view_shape = list(conditioner.shape[:1]) + [-1] + [1] * (feature.dim() - 2)
        scale = self.conditioner_scale(conditioner).view(*view_shape)
        shift = self.conditioner_shift(conditioner).view(*view_shape)
        return scale * feature + shift


def film_graph(feature: list[int], conditioner: int) -> dict:
    return graph(
        {"image": {"shape": feature}, "z": {"shape": [conditioner]}},
        [("film", "FiLM", {})],
        [["image", "film", "feature"], ["z", "film", "conditioner"]],
    )


@pytest.mark.parametrize("feature", [[8, 6, 6], [8, 18, 18], [8, 10], [8], [8, 3, 4, 5]])
def test_film_is_torcharcs_film_merge_for_any_spatial_size(feature, workdir):
    document = film_graph(feature, 5)
    model = generated(document, workdir)
    reference = nn.Module()
    reference.film = FiLMMerge(8, 5)
    model.load_state_dict(reference.state_dict())  # strict: the same names and shapes
    count = sum(p.numel() for p in model.parameters())
    assert count == sum(p.numel() for p in reference.parameters()) == 2 * (5 * 8 + 8)
    assert codegen.validate(document).params_total == count
    image, z = torch.randn(3, *feature), torch.randn(3, 5)
    with torch.no_grad():
        assert torch.equal(model(image, z), reference.film(image, z))
    check_case(case(document, ("2d", tuple(feature)), ("flat", (5,))), workdir)


def test_film_reads_its_ports_by_name_whatever_the_edge_order():
    document = film_graph([8, 6, 6], 5)
    document["edges"].reverse()
    assert codegen.validate(document).shapes()["film"] == ["B", 8, 6, 6]


def test_a_film_conditioner_that_is_not_a_vector_is_refused_with_the_fix():
    document = graph(
        {"image": {"shape": [8, 6, 6]}, "z": {"shape": [5, 2, 2]}},
        [("film", "FiLM", {})],
        [["image", "film"], ["z", "film"]],
    )
    assert diagnostics(document) == [
        {
            "severity": "error",
            "code": "RANK",
            "message": "FiLM's conditioner is a vector per sample (B, F), but `z` gives rank 4 BCHW (B, 5, 2, 2); "
            "Flatten it or pool it to (B, F) first",
            "node": "film",
            "edge": ["z", "film"],
        }
    ]


def test_film_modulates_channels_so_a_sequence_is_refused_with_the_permute():
    document = graph(
        {"tokens": {"shape": [7, 8], "layout": "BTH"}, "z": {"shape": [5]}},
        [("film", "FiLM", {})],
        [["tokens", "film"], ["z", "film"]],
    )
    [error] = diagnostics(document)
    assert (error["code"], error["suggestion"]["type"]) == ("LAYOUT", "Permute_BTH_to_BCT")


def test_film_needs_both_sizes():
    document = graph({"image": {}, "z": {}}, [("film", "FiLM", {})], [["image", "film"], ["z", "film"]])
    assert [d["code"] for d in diagnostics(document)] == ["NEEDS_SHAPE"]


# ---------------------------------------------------------------------------------------------
# Stack


def test_stack_is_torch_stack_along_a_new_axis(workdir):
    document = graph(
        {"a": {"shape": [3, 4]}, "b": {"shape": [3, 4]}},
        [("s", "Stack", {"dim": -1})],
        [["a", "s"], ["b", "s"]],
    )
    assert codegen.validate(document).shapes()["s"] == ["B", 3, 4, 2]
    a, b = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    assert torch.equal(generated(document, workdir)(a, b), torch.stack([a, b], dim=-1))
    check_case(case(document, ("1d", (3, 4)), ("1d", (3, 4))), workdir)


def test_stack_needs_equal_shapes_and_a_non_batch_axis():
    document = graph({"a": {"shape": [3, 4]}, "b": {"shape": [3, 5]}}, [("s", "Stack", {})], [["a", "s"], ["b", "s"]])
    [error] = diagnostics(document)
    assert error["message"] == (
        "Stack needs inputs of equal shape: axis 2 is 4 from `a` rank 3 BCT (B, 3, 4) but 5 from `b` rank 3 BCT (B, 3, 5)"
    )
    document = graph(
        {"a": {"shape": [3]}, "b": {"shape": [3]}}, [("s", "Stack", {"dim": -3})], [["a", "s"], ["b", "s"]]
    )
    [error] = diagnostics(document)
    assert (error["code"], error["message"]) == (
        "PARAM_RANGE",
        "dim=-3 is not a non-batch axis of the stacked result (rank 3); use 1 to 2 or -1 to -2",
    )


# ---------------------------------------------------------------------------------------------
# ArgMax, Normalize, Constant, Scale


def test_argmax_gives_int64_indices_that_an_embedding_reads(workdir):
    document = graph(
        {"x": {"shape": [6, 5]}},
        [("pick", "ArgMax", {"dim": 1}), ("embed", "Embedding", {"num_embeddings": 6, "embedding_dim": 3})],
        [["x", "pick"], ["pick", "embed"]],
    )
    result = codegen.validate(document)
    assert result.shapes()["pick"] == ["B", 5] and result.analysis.info["pick"].out.dtype == "int64"
    x = torch.randn(2, 6, 5)
    model = generated(document, workdir)
    with torch.no_grad():
        assert torch.equal(model(x), model.embed(torch.argmax(x, dim=1)))
    check_case(case(document, ("1d", (6, 5))), workdir)


def test_a_float_layer_after_argmax_is_a_dtype_error():
    document = graph(
        {"x": {"shape": [6, 5]}},
        [("pick", "ArgMax", {"keepdim": True}), ("fc", "Linear", {"out_features": 2})],
        [["x", "pick"], ["pick", "fc"]],
    )
    assert codegen.validate(document).shapes()["pick"] == ["B", 6, 1]
    [error] = diagnostics(document)
    assert (error["code"], error["node"]) == ("DTYPE", "fc")


def test_normalize_is_f_normalize(workdir):
    document = graph({"x": {"shape": [3, 4]}}, [("unit", "Normalize", {"p": 1.0, "dim": -1})], [["x", "unit"]])
    x = torch.randn(2, 3, 4)
    assert torch.equal(generated(document, workdir)(x), nn.functional.normalize(x, p=1.0, dim=-1))
    check_case(case(document, ("1d", (3, 4))), workdir)
    document["nodes"][1]["params"]["dim"] = 3
    assert [d["message"] for d in diagnostics(document)] == ["dim=3 is not a non-batch axis of rank 3 BCT (B, 3, 4)"]


def test_a_constant_takes_the_batch_of_its_input_and_broadcasts_in_an_add(workdir):
    document = graph(
        {"x": {"shape": [3, 1]}},
        [("bias", "Constant", {"value": 0.5, "shape": [1, 4]}), ("sum", "Add", {})],
        [["x", "bias"], ["x", "sum"], ["bias", "sum"]],
    )
    result = codegen.validate(document)
    assert (result.shapes()["bias"], result.shapes()["sum"]) == (["B", 1, 4], ["B", 3, 4])
    x = torch.randn(2, 3, 1)
    assert torch.equal(generated(document, workdir)(x), x + torch.full((2, 1, 4), 0.5))
    check_case(case(document, ("1d", (3, 1))), workdir)


def test_a_constant_reads_a_float_input():
    document = graph({"ids": {"shape": [4], "dtype": "int64"}}, [("c", "Constant", {"shape": [2]})], [["ids", "c"]])
    assert [d["code"] for d in diagnostics(document)] == ["DTYPE"]


@pytest.mark.parametrize("learnable", [True, False])
def test_scale_is_a_scalar_parameter_named_after_its_node(learnable, workdir):
    document = graph(
        {"x": {"shape": [4]}}, [("gain", "LearnedScale", {"value": 0.5, "learnable": learnable})], [["x", "gain"]]
    )
    model = generated(document, workdir)
    assert list(model.state_dict()) == ["gain"] and model.gain.requires_grad is learnable
    assert model.gain.shape == () and model.gain.item() == 0.5
    assert codegen.validate(document).params_total == 1
    x = torch.randn(2, 4)
    assert torch.equal(model(x), x * 0.5)
    check_case(case(document, ("flat", (4,))), workdir)


def test_the_summary_counts_a_frozen_scale_as_frozen_inside_a_block_too():
    block = {
        "params": [],
        "nodes": [
            {"id": "i", "type": "Input"},
            {"id": "gain", "type": "LearnedScale", "params": {"learnable": False}},
            {"id": "fc", "type": "Linear", "params": {"out_features": 2}},
        ],
        "edges": [["i", "gain"], ["gain", "fc"]],
        "inputs": ["i"],
        "outputs": ["fc"],
    }
    document = graph({"x": {"shape": [4]}}, [("b", "Frozen", {}), ("g", "LearnedScale", {})], [["x", "b"], ["b", "g"]])
    document["composites"] = {"Frozen": block}
    summary = summarize(document)
    rows = {row.id: (row.params_trainable, row.params_frozen) for row in summary.rows}
    assert rows == {"x": (0, 0), "b": (10, 1), "g": (1, 0)}
    assert (summary.params_trainable, summary.params_frozen) == (11, 1)


def test_scale_stays_the_alias_of_scalar_that_saved_documents_use():
    """``Scale`` names Scalar in documents saved before LearnedScale existed; they keep validating as before."""
    assert lookup("Scale").type == "Scalar" and lookup("LearnedScale").type == "LearnedScale"
    document = graph({"x": {"shape": [4]}}, [("s", "Scale", {"op": "mul", "value": 2.0})], [["x", "s"]])
    assert diagnostics(document) == []


# ---------------------------------------------------------------------------------------------
# TransformerDecoderLayer

DECODER = {"nhead": 2, "dim_feedforward": 16, "activation": "gelu", "norm_first": True, "layer_norm_eps": 1e-6}


def decoder_graph(tgt: list[int], memory: list[int], memory_layout: str = "BTH", **params: Any) -> dict:
    return graph(
        {"tgt": {"shape": tgt, "layout": "BTH"}, "memory": {"shape": memory, "layout": memory_layout}},
        [("dec", "TransformerDecoderLayer", {**DECODER, **params})],
        [["memory", "dec", "memory"], ["tgt", "dec", "tgt"]],
    )


def test_the_decoder_layer_is_pytorchs_with_its_settings(workdir):
    document = decoder_graph([5, 8], [7, 8], bias=False)
    model = generated(document, workdir)
    reference = nn.TransformerDecoderLayer(
        8, 2, 16, activation="gelu", norm_first=True, layer_norm_eps=1e-6, bias=False, batch_first=True
    ).eval()
    model.dec.load_state_dict(reference.state_dict())
    assert codegen.validate(document).params_total == sum(p.numel() for p in reference.parameters())
    tgt, memory = torch.randn(2, 5, 8), torch.randn(2, 7, 8)
    with torch.no_grad():
        assert torch.equal(model(tgt, memory), reference(tgt, memory))
    check_case(case(document, ("seq", (5, 8)), ("seq", (7, 8))), workdir)


def test_memory_of_another_width_is_refused_with_a_linear_to_d_model():
    [error] = diagnostics(decoder_graph([5, 8], [7, 6]))
    assert error == {
        "severity": "error",
        "code": "SHAPE",
        "message": "TransformerDecoderLayer attends from `tgt` rank 3 BTH (B, 5, 8) (tgt) to `memory` rank 3 BTH "
        "(B, 7, 6) (memory): their last axes must both be d_model, but are 8 and 6; add a Linear to 8 features on "
        "the memory",
        "node": "dec",
        "edge": ["memory", "dec"],
        "suggestion": {
            "action": "insert_node",
            "type": "Linear",
            "between": ["memory", "dec"],
            "params": {"out_features": 8},
        },
    }


def test_channels_first_memory_and_heads_that_do_not_divide_are_refused():
    [error] = diagnostics(decoder_graph([5, 8], [8, 7], memory_layout="BCT"))
    assert (error["code"], error["edge"]) == ("LAYOUT", ["memory", "dec"])
    [error] = diagnostics(decoder_graph([5, 8], [7, 8], nhead=3))
    assert (error["code"], error["message"]) == ("SHAPE", "embedding size 8 is not divisible by nhead=3")


# ---------------------------------------------------------------------------------------------
# The TSTransformer template (TorchArc's): encoder-decoder over a time series


class TSTransformer(nn.Module):
    """TorchArc's TSTransformer written with PyTorch's containers: the decoder reads the embedded input."""

    def __init__(self) -> None:
        super().__init__()
        self.in_embedding = nn.Linear(1, 64)
        position = torch.arange(32, dtype=torch.float32).unsqueeze(1)
        angle = position * torch.exp(torch.arange(0, 64, 2, dtype=torch.float32) * (-math.log(10000.0) / 64))
        table = torch.zeros(32, 64)
        table[:, 0::2], table[:, 1::2] = torch.sin(angle), torch.cos(angle)
        self.register_buffer("table", table, persistent=False)
        layer = nn.TransformerEncoderLayer(64, 8, 2048, 0.2, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(64, 8, 2048, 0.2, batch_first=True), 4)
        self.out_linear = nn.Linear(64, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.in_embedding(x) + self.table
        return self.out_linear(self.decoder(x, self.encoder(x)))


def test_the_ts_transformer_template_has_torcharcs_parameter_count():
    result = codegen.validate(load_template("ts_transformer"))
    assert result.ok and result.params_total == 2_316_481
    counts = {node: info.param_count for node, info in result.analysis.info.items() if info.param_count}
    assert counts == {
        "in_embedding": 128,
        **{f"encoder_{i}": 281_152 for i in range(4)},
        **{f"decoder_{i}": 297_920 for i in range(4)},
        "out_linear": 65,
    }
    assert result.shapes()["out_linear"] == ["B", 32, 1]


def test_the_ts_transformer_template_loads_the_reference_weights_and_computes_the_same(workdir):
    model = generated(load_template("ts_transformer"), workdir)
    reference = TSTransformer().eval()
    model.load_state_dict(reference.state_dict())  # strict: PyTorch's container names
    x = torch.randn(2, 32, 1)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=0, atol=1e-5)


def test_the_ts_transformer_template_runs_as_the_reference_interpreter(workdir):
    check_case(case(load_template("ts_transformer"), ("seq", (32, 1))), workdir)


# ---------------------------------------------------------------------------------------------
# The importer reads the generated code of these nodes back (Constant and Scale excepted: see decisions.md)


def test_the_generated_code_of_the_new_nodes_imports_back_with_its_weights(tmp_path):
    document = graph(
        {
            "image": {"shape": [4, 6, 6]},
            "z": {"shape": [3]},
            "logits": {"shape": [6, 5]},
            "memory": {"shape": [7, 8], "layout": "BTH"},
        },
        [
            ("film", "FiLM", {}),
            ("unit", "Normalize", {"dim": 1}),
            ("pair", "Stack", {"dim": 1}),
            ("pick", "ArgMax", {"dim": 1}),
            ("embed", "Embedding", {"num_embeddings": 6, "embedding_dim": 8}),
            ("dec", "TransformerDecoderLayer", {"nhead": 2, "dim_feedforward": 16, "layer_norm_eps": 1e-6}),
        ],
        [
            ["image", "film"],
            ["z", "film"],
            ["film", "unit"],
            ["unit", "pair"],
            ["image", "pair"],
            ["logits", "pick"],
            ["pick", "embed"],
            ["embed", "dec"],
            ["memory", "dec"],
        ],
    )
    document["outputs"] = ["pair", "dec"]
    assert codegen.validate(document).ok, diagnostics(document)
    original, shapes, _ = load_generated(write_package(document, tmp_path / "first", "First"))
    imported = from_module(original, shapes)
    types = {"FiLM", "Normalize", "Stack", "ArgMax", "TransformerDecoderLayer"}
    assert types <= {n["type"] for n in imported["nodes"]}
    again, _, _ = load_generated(write_package(imported, tmp_path / "again", "Again"))
    again.load_state_dict(original.state_dict(), strict=True)
    inputs = (torch.randn(2, 4, 6, 6), torch.randn(2, 3), torch.randn(2, 6, 5), torch.randn(2, 7, 8))
    with torch.no_grad():
        for actual, expected in zip(again.eval()(*inputs), original.eval()(*inputs), strict=True):
            assert torch.equal(actual, expected)
