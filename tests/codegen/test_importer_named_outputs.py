"""A module whose forward returns a dict imports as a graph with named outputs, and one output of a Split by
its port, so the generated model returns what the original returned, keys included."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from codegen.diagnostics import GraphError
from codegen.importer import from_module
from codegen.loader import generated_package


class Heads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 7)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        mean, logits = torch.split(self.fc(x), [3, 4], dim=1)
        return {"mean": mean, "head0/logits": logits, "probabilities": self.softmax(logits)}


class BadKeys(Heads):
    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"a b": self.fc(x)}


def test_a_dict_of_outputs_imports_as_named_outputs_by_port():
    original = Heads().eval()
    document = from_module(original, [6])
    assert list(document["outputs"]) == ["mean", "head0/logits", "probabilities"]
    assert document["outputs"]["mean"].endswith(":0") and document["outputs"]["head0/logits"].endswith(":1")
    x = torch.randn(5, 6)
    with generated_package(document) as package:
        model = package.build_model().eval()
        model.load_state_dict(original.state_dict(), strict=True)
        got, want = model(x), original(x)
    assert list(got) == list(want)
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=0, atol=0)


def test_dict_keys_that_are_not_output_names_are_refused_with_a_sentence():
    with pytest.raises(GraphError) as caught:
        from_module(BadKeys().eval(), [6])
    assert "'a b'" in caught.value.diagnostics[0].message
