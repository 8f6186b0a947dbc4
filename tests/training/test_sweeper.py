"""The sweeper: no run stays running or queued forever, and it never touches a run that is alive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from graphs.models import ExportArtifact
from torchcanvas_site.celery import app
from training.models import RunEvent, Status
from training.sweeper import fail_orphaned_embedded_runs, sweep
from training.tasks import execute_run

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(minutes=10)


@pytest.fixture
def celery_mode(settings, monkeypatch):
    settings.TORCHCANVAS_RUN_MODE = "celery"
    sent = []
    monkeypatch.setattr(execute_run, "apply_async", lambda **kwargs: sent.append(kwargs))
    return sent


def silent_run(make_run, **fields):
    then = timezone.now() - LONG_AGO
    values = {"worker": "gone:1", "attempts": 1, "heartbeat_at": then, "started_at": then, "queue": "cpu", **fields}
    return make_run(Status.RUNNING, **values)


def statuses(run) -> list[str]:
    return [e.payload["status"] for e in RunEvent.objects.filter(run=run, kind="status").order_by("seq")]


def test_a_run_whose_worker_vanished_is_queued_again_once(make_run, celery_mode):
    run = silent_run(make_run)
    report = sweep()
    run.refresh_from_db()
    assert report.requeued == [run.pk] and run.status == Status.QUEUED and run.worker == ""
    assert celery_mode[0]["args"] == [run.pk] and celery_mode[0]["queue"] == "cpu"
    assert statuses(run) == ["queued"]


def test_a_run_that_lost_its_worker_twice_fails_clearly(make_run, celery_mode):
    run = silent_run(make_run, attempts=2)
    assert sweep().failed == [run.pk]
    run.refresh_from_db()
    assert run.status == Status.FAILED and celery_mode == []
    assert run.error == (
        "The worker running this run stopped responding (no heartbeat for over 90 s): it was probably killed or "
        "lost its connection. This was attempt 2; giving up."
    )
    assert [e.kind for e in RunEvent.objects.filter(run=run)] == ["error", "status"]


def test_a_run_past_its_hard_time_limit_is_not_retried(make_run, celery_mode):
    started = timezone.now() - timedelta(hours=2)
    run = silent_run(make_run, started_at=started, config={"time_limit_s": 600})
    sweep()
    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert run.error == "The run went past its time limit (600 s) and its worker was stopped."


def test_a_silent_embedded_run_fails(make_run):
    run = silent_run(make_run, queue="embedded")
    sweep()
    run.refresh_from_db()
    assert run.status == Status.FAILED and run.error.startswith("The server stopped before this run finished")


def test_a_run_with_a_checkpoint_that_cannot_be_retried_pauses_there(make_run, celery_mode):
    run = silent_run(make_run, attempts=2, checkpoint="runs/1/step-0000040.pt", checkpoint_step=40)
    assert sweep().paused == [run.pk]
    run.refresh_from_db()
    assert run.status == Status.PAUSED and run.worker == "" and celery_mode == []
    assert run.error.endswith("It paused at its last checkpoint (step 40): resume it to continue from there.")
    assert [e.payload for e in RunEvent.objects.filter(run=run)] == [{"status": "paused", "step": 40}]


def test_an_embedded_run_with_a_checkpoint_pauses_when_a_server_starts(make_run):
    before = timezone.now() - LONG_AGO
    run = make_run(Status.RUNNING, queued_at=before, checkpoint="runs/1/step-0000015.pt", checkpoint_step=15)
    assert fail_orphaned_embedded_runs(timezone.now()) == []
    run.refresh_from_db()
    assert run.status == Status.PAUSED and run.error == (
        "The server stopped before this run finished: embedded runs execute inside the web server, and end with "
        "it. It paused at its last checkpoint (step 15): resume it to continue from there."
    )


def test_a_pending_cancel_completes_when_the_worker_is_gone(make_run, celery_mode):
    run = silent_run(make_run, cancel_requested=True)
    assert sweep().cancelled == [run.pk]
    run.refresh_from_db()
    assert run.status == Status.CANCELLED and statuses(run) == ["cancelled"]


def test_a_run_with_a_recent_heartbeat_is_left_alone(make_run, celery_mode):
    run = make_run(Status.RUNNING, worker="alive:1", heartbeat_at=timezone.now(), queue="cpu")
    assert not any(sweep().as_dict().values())
    run.refresh_from_db()
    assert run.status == Status.RUNNING


def test_a_queued_run_whose_message_may_be_lost_is_sent_again(make_run, celery_mode):
    stale = make_run(queue="gpu", dispatched_at=timezone.now() - LONG_AGO)
    never_sent = make_run(queue="cpu")
    fresh_time = timezone.now()
    report = sweep()
    assert sorted(report.resent) == sorted([stale.pk, never_sent.pk])
    assert sorted(m["queue"] for m in celery_mode) == ["cpu", "gpu"]
    stale.refresh_from_db()
    assert stale.status == Status.QUEUED and stale.dispatched_at >= fresh_time
    assert sweep().resent == []  # just sent: not again until TORCHCANVAS_RUN_RESEND_AFTER


def test_a_run_nobody_starts_fails_after_the_queue_timeout(make_run, celery_mode):
    run = make_run(queue="gpu", queued_at=timezone.now() - timedelta(hours=2), dispatched_at=timezone.now())
    assert sweep().failed == [run.pk]
    run.refresh_from_db()
    assert run.error == (
        "No worker started this run within 60 minutes: is a gpu worker running "
        "(celery -A torchcanvas_site worker -Q gpu)?"
    )


def test_an_embedded_run_left_over_after_switching_to_celery_fails(make_run, celery_mode):
    run = make_run(queue="embedded")
    sweep()
    run.refresh_from_db()
    assert run.status == Status.FAILED and "queue it again" in run.error


def test_orphaned_embedded_runs_fail_when_a_server_starts(make_run):
    before = timezone.now() - LONG_AGO
    orphan = make_run(Status.RUNNING, worker="old:1", heartbeat_at=timezone.now(), queued_at=before)
    celery_run = make_run(queue="cpu", queued_at=before)
    new = make_run()
    assert fail_orphaned_embedded_runs(timezone.now() - timedelta(minutes=1)) == [orphan.pk]
    celery_run.refresh_from_db()
    new.refresh_from_db()
    assert celery_run.status == new.status == Status.QUEUED


def test_the_command_sweeps_and_at_server_start_fails_the_orphans(make_run, capsys):
    run = make_run(Status.RUNNING, worker="old:1", heartbeat_at=timezone.now())
    call_command("sweep_runs")
    assert (
        capsys.readouterr().out
        == "Swept runs: 0 failed, 0 re-queued, 0 re-sent, 0 cancelled, 0 paused, 0 export builds failed.\n"
    )
    build = ExportArtifact.objects.create(version=run.version, format="onnx", opset=18, status="building")
    call_command("sweep_runs", "--server-start")
    out = capsys.readouterr().out
    assert out.startswith("Failed 1 embedded run(s) left by a previous server.\n")
    assert "Failed 1 export build(s) left by a previous server.\n" in out
    run.refresh_from_db()
    build.refresh_from_db()
    assert run.status == build.status == Status.FAILED
    assert build.error == "The server stopped before this export was built: ask for it again."


def test_celery_beat_sweeps_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-runs"]
    assert entry["task"] == "training.tasks.sweep_runs" and entry["schedule"] <= 60
    app.loader.import_default_modules()
    assert {"training.tasks.sweep_runs", "training.tasks.execute_run"} <= set(app.tasks)
