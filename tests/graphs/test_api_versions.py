"""/api/graphs/{id}/versions/: history, saving with a base version (409 when stale), one version."""

from platform_helpers import edited

from graphs import services
from graphs.models import GraphVersion


def save(client, graph, document, base, **extra):
    return client.post(f"/api/graphs/{graph.pk}/versions/", {"document": document, "base": base, **extra})


def test_saving_from_the_head_creates_the_next_version(alice_api, graph, demo_graph):
    response = save(alice_api, graph, edited(demo_graph, 10), 1, message="ten classes")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["number"], body["parent"], body["author"], body["message"]) == (2, 1, "alice", "ten classes")
    assert body["created"] is True and body["valid"] is True and len(body["content_hash"]) == 64


def test_saving_the_head_again_creates_nothing(alice_api, graph, demo_graph):
    response = save(alice_api, graph, demo_graph, 1)
    assert response.status_code == 200
    assert (response.json()["number"], response.json()["created"]) == (1, False)


def test_a_stale_base_answers_409_with_the_head_and_the_diff(alice_api, bob_api, team_graph, demo_graph):
    assert save(alice_api, team_graph, edited(demo_graph, 10), 1).status_code == 201
    response = save(bob_api, team_graph, edited(demo_graph, 12), 1)
    assert response.status_code == 409
    body = response.json()
    assert body["detail"] == "Version 1 is no longer the head: v2 was saved since. Nothing was saved."
    assert body["head"]["number"] == 2 and body["head"]["author"] == "alice"
    assert body["diff"]["nodes"]["changed"] == {"fc": {"params": {"out_features": {"old": 18, "new": 10}}}}
    assert GraphVersion.objects.filter(graph=team_graph).count() == 2


def test_the_base_is_required(alice_api, graph, demo_graph):
    response = alice_api.post(f"/api/graphs/{graph.pk}/versions/", {"document": demo_graph})
    assert response.status_code == 400
    assert response.json()["detail"] == "base: This field is required."


def test_a_document_that_is_not_a_graph_is_a_400_with_diagnostics(alice_api, graph):
    response = save(alice_api, graph, {"nodes": [{"id": 3}]}, 1)
    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith("The graph cannot be saved: nodes[0].id: expected string, got int")
    assert body["diagnostics"][0]["code"] == "PARSE"


def test_a_team_viewer_gets_403_and_an_outsider_404(alice, bob, bob_api, charlie_api, team, team_graph, demo_graph):
    services.set_role(team, alice, bob, "viewer")
    assert save(bob_api, team_graph, edited(demo_graph), 1).status_code == 403
    assert save(charlie_api, team_graph, edited(demo_graph), 1).status_code == 404
    assert GraphVersion.objects.filter(graph=team_graph).count() == 1


def test_the_history_lists_versions_newest_first_without_documents(alice, alice_api, graph, demo_graph):
    for n in range(2, 5):
        services.save_version(graph, alice, edited(demo_graph, n), base=n - 1, message=f"v{n}")
    body = alice_api.get(f"/api/graphs/{graph.pk}/versions/").json()
    assert body["count"] == 4
    assert [(v["number"], v["parent"], v["message"]) for v in body["results"]] == [
        (4, 3, "v4"),
        (3, 2, "v3"),
        (2, 1, "v2"),
        (1, None, "Created"),
    ]
    assert "document" not in body["results"][0]


def test_one_version_comes_with_its_document(alice, alice_api, graph, demo_graph):
    services.save_version(graph, alice, edited(demo_graph, 10), base=1)
    body = alice_api.get(f"/api/graphs/{graph.pk}/versions/1/").json()
    assert body["number"] == 1 and body["document"] == demo_graph
    assert alice_api.get(f"/api/graphs/{graph.pk}/versions/2/").json()["document"] == edited(demo_graph, 10)


def test_a_missing_version_is_a_404(alice_api, graph):
    assert alice_api.get(f"/api/graphs/{graph.pk}/versions/7/").status_code == 404
    assert alice_api.get(f"/api/graphs/{graph.pk}/versions/x/").status_code == 404


def test_others_cannot_read_the_history_of_a_private_graph(charlie_api, api_client, graph):
    assert charlie_api.get(f"/api/graphs/{graph.pk}/versions/").status_code == 404
    assert charlie_api.get(f"/api/graphs/{graph.pk}/versions/1/").status_code == 404
    assert api_client.get(f"/api/graphs/{graph.pk}/versions/1/").status_code == 404


def test_anyone_reads_the_history_of_a_public_graph_but_only_members_save(alice, api_client, bob_api, demo_graph):
    public = services.create_graph(alice, name="Open", document=demo_graph, visibility="public")
    assert api_client.get(f"/api/graphs/{public.pk}/versions/1/").json()["document"] == demo_graph
    assert save(api_client, public, edited(demo_graph), 1).status_code == 401
    assert save(bob_api, public, edited(demo_graph), 1).status_code == 403
