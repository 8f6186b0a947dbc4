"""A model whose own members are numbered (an imported ``nn.Sequential``: paths ``0``, ``1``, ``2.0``) generates
valid code: ``self.0`` is no Python, so the members are added with ``add_module`` and read with ``getattr``."""

from __future__ import annotations

import torch
from torch import nn

import codegen
from codegen.importer import from_module
from codegen.interpreter import build_reference
from codegen.loader import generated_package


def test_an_imported_sequential_generates_and_loads_its_weights():
    original = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 2), nn.Tanh())).eval()
    document = from_module(original, [4])
    source = codegen.generate(document, name="seq", layout="file")["seq.py"]
    assert 'self.add_module("0", nn.Linear(4, 3))' in source
    assert 'x = getattr(self, "0")(x)' in source
    x = torch.randn(5, 4)
    with generated_package(document) as package:
        model = package.build_model().eval()
        model.load_state_dict(original.state_dict(), strict=True)
        torch.testing.assert_close(model(x), original(x), rtol=0, atol=0)
    reference = build_reference(codegen.analyze(codegen.load_graph(document)))
    reference.load_state_dict(original.state_dict(), strict=True)
    torch.testing.assert_close(reference.eval()(x), original(x), rtol=0, atol=0)


def test_a_numbered_member_can_be_frozen():
    document = {
        "version": "0.2",
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [4]}},
            {"id": "a", "type": "Linear", "params": {"out_features": 3}, "path": "0", "trainable": False},
            {"id": "b", "type": "Linear", "params": {"out_features": 2}, "path": "1"},
        ],
        "edges": [["x", "a"], ["a", "b"]],
        "inputs": ["x"],
        "outputs": ["b"],
    }
    with generated_package(document) as package:
        model = package.build_model()
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True]
