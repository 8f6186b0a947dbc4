"""The task: one execution per run whatever the deliveries, exactly one terminal state, the events in order."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone
from run_helpers import document
from smoke_fixtures import TINY

from graphs.models import GraphVersion
from training import runner, tasks
from training.dispatch import cancel_run
from training.models import Run, RunEvent, Status

pytestmark = pytest.mark.django_db


def kinds(run) -> list[tuple[str, str | None]]:
    """(kind, status) of each event, in order; progress events collapse to one entry."""
    result = []
    for event in RunEvent.objects.filter(run=run).order_by("seq"):
        item = (event.kind, event.payload.get("status"))
        if not (item == ("progress", None) and result and result[-1] == item):
            result.append(item)
    return result


def test_a_queued_run_executes_and_records_where_and_how(make_run):
    run = make_run()
    assert tasks.execute(run.pk) == "succeeded"
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED and run.attempts == 1 and run.error == ""
    assert run.worker == tasks.worker_name() and run.device == "cpu" and run.torch_version
    assert run.params_total == 25 and run.started_at <= run.finished_at
    assert run.metrics["steps"] == 3 and run.metrics["peak_memory_bytes"] > 0
    assert kinds(run) == [("status", "running"), ("progress", None), ("done", None), ("status", "succeeded")]
    done = RunEvent.objects.get(run=run, kind="done")
    assert done.message() == {"type": "done", "seq": done.seq, "metrics": run.metrics}
    seqs = list(RunEvent.objects.filter(run=run).values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


def test_a_second_delivery_of_the_same_message_does_nothing(make_run):
    run = make_run()
    assert tasks.execute(run.pk) == "succeeded"
    events = RunEvent.objects.filter(run=run).count()
    assert tasks.execute(run.pk) == "skipped"
    run.refresh_from_db()
    assert run.attempts == 1 and RunEvent.objects.filter(run=run).count() == events


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_at_the_same_moment_execute_once(make_run):
    run = make_run()
    results = []
    barrier = threading.Barrier(2)

    def deliver():
        barrier.wait()
        try:
            results.append(tasks.execute(run.pk))
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == ["skipped", "succeeded"]
    run.refresh_from_db()
    assert run.attempts == 1 and RunEvent.objects.filter(run=run, kind="done").count() == 1


def test_a_run_cancelled_while_queued_never_starts(make_run, alice):
    run = make_run()
    cancel_run(run, alice)
    assert tasks.execute(run.pk) == "skipped"
    run.refresh_from_db()
    assert run.status == Status.CANCELLED and run.started_at is None
    assert kinds(run) == [("status", "cancelled")]


def test_a_cancel_request_stops_a_running_run_after_its_step(make_run, alice, monkeypatch):
    run = make_run(config={"steps": 50})
    original = tasks._Execution.progress

    def progress_then_cancel(self, progress):
        original(self, progress)
        if progress.step == 1:
            cancel_run(Run.objects.get(pk=run.pk), alice)

    monkeypatch.setattr(tasks._Execution, "progress", progress_then_cancel)
    monkeypatch.setattr(tasks, "CANCEL_CHECK_INTERVAL_S", 0)
    assert tasks.execute(run.pk) == "cancelled"
    run.refresh_from_db()
    assert run.status == Status.CANCELLED and run.finished_at is not None
    assert kinds(run) == [("status", "running"), ("progress", None), ("status", "cancelled")]
    assert RunEvent.objects.filter(run=run, kind="progress").count() < 50


def test_a_version_that_no_longer_validates_fails_clearly(make_run, tiny_graph, alice):
    broken = document(TINY)
    broken["edges"].append(["fc", "inp"])  # a cycle
    version = GraphVersion.objects.create(graph=tiny_graph, number=2, document=broken, content_hash="x", author=alice)
    run = make_run(version=version)
    assert tasks.execute(run.pk) == "failed"
    run.refresh_from_db()
    assert run.status == Status.FAILED and run.error.startswith("graph no longer validates: ")
    assert kinds(run) == [("status", "running"), ("error", None), ("status", "failed")]
    assert RunEvent.objects.get(run=run, kind="error").payload == {"message": run.error}


def test_the_caps_are_checked_again_on_the_worker(make_run, settings):
    run = make_run(config={"steps": 30})
    settings.TORCHCANVAS_RUNS["max_steps"] = 10
    assert tasks.execute(run.pk) == "failed"
    run.refresh_from_db()
    assert run.error == "steps must be between 1 and 10 (got 30)."


def test_an_internal_error_still_ends_the_run(make_run, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("gone")

    monkeypatch.setattr(runner, "train", broken)
    run = make_run()
    assert tasks.execute(run.pk) == "failed"
    run.refresh_from_db()
    assert run.error == "The worker hit an internal error (KeyError: 'gone'); see its log."


def test_the_soft_time_limit_fails_the_run(make_run, monkeypatch):
    def too_slow(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(runner, "train", too_slow)
    run = make_run(config={"time_limit_s": 60})
    assert tasks.execute(run.pk) == "failed"
    run.refresh_from_db()
    assert run.error == "The worker stopped this run at its time limit (60 s, plus a margin)."


def test_a_run_whose_worker_went_silent_is_taken_over_by_a_new_delivery(make_run):
    silent_since = timezone.now() - timedelta(minutes=10)
    run = make_run(
        Status.RUNNING, worker="elsewhere:123", attempts=1, heartbeat_at=silent_since, started_at=silent_since
    )
    assert tasks.execute(run.pk) == "succeeded"
    run.refresh_from_db()
    assert run.attempts == 2 and run.worker == tasks.worker_name()


def test_a_run_with_a_live_worker_is_left_to_it(make_run):
    run = make_run(Status.RUNNING, worker="elsewhere:123", attempts=1, heartbeat_at=timezone.now())
    assert tasks.execute(run.pk) == "skipped"
    run.refresh_from_db()
    assert run.worker == "elsewhere:123" and run.attempts == 1


def test_a_run_whose_worker_process_on_this_host_is_gone_is_taken_over_at_once(make_run):
    import socket
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = f"{socket.gethostname()}:{child.stdout.strip()}"  # a process that has exited
    run = make_run(Status.RUNNING, worker=dead, attempts=1, heartbeat_at=timezone.now())
    assert tasks.execute(run.pk) == "succeeded"


def test_a_run_interrupted_too_often_gives_up(make_run, settings):
    settings.TORCHCANVAS_RUNS["max_attempts"] = 2
    silent_since = timezone.now() - timedelta(minutes=10)
    run = make_run(Status.RUNNING, worker="elsewhere:1", attempts=2, heartbeat_at=silent_since)
    assert tasks.execute(run.pk) == "failed"
    run.refresh_from_db()
    assert run.error == "This run was interrupted 2 times (its worker was lost each time); giving up."


def test_a_missing_run_is_nothing_to_do():
    assert tasks.execute(999_999) == "missing"


def test_terminal_transitions_happen_once(make_run):
    run = make_run(Status.RUNNING, worker="w:1", heartbeat_at=timezone.now())
    assert run.transition(Status.RUNNING, Status.FAILED, error="first")
    assert not Run.objects.get(pk=run.pk).transition(Status.RUNNING, Status.SUCCEEDED)
    assert Run.objects.get(pk=run.pk).status == Status.FAILED


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_stamps_the_run_while_it_trains(make_run):
    old = timezone.now() - timedelta(minutes=5)
    run = make_run(Status.RUNNING, worker="me:1", heartbeat_at=old)
    with tasks.Heartbeat(run.pk, "me:1", 0.05):
        time.sleep(0.4)
    run.refresh_from_db()
    assert run.heartbeat_at > old
    # A heartbeat only stamps a run that is still running under this worker.
    Run.objects.filter(pk=run.pk).update(worker="other:2", heartbeat_at=old)
    with tasks.Heartbeat(run.pk, "me:1", 0.05):
        time.sleep(0.2)
    run.refresh_from_db()
    assert run.heartbeat_at == old


def test_the_worker_names_the_run_code_after_the_graph(make_run, monkeypatch):
    seen = {}

    def record(*args, **kwargs):
        seen.update(kwargs)
        raise KeyError("stop here")

    monkeypatch.setattr(runner, "train", record)
    run = make_run()
    tasks.execute(run.pk)
    assert seen["title"] == run.version.graph.name
