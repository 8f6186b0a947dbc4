"""The training app's Celery tasks, and what they do: one function per task, the same in both modes.

``execute_run(run_id)`` is sent by :mod:`training.dispatch` to a Celery worker (queue ``gpu`` or ``cpu``),
or called by the embedded worker thread in the web process: the same function either way. It claims
the run (a guarded transition: a message delivered twice executes once), keeps a heartbeat while it
trains, checks the config against the caps again, hands the document to :func:`training.runner.train`
and ends the run in exactly one terminal state (or ``paused``), publishing the events the WebSocket relays.
A run on a dataset loads it here; a run with a checkpoint (paused, or its worker was lost) resumes from it,
on whichever worker took it; checkpoints and, when the run pauses or ends, its weights go to
``storages["checkpoints"]`` (:mod:`training.checkpoints`).

``sweep_runs()`` (every minute, from Celery beat) is :func:`training.sweeper.sweep`.

``build_artifact(artifact_id)`` builds a heavy export of a version (:func:`graphs.artifacts.build`),
sent by :func:`training.dispatch.send_export`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from codegen.checkpoint import Checkpoint
from graphs.services import engine_limits
from training import checkpoints, runner
from training.config import Caps, ConfigError, RunConfig, parse_config
from training.events import publish_event
from training.models import Run, Status

logger = logging.getLogger("torchcanvas.training")

# How often a running run looks at its row for a cancel request (a query, so not at every step).
CANCEL_CHECK_INTERVAL_S = 0.5


@shared_task(name="training.tasks.execute_run", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def execute_run(run_id: int) -> str:
    """Execute run ``run_id`` once; returns what happened (``succeeded``, ``failed``, ``skipped``, …)."""
    return execute(run_id)


@shared_task(name="training.tasks.build_artifact", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def build_artifact(artifact_id: int) -> str:
    """Build export artifact ``artifact_id`` once; returns what happened (``ready``, ``failed``, ``skipped``)."""
    from graphs.artifacts import build

    return build(artifact_id, worker=worker_name(), timeouts=(SoftTimeLimitExceeded,))


@shared_task(name="training.tasks.sweep_runs", ignore_result=True)
def sweep_runs() -> dict[str, list[int]]:
    """Fail, re-queue or re-send runs whose worker vanished or whose message was lost."""
    from training.sweeper import sweep

    return sweep().as_dict()


def caps() -> Caps:
    return Caps.from_settings(settings.TORCHCANVAS_RUNS)


def worker_name(suffix: str = "") -> str:
    """``host:pid``: where a run executes."""
    return f"{socket.gethostname()}:{os.getpid()}{suffix}"


def is_gone(worker: str) -> bool:
    """True when ``worker`` names another process of this host that no longer exists."""
    host, _, rest = worker.partition(":")
    pid = rest.split(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class Heartbeat:
    """A thread that stamps ``heartbeat_at`` every ``interval`` seconds while a run trains, whatever a
    single step costs. The sweeper treats a running run without a recent stamp as lost."""

    def __init__(self, run_id: int, worker: str, interval: float):
        self.run_id = run_id
        self.worker = worker
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-run-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    Run.objects.filter(pk=self.run_id, status=Status.RUNNING, worker=self.worker).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:
                    logger.warning("Heartbeat of run %s failed", self.run_id, exc_info=True)
        finally:
            connection.close()  # this thread's own connection


class _Execution:
    """One attempt at one run, by this worker: the callbacks the runner calls, and how attempts end."""

    def __init__(self, run: Run, worker: str):
        self.run = run
        self.worker = worker
        self.mine = Q(worker=worker)  # every write below applies only while the run is still ours
        self._checked_at = -1.0
        self._action: str | None = None

    def started(self, info: runner.Started) -> None:
        fields = {
            "device": info.device[:100],
            "torch_version": info.torch_version[:40],
            "params_total": info.params_total,
        }
        Run.objects.filter(self.mine, pk=self.run.pk, status=Status.RUNNING).update(**fields)
        for name, value in fields.items():
            setattr(self.run, name, value)

    def progress(self, progress: runner.Progress) -> None:
        publish_event(self.run, "progress", progress.payload())

    def epoch(self, result) -> None:
        publish_event(self.run, "epoch", result.payload())

    def checkpoint(self, saved: Checkpoint) -> None:
        if not checkpoints.wanted(self.run, saved.reason):
            return
        if checkpoints.store(self.run, saved, self.mine):
            publish_event(self.run, "checkpoint", {"step": saved.step, "epoch": saved.epoch})

    def control(self) -> str | None:
        """``cancel`` on a cancel request or when the run is no longer ours (the sweeper gave it up, another
        worker took it); ``pause`` or ``stop`` when the user asked; None: go on."""
        now = time.monotonic()
        if now - self._checked_at >= CANCEL_CHECK_INTERVAL_S:
            self._checked_at = now
            fields = ("status", "worker", "cancel_requested", "pause_requested", "stop_requested")
            current = Run.objects.filter(pk=self.run.pk).values(*fields).first()
            if (
                current is None
                or current["cancel_requested"]
                or current["status"] != Status.RUNNING
                or current["worker"] != self.worker
            ):
                self._action = "cancel"
            elif current["stop_requested"]:
                self._action = "stop"
            elif current["pause_requested"]:
                self._action = "pause"
        return self._action

    def succeed(self, metrics: dict[str, Any]) -> str:
        done = {"metrics": metrics, "error": "", "stop_requested": False, "pause_requested": False}
        if not self.run.transition(Status.RUNNING, Status.SUCCEEDED, where=self.mine, **done):
            return self.lost()
        publish_event(self.run, "done", {"metrics": metrics})
        publish_event(self.run, "status", {"status": Status.SUCCEEDED})
        return Status.SUCCEEDED

    def fail(self, message: str) -> str:
        if not self.run.transition(Status.RUNNING, Status.FAILED, where=self.mine, error=message):
            return self.lost()
        publish_event(self.run, "error", {"message": message})
        publish_event(self.run, "status", {"status": Status.FAILED})
        return Status.FAILED

    def pause(self, step: int) -> str:
        if not self.run.transition(Status.RUNNING, Status.PAUSED, where=self.mine, pause_requested=False, worker=""):
            return self.lost()
        publish_event(self.run, "status", {"status": Status.PAUSED, "step": step})
        return Status.PAUSED

    def cancel(self) -> str:
        if not self.run.transition(Status.RUNNING, Status.CANCELLED, where=self.mine & Q(cancel_requested=True)):
            return self.lost()
        publish_event(self.run, "status", {"status": Status.CANCELLED})
        return Status.CANCELLED

    def lost(self) -> str:
        self.run.refresh_from_db()
        logger.warning(
            "Run %s is %s and no longer ours (%s); leaving it as it is", self.run.pk, self.run.status, self.worker
        )
        return "lost"


def execute(run_id: int) -> str:
    """Claim run ``run_id`` and train it; the plain function behind :func:`execute_run`.

    Database connections are the caller's: Celery's Django fix-up refreshes them around each task, the
    embedded worker closes its own after each run.
    """
    options = settings.TORCHCANVAS_RUNS
    worker = worker_name()
    run = Run.objects.select_related("version__graph", "user").filter(pk=run_id).first()
    if run is None:
        logger.warning("Run %s does not exist (deleted?); nothing to execute", run_id)
        return "missing"
    stale_before = timezone.now() - timedelta(seconds=options["heartbeat_timeout_s"])
    lost_worker = run.worker if run.status == Status.RUNNING and run.worker and is_gone(run.worker) else None
    if not run.claim(worker, stale_before=stale_before, lost_worker=lost_worker):
        logger.info("Run %s is %s: this delivery has nothing to do", run_id, run.status)
        return "skipped"
    execution = _Execution(run, worker)
    if run.attempts > options["max_attempts"]:
        return execution.fail(
            f"This run was interrupted {run.attempts - 1} times (its worker was lost each time); giving up."
        )
    if run.cancel_requested:
        return execution.cancel()
    publish_event(run, "status", {"status": Status.RUNNING})
    try:
        with Heartbeat(run.pk, worker, options["heartbeat_interval_s"]):
            return _train(run, execution, options)
    except Exception as exc:  # a bug or a lost database: the run must still end
        logger.exception("Run %s: internal error", run.pk)
        return execution.fail(f"The worker hit an internal error ({runner.describe_exception(exc)}); see its log.")


def _train(run: Run, execution: _Execution, options: dict[str, Any]) -> str:
    limits = caps()
    try:
        config = parse_config(run.config, limits)  # the caps may have changed since it was queued
        metrics = runner.train(
            run.document(),
            config,
            caps=limits,
            limits=engine_limits(),
            on_start=execution.started,
            on_progress=execution.progress,
            on_epoch=execution.epoch,
            on_checkpoint=execution.checkpoint,
            control=execution.control,
            data=_dataset(run, config),
            resume=checkpoints.resume_point(run),
            initial_weights=_initial_weights(config),
            checkpoint_interval_s=options["checkpoint_interval_s"],
            cuda=runner.CudaBackend(memory_fraction=options["gpu_memory_fraction"]),
            passthrough=(SoftTimeLimitExceeded,),
            title=run.version.graph.name,  # the class is named after the graph, as in the downloads
        )
    except (ConfigError, runner.RunFailed) as exc:
        return execution.fail(exc.message)
    except runner.RunPaused as paused:
        return execution.pause(paused.steps)
    except runner.RunCancelled:
        run.refresh_from_db()
        return execution.cancel() if run.cancel_requested else execution.lost()
    except SoftTimeLimitExceeded:
        return execution.fail(
            f"The worker stopped this run at its time limit ({run.config.get('time_limit_s', '?')} s, plus a margin)."
        )
    return execution.succeed(metrics)


def _dataset(run: Run, config: RunConfig):
    """The run's dataset, loaded and split (None for a smoke run)."""
    if config.dataset is None:
        return None
    dataset = run.dataset
    if dataset is None or dataset.pk != config.dataset:
        raise runner.RunFailed("The dataset this run trains on was deleted.")
    from training.datasets import load_arrays

    with dataset.open() as stream:
        x, y = load_arrays(stream, dataset.facts)
    return runner.array_data(x, y, dataset.facts, config)


def _initial_weights(config: RunConfig):
    """The weights of the run this one starts from (``init_from_run``), if any."""
    if config.init_from_run is None:
        return None
    source = Run.objects.filter(pk=config.init_from_run).first()
    if source is None or not source.weights:
        raise runner.RunFailed(
            f"Run {config.init_from_run}, whose weights this run starts from, has no weights any more."
        )
    return checkpoints.read_weights(source)
