"""Queueing: everything is checked before a run exists, the run exists before its message is sent, and the
message goes to the right executor (a Celery queue, or the embedded worker)."""

from __future__ import annotations

import pytest
import torch
from django.core.exceptions import PermissionDenied
from django.http import Http404
from run_helpers import TWO_HEADS, document

from codegen.templates import load_template
from graphs import services
from training import dispatch, workers
from training.dispatch import RunRefused, cancel_run, queue_run
from training.models import Run, RunEvent, Status
from training.tasks import execute_run

pytestmark = pytest.mark.django_db


def refusal(version, user, config) -> RunRefused:
    with pytest.raises(RunRefused) as refused:
        queue_run(version, user, config)
    assert not Run.objects.exists()
    return refused.value


@pytest.fixture
def sent(monkeypatch):
    """Celery mode with a live worker on each queue, the messages recorded instead of sent to a broker."""
    workers.record_presence("both@test", ["cpu", "gpu"], 1)
    messages = []

    def apply_async(args, queue, soft_time_limit, time_limit):
        messages.append({"args": args, "queue": queue, "soft": soft_time_limit, "hard": time_limit})

    monkeypatch.setattr(execute_run, "apply_async", apply_async)
    yield messages
    workers.forget_presence("both@test", ["cpu", "gpu"])


def test_a_queued_run_stores_its_full_config_and_a_first_event(tiny_graph, alice):
    run = queue_run(tiny_graph.head, alice, {"steps": 3})
    assert run.status == Status.QUEUED and run.queue == "embedded" and run.user == alice
    assert run.config == {
        "batch_size": 8,
        "steps": 3,
        "epochs": 1,
        "optimizer": "adam",
        "lr": 0.001,
        "loss": "auto",
        "device": "auto",
        "precision": "fp32",
        "data": "fixed",
        "seed": 0,
        "time_limit_s": 900,
    }
    assert [event.message() for event in RunEvent.objects.filter(run=run)] == [
        {"type": "status", "seq": 1, "status": "queued"}
    ]


def test_nothing_is_sent_before_the_run_is_committed(
    tiny_graph, alice, settings, sent, django_capture_on_commit_callbacks
):
    settings.TORCHCANVAS_RUN_MODE = "celery"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = queue_run(tiny_graph.head, alice, {"device": "cuda", "time_limit_s": 100})
    assert sent == []
    for callback in callbacks:
        callback()
    assert sent == [{"args": [run.pk], "queue": "gpu", "soft": 160, "hard": 220}]
    run.refresh_from_db()
    assert run.queue == "gpu" and run.dispatched_at is not None


@pytest.mark.parametrize(("device", "queue"), [("cpu", "cpu"), ("cuda", "gpu"), ("auto", "cpu")])
def test_celery_mode_routes_by_device(
    tiny_graph, alice, settings, sent, device, queue, django_capture_on_commit_callbacks
):
    settings.TORCHCANVAS_RUN_MODE = "celery"
    with django_capture_on_commit_callbacks(execute=True):
        queue_run(tiny_graph.head, alice, {"device": device})
    assert sent[0]["queue"] == queue


def test_auto_runs_go_to_the_gpu_queue_when_configured(
    tiny_graph, alice, settings, sent, django_capture_on_commit_callbacks
):
    settings.TORCHCANVAS_RUN_MODE = "celery"
    settings.TORCHCANVAS_RUNS["auto_queue"] = "gpu"
    with django_capture_on_commit_callbacks(execute=True):
        queue_run(tiny_graph.head, alice, {})
    assert sent[0]["queue"] == "gpu"


def test_a_broker_that_is_away_leaves_the_run_queued_for_the_sweeper(
    tiny_graph, alice, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.TORCHCANVAS_RUN_MODE = "celery"

    def unreachable(**kwargs):
        raise ConnectionError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(execute_run, "apply_async", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        run = queue_run(tiny_graph.head, alice, {})
    run.refresh_from_db()
    assert run.status == Status.QUEUED and run.dispatched_at is None


def test_a_config_error_is_refused_with_its_sentence(tiny_graph, alice):
    assert refusal(tiny_graph.head, alice, {"steps": 5000}).message == "steps must be between 1 and 1000 (got 5000)."


def test_a_version_with_errors_cannot_run(alice):
    broken = document(TWO_HEADS)
    broken["nodes"][1]["params"]["out_features"] = -3
    graph = services.create_graph(alice, name="Broken", document=broken)
    refused = refusal(graph.head, alice, {})
    assert refused.message.startswith("Version 1 has errors, so it cannot run: ")


def test_an_input_without_a_shape_is_refused_with_the_fix(alice, demo_graph):
    graph = services.create_graph(alice, name="Demo", document=demo_graph)
    assert refusal(graph.head, alice, {}).message.startswith("Input inp has no shape")
    assert queue_run(graph.head, alice, {"input_shapes": {"inp": [9, 256]}}).config["input_shapes"] == {"inp": [9, 256]}


def test_the_parameter_and_memory_caps_are_checked_before_queueing(alice, tiny_graph, settings):
    settings.TORCHCANVAS_RUNS["max_params"] = 10
    assert refusal(tiny_graph.head, alice, {}).message == "This model has 25 parameters; runs are limited to 10."
    settings.TORCHCANVAS_RUNS["max_params"] = 200_000_000
    settings.TORCHCANVAS_RUNS["max_memory_bytes"] = 4 * 2**30
    vgg = services.create_graph(alice, name="VGG", document=load_template("vgg16"))
    assert refusal(vgg.head, alice, {"batch_size": 512}).message == (
        "This run needs about 112.1 GiB of memory at batch 512 (the limit is 4.0 GiB): try batch 8."
    )


def test_every_template_can_be_queued_with_the_defaults(alice):
    from codegen.templates import template_names

    for name in template_names():
        graph = services.create_graph(alice, name=name, document=load_template(name))
        run = queue_run(graph.head, alice)
        Run.objects.filter(pk=run.pk).update(status=Status.SUCCEEDED)  # make room under the concurrency cap


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_embedded_mode_refuses_cuda_on_a_server_without_a_gpu(tiny_graph, alice):
    assert refusal(tiny_graph.head, alice, {"device": "cuda"}).message.startswith("This server has no CUDA GPU")


def test_a_user_has_at_most_the_concurrent_runs_allowed(tiny_graph, alice, bob, settings):
    queue_run(tiny_graph.head, alice)
    second = queue_run(tiny_graph.head, alice)
    refused = refusal_after(tiny_graph.head, alice)
    assert refused.status_code == 429
    assert refused.message == (
        "You already have 2 runs queued or running, the most allowed: wait for one to finish, or cancel one."
    )
    queue_run(tiny_graph.head, bob)  # the limit is per user
    cancel_run(second, alice)
    queue_run(tiny_graph.head, alice)  # a cancelled run no longer counts


def refusal_after(version, user) -> RunRefused:
    before = Run.objects.count()
    with pytest.raises(RunRefused) as refused:
        queue_run(version, user)
    assert Run.objects.count() == before
    return refused.value


def test_only_someone_who_sees_the_graph_may_queue(private_graph, charlie):
    with pytest.raises(Http404):
        queue_run(private_graph.head, charlie)


def test_cancel_is_immediate_when_queued_and_a_request_when_running(make_run, alice):
    queued = make_run()
    cancel_run(queued, alice)
    queued.refresh_from_db()
    assert queued.status == Status.CANCELLED and queued.finished_at is not None
    running = make_run(Status.RUNNING, worker="w:1")
    cancel_run(running, alice)
    running.refresh_from_db()
    assert running.status == Status.RUNNING and running.cancel_requested
    finished = make_run(Status.SUCCEEDED)
    assert cancel_run(finished, alice).status == Status.SUCCEEDED


def test_only_the_author_or_a_graph_admin_may_cancel(make_run, bob, charlie):
    run = make_run()
    with pytest.raises(PermissionDenied):
        cancel_run(run, bob)  # a viewer of the graph
    with pytest.raises(Http404):
        cancel_run(run, charlie)
    assert Run.objects.get(pk=run.pk).status == Status.QUEUED


@pytest.mark.django_db(transaction=True)
def test_the_embedded_worker_runs_what_the_api_queues_end_to_end(alice_api, tiny_graph, embedded):
    response = alice_api.post(
        "/api/runs/", {"graph": tiny_graph.pk, "version": 1, "config": {"steps": 4, "batch_size": 4}}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert embedded.wait_idle(60)
    run = Run.objects.get(pk=response.json()["id"])
    assert run.status == Status.SUCCEEDED and run.queue == "embedded" and run.metrics["steps"] == 4
    # It shares the cores with the web server of its process: half of them.
    assert run.metrics["cpu_threads"] == workers.threads_per_run(concurrency=2)
    messages = [event.message() for event in RunEvent.objects.filter(run=run).order_by("seq")]
    assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))
    assert [m.get("status") for m in messages if m["type"] == "status"] == ["queued", "running", "succeeded"]
    kinds = [m["type"] for m in messages]
    assert kinds[0:2] == ["status", "status"] and kinds[-2:] == ["done", "status"]
    assert {"progress"} == set(kinds[2:-2])
    detail = alice_api.get(f"/api/runs/{run.pk}/").json()
    assert detail["status"] == "succeeded" and detail["progress"] == {
        "step": 4,
        "total": 4,
        "loss": messages[-3]["loss"],
    }


@pytest.mark.django_db(transaction=True)
def test_the_embedded_worker_fails_the_runs_of_a_previous_server_when_it_starts(
    make_run, tiny_graph, alice, embedded, monkeypatch, settings
):
    from datetime import timedelta

    from django.utils import timezone

    settings.TORCHCANVAS_RUNS["max_concurrent"] = 3
    before = timezone.now() - timedelta(minutes=5)
    orphan = make_run(Status.RUNNING, worker="old:1", queued_at=before, heartbeat_at=timezone.now())
    waiting = make_run(queued_at=before)
    monkeypatch.setattr(dispatch, "PROCESS_STARTED", timezone.now())
    embedded.stop()
    run = queue_run(tiny_graph.head, alice, {"steps": 1})  # starts the worker thread
    assert embedded.wait_idle(60)
    orphan.refresh_from_db()
    waiting.refresh_from_db()
    assert orphan.status == waiting.status == Status.FAILED
    assert orphan.error.startswith("The server stopped before this run finished")
    assert waiting.error.startswith("The server stopped before this run started")
    assert Run.objects.get(pk=run.pk).status == Status.SUCCEEDED
