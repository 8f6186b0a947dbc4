"""The runs API with the three personas: alice owns the graph, bob views it through the team, charlie sees
nothing (404, like a run that does not exist)."""

from __future__ import annotations

import pytest
from hostile_graphs import long_expression_graph

from training.events import publish_event
from training.models import Run, Status

pytestmark = pytest.mark.django_db


def create(client, graph, **body):
    return client.post("/api/runs/", {"graph": graph.pk, **body}, format="json")


def test_alice_queues_a_run_of_a_version(alice_api, tiny_graph):
    response = create(alice_api, tiny_graph, version=1, config={"steps": 5, "optimizer": "sgd"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["user"] == "alice" and body["version"] == 1
    assert body["graph"] == {"id": tiny_graph.pk, "name": "Tiny"}
    assert body["config"]["steps"] == 5 and body["config"]["optimizer"] == "sgd" and body["config"]["batch_size"] == 8
    assert body["progress"] == {"step": 0, "total": 5, "loss": None}
    assert body["can_cancel"] is True and body["url"] == f"/runs/{body['id']}/" and body["notice"] is None
    assert set(body) >= {"queue", "attempts", "created_at", "started_at", "finished_at", "metrics", "error", "device"}


def test_the_version_defaults_to_the_head(alice_api, tiny_graph):
    assert create(alice_api, tiny_graph).json()["version"] == 1


def test_a_viewer_may_queue_runs_of_a_graph_shared_with_them(bob_api, tiny_graph):
    response = create(bob_api, tiny_graph)
    assert response.status_code == 201 and response.json()["user"] == "bob"


def test_a_graph_or_version_you_cannot_see_is_a_404(charlie_api, alice_api, private_graph, tiny_graph):
    assert create(charlie_api, tiny_graph).status_code == 404
    assert create(charlie_api, private_graph).status_code == 404
    assert create(alice_api, tiny_graph, version=9).status_code == 404
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"config": {"steps": 0}}, "steps must be between 1 and 1000 (got 0)."),
        ({"config": {"lr": "fast"}}, "lr: expected a number, got 'fast'."),
        ({"config": ["steps"]}, 'config: Expected an object such as {"steps": 30, "batch_size": 8}.'),
        ({"confg": {}}, "Unknown field(s): confg. Allowed: name, tags, graph, version, config."),
    ],
)
def test_bad_requests_say_why(alice_api, tiny_graph, body, detail):
    response = create(alice_api, tiny_graph, **body)
    assert response.status_code == 400
    assert response.json()["detail"] == detail


def test_a_version_with_a_block_expression_over_the_cap_is_refused_before_it_runs(alice_api):
    graph = long_expression_graph()
    saved = alice_api.post("/api/graphs/", {"name": "Wide", "document": graph}, format="json")
    assert saved.status_code == 201 and saved.json()["head"]["valid"] is False
    response = alice_api.post("/api/runs/", {"graph": saved.json()["id"]}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Version 1 has errors, so it cannot run: ")
    assert "at most 100 operators" in response.json()["detail"]
    assert not Run.objects.exists()


def test_too_many_runs_at_once_is_a_429(alice_api, tiny_graph):
    assert create(alice_api, tiny_graph).status_code == 201
    assert create(alice_api, tiny_graph).status_code == 201
    response = create(alice_api, tiny_graph)
    assert response.status_code == 429
    assert response.json()["detail"].startswith("You already have 2 runs queued or running")


def test_lists_show_the_runs_on_graphs_you_may_see(
    alice_api, bob_api, charlie_api, make_run, alice, bob, private_graph
):
    mine = make_run()
    bobs = make_run(user=bob, status=Status.SUCCEEDED)
    secret = make_run(version=private_graph.head)

    def ids(client, query=""):
        response = client.get(f"/api/runs/{query}")
        assert response.status_code == 200
        return sorted(run["id"] for run in response.json()["results"])

    assert ids(alice_api) == sorted([mine.pk, bobs.pk, secret.pk])
    assert ids(bob_api) == sorted([mine.pk, bobs.pk])
    assert ids(charlie_api) == []
    assert ids(alice_api, "?mine=1") == sorted([mine.pk, secret.pk])
    assert ids(alice_api, "?status=succeeded") == [bobs.pk]
    assert ids(alice_api, f"?graph={private_graph.pk}") == [secret.pk]
    assert ids(alice_api, f"?graph={private_graph.pk}&version=2") == []
    assert alice_api.get("/api/runs/?status=bogus").status_code == 400


def test_a_list_shows_each_runs_latest_progress(alice_api, make_run):
    run = make_run(Status.RUNNING, worker="w:1")
    publish_event(run, "progress", {"step": 2, "total": 3, "epoch": 1, "loss": 0.5, "samples_per_s": 1, "elapsed_s": 1})
    row = alice_api.get("/api/runs/").json()["results"][0]
    assert row["progress"] == {"step": 2, "total": 3, "loss": 0.5}


def test_details_follow_the_graphs_visibility(alice_api, bob_api, charlie_api, api_client, make_run):
    run = make_run()
    assert alice_api.get(f"/api/runs/{run.pk}/").status_code == 200
    bob_view = bob_api.get(f"/api/runs/{run.pk}/").json()
    assert bob_view["id"] == run.pk and bob_view["can_cancel"] is False
    assert charlie_api.get(f"/api/runs/{run.pk}/").status_code == 404
    assert charlie_api.get("/api/runs/999999/").status_code == 404
    assert api_client.get(f"/api/runs/{run.pk}/").status_code == 401


def test_cancel(alice_api, bob_api, charlie_api, make_run):
    run = make_run()
    response = bob_api.post(f"/api/runs/{run.pk}/cancel/")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only the person who queued this run, or an admin of its graph, can cancel it."
    assert charlie_api.post(f"/api/runs/{run.pk}/cancel/").status_code == 404
    response = alice_api.post(f"/api/runs/{run.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    response = alice_api.post(f"/api/runs/{run.pk}/cancel/")
    assert response.status_code == 409
    assert response.json()["detail"] == f"Run {run.pk} has already cancelled: there is nothing to cancel."


def test_cancelling_a_running_run_asks_its_worker_to_stop(alice_api, make_run):
    run = make_run(Status.RUNNING, worker="w:1")
    body = alice_api.post(f"/api/runs/{run.pk}/cancel/").json()
    assert body["status"] == "running" and body["cancel_requested"] is True


def test_events_are_paged_after_a_sequence_number(alice_api, charlie_api, make_run):
    run = make_run()
    for step in range(1, 6):
        publish_event(run, "progress", {"step": step, "total": 5, "loss": 1.0 / step})
    page = alice_api.get(f"/api/runs/{run.pk}/events/?limit=2").json()
    assert [event["seq"] for event in page["results"]] == [1, 2]
    assert page["results"][0] == {"type": "progress", "seq": 1, "step": 1, "total": 5, "loss": 1.0}
    assert page["next"].endswith(f"/api/runs/{run.pk}/events/?after=2&limit=2")
    last = alice_api.get(f"/api/runs/{run.pk}/events/?after=3").json()
    assert [event["seq"] for event in last["results"]] == [4, 5] and last["next"] is None
    assert alice_api.get(f"/api/runs/{run.pk}/events/?limit=0").status_code == 400
    assert charlie_api.get(f"/api/runs/{run.pk}/events/").status_code == 404


def test_the_schema_lists_the_runs_endpoints(api_client):
    paths = api_client.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert {"/api/runs/", "/api/runs/{id}/", "/api/runs/{id}/cancel/", "/api/runs/{id}/events/"} <= set(paths)
