"""POST /api/graphs/{id}/fork/: a copy into your own space that remembers where it came from."""

from platform_helpers import edited

from graphs import services
from graphs.models import Graph


def test_a_fork_of_the_head(alice, bob_api, team_graph, demo_graph):
    services.save_version(team_graph, alice, edited(demo_graph, 10), base=1)
    response = bob_api.post(f"/api/graphs/{team_graph.pk}/fork/", {})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["owner"] == "bob" and body["name"] == "Shared net (fork)" and body["visibility"] == "private"
    assert body["forked_from"] == {"graph": team_graph.pk, "version": 2}
    assert Graph.objects.get(pk=body["id"]).head.document == edited(demo_graph, 10)


def test_a_fork_of_an_old_version_with_a_name_into_a_team(bob_api, team_graph, demo_graph):
    payload = {"version": 1, "name": "Bob's take", "team": "vision-lab", "visibility": "team"}
    body = bob_api.post(f"/api/graphs/{team_graph.pk}/fork/", payload).json()
    assert (body["name"], body["team"], body["visibility"]) == ("Bob's take", "vision-lab", "team")


def test_a_fork_of_a_missing_version_is_a_404(bob_api, team_graph):
    assert bob_api.post(f"/api/graphs/{team_graph.pk}/fork/", {"version": 9}).status_code == 404


def test_outsiders_cannot_fork_what_they_cannot_see(charlie_api, graph):
    assert charlie_api.post(f"/api/graphs/{graph.pk}/fork/", {}).status_code == 404
    assert Graph.objects.count() == 1


def test_anyone_logged_in_may_fork_a_public_graph(alice, charlie_api, demo_graph):
    public = services.create_graph(alice, name="Open", document=demo_graph, visibility="public")
    assert charlie_api.post(f"/api/graphs/{public.pk}/fork/", {}).json()["owner"] == "charlie"
