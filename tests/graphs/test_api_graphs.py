"""/api/graphs/: list (filters, search, pagination), create, read, update and delete."""

import pytest

from graphs import services
from graphs.models import Graph


@pytest.fixture
def others(alice, bob, charlie, demo_graph, team):
    """bob's private graph, bob's public graph, charlie's private graph."""
    return {
        "bob_private": services.create_graph(bob, name="Bob private", document=demo_graph),
        "bob_public": services.create_graph(bob, name="Bob public", document=demo_graph, visibility="public"),
        "charlie_private": services.create_graph(charlie, name="Charlie private", document=demo_graph),
    }


def names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return sorted(g["name"] for g in response.json()["results"])


def test_the_list_holds_your_graphs_your_teams_graphs_and_public_ones(alice_api, graph, team_graph, others):
    assert names(alice_api.get("/api/graphs/")) == ["Bob public", "Demo net", "Shared net"]


def test_an_outsider_sees_only_public_graphs(charlie_api, graph, team_graph, others):
    assert names(charlie_api.get("/api/graphs/")) == ["Bob public", "Charlie private"]


def test_anonymous_visitors_see_public_graphs(api_client, graph, others):
    assert names(api_client.get("/api/graphs/")) == ["Bob public"]


def test_a_graph_reads_with_its_head_summary_and_your_rights(bob_api, team_graph):
    body = bob_api.get(f"/api/graphs/{team_graph.pk}/").json()
    assert body["name"] == "Shared net" and body["owner"] == "alice" and body["team"] == "vision-lab"
    assert body["visibility"] == "team" and body["tags"] == []
    assert body["head"]["number"] == 1 and body["head"]["author"] == "alice" and body["head"]["valid"] is True
    assert (body["can_edit"], body["can_admin"]) == (True, False)
    assert body["forked_from"] is None


def test_a_private_graph_is_a_404_for_others(charlie_api, api_client, graph):
    assert charlie_api.get(f"/api/graphs/{graph.pk}/").status_code == 404
    assert api_client.get(f"/api/graphs/{graph.pk}/").status_code == 404
    assert charlie_api.get("/api/graphs/999999/").json() == {"detail": "No Graph matches the given query."}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "NET"}, ["Demo net", "Shared net"]),
        ({"q": "public"}, ["Bob public"]),
        ({"tag": "Audio"}, ["Demo net"]),
        ({"owner": "bob"}, ["Bob public"]),
        ({"team": "vision-lab"}, ["Shared net"]),
        ({"visibility": "private"}, ["Demo net"]),
        ({"owner": "alice", "visibility": "team"}, ["Shared net"]),
        ({"owner": "nobody"}, []),
    ],
)
def test_the_list_filters_and_searches(alice_api, graph, team_graph, others, query, expected):
    assert names(alice_api.get("/api/graphs/", query)) == expected


def test_filters_never_reveal_hidden_graphs(charlie_api, graph, others):
    assert names(charlie_api.get("/api/graphs/", {"owner": "alice"})) == []
    assert names(charlie_api.get("/api/graphs/", {"q": "Demo"})) == []


def test_a_bad_filter_value_is_a_400(alice_api):
    response = alice_api.get("/api/graphs/", {"visibility": "everyone"})
    assert response.status_code == 400
    assert response.json()["detail"] == 'visibility: "everyone" is not a valid choice.'


def test_the_list_is_paginated_newest_first(alice_api, alice, demo_graph):
    for i in range(25):
        services.create_graph(alice, name=f"g{i:02}", document=demo_graph)
    first = alice_api.get("/api/graphs/").json()
    assert first["count"] == 25 and len(first["results"]) == 20 and first["results"][0]["name"] == "g24"
    second = alice_api.get(first["next"]).json()
    assert [g["name"] for g in second["results"]] == ["g04", "g03", "g02", "g01", "g00"]
    assert len(alice_api.get("/api/graphs/", {"page_size": 5}).json()["results"]) == 5
    assert alice_api.get("/api/graphs/", {"page": 9}).status_code == 404


def test_create_makes_version_one(alice_api, demo_graph):
    response = alice_api.post(
        "/api/graphs/", {"name": "New", "tags": ["cnn"], "document": demo_graph, "message": "first"}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["owner"] == "alice" and body["tags"] == ["cnn"] and body["visibility"] == "private"
    graph = Graph.objects.get(pk=body["id"])
    assert graph.head.document == demo_graph and graph.head.message == "first"


def test_create_without_a_document_starts_empty(alice_api):
    body = alice_api.post("/api/graphs/", {"name": "Blank"}).json()
    assert body["head"]["number"] == 1 and body["head"]["valid"] is False  # no inputs yet


def test_create_in_a_team_you_belong_to(bob_api, team):
    response = bob_api.post("/api/graphs/", {"name": "Team one", "team": "vision-lab", "visibility": "team"})
    assert response.status_code == 201 and response.json()["team"] == "vision-lab"


def test_create_in_someone_elses_team_is_refused_without_saying_it_exists(charlie_api, team):
    response = charlie_api.post("/api/graphs/", {"name": "Sneaky", "team": "vision-lab"})
    assert response.status_code == 400
    assert response.json()["detail"] == "team: No team vision-lab among your teams."


def test_anonymous_visitors_cannot_create(db, api_client):
    assert api_client.post("/api/graphs/", {"name": "x"}).status_code == 401
    assert not Graph.objects.exists()


def test_patch_renames_for_editors(bob_api, team_graph):
    response = bob_api.patch(f"/api/graphs/{team_graph.pk}/", {"name": "Renamed", "tags": ["a", "b"]})
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Renamed" and response.json()["tags"] == ["a", "b"]


def test_patch_of_visibility_is_for_the_owner(alice_api, bob_api, team_graph):
    response = bob_api.patch(f"/api/graphs/{team_graph.pk}/", {"visibility": "public"})
    assert response.status_code == 403
    assert response.json() == {"detail": "You may view this graph but not change its visibility or team."}
    assert alice_api.patch(f"/api/graphs/{team_graph.pk}/", {"visibility": "public"}).json()["visibility"] == "public"


def test_patch_can_take_a_graph_out_of_its_team(alice_api, team_graph):
    body = alice_api.patch(f"/api/graphs/{team_graph.pk}/", {"team": None, "visibility": "private"}).json()
    assert body["team"] is None and body["visibility"] == "private"


def test_put_is_not_offered(alice_api, graph):
    assert alice_api.put(f"/api/graphs/{graph.pk}/", {"name": "x"}).status_code == 405


def test_delete_is_for_the_owner(alice_api, bob_api, charlie_api, team_graph):
    assert charlie_api.delete(f"/api/graphs/{team_graph.pk}/").status_code == 404
    assert bob_api.delete(f"/api/graphs/{team_graph.pk}/").status_code == 403
    assert alice_api.delete(f"/api/graphs/{team_graph.pk}/").status_code == 204
    assert not Graph.objects.exists()


def test_forks_show_their_origin_only_to_those_who_may_see_it(alice, bob, bob_api, charlie_api, demo_graph, team):
    source = services.create_graph(alice, name="Origin", document=demo_graph, team=team, visibility="team")
    fork = services.fork_graph(source, bob, visibility="public")
    assert bob_api.get(f"/api/graphs/{fork.pk}/").json()["forked_from"] == {"graph": source.pk, "version": 1}
    assert charlie_api.get(f"/api/graphs/{fork.pk}/").json()["forked_from"] is None
