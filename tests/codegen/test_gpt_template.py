"""The decoder-only template ``gpt_tiny``: a hand-written GPT's parameters, weights and outputs, causality of the
whole model, its next-token recipe (a Permute to (B, vocab, T) before the loss) and a few steps of training."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from test_equivalence import check_case
from test_recipe_ops import case, generated
from torch import nn

import codegen
from codegen.loader import generated_package
from codegen.smoke import SmokeSettings, train_package
from codegen.templates import load_template

VOCAB, LENGTH, WIDTH = 256, 64, 128


class TinyGPT(nn.Module):
    """What the template draws, written by hand: token and learned position embeddings, causal pre-norm layers."""

    def __init__(self, depth: int = 4, heads: int = 4) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(VOCAB, WIDTH)
        self.pos_embedding = nn.Parameter(torch.empty(1, LENGTH, WIDTH).normal_(std=0.02))
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(WIDTH, heads, 4 * WIDTH, activation="gelu", batch_first=True, norm_first=True)
            for _ in range(depth)
        )
        self.norm = nn.LayerNorm(WIDTH)
        self.lm_head = nn.Linear(WIDTH, VOCAB, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.token_embedding(tokens) + self.pos_embedding
        mask = nn.Transformer.generate_square_subsequent_mask(tokens.size(1))
        for block in self.blocks:
            x = block(x, src_mask=mask, is_causal=True)
        return self.lm_head(self.norm(x))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gpt")


def tokens(batch: int = 2) -> torch.Tensor:
    return torch.randint(0, VOCAB, (batch, LENGTH), generator=torch.Generator().manual_seed(0))


def test_the_template_has_the_parameters_of_a_hand_written_gpt():
    result = codegen.validate(load_template("gpt_tiny"))
    assert result.ok and result.diagnostics == []
    assert result.params_total == sum(p.numel() for p in TinyGPT().parameters()) == 867_072
    shapes = result.shapes()
    assert shapes["lm_head"] == ["B", LENGTH, VOCAB]  # next-token logits at every step
    assert shapes["loss_scores"] == shapes["metric_scores"] == ["B", VOCAB, LENGTH]


def test_the_template_loads_the_hand_written_weights_by_name_and_computes_the_same(workdir):
    model = generated(load_template("gpt_tiny"), workdir)
    reference = TinyGPT().eval()
    model.load_state_dict(reference.state_dict())  # strict: the same names
    with torch.no_grad():
        assert torch.equal(model(tokens()), reference(tokens()))


def test_the_template_runs_as_the_reference_interpreter(workdir):
    check_case(case(load_template("gpt_tiny"), ("tokens", (LENGTH,))), workdir)


def test_the_logits_at_a_step_never_depend_on_later_tokens(workdir):
    model = generated(load_template("gpt_tiny"), workdir)
    before = tokens()
    after = before.clone()
    after[:, 40:] = (after[:, 40:] + 1) % VOCAB
    with torch.no_grad():
        torch.testing.assert_close(model(after)[:, :40], model(before)[:, :40], rtol=0, atol=1e-5)
        assert not torch.allclose(model(after)[:, 40:], model(before)[:, 40:], atol=1e-3)


def test_the_recipe_is_next_token_cross_entropy_and_accuracy_over_every_step():
    with generated_package(load_template("gpt_tiny")) as package:
        torch.manual_seed(0)
        logits = package.build_model().eval()(tokens())
        targets = package.example_targets(2)
        assert targets["next_tokens"].shape == (2, LENGTH)
        losses = package.build_loss()(logits, targets)
        metrics = package.build_metrics()(logits, targets)
        optimizer = package.build_optimizer(package.build_model())
    flat = F.cross_entropy(logits.reshape(-1, VOCAB), targets["next_tokens"].reshape(-1))
    torch.testing.assert_close(losses["loss"], flat, rtol=0, atol=1e-6)
    assert losses["cross_entropy"] is losses["loss"]
    hits = (logits.argmax(-1) == targets["next_tokens"]).float().mean()
    assert torch.equal(metrics["accuracy"], hits)
    assert isinstance(optimizer, torch.optim.AdamW)
    assert (optimizer.defaults["lr"], optimizer.defaults["weight_decay"]) == (3e-4, 0.1)


def test_without_the_permute_the_loss_is_refused_with_the_axes_it_needs():
    document = copy.deepcopy(load_template("gpt_tiny"))
    document["nodes"] = [n for n in document["nodes"] if n["id"] != "loss_scores"]
    document["edges"] = [e for e in document["edges"] if "loss_scores" not in e[:2]]
    document["edges"].append(["lm_head", "cross_entropy", "input"])
    [error] = codegen.validate(document).to_dict()["diagnostics"]
    assert (error["code"], error["node"]) == ("SHAPE", "cross_entropy")
    assert error["message"] == (
        "CrossEntropyLoss takes class indices (B, 256) for scores rank 3 BTH (B, 64, 256); target `next_tokens` "
        "gives rank 2 BF (B, 64); its classes are on the last axis: permute the scores to (B, 256, 64) first, "
        "with a Permute [0, 2, 1] in this node's stage"
    )


def test_the_template_learns_a_fixed_batch():
    with generated_package(load_template("gpt_tiny")) as package:
        metrics = train_package(package, SmokeSettings(batch_size=4, steps=20, data="fixed", seed=0))
    assert metrics["steps"] == 20
    losses = [loss for _, loss in metrics["loss_curve"]]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))  # the document's AdamW, lr 3e-4
    assert metrics["loss"] < 0.7 * metrics["first_loss"]
    assert metrics["first_loss"] == pytest.approx(5.55, abs=0.3)  # ln(256): chance over the vocabulary
