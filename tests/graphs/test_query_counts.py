"""List, detail and history endpoints use a constant number of queries, whatever the number of objects."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from platform_helpers import edited
from rest_framework.test import APIClient

from graphs import services
from graphs.models import GraphVersion, Membership, Role, Team


def client_for(user) -> APIClient:
    """A client for ``user`` loaded afresh, as every real request loads its user (role caches start empty)."""
    client = APIClient()
    client.force_authenticate(type(user).objects.get(pk=user.pk))
    return client


def queries(user, url, **params) -> int:
    """The number of queries of one GET by ``user``."""
    client = client_for(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, response.content[:300]
    return len(captured)


def make_graphs(owner, team, document, count: int) -> None:
    """``count`` graphs of every kind a list row can show: tagged, team-shared, public, forked."""
    for i in range(count):
        graph = services.create_graph(
            owner, name=f"g{i}", document=document, tags=[f"t{i}", "common"], team=team, visibility="team"
        )
        services.fork_graph(graph, owner, visibility="public")


@pytest.fixture
def grow(alice, bob, team, demo_graph):
    def grow_to(count: int) -> None:
        make_graphs(alice, team, demo_graph, count - Team.objects.get(pk=team.pk).graphs.count())

    return grow_to


def test_the_graph_list_costs_the_same_for_3_and_9_graphs(bob, grow, django_assert_num_queries):
    grow(3)
    few = queries(bob, "/api/graphs/")
    grow(9)
    client = client_for(bob)
    with django_assert_num_queries(few):
        body = client.get("/api/graphs/", {"tag": "common"}).json()
    assert body["count"] == 18 and few <= 4  # 9 team graphs and their 9 public forks


def test_a_graph_costs_the_same_whatever_its_tags_and_history(alice, bob, team_graph, demo_graph):
    services.update_graph(team_graph, alice, tags=["a"])
    few = queries(bob, f"/api/graphs/{team_graph.pk}/")
    services.update_graph(team_graph, alice, tags=["a", "b", "c", "d", "e", "f"])
    for n in range(2, 8):
        services.save_version(team_graph, alice, edited(demo_graph, n), base=n - 1)
    assert queries(bob, f"/api/graphs/{team_graph.pk}/") == few <= 4


def test_the_history_costs_the_same_for_5_and_15_versions(alice, bob, team_graph, demo_graph):
    for n in range(2, 6):
        services.save_version(team_graph, alice, edited(demo_graph, n), base=n - 1)
    few = queries(bob, f"/api/graphs/{team_graph.pk}/versions/")
    for n in range(6, 16):
        services.save_version(team_graph, alice, edited(demo_graph, n), base=n - 1)
    assert queries(bob, f"/api/graphs/{team_graph.pk}/versions/") == few <= 5


def test_a_thousand_versions_page_with_the_same_few_queries(alice, alice_api, graph, demo_graph):
    head = graph.head
    GraphVersion.objects.bulk_create(
        GraphVersion(
            graph=graph,
            number=n,
            author=alice,
            message=f"v{n}",
            document=demo_graph,
            content_hash=f"{n:064x}",
            valid=True,
        )
        for n in range(2, 1001)
    )
    graph.head = GraphVersion.objects.get(graph=graph, number=1000)
    graph.save(update_fields=["head"])
    counts = set()
    for page in (1, 25, 50):
        with CaptureQueriesContext(connection) as captured:
            body = alice_api.get(f"/api/graphs/{graph.pk}/versions/", {"page": page}).json()
        counts.add(len(captured))
        assert body["count"] == 1000
        assert [v["number"] for v in body["results"]] == list(range(1000 - 20 * (page - 1), 980 - 20 * (page - 1), -1))
    assert len(counts) == 1 and counts.pop() <= 4
    assert head.number == 1


def test_the_team_and_block_lists_cost_the_same_for_more_rows(alice, bob):
    definition = {
        "nodes": [{"id": "in", "type": "Input"}, {"id": "act", "type": "ReLU"}],
        "edges": [["in", "act"]],
        "inputs": ["in"],
        "outputs": ["act"],
    }

    def add(start: int, stop: int) -> None:
        for i in range(start, stop):
            team = services.create_team(alice, f"Team {i}")
            Membership.objects.create(team=team, user=bob, role=Role.VIEWER)
            services.publish_composite(alice, name=f"Block{i}", definition=definition, team=team)
            services.publish_composite(alice, name=f"Mine{i}", definition=definition)

    add(0, 2)
    teams, blocks = queries(alice, "/api/teams/"), queries(alice, "/api/composites/")
    add(2, 6)
    assert queries(alice, "/api/teams/") == teams <= 3
    assert queries(alice, "/api/composites/") == blocks <= 4
