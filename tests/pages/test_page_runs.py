"""The run pages: the run panel of a version, queueing with htmx, a run live, the runs list, compare, cancel.

A run is visible to whoever may view its graph: alice (owner) and bob (team editor) see the team graph's
runs, charlie sees nothing (404), anonymous visitors are sent to log in.
"""

import json

import pytest

from training.models import Run, RunEvent, Status

pytestmark = pytest.mark.django_db


def make_run(version, user, *, status=Status.QUEUED, losses=(), **fields) -> Run:
    config = {"batch_size": 8, "steps": max(len(losses), 3), "optimizer": "adam", "lr": 0.001}
    config.update(fields.pop("config", {}))
    run = Run.objects.create(version=version, user=user, status=status, config=config, **fields)
    seq = 0
    for seq, loss in enumerate(losses, start=1):
        payload = {"step": seq, "total": len(losses), "epoch": 1, "loss": loss, "samples_per_s": 50.0, "elapsed_s": seq}
        RunEvent.objects.create(run=run, seq=seq, kind="progress", payload=payload)
    return run


def _with_shape(document: dict, shape: list[int]) -> dict:
    document = json.loads(json.dumps(document))
    document["nodes"][0]["params"]["shape"] = shape
    return document


@pytest.fixture
def finished_run(team_graph, alice):
    return make_run(
        team_graph.head,
        alice,
        status=Status.SUCCEEDED,
        losses=(2.9, 2.1, 1.4, 0.8),
        worker="gpu-host-1 (pid 4242)",
        device="cuda:0 (NVIDIA H100)",
        torch_version="2.5.1",
        params_total=79_762,
        metrics={"loss": 0.8, "samples_per_s": 1234.5, "step_time_ms": 6.48, "peak_memory_bytes": 3 * 2**20},
    )


# --- the run panel and queueing --------------------------------------------------------------------


def test_the_version_page_and_the_graph_page_offer_a_run_panel(alice_client, team_graph):
    version_url = f"/graphs/{team_graph.pk}/versions/1/"
    html = alice_client.get(version_url).content.decode()
    assert "Smoke training" in html and 'name="batch_size"' in html and 'name="optimizer"' in html
    assert f'hx-post="/graphs/{team_graph.pk}/versions/1/run/"' in html
    assert "Run v1" in html
    html = alice_client.get(f"/graphs/{team_graph.pk}/").content.decode()
    assert f'hx-post="/graphs/{team_graph.pk}/versions/2/run/"' in html  # the head
    assert f'href="#run-panel-{team_graph.head.pk}"' in html  # the header's Run button


def test_the_form_has_defaults_that_just_work(alice_client, team_graph):
    html = alice_client.get(f"/graphs/{team_graph.pk}/versions/2/run/").content.decode()
    assert 'name="batch_size" value="8"' in html and 'name="steps" value="30"' in html
    assert 'value="adam" selected' in html and 'value="auto" selected' in html and 'value="fp32" selected' in html


def test_a_version_with_errors_offers_no_form(alice_client, broken_graph):
    html = alice_client.get(f"/graphs/{broken_graph.pk}/versions/1/").content.decode()
    assert "had errors when it was saved" in html and 'name="batch_size"' not in html


def test_anonymous_visitors_are_asked_to_log_in(client, alice, demo_graph):
    from graphs import services

    graph = services.create_graph(alice, name="Open CMI", document=demo_graph, visibility="public")
    html = client.get(f"/graphs/{graph.pk}/versions/1/").content.decode()
    assert "to train v1" in html and 'name="batch_size"' not in html
    response = client.post(f"/graphs/{graph.pk}/versions/1/run/", {"steps": 3})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not Run.objects.exists()


def test_an_outsider_cannot_queue_a_run_of_a_hidden_graph(charlie_client, private_graph):
    response = charlie_client.post(f"/graphs/{private_graph.pk}/versions/1/run/", {"steps": 3, "batch_size": 2})
    assert response.status_code == 404
    assert charlie_client.get(f"/graphs/{private_graph.pk}/versions/1/run/").status_code == 404
    assert not Run.objects.exists()


def test_an_invalid_form_comes_back_in_the_panel_with_its_errors(alice_client, team_graph):
    data = {"batch_size": 0, "steps": 10, "optimizer": "rmsprop", "lr": 0.01}
    data.update(loss="auto", device="auto", precision="fp32", seed=0)
    response = alice_client.post(f"/graphs/{team_graph.pk}/versions/2/run/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<section") and "<html" not in html
    assert "greater than or equal to 1" in html and "rmsprop is not one of the available choices" in html
    assert "run-more" in html and " open>" in html  # the extra options unfolded so every error shows
    assert not Run.objects.exists()


def run_form(**changes) -> dict:
    data = {"batch_size": 4, "steps": 5, "epochs": 1, "optimizer": "sgd", "lr": 0.01}
    data.update(loss="auto", data="random", device="cpu", precision="fp32", seed=7, shape_0="9, 256")
    data.update(changes)
    return data


def test_posting_the_form_with_htmx_queues_the_run_and_opens_its_page(alice_client, team_graph, alice):
    response = alice_client.post(f"/graphs/{team_graph.pk}/versions/2/run/", run_form(), HTTP_HX_REQUEST="true")
    run = Run.objects.get()
    assert response.status_code == 204 and response["HX-Redirect"] == f"/runs/{run.pk}/"
    assert run.user == alice and run.version == team_graph.head and run.status == Status.QUEUED
    assert {k: run.config[k] for k in ("batch_size", "steps", "optimizer", "lr", "data", "device", "seed")} == {
        "batch_size": 4,
        "steps": 5,
        "optimizer": "sgd",
        "lr": 0.01,
        "data": "random",
        "device": "cpu",
        "seed": 7,
    }
    assert run.config["input_shapes"] == {"inp": [9, 256]}  # the graph's input has no shape of its own
    assert [e.message() for e in run.events.all()] == [{"type": "status", "seq": 1, "status": "queued"}]


def test_the_form_asks_for_the_sizes_of_inputs_without_a_shape(alice_client, team_graph, alice):
    html = alice_client.get(f"/graphs/{team_graph.pk}/versions/2/run/").content.decode()
    assert "Shape of inp" in html and 'name="shape_0"' in html
    response = alice_client.post(
        f"/graphs/{team_graph.pk}/versions/2/run/", run_form(shape_0="nine by 256"), HTTP_HX_REQUEST="true"
    )
    assert "Give whole sizes separated by commas" in response.content.decode() and not Run.objects.exists()
    from graphs import services

    shaped = services.create_graph(alice, name="Shaped", document=_with_shape(team_graph.head.document, [9, 256]))
    assert "Shape of" not in alice_client.get(f"/graphs/{shaped.pk}/versions/1/run/").content.decode()


def test_posting_the_form_without_javascript_redirects_to_the_run(bob_client, team_graph, bob):
    response = bob_client.post(f"/graphs/{team_graph.pk}/versions/1/run/", run_form())
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/{run.pk}/"
    assert run.user == bob and run.version.number == 1  # a team editor runs the older version


def test_the_dispatchers_refusal_comes_back_as_a_sentence_above_the_form(alice_client, team_graph, alice):
    for _ in range(2):
        make_run(team_graph.head, alice, status=Status.RUNNING)
    response = alice_client.post(f"/graphs/{team_graph.pk}/versions/2/run/", run_form(), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "alert-error" in html
    assert "You already have 2 runs queued or running" in html
    assert Run.objects.count() == 2


def test_the_caps_bound_the_form(alice_client, team_graph, settings):
    settings.TORCHCANVAS_RUNS = {**settings.TORCHCANVAS_RUNS, "max_steps": 50}
    html = alice_client.get(f"/graphs/{team_graph.pk}/versions/2/run/").content.decode()
    assert 'name="steps" value="30" min="1" max="50"' in html
    response = alice_client.post(f"/graphs/{team_graph.pk}/versions/2/run/", run_form(steps=51), HTTP_HX_REQUEST="true")
    assert "less than or equal to 50" in response.content.decode() and not Run.objects.exists()


# --- one run ---------------------------------------------------------------------------------------


def test_a_run_page_shows_its_metrics_chart_and_live_wiring(alice_client, finished_run):
    response = alice_client.get(f"/runs/{finished_run.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-ws-path="/ws/runs/{finished_run.pk}/"' in html
    assert "data-loss-chart" in html and 'data-events-url="/api/runs/' in html
    for text in ("gpu-host-1 (pid 4242)", "cuda:0 (NVIDIA H100)", "2.5.1", "79.8k", "1,234/s", "6.48 ms", "3.0"):
        assert text in html, text
    assert "Succeeded" in html and "Cancel run" not in html


def test_the_summary_panel_refreshes_alone_for_htmx(alice_client, finished_run):
    response = alice_client.get(f"/runs/{finished_run.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-summary")
    html = response.content.decode()
    assert html.lstrip().startswith("<section") and 'id="run-summary"' in html and "<html" not in html
    assert 'data-status="succeeded"' in html


def test_a_failed_run_shows_its_error(alice_client, team_graph, alice):
    run = make_run(team_graph.head, alice, status=Status.FAILED, error="CUDA out of memory at batch 256: try 64")
    html = alice_client.get(f"/runs/{run.pk}/").content.decode()
    assert "CUDA out of memory at batch 256: try 64" in html and "Failed" in html


def test_run_pages_follow_the_graphs_access(
    alice_client, bob_client, charlie_client, client, finished_run, alice, private_graph
):
    secret = make_run(private_graph.head, alice)
    assert bob_client.get(f"/runs/{finished_run.pk}/").status_code == 200  # a team editor
    assert bob_client.get(f"/runs/{secret.pk}/").status_code == 404
    for run in (finished_run, secret):
        response = charlie_client.get(f"/runs/{run.pk}/")
        assert response.status_code == 404 and "Shared CMI" not in response.content.decode()
        assert client.get(f"/runs/{run.pk}/").status_code == 302  # anonymous: log in first
    assert charlie_client.get("/runs/999999/").status_code == 404


# --- cancel ----------------------------------------------------------------------------------------


def test_only_who_queued_it_or_a_graph_admin_sees_the_cancel_button(alice_client, bob_client, team_graph, alice, bob):
    mine = make_run(team_graph.head, bob, status=Status.RUNNING)
    theirs = make_run(team_graph.head, alice, status=Status.RUNNING)
    assert "Cancel run" in bob_client.get(f"/runs/{mine.pk}/").content.decode()
    assert "Cancel run" not in bob_client.get(f"/runs/{theirs.pk}/").content.decode()
    assert "Cancel run" in alice_client.get(f"/runs/{mine.pk}/").content.decode()  # the graph's owner


def test_cancelling_someone_elses_run_is_refused(bob_client, charlie_client, team_graph, alice):
    run = make_run(team_graph.head, alice, status=Status.RUNNING)
    assert bob_client.post(f"/runs/{run.pk}/cancel/").status_code == 403
    assert charlie_client.post(f"/runs/{run.pk}/cancel/").status_code == 404
    run.refresh_from_db()
    assert run.status == Status.RUNNING and not run.cancel_requested


def test_cancelling_a_queued_run_with_htmx_answers_the_summary(alice_client, team_graph, alice):
    run = make_run(team_graph.head, alice)
    response = alice_client.post(f"/runs/{run.pk}/cancel/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-summary")
    html = response.content.decode()
    assert 'id="run-summary"' in html and 'data-status="cancelled"' in html and "Cancel run" not in html
    run.refresh_from_db()
    assert run.status == Status.CANCELLED
    assert run.events.last().message()["status"] == "cancelled"


def test_cancelling_a_running_run_asks_it_to_stop(bob_client, team_graph, bob):
    run = make_run(team_graph.head, bob, status=Status.RUNNING)
    response = bob_client.post(f"/runs/{run.pk}/cancel/", follow=True)
    assert "stops after the current step" in response.content.decode()
    run.refresh_from_db()
    assert run.status == Status.RUNNING and run.cancel_requested


def test_cancelling_a_finished_run_changes_nothing(alice_client, finished_run):
    response = alice_client.post(f"/runs/{finished_run.pk}/cancel/", follow=True)
    assert "has already succeeded" in response.content.decode()
    finished_run.refresh_from_db()
    assert finished_run.status == Status.SUCCEEDED


# --- the runs list ---------------------------------------------------------------------------------


def test_the_runs_list_shows_what_each_persona_may_see(
    alice_client, bob_client, charlie_client, finished_run, alice, private_graph
):
    secret = make_run(private_graph.head, alice)
    html = alice_client.get("/runs/").content.decode()
    assert f'data-run-id="{finished_run.pk}"' in html and f'data-run-id="{secret.pk}"' in html
    assert "data-runs-live" in html
    html = bob_client.get("/runs/").content.decode()
    assert f'data-run-id="{finished_run.pk}"' in html and f'data-run-id="{secret.pk}"' not in html
    html = charlie_client.get("/runs/").content.decode()
    assert "data-run-id" not in html and "No runs yet" in html


def test_the_runs_list_filters_by_owner_graph_and_status_with_htmx(bob_client, finished_run, team_graph, bob):
    bobs = make_run(team_graph.head, bob, status=Status.RUNNING, losses=(1.0, 0.5))
    html = bob_client.get("/runs/?scope=mine", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-rows").content.decode()
    assert html.lstrip().startswith('<div id="run-rows"') and "<html" not in html
    assert f'data-run-id="{bobs.pk}"' in html and f'data-run-id="{finished_run.pk}"' not in html
    assert "2/2" in html and "0.5" in html  # progress and loss from the latest progress event
    html = bob_client.get(f"/runs/?graph={team_graph.pk}&status=succeeded").content.decode()
    assert f'data-run-id="{finished_run.pk}"' in html and f'data-run-id="{bobs.pk}"' not in html


def test_the_runs_list_of_a_hidden_graph_is_a_404(charlie_client, private_graph):
    assert charlie_client.get(f"/runs/?graph={private_graph.pk}").status_code == 404


def test_the_runs_list_needs_an_account(client):
    assert client.get("/runs/").status_code == 302


# --- compare ---------------------------------------------------------------------------------------


def test_compare_puts_two_versions_side_by_side_with_overlaid_curves(alice_client, finished_run, team_graph, alice):
    older = make_run(
        team_graph.versions.get(number=1),
        alice,
        status=Status.SUCCEEDED,
        losses=(3.0, 2.5, 2.2, 2.0),
        config={"lr": 0.01},
        metrics={"loss": 2.0},
    )
    response = alice_client.get(f"/runs/compare/?ids={older.pk},{finished_run.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Shared CMI v1" in html and "Shared CMI v2" in html
    assert '<tr class="differs"><th scope="row">lr' in html  # 0.01 vs 0.001
    assert f"/graphs/{team_graph.pk}/diff/?from=1&amp;to=2" in html
    curves = json.loads(html.split('<script id="run-curves" type="application/json">')[1].split("</script>")[0])
    assert [c["id"] for c in curves] == [older.pk, finished_run.pk]
    assert curves[1]["points"] == [[1, 2.9], [2, 2.1], [3, 1.4], [4, 0.8]]


def test_compare_draws_a_finished_runs_full_curve_rather_than_its_throttled_events(alice_client, finished_run, alice):
    finished_run.metrics["loss_curve"] = [[1, 3.0], [2, 2.0], [3, 1.5], [4, 1.0], [5, 0.5]]
    finished_run.save()
    other = make_run(finished_run.version, alice, losses=(2.0, None, 1.0))
    html = alice_client.get(f"/runs/compare/?ids={finished_run.pk},{other.pk}").content.decode()
    curves = json.loads(html.split('<script id="run-curves" type="application/json">')[1].split("</script>")[0])
    assert curves[0]["points"] == [[1, 3.0], [2, 2.0], [3, 1.5], [4, 1.0], [5, 0.5]]
    assert curves[1]["points"] == [[1, 2.0], [3, 1.0]]  # a step without a loss (not finite) is left out


def test_compare_accepts_the_runs_list_checkboxes(alice_client, finished_run, team_graph, alice):
    other = make_run(team_graph.head, alice)
    response = alice_client.get(f"/runs/compare/?ids={finished_run.pk}&ids={other.pk}")
    assert response.status_code == 200 and f"#{other.pk}" in response.content.decode()


def test_compare_is_a_404_when_any_run_is_hidden(bob_client, charlie_client, finished_run, private_graph, alice):
    secret = make_run(private_graph.head, alice)
    assert bob_client.get(f"/runs/compare/?ids={finished_run.pk},{secret.pk}").status_code == 404
    assert charlie_client.get(f"/runs/compare/?ids={finished_run.pk}").status_code == 404


def test_compare_without_runs_explains_how_to_pick_them(alice_client):
    html = alice_client.get("/runs/compare/?ids=").content.decode()
    assert "Nothing to compare yet" in html


# --- the dashboard ---------------------------------------------------------------------------------


def test_the_dashboard_lists_the_users_own_latest_runs(alice_client, bob_client, finished_run):
    html = alice_client.get("/dashboard/").content.decode()
    assert "Your runs" in html and f'data-run-id="{finished_run.pk}"' in html and "data-runs-live" in html
    html = bob_client.get("/dashboard/").content.decode()  # bob sees alice's run on the runs list, not here
    assert "Your runs" not in html and "data-run-id" not in html
