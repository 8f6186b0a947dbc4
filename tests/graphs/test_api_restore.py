"""POST /api/graphs/{id}/restore/: an old version becomes the head again, as a new version."""

from platform_helpers import edited

from graphs import services


def test_restore_makes_a_new_head_copying_the_old_version(alice, alice_api, graph, demo_graph):
    services.save_version(graph, alice, edited(demo_graph, 10), base=1)
    response = alice_api.post(f"/api/graphs/{graph.pk}/restore/", {"version": 1})
    assert response.status_code == 201
    assert (response.json()["number"], response.json()["message"], response.json()["created"]) == (
        3,
        "Restored v1",
        True,
    )
    graph.refresh_from_db()
    assert graph.head.document == demo_graph


def test_restoring_the_head_answers_200_and_creates_nothing(alice_api, graph):
    response = alice_api.post(f"/api/graphs/{graph.pk}/restore/", {"version": 1, "message": "again"})
    assert response.status_code == 200
    assert (response.json()["number"], response.json()["created"]) == (1, False)


def test_restore_needs_edit_rights(alice, bob, bob_api, charlie_api, team, team_graph, demo_graph):
    services.save_version(team_graph, alice, edited(demo_graph, 10), base=1)
    services.set_role(team, alice, bob, "viewer")
    assert bob_api.post(f"/api/graphs/{team_graph.pk}/restore/", {"version": 1}).status_code == 403
    assert charlie_api.post(f"/api/graphs/{team_graph.pk}/restore/", {"version": 1}).status_code == 404
    assert team_graph.versions.count() == 2


def test_restore_of_a_missing_version(alice_api, graph):
    response = alice_api.post(f"/api/graphs/{graph.pk}/restore/", {"version": 4})
    assert response.status_code == 404 and response.json() == {"detail": "Version 4 does not exist."}
    assert alice_api.post(f"/api/graphs/{graph.pk}/restore/", {}).status_code == 400
