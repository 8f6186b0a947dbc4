"""No run stays queued or running forever.

:func:`sweep` runs every minute (Celery beat's ``sweep-runs``, the embedded worker between runs, or
``manage.py sweep_runs`` from cron):

- a **running** run whose heartbeat is older than ``TORCHCANVAS_RUN_HEARTBEAT_TIMEOUT`` lost its worker
  (killed, out of memory, power): it is queued again while attempts remain (Celery mode), and the next
  worker continues from its last checkpoint; otherwise a run with a checkpoint is paused there (resume it
  by hand) and one without fails with a sentence saying so; a cancel request pending on it completes instead;
- a **queued** run whose message may have been lost (Redis restarted) is sent again after
  ``TORCHCANVAS_RUN_RESEND_AFTER`` (a duplicate is harmless: a run executes once), and fails once it has
  waited ``TORCHCANVAS_RUN_QUEUE_TIMEOUT`` without a worker starting it;
- an **export build** (``graphs.artifacts``) silent for ``TORCHCANVAS_EXPORT_STALE_AFTER`` lost its worker,
  or its message: it fails with a sentence, and asking for the export again builds it again.

:func:`fail_orphaned_embedded_runs` handles what the embedded mode leaves behind when its server
stops: its worker thread died with the process, so its unfinished runs fail when a server starts (or pause,
when they have a checkpoint to resume from).

Every change is a guarded transition that still requires what the sweep saw (a silent heartbeat), so a
worker that comes back to life at the same moment wins or loses cleanly.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from graphs.artifacts import fail_silent_builds
from training.events import publish_event
from training.models import ACTIVE, Run, Status

logger = logging.getLogger("torchcanvas.training")

EMBEDDED = "embedded"


@dataclass
class SweepReport:
    failed: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    paused: list[int] = field(default_factory=list)  # lost their worker; resumable from their checkpoint
    exports_failed: list[int] = field(default_factory=list)  # export artifacts, not runs

    def as_dict(self) -> dict[str, list[int]]:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"{len(self.failed)} failed, {len(self.requeued)} re-queued, {len(self.resent)} re-sent, "
            f"{len(self.cancelled)} cancelled, {len(self.paused)} paused, "
            f"{len(self.exports_failed)} export builds failed"
        )


def _minutes(seconds: int) -> str:
    return f"{seconds // 60} minutes" if seconds >= 120 else f"{seconds} s"


def sweep(now: datetime | None = None) -> SweepReport:
    """One pass over the runs that are not finished; returns what it changed."""
    options = settings.TORCHCANVAS_RUNS
    now = now or timezone.now()
    report = SweepReport()
    stale_before = now - timedelta(seconds=options["heartbeat_timeout_s"])
    for run in Run.objects.filter(status=Status.RUNNING, heartbeat_at__lt=stale_before).select_related("version"):
        _lost_worker(run, stale_before, now, report)
    for run in Run.objects.filter(status=Status.QUEUED).select_related("version"):
        _waiting(run, now, report)
    report.exports_failed = fail_silent_builds(now)
    if any(report.as_dict().values()):
        logger.info("Swept runs: %s", report)
    return report


def _fail(
    run: Run, message: str, report: SweepReport, *, source=Status.RUNNING, where: Q | None = None, pausable=True
) -> None:
    if pausable and source == Status.RUNNING and run.checkpoint:
        _pause(run, message, report, where)
    elif run.transition(source, Status.FAILED, where=where, error=message):
        publish_event(run, "error", {"message": message})
        publish_event(run, "status", {"status": Status.FAILED})
        report.failed.append(run.pk)


def _pause(run: Run, why: str, report: SweepReport, where: Q | None) -> None:
    """A run that lost its worker for good but has a checkpoint: paused there, for its user to resume."""
    note = f"{why} It paused at its last checkpoint (step {run.checkpoint_step}): resume it to continue from there."
    if run.transition(Status.RUNNING, Status.PAUSED, where=where, worker="", error=note):
        publish_event(run, "status", {"status": Status.PAUSED, "step": run.checkpoint_step})
        report.paused.append(run.pk)


def _lost_worker(run: Run, stale_before: datetime, now: datetime, report: SweepReport) -> None:
    options = settings.TORCHCANVAS_RUNS
    silent = Q(heartbeat_at__lt=stale_before)
    timeout = options["heartbeat_timeout_s"]
    if run.cancel_requested:
        if run.transition(Status.RUNNING, Status.CANCELLED, where=silent):
            publish_event(run, "status", {"status": Status.CANCELLED})
            report.cancelled.append(run.pk)
        return
    time_limit = int(run.config.get("time_limit_s") or options["time_limit_s"])
    hard_limit = time_limit + settings.RUN_HARD_TIME_LIMIT_MARGIN_S
    past_hard_limit = run.started_at is not None and run.started_at + timedelta(seconds=hard_limit) < now
    if past_hard_limit:
        message = f"The run went past its time limit ({time_limit} s) and its worker was stopped."
        _fail(run, message, report, where=silent, pausable=False)
        return
    if run.queue == EMBEDDED:
        message = "The server stopped before this run finished: embedded runs execute inside the web server."
    elif settings.TORCHCANVAS_RUN_MODE == "celery" and run.attempts < options["max_attempts"]:
        from training.dispatch import send

        requeued = run.transition(
            Status.RUNNING, Status.QUEUED, where=silent, worker="", heartbeat_at=None, queued_at=now, dispatched_at=None
        )
        if requeued:
            publish_event(run, "status", {"status": Status.QUEUED})
            send(run)
            report.requeued.append(run.pk)
        return
    else:
        message = (
            f"The worker running this run stopped responding (no heartbeat for over {timeout} s): it was probably "
            "killed or lost its connection."
        )
        if run.attempts > 1:
            message += f" This was attempt {run.attempts}; giving up."
    _fail(run, message, report, where=silent)


def _waiting(run: Run, now: datetime, report: SweepReport) -> None:
    options = settings.TORCHCANVAS_RUNS
    waited = now - run.queued_at
    still_waiting = Q(queued_at=run.queued_at)
    if run.queue == EMBEDDED and settings.TORCHCANVAS_RUN_MODE != EMBEDDED:
        _fail(
            run,
            "This run was queued for the embedded worker, and this server now sends runs to Celery workers: queue it again.",
            report,
            source=Status.QUEUED,
            where=still_waiting,
        )
    elif waited > timedelta(seconds=options["queue_timeout_s"]):
        waited_for = _minutes(options["queue_timeout_s"])
        if run.queue == EMBEDDED:
            message = f"The server did not start this run within {waited_for}."
        else:
            message = (
                f"No worker started this run within {waited_for}: is a {run.queue} worker running "
                f"(celery -A torchcanvas_site worker -Q {run.queue})?"
            )
        _fail(run, message, report, source=Status.QUEUED, where=still_waiting)
    elif run.queue != EMBEDDED and settings.TORCHCANVAS_RUN_MODE == "celery":
        resend_before = now - timedelta(seconds=options["resend_after_s"])
        if run.dispatched_at is None or run.dispatched_at < resend_before:
            from training.dispatch import send

            if send(run):
                report.resent.append(run.pk)


def fail_orphaned_embedded_runs(before: datetime) -> list[int]:
    """Fail the embedded runs queued before ``before`` that never finished: the server process that was
    to execute them is gone (it restarted, or crashed). Call it when a server starts."""
    report = SweepReport()
    orphans = Run.objects.filter(queue=EMBEDDED, status__in=ACTIVE, queued_at__lt=before).select_related("version")
    for run in orphans:
        started = run.status == Status.RUNNING
        message = (
            f"The server stopped before this run {'finished' if started else 'started'}: embedded runs execute "
            "inside the web server, and end with it."
        )
        if not (started and run.checkpoint):
            message += " Queue it again."
        _fail(run, message, report, source=run.status, where=Q(queued_at__lt=before))
    return report.failed
