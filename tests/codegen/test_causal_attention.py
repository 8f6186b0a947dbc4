"""Causal Transformer layers: ``causal`` on TransformerEncoderLayer and TransformerDecoderLayer.

Each against PyTorch's own layer called with ``nn.Transformer.generate_square_subsequent_mask`` (weights copied by
name, outputs compared exactly), the generated code against the reference interpreter (``check_case``), the mask
itself (a step's output never depends on later steps), the exports, and the importer reading the code back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from test_equivalence import check_case
from test_importer import write_package
from test_recipe_ops import case, generated, graph
from torch import nn

import codegen
from codegen.exports import FORMATS, SUFFIXES, TOLERANCES, export_model
from codegen.importer import from_module, load_generated

SETTINGS = {"nhead": 2, "dim_feedforward": 16, "activation": "gelu", "norm_first": True, "layer_norm_eps": 1e-6}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("causal")


def encoder_graph(**params: Any) -> dict:
    return graph(
        {"x": {"shape": [6, 8], "layout": "BTH"}}, [("enc", "TransformerEncoderLayer", params)], [["x", "enc"]]
    )


def decoder_graph(**params: Any) -> dict:
    return graph(
        {"tgt": {"shape": [6, 8], "layout": "BTH"}, "memory": {"shape": [4, 8], "layout": "BTH"}},
        [("dec", "TransformerDecoderLayer", params)],
        [["tgt", "dec", "tgt"], ["memory", "dec", "memory"]],
    )


def mask(steps: int) -> torch.Tensor:
    return nn.Transformer.generate_square_subsequent_mask(steps)


def test_a_causal_encoder_layer_is_pytorchs_called_with_the_square_subsequent_mask(workdir):
    document = encoder_graph(**SETTINGS, causal=True)
    model = generated(document, workdir)
    reference = nn.TransformerEncoderLayer(
        8, 2, 16, activation="gelu", layer_norm_eps=1e-6, norm_first=True, batch_first=True
    ).eval()
    model.enc.load_state_dict(reference.state_dict())
    x = torch.randn(3, 6, 8)
    with torch.no_grad():
        expected = reference(x, src_mask=mask(6), is_causal=True)
        assert torch.equal(model(x), expected)
        assert not torch.allclose(reference(x), expected, atol=1e-3)  # the mask changes what it computes
    check_case(case(document, ("seq", (6, 8))), workdir)


def test_a_causal_decoder_layer_masks_its_self_attention_over_tgt_only(workdir):
    document = decoder_graph(**SETTINGS, causal=True)
    model = generated(document, workdir)
    reference = nn.TransformerDecoderLayer(
        8, 2, 16, activation="gelu", layer_norm_eps=1e-6, norm_first=True, batch_first=True
    ).eval()
    model.dec.load_state_dict(reference.state_dict())
    tgt, memory = torch.randn(3, 6, 8), torch.randn(3, 4, 8)
    with torch.no_grad():
        assert torch.equal(model(tgt, memory), reference(tgt, memory, tgt_mask=mask(6), tgt_is_causal=True))
    check_case(case(document, ("seq", (6, 8)), ("seq", (4, 8))), workdir)


@pytest.mark.parametrize("make", [encoder_graph, decoder_graph])
def test_a_step_never_sees_the_steps_after_it(make, workdir):
    causal, full = generated(make(**SETTINGS, causal=True), workdir), generated(make(**SETTINGS), workdir)
    full.load_state_dict(causal.state_dict())
    inputs = [torch.randn(2, 6, 8), torch.randn(2, 4, 8)][: len(make()["inputs"])]
    for step in range(5):
        later = inputs[0].clone()
        later[:, step + 1 :] = torch.randn(2, 5 - step, 8)  # every step after `step` changes
        with torch.no_grad():
            before, after = causal(*inputs), causal(later, *inputs[1:])
            torch.testing.assert_close(after[:, : step + 1], before[:, : step + 1], rtol=0, atol=1e-6)
            assert not torch.allclose(after[:, step + 1 :], before[:, step + 1 :], atol=1e-3)
            # Without the mask, the earlier steps attend to the changed ones.
            assert not torch.allclose(full(later, *inputs[1:])[:, : step + 1], full(*inputs)[:, : step + 1], atol=1e-4)


def test_the_generated_forward_makes_the_mask_on_the_inputs_device_and_passes_the_hint():
    code = codegen.generate(encoder_graph(nhead=2, dim_feedforward=16, causal=True), name="m", layout="file")["m.py"]
    assert (
        "        mask = nn.Transformer.generate_square_subsequent_mask(\n"
        "            x.size(1), device=x.device, dtype=x.dtype\n"
        "        )\n"
        "        x = self.enc(x, src_mask=mask, is_causal=True)  # (B, 6, 8)\n"
    ) in code
    code = codegen.generate(decoder_graph(nhead=2, dim_feedforward=16, causal=True), name="m", layout="file")["m.py"]
    assert "x = self.dec(tgt, memory, tgt_mask=mask, tgt_is_causal=True)" in code
    plain = codegen.generate(encoder_graph(nhead=2, dim_feedforward=16), name="m", layout="file")["m.py"]
    assert "x = self.enc(x)  # (B, 6, 8)" in plain and "mask" not in plain


def test_causal_changes_neither_the_parameters_nor_the_cost():
    for make in (encoder_graph, decoder_graph):
        plain, causal = codegen.validate(make(**SETTINGS)), codegen.validate(make(**SETTINGS, causal=True))
        assert causal.params_total == plain.params_total > 0
        assert causal.to_dict()["shapes"] == plain.to_dict()["shapes"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_causal_stack_exports_reloads_and_matches(fmt, tmp_path):
    document = graph(
        {"x": {"shape": [6, 8], "layout": "BTH"}},
        [
            ("enc", "TransformerEncoderLayer", {**SETTINGS, "causal": True}),
            ("dec", "TransformerDecoderLayer", {"nhead": 2, "dim_feedforward": 16, "causal": True}),
        ],
        [["x", "enc"], ["enc", "dec", "tgt"], ["x", "dec", "memory"]],
    )
    result = export_model(document, fmt, tmp_path / f"causal{SUFFIXES[fmt]}")
    assert result.max_abs_diff <= TOLERANCES[fmt]


def test_the_importer_reads_a_causal_layer_back_with_its_weights(tmp_path):
    document = graph(
        {"tokens": {"shape": [6], "dtype": "int64", "vocab_size": 10}, "memory": {"shape": [4, 8], "layout": "BTH"}},
        [
            ("embed", "Embedding", {"num_embeddings": 10, "embedding_dim": 8}),
            ("enc", "TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 16, "causal": True}),
            ("dec", "TransformerDecoderLayer", {"nhead": 2, "dim_feedforward": 16, "causal": True}),
        ],
        [["tokens", "embed"], ["embed", "enc"], ["enc", "dec", "tgt"], ["memory", "dec", "memory"]],
    )
    original, shapes, _ = load_generated(write_package(document, tmp_path / "first", "First"))
    imported = from_module(original, shapes)
    layers = {n["id"]: n["params"] for n in imported["nodes"] if n["type"].startswith("Transformer")}
    assert layers == {
        "enc": {"nhead": 2, "dim_feedforward": 16, "causal": True},
        "dec": {"nhead": 2, "dim_feedforward": 16, "causal": True},
    }
    again, _, _ = load_generated(write_package(imported, tmp_path / "again", "Again"))
    again.load_state_dict(original.state_dict(), strict=True)
    inputs = (torch.randint(0, 10, (2, 6)), torch.randn(2, 4, 8))
    with torch.no_grad():
        assert torch.equal(again.eval()(*inputs), original.eval()(*inputs))


class OtherMask(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        window = torch.triu(torch.full((6, 6), float("-inf"), device=x.device), diagonal=2)
        return self.enc(x, src_mask=window)


def test_the_importer_refuses_a_mask_that_is_not_causal_naming_it():
    with pytest.raises(codegen.GraphError) as caught:
        from_module(OtherMask(), [6, 8])
    [error] = caught.value.diagnostics
    assert error.code == "IMPORT"
    assert "torch.triu other than the causal mask of a Transformer" in error.message
