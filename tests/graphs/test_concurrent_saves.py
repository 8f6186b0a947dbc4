"""Twenty people save from the same base version at once: one wins, nineteen get 409, nothing is lost.

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


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_saves_from_one_base_give_one_version_and_nineteen_conflicts(alice, bob, demo_graph):
    team = services.create_team(alice, "Racers")
    Membership.objects.create(team=team, user=bob, role=Role.EDITOR)
    graph = services.create_graph(alice, name="Contended", document=demo_graph, team=team, visibility="team")
    barrier = threading.Barrier(SAVERS)
    results: dict[int, tuple[int, dict]] = {}

    def save(index: int) -> None:
        client = APIClient()
        client.force_authenticate(alice if index % 2 else bob)
        payload = {"document": edited(demo_graph, out_features=100 + index), "base": 1, "message": f"edit {index}"}
        try:
            barrier.wait(timeout=30)
            response = client.post(f"/api/graphs/{graph.pk}/versions/", payload, format="json")
            results[index] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(i,)) for i in range(SAVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

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
