"""Queueing and cancelling runs, and sending them to whatever executes them.

:func:`queue_run` checks everything before a run exists: the config and its caps, that the version
still validates, the estimated size, the user's concurrent runs. It then creates the run (``queued``,
with its first event) and, once that is committed, sends it:

- **celery** mode (``REDIS_URL`` set, or ``TORCHCANVAS_RUN_MODE=celery``): the ``execute_run`` task on the
  queue the run's device picks (``gpu`` or ``cpu``), with the run's soft and hard time limits;
- **embedded** mode (the default): the same task function, executed by :class:`EmbeddedWorker`, one
  daemon thread of this process that takes runs one at a time from an in-memory queue.

Heavy exports of a version (:mod:`graphs.artifacts`: ONNX, torch.export, TorchScript) go the same two
ways through :func:`send_export`: the ``build_artifact`` task on the export queue, or the embedded worker.

The database stays the source of truth: if sending fails (Redis away), the run stays queued and the
sweeper sends it again; a message delivered twice executes once (see :meth:`Run.claim`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from dataclasses import replace
from typing import Any

import numpy as np
from asgiref.sync import SyncToAsync
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connections, transaction
from django.http import Http404
from django.utils import timezone

from codegen import fit
from graphs.models import GraphVersion
from graphs.permissions import graph_access, visible_datasets
from graphs.services import ServiceError, clean_tags, engine_limits
from training import datasets, labels, monitor, runner, workers
from training.access import may_cancel, visible_runs
from training.config import Caps, ConfigError, RunConfig, parse_config
from training.events import publish_event
from training.models import ACTIVE, Dataset, Run, Status

logger = logging.getLogger("torchcanvas.training")

EMBEDDED = "embedded"
# When this process started: an embedded run queued before it belongs to a server that is gone.
PROCESS_STARTED = timezone.now()


class RunRefused(Exception):
    """A run that will not be queued, with one sentence saying why (HTTP 400, or 429 for too many runs)."""

    def __init__(self, message: str, status_code: int = 400):
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def caps() -> Caps:
    return Caps.from_settings(settings.TORCHCANVAS_RUNS)


def run_mode() -> str:
    return settings.TORCHCANVAS_RUN_MODE


def queue_for(device: str) -> str:
    """``embedded`` in embedded mode; else ``cpu`` or ``gpu`` from a run's device (``auto``: the setting)."""
    if run_mode() == EMBEDDED:
        return EMBEDDED
    if device == "auto":
        return settings.TORCHCANVAS_RUNS["auto_queue"]
    return "gpu" if device == "cuda" else "cpu"


def check_run(
    version: GraphVersion, config: Any, user=None, *, document: dict | None = None, broken: str | None = None
) -> RunConfig:
    """The checked config of a run of ``version`` (of ``document``, a variant of it, when given) by ``user``,
    or :class:`RunRefused` saying what stops it; ``broken`` opens the sentence when the graph has errors.

    With a dataset, the config that comes back says what the run will do: the steps of one pass over the
    training split, and the Input's sizes when the graph leaves them open."""
    limits = caps()
    try:
        parsed = parse_config(config, limits)
    except ConfigError as exc:
        raise RunRefused(exc.message) from None
    document = version.document if document is None else document
    dataset = None
    if parsed.dataset is not None:
        dataset = _dataset_for(user, parsed.dataset)
        parsed = _with_dataset(document, parsed, dataset, limits)
    if parsed.init_from_run is not None:
        _weights_run_for(user, parsed.init_from_run)
    facts = runner.inspect_graph(document, parsed.input_shapes, engine_limits())
    if facts.errors:
        more = f" (and {len(facts.errors) - 1} more)" if len(facts.errors) > 1 else ""
        broken = broken or f"Version {version.number} has errors, so it cannot run"
        raise RunRefused(f"{broken}: {facts.errors[0]}{more}.")
    problem = runner.preflight_problem(facts, parsed, limits)
    if problem is None and dataset is not None:
        # With its own loss the graph's Target takes the labels; without, its one output is trained on them.
        if facts.has_loss:
            problem = datasets.recipe_problem(facts.recipe, dataset.facts)
        else:
            problem = datasets.output_problem(facts.outputs, dataset.facts)
    if problem:
        raise RunRefused(problem)
    if parsed.device == "cuda" and run_mode() == EMBEDDED and not _has_cuda():
        raise RunRefused(
            "This server has no CUDA GPU, and runs execute on the server itself (embedded mode): "
            "choose device auto or cpu."
        )
    if run_mode() != EMBEDDED and queue_for(parsed.device) == "gpu" and workers.live_workers("gpu") == []:
        # Without a GPU worker the run would wait for TORCHCANVAS_RUN_QUEUE_TIMEOUT and hold a slot of the user's.
        raise RunRefused(
            f"No GPU worker is running (none has taken runs from the gpu queue in the last "
            f"{workers.PRESENCE_TTL_S:.0f} s), so this run would wait without starting: choose device cpu, "
            "or start a GPU worker (celery -A torchcanvas_site worker -Q gpu --concurrency 1)."
        )
    return parsed


def _dataset_for(user, dataset_id: int) -> Dataset:
    dataset = visible_datasets(user).filter(pk=dataset_id).first() if user is not None else None
    if dataset is None:
        raise RunRefused(f"Dataset {dataset_id} does not exist, or you cannot see it.")
    return dataset


def _with_dataset(document: dict, config: RunConfig, dataset: Dataset, limits: Caps) -> RunConfig:
    """``config`` fitted to ``dataset``: the graph's Input must take its samples (an Input without a shape
    takes them), its steps are one pass over the training split, and they must fit the caps."""
    facts = dataset.facts
    problem = datasets.input_shape_problem(document, facts)
    input_shapes = config.input_shapes
    if problem is not None:
        node = next(n for n in document["nodes"] if n.get("id") == problem.node) if problem.node else None
        open_input = node is not None and not (node.get("params") or {}).get("shape")
        if not open_input or problem.suggestion is None or problem.suggestion.get("param") != "shape":
            raise RunRefused(f"{problem.message} (dataset {dataset.name})")
        input_shapes = {**(input_shapes or {}), node["id"]: tuple(facts["input_shape"])}
    if config.early_stop_metric == "val_accuracy" and facts.get("task") != "classification":
        raise RunRefused("Early stopping on val_accuracy needs a classification dataset: watch val_loss or val_mae.")
    if config.early_stop_metric == "val_mae" and facts.get("task") == "classification":
        raise RunRefused("Early stopping on val_mae needs a regression dataset: watch val_loss or val_accuracy.")
    if config.early_stop_patience and not config.val_fraction:
        raise RunRefused("Early stopping watches validation metrics: give val_fraction above 0.")
    steps = fit.steps_per_epoch(_train_samples(facts, config), config.batch_size)
    if steps * config.epochs > limits.max_steps:
        raise RunRefused(
            f"One epoch of {dataset.name} is {steps} steps at batch {config.batch_size}, so {config.epochs} epochs are "
            f"{steps * config.epochs:,} steps; the limit is {limits.max_steps:,} per run: train fewer epochs or use a "
            "larger batch."
        )
    return replace(config, steps=steps, input_shapes=input_shapes, data="fixed")


def _train_samples(facts: dict[str, Any], config: RunConfig) -> int:
    """How many samples the run's seeded split leaves for training (the split the worker makes)."""
    samples = int(facts["samples"])
    if not config.val_fraction or samples < 2:
        return samples
    labels = None
    if facts.get("task") == "classification":
        labels = np.repeat(np.arange(len(facts["classes"])), [c["count"] for c in facts["classes"]])
    train, _ = datasets.split(samples, config.val_fraction, config.seed, labels)
    return len(train)


def _weights_run_for(user, run_id: int) -> Run:
    source = visible_runs(user).filter(pk=run_id).first() if user is not None else None
    if source is None:
        raise RunRefused(f"Run {run_id} does not exist, or you cannot see it.")
    if not source.weights:
        raise RunRefused(f"Run {run_id} has no trained weights to start from (it has not paused or finished).")
    return source


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def queue_run(version: GraphVersion, user, config: Any = None, *, name: Any = "", tags: Any = ()) -> Run:
    """Queue a smoke run of ``version`` for ``user`` (who must be able to see its graph), named ``name``
    (blank: the default name) and tagged ``tags``."""
    check_access(version, user)
    parsed = check_run(version, config, user)
    name, tags = clean_labels(name, tags)
    limit = caps().max_concurrent
    with transaction.atomic():
        lock_user(user)
        # Runs of sets have their own allowance (training.run_sets).
        active = Run.objects.filter(user=user, run_set=None, status__in=ACTIVE).count()
        if active >= limit:
            raise RunRefused(
                f"You already have {active} run{'s' if active != 1 else ''} queued or running, the most allowed: "
                "wait for one to finish, or cancel one.",
                status_code=429,
            )
        run = create_run(version, user, parsed, name=name, tags=tags)
    return run


def check_access(version: GraphVersion, user) -> None:
    """404 unless ``user`` is logged in and may see ``version``'s graph (then they may run it)."""
    if not getattr(user, "is_authenticated", False) or not graph_access(user, version.graph):
        raise Http404("No such graph version.")


def clean_labels(name: Any, tags: Any) -> tuple[str, list[str]]:
    try:
        return labels.clean_name(name), clean_tags(tags)
    except ServiceError as exc:
        raise RunRefused(str(exc)) from exc


def lock_user(user) -> None:
    """Within a transaction: one user's concurrent requests queue one after another here, so a count of their
    active runs stays true until the transaction ends."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk").first()


def create_run(version: GraphVersion, user, parsed: RunConfig, *, name: str, tags: list[str], **fields) -> Run:
    """Within a transaction: the checked run (``queued``, with its first event), sent once committed; ``fields``:
    its set and variant."""
    run = Run.objects.create(
        version=version,
        user=user,
        config=parsed.to_dict(),
        queue=queue_for(parsed.device),
        dataset_id=parsed.dataset,
        **fields,
    )
    labels.set_labels(run, name=name, tags=tags)
    publish_event(run, "status", {"status": Status.QUEUED})
    transaction.on_commit(lambda: send(run))
    return run


def cancel_run(run: Run, user) -> Run:
    """Cancel ``run``: at once while queued; a running run stops after its current step. A finished run
    is left as it is (check ``run.terminal`` for that)."""
    _controlled(user, run, "cancel")
    if run.transition((Status.QUEUED, Status.PAUSED), Status.CANCELLED, cancel_requested=True):
        publish_event(run, "status", {"status": Status.CANCELLED})
    elif Run.objects.filter(pk=run.pk, status=Status.RUNNING).update(cancel_requested=True):
        run.cancel_requested = True
    else:
        run.refresh_from_db()
    return run


def _controlled(user, run: Run, verb: str) -> None:
    """404 for who may not see ``run``; 403 for who may see it but not ``verb`` it (cancel, pause, …)."""
    if not graph_access(user, run.version.graph):
        raise Http404("No such run.")
    if not may_cancel(user, run):
        raise PermissionDenied(f"Only the person who queued this run, or an admin of its graph, can {verb} it.")


def pause_run(run: Run, user) -> Run:
    """Ask ``run``'s worker to pause it after its current step: it saves a checkpoint and turns ``paused``."""
    _controlled(user, run, "pause")
    if not Run.objects.filter(pk=run.pk, status=Status.RUNNING).update(pause_requested=True):
        run.refresh_from_db()
        raise RunRefused(f"Run {run.pk} is {run.status}: only a running run can pause.", status_code=409)
    run.refresh_from_db()
    return run


def resume_run(run: Run, user, *, stop: bool = False) -> Run:
    """Queue a paused run again, for whichever worker takes it first: it continues from its checkpoint
    (``stop``: only to finish at once, with the results so far). It takes one of the user's run slots."""
    _controlled(user, run, "stop" if stop else "resume")
    if run.status != Status.PAUSED:
        raise RunRefused(f"Run {run.pk} is {run.status}: only a paused run can be resumed.", status_code=409)
    limit = caps().max_concurrent
    with transaction.atomic():
        lock_user(run.user)
        # A set's run was counted with its set (training.run_sets); a single run takes a single-run slot.
        active = Run.objects.filter(user_id=run.user_id, run_set=None, status__in=ACTIVE).count()
        if active >= limit and not stop and run.run_set_id is None:
            raise RunRefused(
                f"{active} run{'s are' if active != 1 else ' is'} already queued or running, the most allowed: wait for "
                "one to finish before resuming this one.",
                status_code=429,
            )
        now = timezone.now()
        # The server's current mode decides where it goes (a run paused under the embedded worker resumes on
        # Celery workers after a switch, and the other way round).
        target = queue_for(run.config.get("device", "auto"))
        fields = {
            "queued_at": now,
            "dispatched_at": None,
            "stop_requested": stop,
            "queue": target,
            "attempts": 0,
            "error": "",
        }
        if not run.transition(Status.PAUSED, Status.QUEUED, **fields):
            run.refresh_from_db()
            raise RunRefused(f"Run {run.pk} is {run.status}: only a paused run can be resumed.", status_code=409)
        publish_event(run, "status", {"status": Status.QUEUED, "step": run.checkpoint_step})
        transaction.on_commit(lambda: send(run))
    return run


def stop_run(run: Run, user) -> Run:
    """Finish ``run`` early with its results so far: a running run stops after its current step (and validates
    what it has), a paused one is resumed only to finish; a queued one has no results and is cancelled."""
    _controlled(user, run, "stop")
    if run.status == Status.QUEUED:
        return cancel_run(run, user)
    if run.status == Status.PAUSED:
        return resume_run(run, user, stop=True)
    if not Run.objects.filter(pk=run.pk, status=Status.RUNNING).update(stop_requested=True):
        run.refresh_from_db()
        raise RunRefused(f"Run {run.pk} has already {run.status}: there is nothing to stop.", status_code=409)
    run.refresh_from_db()
    return run


# --- sending --------------------------------------------------------------------------------------


def send(run: Run) -> bool:
    """Send ``run``'s task message to its executor; False when the broker could not take it (the sweeper
    will try again)."""
    if run.queue == EMBEDDED:
        embedded_worker.submit("execute_run", run.pk)
    else:
        from training.tasks import execute_run

        time_limit = int(run.config.get("time_limit_s") or settings.TORCHCANVAS_RUNS["time_limit_s"])
        try:
            execute_run.apply_async(
                args=[run.pk],
                queue=run.queue,
                soft_time_limit=time_limit + settings.RUN_SOFT_TIME_LIMIT_MARGIN_S,
                time_limit=time_limit + settings.RUN_HARD_TIME_LIMIT_MARGIN_S,
            )
        except Exception:
            logger.warning(
                "Could not send run %s to the %s queue; the sweeper will retry", run.pk, run.queue, exc_info=True
            )
            return False
    Run.objects.filter(pk=run.pk).update(dispatched_at=timezone.now())
    return True


def send_export(artifact_id: int) -> bool:
    """Send the build of export artifact ``artifact_id`` to a worker; False when the broker could not take
    it (asking for the artifact again sends it again)."""
    if run_mode() == EMBEDDED:
        embedded_worker.submit("build_artifact", artifact_id)
        return True
    from training.tasks import build_artifact

    exports = settings.TORCHCANVAS_EXPORTS
    try:
        build_artifact.apply_async(
            args=[artifact_id],
            queue=exports["queue"],
            soft_time_limit=exports["time_limit_s"],
            time_limit=exports["time_limit_s"] + settings.RUN_HARD_TIME_LIMIT_MARGIN_S,
        )
    except Exception:
        logger.warning("Could not send export %s to the %s queue", artifact_id, exports["queue"], exc_info=True)
        return False
    return True


# --- the embedded worker --------------------------------------------------------------------------


class EmbeddedWorker:
    """Executes runs and export builds in this process, one at a time, on a daemon thread started by the
    first of them (each item names its task in :mod:`training.tasks` and the id it takes).

    Between runs (every ``sweep_interval`` seconds when idle) it sweeps, and when it starts it fails the
    embedded runs of a previous server process: they died with it. Progress is published from this
    thread into the server's event loop (captured when the run was sent), since the in-memory channel
    layer's queues belong to that loop.
    """

    sweep_interval = 60.0

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, int, asyncio.AbstractEventLoop | None] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, task: str, object_id: int) -> None:
        self._queue.put((task, object_id, _server_loop()))
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="torchcanvas-runs", daemon=True)
                self._thread.start()

    def pending(self) -> int:
        """Tasks submitted and not started yet (the one executing now is not counted)."""
        return self._queue.qsize()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every submitted task has been executed (tests); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def stop(self, timeout: float = 30) -> None:
        """Finish the current run, then end the thread (tests; a server just exits)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)

    def _work(self) -> None:
        from training.sweeper import fail_orphaned_embedded_runs, sweep

        # Runs share the cores with the web server of this process: it counts as a second slot.
        workers.limit_threads(workers.threads_per_run(concurrency=2))
        try:
            monitor.ensure_embedded_reporter()
        except Exception:
            logger.exception("Could not start reporting this worker's figures")
        try:
            fail_orphaned_embedded_runs(PROCESS_STARTED)
        except Exception:
            logger.exception("Could not fail the embedded runs of a previous server process")
        finally:
            connections.close_all()
        while True:
            try:
                item = self._queue.get(timeout=self.sweep_interval)
            except queue.Empty:
                try:
                    sweep()
                except Exception:
                    logger.exception("Sweeping runs failed")
                finally:
                    connections.close_all()
                continue
            try:
                if item is None:
                    return
                task, object_id, loop = item
                self._execute(task, object_id, loop)
            except Exception:
                logger.exception("The embedded worker failed on %s", item)
            finally:
                connections.close_all()  # this thread's connections; none stays open between runs
                self._queue.task_done()

    def _execute(self, task: str, object_id: int, loop: asyncio.AbstractEventLoop | None) -> None:
        from training import tasks

        local = SyncToAsync.threadlocal
        if loop is not None and loop.is_running():
            # async_to_sync (the channel layer's group_send) then runs in the server's loop.
            local.main_event_loop, local.main_event_loop_pid = loop, os.getpid()
        try:
            getattr(tasks, task)(object_id)  # the Celery task itself, called in this thread
        finally:
            local.__dict__.pop("main_event_loop", None)
            local.__dict__.pop("main_event_loop_pid", None)


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop serving this request: the running one, or the one a sync view was called from."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) == os.getpid():
        return getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    return None


embedded_worker = EmbeddedWorker()
