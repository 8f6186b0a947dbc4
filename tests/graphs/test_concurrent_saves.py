"""Twenty people save from the same base version at once: one wins, nineteen get 409, nothing is lost.
Twenty restore the same old version at once: one creates it, nineteen are told it was already the head.

Real threads, each with its own database connection, against real transactions (not the test's
wrapping transaction), so the row lock in ``services.save_version`` is what decides. Runs on SQLite
and, under ``make test`` in CI, on PostgreSQL.
"""

import threading

import pytest
from django.db import connection
from platform_helpers import edited
from rest_framework.test import APIClient

from graphs import services
from graphs.models import GraphVersion, Membership, Role

SAVERS = 20


def contended_graph(alice, bob, demo_graph):
    team = services.create_team(alice, "Racers")
    Membership.objects.create(team=team, user=bob, role=Role.EDITOR)
    return services.create_graph(alice, name="Contended", document=demo_graph, team=team, visibility="team")


def post_at_once(alice, bob, url: str, payload) -> dict[int, tuple[int, dict]]:
    """``SAVERS`` threads, alternately alice and bob, POST ``payload(index)`` to ``url`` at the same moment."""
    barrier = threading.Barrier(SAVERS)
    results: dict[int, tuple[int, dict]] = {}

    def post(index: int) -> None:
        client = APIClient()
        client.force_authenticate(alice if index % 2 else bob)
        try:
            barrier.wait(timeout=30)
            response = client.post(url, payload(index), format="json")
            results[index] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(SAVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_saves_from_one_base_give_one_version_and_nineteen_conflicts(alice, bob, demo_graph):
    graph = contended_graph(alice, bob, demo_graph)
    results = post_at_once(
        alice,
        bob,
        f"/api/graphs/{graph.pk}/versions/",
        lambda index: {"document": edited(demo_graph, out_features=100 + index), "base": 1, "message": f"edit {index}"},
    )

    statuses = sorted(status for status, _ in results.values())
    assert statuses == [201] + [409] * (SAVERS - 1), statuses
    (winner,) = [i for i, (status, _) in results.items() if status == 201]
    versions = list(GraphVersion.objects.filter(graph=graph).order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].message == f"edit {winner}"
    assert versions[1].document["nodes"][-1]["params"]["out_features"] == 100 + winner
    assert versions[1].parent_id == versions[0].pk
    graph.refresh_from_db()
    assert graph.head_id == versions[1].pk
    for status, body in results.values():
        if status == 409:
            assert body["head"]["number"] == 2
            assert body["diff"]["nodes"]["changed"] == {
                "fc": {"params": {"out_features": {"old": 18, "new": 100 + winner}}}
            }


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_restores_create_one_version_and_say_so_once(alice, bob, demo_graph):
    """Each used to answer "201 Created v3", judging from the head it read before taking the lock."""
    graph = contended_graph(alice, bob, demo_graph)
    services.save_version(graph, alice, edited(demo_graph, out_features=7), base=1)
    results = post_at_once(
        alice, bob, f"/api/graphs/{graph.pk}/restore/", lambda index: {"version": 1, "message": f"restore {index}"}
    )

    statuses = sorted(status for status, _ in results.values())
    assert statuses == [200] * (SAVERS - 1) + [201], str(statuses)
    (winner,) = [i for i, (status, _) in results.items() if status == 201]
    versions = list(GraphVersion.objects.filter(graph=graph).order_by("number"))
    assert [(v.number, v.message) for v in versions] == [(1, "Created"), (2, ""), (3, f"restore {winner}")]
    assert versions[2].document == demo_graph
    for status, body in results.values():
        assert (body["number"], body["message"], body["created"]) == (3, f"restore {winner}", status == 201)
