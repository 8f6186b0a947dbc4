"""Helpers shared by the platform tests (a conftest is not importable; this module is)."""

import copy


def edited(document: dict, out_features: int = 10) -> dict:
    """A copy of the demo document whose final Linear layer (``fc``) has ``out_features`` outputs."""
    document = copy.deepcopy(document)
    for node in document["nodes"]:
        if node["id"] == "fc":
            node["params"]["out_features"] = out_features
    return document


def misspelt(document: dict) -> dict:
    """A copy of the demo document whose final layer's type is misspelt ``Linaer``: a version with an error."""
    document = copy.deepcopy(document)
    document["nodes"][5]["type"] = "Linaer"
    return document


def assert_unknown_type_400(response) -> None:
    """The answer to a request that needs a version without errors, for a :func:`misspelt` one."""
    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith("The graph cannot be used: unknown node type 'Linaer'")
    assert body["diagnostics"][0]["code"] == "UNKNOWN_TYPE"


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
