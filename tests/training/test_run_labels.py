"""Run names and tags through the API: given when queued, a default otherwise, checked with clear 400s,
edited by whoever may cancel the run (viewer 403, outsider 404), searched and filtered in the list."""

from __future__ import annotations

import pytest

from training.events import run_summary
from training.models import Run

pytestmark = pytest.mark.django_db


def create(client, graph, **body):
    return client.post("/api/runs/", {"graph": graph.pk, **body}, format="json")


def ids(client, query: str) -> list[int]:
    response = client.get(f"/api/runs/{query}")
    assert response.status_code == 200, response.json()
    return sorted(run["id"] for run in response.json()["results"])


def test_a_run_is_queued_with_a_name_and_tags(alice_api, tiny_graph):
    response = create(alice_api, tiny_graph, name="  Baseline  ", tags=["LR-Sweep", "baseline", "lr-sweep"])
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Baseline" and body["tags"] == ["baseline", "lr-sweep"]
    assert alice_api.get(f"/api/runs/{body['id']}/").json()["tags"] == ["baseline", "lr-sweep"]


def test_a_run_without_a_name_gets_the_default_one(alice_api, tiny_graph):
    body = create(alice_api, tiny_graph).json()
    assert body["name"] == f"Tiny v1 #{body['id']}" and body["tags"] == []
    assert run_summary(Run.objects.get(pk=body["id"]))["name"] == body["name"]  # what live lists show


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"name": "x" * 121}, "name: Ensure this field has no more than 120 characters."),
        ({"name": "evil\u202ename"}, "name: "),
        ({"tags": ["<b>"]}, "tags: '<b>' may use letters, digits, spaces and . + # - _ only."),
        ({"tags": [f"t{i}" for i in range(11)]}, "tags: Ensure this field has no more than 10 elements."),
        ({"tags": "baseline"}, 'tags: Expected a list of items but got type "str".'),
    ],
)
def test_bad_names_and_tags_are_refused_with_a_sentence(alice_api, tiny_graph, body, detail):
    response = create(alice_api, tiny_graph, **body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)
    assert not Run.objects.exists()


def test_the_owner_renames_and_retags_a_run(alice_api, make_run):
    run = make_run(name="old")
    response = alice_api.patch(f"/api/runs/{run.pk}/", {"name": "new name", "tags": ["a", "b"]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "new name" and response.json()["tags"] == ["a", "b"]
    response = alice_api.patch(f"/api/runs/{run.pk}/", {"tags": []}, format="json")
    assert response.json()["name"] == "new name" and response.json()["tags"] == []
    response = alice_api.patch(f"/api/runs/{run.pk}/", {"name": ""}, format="json")
    assert response.json()["name"] == f"Tiny v1 #{run.pk}"  # cleared: back to the default
    response = alice_api.patch(f"/api/runs/{run.pk}/", {"tags": ["no/slash"]}, format="json")
    assert response.status_code == 400 and response.json()["detail"].startswith("tags: 'no/slash'")
    response = alice_api.patch(f"/api/runs/{run.pk}/", {"nmae": "x"}, format="json")
    assert response.status_code == 400 and "Unknown field(s): nmae" in response.json()["detail"]


def test_only_whoever_may_cancel_a_run_may_edit_it(bob_api, charlie_api, alice_api, make_run):
    run = make_run(name="kept")
    response = bob_api.patch(f"/api/runs/{run.pk}/", {"name": "mine now"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only the person who queued this run, or an admin of its graph, can edit it."
    assert charlie_api.patch(f"/api/runs/{run.pk}/", {"name": "x"}, format="json").status_code == 404
    assert alice_api.put(f"/api/runs/{run.pk}/", {"name": "x"}, format="json").status_code == 405
    assert Run.objects.get(pk=run.pk).name == "kept"


def test_the_list_searches_names_and_filters_by_tag(alice_api, tiny_graph):
    first = create(alice_api, tiny_graph, name="Baseline wide", tags=["baseline"]).json()["id"]
    second = create(alice_api, tiny_graph, name="Narrow", tags=["sweep", "baseline"]).json()["id"]
    assert ids(alice_api, "?q=base") == [first]
    assert ids(alice_api, "?q=tiny") == []  # both were named
    assert ids(alice_api, "?tag=Baseline") == sorted([first, second])
    assert ids(alice_api, "?tag=sweep&q=narrow") == [second]
    assert ids(alice_api, "?tag=nothing") == []
    assert alice_api.get("/api/runs/?q=" + "x" * 121).status_code == 400
