"""The run set pages: start an ablation matrix or a sweep from a version; a set's table (sortable on the
server, each cell a link to its run) and overlaid curves. charlie, who cannot see the graph, gets 404."""

from __future__ import annotations

import json
import re

import pytest

from training.models import Run, RunEvent, RunSet, SetKind, Status

pytestmark = pytest.mark.django_db

FORM = {
    "batch_size": 2,
    "steps": 3,
    "epochs": 1,
    "optimizer": "adam",
    "lr": 0.001,
    "loss": "auto",
    "data": "fixed",
    "device": "cpu",
    "precision": "fp32",
    "seed": 0,
    "shape_0": "9, 256",  # the demo graph's Input has no shape
}


def new_url(graph) -> str:
    return f"/graphs/{graph.pk}/versions/1/sets/new/"


def test_the_version_page_links_to_the_set_form(alice_client, team_graph):
    html = alice_client.get(f"/graphs/{team_graph.pk}/versions/1/").content.decode()
    assert f'href="{new_url(team_graph)}"' in html


def test_the_form_offers_every_node_but_the_inputs(alice_client, team_graph):
    html = alice_client.get(new_url(team_graph)).content.decode()
    offered = re.findall(r'name="nodes" value="([^"]+)"', html)
    assert offered == ["conv", "relu", "perm", "gru", "fc"]
    assert 'name="param"' in html and 'name="values"' in html and 'name="shape_0"' in html


def test_an_ablation_matrix_is_queued_from_the_form(alice_client, team_graph):
    # The sweep's fields are posted too (the form shows both): an ablation ignores them.
    data = {**FORM, "kind": "ablation", "nodes": ["conv", "relu", "gru"], "baseline": "on", "name": "Abl",
            "param": "lr", "values": "0.1, 0.2"}  # fmt: skip
    response = alice_client.post(new_url(team_graph), data)
    run_set = RunSet.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/sets/{run_set.pk}/"
    runs = list(run_set.runs.order_by("pk"))
    assert [run.variant for run in runs] == [{}, {"disable": ["conv"]}, {"disable": ["relu"]}, {"disable": ["gru"]}]
    assert all(run.config["input_shapes"] == {"inp": [9, 256]} and run.config["steps"] == 3 for run in runs)


def test_a_sweep_is_queued_from_the_form_with_typed_values(alice_client, team_graph):
    data = {**FORM, "kind": "sweep", "param": "lr", "values": "0.1, 1e-2,0.001"}
    assert alice_client.post(new_url(team_graph), data).status_code == 302
    assert [run.config["lr"] for run in Run.objects.order_by("pk")] == [0.1, 0.01, 0.001]


def test_a_node_parameter_sweep_is_queued_from_the_form(alice_client, team_graph):
    html = alice_client.get(new_url(team_graph)).content.decode()
    assert '<option value="conv.out_channels">' in html and '<optgroup label="Node parameters">' in html
    data = {**FORM, "kind": "sweep", "param": "conv.out_channels", "values": "32, 64"}
    assert alice_client.post(new_url(team_graph), data).status_code == 302
    assert [run.variant for run in Run.objects.order_by("pk")] == [
        {"params": {"conv": {"out_channels": 32}}},
        {"params": {"conv": {"out_channels": 64}}},
    ]


def test_a_refusal_is_shown_above_the_form_and_queues_nothing(alice_client, team_graph):
    data = {**FORM, "kind": "ablation", "nodes": ["relu", "perm"]}
    response = alice_client.post(new_url(team_graph), data)
    assert response.status_code == 200 and not Run.objects.exists()
    html = response.content.decode()
    assert "Disabling perm breaks the graph: GRUBlock expects (B, T, H)" in html
    assert 'value="perm" checked' in html or re.search(r'value="perm"[^>]*checked', html)


def test_outsiders_and_visitors_cannot_start_a_set(charlie_client, client, team_graph):
    assert charlie_client.get(new_url(team_graph)).status_code == 404
    assert charlie_client.post(new_url(team_graph), {**FORM, "kind": "sweep"}).status_code == 404
    assert client.get(new_url(team_graph)).status_code == 404  # a team graph is hidden from visitors too
    assert not Run.objects.exists()


@pytest.fixture
def finished_set(team_graph, alice):
    """An ablation matrix of three runs: baseline (loss 0.5), without relu (0.9), without gru (still running)."""
    version = team_graph.versions.get(number=1)
    run_set = RunSet.objects.create(version=version, user=alice, kind=SetKind.ABLATION, name="Abl", axis="x")

    def run(variant, status, loss=None, params=None, step_ms=None):
        metrics = {} if loss is None else {"loss": loss, "step_time_ms": step_ms, "samples_per_s": 100.0,
                                           "loss_curve": [[1, loss + 1], [2, loss]]}  # fmt: skip
        return Run.objects.create(
            version=version, user=alice, status=status, run_set=run_set, variant=variant, config={"steps": 2},
            metrics=metrics, params_total=params,
        )  # fmt: skip

    runs = [
        run({}, Status.SUCCEEDED, 0.5, 1000, 12.0),
        run({"disable": ["relu"]}, Status.SUCCEEDED, 0.9, 1000, 10.0),
        run({"disable": ["gru"]}, Status.RUNNING),
    ]
    RunEvent.objects.create(run=runs[2], seq=1, kind="progress", payload={"step": 1, "total": 2, "loss": 2.5})
    return run_set, runs


def order(html: str) -> list[int]:
    table = html[html.index('id="run-set-table"') :]
    return [int(i) for i in dict.fromkeys(re.findall(r'<tr data-run-id="(\d+)"', table))]


def test_the_set_page_shows_a_table_and_overlaid_curves(bob_client, finished_set):
    run_set, runs = finished_set
    response = bob_client.get(f"/runs/sets/{run_set.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert order(html) == [run.pk for run in runs]
    for heading in ("Variant", "Status", "Final loss", "Parameters", "Step time", "Samples / s"):
        assert f">{heading}</a>" in html
    assert "Val loss" not in html  # no run reported one
    assert "without relu" in html and "baseline" in html and "Running" in html
    for run in runs:  # every cell links to its run
        row = re.search(rf'<tr data-run-id="{run.pk}">(.*?)</tr>', html, re.S).group(1)
        assert row.count("<td") == row.count(f'href="/runs/{run.pk}/"') == 6
    curves = json.loads(re.search(r'<script id="run-curves" type="application/json">(.*?)</script>', html).group(1))
    assert [c["label"] for c in curves] == ["baseline", "without relu", "without gru"]
    assert curves[0]["points"] == [[1, 1.5], [2, 0.5]] and curves[2]["points"] == [[1, 2.5]]
    assert "data-compare-chart" in html
    assert 'hx-trigger="every 3s"' in html  # a run is still running


def test_the_table_sorts_by_any_column_with_aria_sort(alice_client, finished_set):
    run_set, (base, relu, gru) = finished_set
    url = f"/runs/sets/{run_set.pk}/"
    html = alice_client.get(f"{url}?sort=-loss").content.decode()
    assert order(html) == [relu.pk, base.pk, gru.pk]  # a run without a value comes last either way
    assert re.search(r'aria-sort="descending"[^>]*>\s*<a href="\?sort=loss" data-sort="loss"', html)
    assert html.count('aria-sort="none"') == 5
    html = alice_client.get(f"{url}?sort=loss").content.decode()
    assert order(html) == [base.pk, relu.pk, gru.pk]
    assert re.search(r'aria-sort="ascending"[^>]*>\s*<a href="\?sort=-loss"', html)
    assert order(alice_client.get(f"{url}?sort=step_time_ms").content.decode()) == [relu.pk, base.pk, gru.pk]
    assert order(alice_client.get(f"{url}?sort=-variant").content.decode()) == [relu.pk, gru.pk, base.pk]
    html = alice_client.get(f"{url}?sort=__class__").content.decode()  # unknown: queue order, nothing sorted
    assert order(html) == [base.pk, relu.pk, gru.pk] and html.count('aria-sort="none"') == 6


def test_htmx_polls_the_table_alone_until_every_run_has_finished(alice_client, finished_set):
    run_set, runs = finished_set
    url = f"/runs/sets/{run_set.pk}/?sort=-loss"
    partial = alice_client.get(url, headers={"HX-Request": "true", "HX-Target": "run-set-table"}).content.decode()
    assert partial.lstrip().startswith('<div id="run-set-table"') and "run-curves" not in partial
    assert 'hx-get="/runs/sets/' in partial and "?sort=-loss" in partial
    assert not alice_client.get(url, headers={"HX-Request": "true", "HX-Target": "run-set-table"}).has_header(
        "HX-Refresh"
    )
    Run.objects.filter(pk=runs[2].pk).update(status=Status.FAILED)
    html = alice_client.get(url).content.decode()
    assert "hx-trigger" not in html[html.index('id="run-set-table"') :]
    # The poll that sees the last run end reloads the page once, so its curves are drawn complete.
    last = alice_client.get(url, headers={"HX-Request": "true", "HX-Target": "run-set-table"})
    assert last["HX-Refresh"] == "true"


def test_validation_metrics_get_columns_when_runs_report_them(alice_client, finished_set):
    run_set, runs = finished_set
    Run.objects.filter(pk=runs[0].pk).update(metrics={"loss": 0.5, "val_loss": 0.7, "val_accuracy": 0.8})
    html = alice_client.get(f"/runs/sets/{run_set.pk}/?sort=-val_accuracy").content.decode()
    assert 'data-sort="val_loss">Val loss</a>' in html and 'data-sort="val_accuracy">Val accuracy <span' in html
    assert order(html)[0] == runs[0].pk


def test_a_set_is_a_404_for_who_cannot_see_its_graph(charlie_client, client, finished_set):
    run_set, _ = finished_set
    assert charlie_client.get(f"/runs/sets/{run_set.pk}/").status_code == 404
    assert charlie_client.get("/runs/sets/99999/").status_code == 404
    assert client.get(f"/runs/sets/{run_set.pk}/")["Location"].startswith("/accounts/login/")


def test_the_unfinished_runs_of_a_set_are_cancelled_from_its_page(alice_client, bob_client, finished_set):
    run_set, (base, relu, gru) = finished_set
    url = f"/runs/sets/{run_set.pk}/cancel/"
    assert 'data-testid="run-set-cancel"' not in bob_client.get(f"/runs/sets/{run_set.pk}/").content.decode()
    assert bob_client.post(url).status_code == 403  # a teammate who did not queue it
    html = alice_client.get(f"/runs/sets/{run_set.pk}/").content.decode()
    assert 'data-testid="run-set-cancel"' in html
    response = alice_client.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Redirect"] == f"/runs/sets/{run_set.pk}/"
    gru.refresh_from_db()
    assert gru.cancel_requested and gru.status == Status.RUNNING  # it stops after its current step
    assert Run.objects.get(pk=base.pk).status == Status.SUCCEEDED


def test_a_run_of_a_set_links_to_its_set_from_the_runs_list(alice_client, finished_set):
    run_set, _ = finished_set
    html = alice_client.get("/runs/").content.decode()
    assert html.count(f'href="/runs/sets/{run_set.pk}/"') == 3
