"""Small drawn models that learn the built-in datasets, shared by the run, stack, browser and bench tests.

Their Input has no shape: a run on a dataset gives it the samples' shape.
"""

from __future__ import annotations

import copy


def _chain(*layers: tuple[str, str, dict]) -> dict:
    nodes = [{"id": "inp", "type": "Input", "params": {}}]
    nodes += [{"id": node_id, "type": kind, "params": params} for node_id, kind, params in layers]
    return {
        "version": "0.2",
        "nodes": nodes,
        "edges": [[a["id"], b["id"]] for a, b in zip(nodes, nodes[1:])],
        "inputs": ["inp"],
        "outputs": [nodes[-1]["id"]],
    }


# Linear(16) → ReLU → Linear(2): 96 % on the two moons after 10 epochs (chance: 50 %).
MOONS_MLP = _chain(
    ("fc1", "Linear", {"out_features": 16}),
    ("act", "ReLU", {}),
    ("out", "Linear", {"out_features": 2}),
)

# Conv(8) → ReLU → MaxPool → Flatten → Linear(4): about 90 % on Shapes 16×16 after 10 epochs (chance: 25 %).
SHAPES_CNN = _chain(
    ("conv", "Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}),
    ("act", "ReLU", {}),
    ("pool", "MaxPool2d", {"kernel_size": 2}),
    ("flat", "Flatten", {}),
    ("fc", "Linear", {"out_features": 4}),
)


def model(document: dict) -> dict:
    """A fresh copy to hand to a service (which may keep it)."""
    return copy.deepcopy(document)
