"""Module paths (``nodes[].path``) survive the platform: saved, read back, and shown by the version diff."""

import copy

from django.test import Client

from graphs import services


def with_paths(document: dict, paths: dict[str, str]) -> dict:
    """A copy of ``document`` whose nodes named in ``paths`` carry those module paths."""
    document = copy.deepcopy(document)
    for node in document["nodes"]:
        if node["id"] in paths:
            node["path"] = paths[node["id"]]
    return document


PATHS = {"conv": "features.0", "relu": "features.1", "fc": "classifier.0"}


def test_a_version_saved_with_paths_comes_back_with_them(alice_api, graph, demo_graph):
    document = with_paths(demo_graph, PATHS)
    response = alice_api.post(f"/api/graphs/{graph.pk}/versions/", {"document": document, "base": 1})
    assert response.status_code == 201, response.json()
    assert response.json()["valid"] is True
    stored = alice_api.get(f"/api/graphs/{graph.pk}/versions/2/").json()["document"]
    assert stored == document
    assert {node["id"]: node.get("path") for node in stored["nodes"]} == {
        "inp": None,
        "conv": "features.0",
        "relu": "features.1",
        "perm": None,
        "gru": None,
        "fc": "classifier.0",
    }


def test_the_version_diff_shows_a_changed_path_as_it_shows_a_changed_label(alice, alice_api, graph, demo_graph):
    services.save_version(graph, alice, with_paths(demo_graph, PATHS), base=1)
    services.save_version(graph, alice, with_paths(demo_graph, {**PATHS, "fc": "head"}), base=2)
    body = alice_api.get(f"/api/graphs/{graph.pk}/diff/", {"from": 2, "to": 3}).json()
    assert body["diff"]["nodes"]["changed"] == {"fc": {"path": {"old": "classifier.0", "new": "head"}}}
    changes = alice_api.get(f"/api/graphs/{graph.pk}/diff/", {"from": 1, "to": 2}).json()["diff"]["nodes"]["changed"]
    assert changes["conv"] == {"path": {"old": None, "new": "features.0"}}

    client = Client()
    client.force_login(alice)
    html = client.get(f"/graphs/{graph.pk}/diff/?from=2&to=3").content.decode()
    assert "<li>module path <del>classifier.0</del> → <ins>head</ins></li>" in html
