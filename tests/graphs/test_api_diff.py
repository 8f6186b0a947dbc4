"""/api/graphs/{id}/diff/?from=N&to=M: the structural diff, and with source=1 the generated source's."""

from platform_helpers import edited

from graphs import services


def test_it_diffs_two_versions(alice, alice_api, graph, demo_graph):
    services.save_version(graph, alice, edited(demo_graph, 10), base=1)
    response = alice_api.get(f"/api/graphs/{graph.pk}/diff/", {"from": 1, "to": 2})
    assert response.status_code == 200
    body = response.json()
    assert (body["from_version"], body["to_version"]) == (1, 2)
    assert body["diff"]["nodes"]["changed"] == {"fc": {"params": {"out_features": {"old": 18, "new": 10}}}}
    assert "source_diff" not in body


def test_it_adds_the_source_diff_on_request(alice, alice_api, graph, demo_graph):
    services.save_version(graph, alice, edited(demo_graph, 10), base=1)
    body = alice_api.get(f"/api/graphs/{graph.pk}/diff/", {"from": 1, "to": 2, "source": "1"}).json()
    assert body["source_diff"].startswith("--- v1\n+++ v2\n")
    assert "+        self.fc = nn.Linear(128, 10)\n" in body["source_diff"]


def test_the_source_diff_is_null_when_a_side_has_errors(alice, alice_api, graph, demo_graph):
    broken = edited(demo_graph)
    broken["nodes"][5]["type"] = "Nope"
    services.save_version(graph, alice, broken, base=1)
    assert (
        alice_api.get(f"/api/graphs/{graph.pk}/diff/", {"from": 1, "to": 2, "source": "1"}).json()["source_diff"]
        is None
    )


def test_a_version_diffs_with_itself_to_nothing(alice_api, graph):
    assert alice_api.get(f"/api/graphs/{graph.pk}/diff/", {"from": 1, "to": 1}).json()["diff"]["identical"] is True


def test_missing_or_bad_numbers(alice_api, graph):
    assert alice_api.get(f"/api/graphs/{graph.pk}/diff/", {"from": 1, "to": 5}).json() == {
        "detail": "Version 5 does not exist."
    }
    response = alice_api.get(f"/api/graphs/{graph.pk}/diff/", {"from": "one", "to": 1})
    assert response.status_code == 400 and response.json()["detail"] == "from: Expected a version number."
    assert alice_api.get(f"/api/graphs/{graph.pk}/diff/", {"to": 1}).status_code == 400


def test_hidden_graphs_do_not_diff(charlie_api, graph):
    assert charlie_api.get(f"/api/graphs/{graph.pk}/diff/", {"from": 1, "to": 1}).status_code == 404
