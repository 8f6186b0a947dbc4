"""Helpers shared by the platform tests (a conftest is not importable; this module is)."""

import copy


def edited(document: dict, out_features: int = 10) -> dict:
    """A copy of the demo document whose final Linear layer (``fc``) has ``out_features`` outputs."""
    document = copy.deepcopy(document)
    for node in document["nodes"]:
        if node["id"] == "fc":
            node["params"]["out_features"] = out_features
    return document


def chain_document(n: int, *, features: int = 16) -> dict:
    """Input → (Linear → ReLU) × …: ``n`` nodes in one line."""
    nodes = [{"id": "inp", "type": "Input", "params": {"shape": [features]}}]
    for i in range(1, n):
        kind = {"type": "Linear", "params": {"out_features": features}} if i % 2 else {"type": "ReLU", "params": {}}
        nodes.append({"id": f"n{i}", **kind})
    ids = [node["id"] for node in nodes]
    return {
        "version": "0.2",
        "nodes": nodes,
        "edges": [[a, b] for a, b in zip(ids, ids[1:])],
        "inputs": ["inp"],
        "outputs": [ids[-1]],
    }
