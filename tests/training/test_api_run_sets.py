"""The run sets API: alice queues an ablation matrix or a sweep, bob (a viewer of the graph) sees it,
charlie gets 404 like a set that does not exist; refusals are one sentence and queue nothing."""

from __future__ import annotations

import pytest

from training.models import Run, RunSet, Status

pytestmark = pytest.mark.django_db

SMALL = {"steps": 3, "batch_size": 2}


def create(client, graph, **body):
    return client.post("/api/run-sets/", {"graph": graph.pk, "config": SMALL, **body}, format="json")


def refusal(response, code=400) -> str:
    assert response.status_code == code, response.json()
    assert not Run.objects.exists() and not RunSet.objects.exists()
    return response.json()["detail"]


def test_alice_queues_an_ablation_matrix_and_gets_the_set_with_its_runs(alice_api, residual):
    response = create(alice_api, residual, version=1, kind="ablation", nodes=["act", "out", "fc1"], tags=["abl"])
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "ablation" and body["axis"] == "disable one of act, out, fc1"
    assert body["graph"] == {"id": residual.pk, "name": "Residual"} and body["version"] == 1
    assert body["user"] == "alice" and body["url"] == f"/runs/sets/{body['id']}/"
    assert [run["variant"] for run in body["runs"]] == [
        {},
        {"disable": ["act"]},
        {"disable": ["out"]},
        {"disable": ["fc1"]},
    ]
    assert all(run["run_set"] == body["id"] and run["status"] == "queued" for run in body["runs"])
    assert all(run["tags"] == ["abl"] and run["config"]["steps"] == 3 for run in body["runs"])


def test_a_sweep_over_a_config_field(alice_api, residual):
    response = create(alice_api, residual, kind="sweep", param="lr", values=[0.1, 0.01, 0.001], name="LR")
    assert response.status_code == 201, response.json()
    runs = response.json()["runs"]
    assert [run["config"]["lr"] for run in runs] == [0.1, 0.01, 0.001]
    assert [run["name"] for run in runs] == ["LR · lr = 0.1", "LR · lr = 0.01", "LR · lr = 0.001"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"kind": "ablation", "nodes": ["act", "ghost"]}, "There is no node 'ghost' in this version: choose among "
         "its nodes' ids."),
        ({"kind": "ablation", "nodes": ["act", "act"]}, "act is listed twice: give each node once."),
        ({"kind": "ablation"}, "Choose the nodes to disable, one run each."),
        ({"kind": "ablation", "nodes": [f"n{i}" for i in range(5000)]}, "5000 nodes are listed; a set has at most "
         "8 runs."),
        ({"kind": "ablation", "nodes": ["wide"]}, "Disabling wide breaks the graph: Add needs each axis "
         "equal or 1 in one input (PyTorch broadcasting): axis 1 is 4 from `wide` rank 2 BF (B, 4) but 8 from `fc1` "
         "rank 2 BF (B, 8)."),
        ({"kind": "sweep", "param": "lr", "values": [0.1, 0.1]}, "lr = 0.1 is listed twice: give each value once."),
        ({"kind": "sweep", "param": "seed", "values": list(range(9))}, "This set has 9 runs; a set may have at most "
         "8."),
        ({"kind": "sweep", "param": "lr", "values": [0.1, {"$gt": 1}]}, "Each value of lr is a number or a word, "
         "such as 0.01 or adam; got {'$gt': 1}."),
        ({"kind": "sweep", "param": "__class__", "values": [1, 2]}, "A sweep varies one of lr, batch_size, steps, "
         "epochs, optimizer, seed, loss, data, precision, or a node's parameter as <node id>.<parameter> such as "
         "drop.p; got '__class__', which this version does not have."),
        ({"kind": "sweep", "param": "out.__dict__", "values": [1, 2]}, "A sweep varies one of lr, batch_size, "
         "steps, epochs, optimizer, seed, loss, data, precision, or a node's parameter as <node id>.<parameter> "
         "such as drop.p; got 'out.__dict__', which this version does not have."),
        ({"kind": "grid"}, 'kind: "grid" is not a valid choice.'),
        ({"kind": "sweep", "param": "lr", "values": [1, 2], "config": [1]}, 'config: Expected an object such as '
         '{"steps": 30, "batch_size": 8}.'),
        ({"kind": "sweep", "param": "lr", "values": [1, 2], "sql": 1}, "Unknown field(s): sql. Allowed: name, tags, "
         "graph, version, config, kind, nodes, baseline, param, values."),
    ],
)  # fmt: skip
def test_bad_sets_are_refused_with_a_sentence(alice_api, residual, body, detail):
    assert refusal(create(alice_api, residual, **body)) == detail


def test_a_sweep_over_a_node_parameter(alice_api, residual):
    response = create(alice_api, residual, kind="sweep", param="out.out_features", values=[5, 7])
    assert response.status_code == 201, response.json()
    assert [run["variant"] for run in response.json()["runs"]] == [
        {"params": {"out": {"out_features": 5}}},
        {"params": {"out": {"out_features": 7}}},
    ]


def test_a_set_over_the_step_quota_is_refused_as_a_whole(alice_api, residual, settings):
    settings.TORCHCANVAS_RUNS["max_set_steps"] = 500
    response = create(alice_api, residual, kind="sweep", param="steps", values=[100, 200, 300])
    assert refusal(response) == (
        "This set's runs train 600 steps together; a set may train at most 500: fewer runs or fewer steps per run."
    )


def test_a_second_set_while_one_is_active_is_a_429(alice_api, residual):
    assert create(alice_api, residual, kind="sweep", param="seed", values=[1, 2]).status_code == 201
    response = create(alice_api, residual, kind="sweep", param="seed", values=[3, 4])
    assert response.status_code == 429
    assert response.json()["detail"].startswith("You already have 1 set of runs queued or running")
    assert RunSet.objects.count() == 1 and Run.objects.count() == 2


def test_sets_are_visible_like_their_graphs(alice_api, bob_api, charlie_api, api_client, residual, private_graph):
    team_set = create(alice_api, residual, kind="sweep", param="seed", values=[1, 2]).json()
    Run.objects.update(status=Status.SUCCEEDED)
    secret_set = create(alice_api, private_graph, kind="sweep", param="seed", values=[1, 2]).json()

    def ids(client):
        response = client.get("/api/run-sets/")
        assert response.status_code == 200
        return sorted(item["id"] for item in response.json()["results"])

    assert ids(alice_api) == sorted([team_set["id"], secret_set["id"]])
    assert ids(bob_api) == [team_set["id"]]
    assert ids(charlie_api) == []
    detail = bob_api.get(f"/api/run-sets/{team_set['id']}/")
    assert detail.status_code == 200 and len(detail.json()["runs"]) == 2
    assert bob_api.get(f"/api/run-sets/{secret_set['id']}/").status_code == 404
    assert charlie_api.get(f"/api/run-sets/{team_set['id']}/").status_code == 404
    assert charlie_api.get("/api/run-sets/99999/").status_code == 404
    assert api_client.get("/api/run-sets/").status_code == 401


def test_outsiders_cannot_queue_sets_of_graphs_they_cannot_see(charlie_api, residual, alice_api):
    assert refusal(create(charlie_api, residual, kind="sweep", param="lr", values=[0.1, 0.2]), 404)
    assert refusal(create(alice_api, residual, version=7, kind="sweep", param="lr", values=[0.1, 0.2]), 404)


def test_a_viewer_may_queue_a_set_of_a_graph_shared_with_them(bob_api, residual):
    response = create(bob_api, residual, kind="ablation", nodes=["act"], baseline=False)
    assert response.status_code == 201 and response.json()["user"] == "bob"
    assert [run["variant"] for run in response.json()["runs"]] == [{"disable": ["act"]}]


def test_a_set_s_unfinished_runs_are_cancelled_by_who_queued_it(alice_api, bob_api, residual):
    body = create(alice_api, residual, kind="sweep", param="seed", values=[1, 2, 3]).json()
    first = Run.objects.get(pk=body["runs"][0]["id"])
    first.transition(Status.QUEUED, Status.SUCCEEDED)
    response = bob_api.post(f"/api/run-sets/{body['id']}/cancel/")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only the person who queued this set, or an admin of its graph, can cancel it."
    response = alice_api.post(f"/api/run-sets/{body['id']}/cancel/")
    assert response.status_code == 200
    assert [run["status"] for run in response.json()["runs"]] == ["succeeded", "cancelled", "cancelled"]
    # Nothing active any more: a new set may be queued.
    assert create(alice_api, residual, kind="sweep", param="seed", values=[4, 5]).status_code == 201
