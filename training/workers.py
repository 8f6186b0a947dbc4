"""What a process that executes runs sets up for itself, and how the web knows which queues have workers.

**Threads.** torch uses every core for each process by default, so two runs of a ``-c 2`` worker on two
cores each start two threads and fight over the cores (8× slower per step than one thread each). A worker
gives each run its share: ``cores // concurrency`` threads (:func:`threads_per_run`), or
``TORCHCANVAS_WORKER_THREADS`` when set; the embedded worker shares the cores with its web process and
counts it as a second slot.

**One run per GPU.** A worker that consumes the ``gpu`` queue must run one task at a time: its processes
would all use the same device (:func:`gpu_concurrency_problem`).

**Presence.** A Celery worker stamps ``{host, queues, concurrency, seen}`` under each of its queues in the
cache (Redis in celery mode) every :data:`PRESENCE_INTERVAL_S` seconds, and removes it when it stops. When a
run is submitted, :func:`live_workers` says whether its queue has a worker seen within
:data:`PRESENCE_TTL_S`, without asking the workers (one cache read).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger("torchcanvas.training")

PRESENCE_INTERVAL_S = 10.0
PRESENCE_TTL_S = 30.0  # three stamps missed: the worker is gone


def presence_key(queue: str) -> str:
    return f"torchcanvas:workers:{queue}"


# --- threads ----------------------------------------------------------------------------------------


def available_cores() -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup CPU quota (a container's ``--cpus``)."""
    from celery.utils.sysinfo import cpu_budget

    return cpu_budget(use_cgroup_quota=True).count


def threads_per_run(concurrency: int, cores: int | None = None) -> int:
    """torch threads for each of ``concurrency`` runs at once: ``TORCHCANVAS_WORKER_THREADS``, else a fair share."""
    configured = settings.TORCHCANVAS_WORKER_THREADS
    if configured:
        return configured
    cores = available_cores() if cores is None else cores
    return max(1, cores // max(1, concurrency))


def limit_threads(threads: int) -> None:
    """Use ``threads`` for torch here, and in processes this one starts (OpenMP and MKL read the environment)."""
    import torch

    torch.set_num_threads(threads)
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)


def gpu_concurrency_problem(queues: list[str], concurrency: int) -> str | None:
    """Why a worker with these ``queues`` and ``concurrency`` must not start, or None."""
    if "gpu" in queues and concurrency > 1:
        return (
            f"A worker of the gpu queue runs one run at a time (its processes would share one GPU), but this one "
            f"has --concurrency {concurrency}: start it with --concurrency 1, one worker per GPU "
            "(CUDA_VISIBLE_DEVICES=1 celery ... --hostname gpu1@%h for a second GPU)."
        )
    return None


# --- presence ---------------------------------------------------------------------------------------


def record_presence(hostname: str, queues: list[str], concurrency: int, now: float | None = None) -> None:
    """Stamp ``hostname`` as live on each of ``queues`` (and forget the stamps of workers gone silent)."""
    now = time.time() if now is None else now
    entry = {"host": hostname, "queues": sorted(queues), "concurrency": concurrency, "seen": now}
    for queue in queues:
        # Two workers writing at once may drop one stamp; the next interval puts it back, and any one live
        # worker is all a submission needs to know about.
        workers = _fresh(cache.get(presence_key(queue)) or {}, now)
        workers[hostname] = entry
        cache.set(presence_key(queue), workers, timeout=PRESENCE_TTL_S)


def forget_presence(hostname: str, queues: list[str]) -> None:
    for queue in queues:
        workers = _fresh(cache.get(presence_key(queue)) or {}, time.time())
        workers.pop(hostname, None)
        cache.set(presence_key(queue), workers, timeout=PRESENCE_TTL_S)


def live_workers(queue: str, now: float | None = None) -> list[dict[str, Any]] | None:
    """The workers of ``queue`` seen within :data:`PRESENCE_TTL_S`; None when the cache cannot say (Redis away)."""
    workers = cache.get(presence_key(queue)) or {}
    if getattr(cache, "serving_locally", False):  # Redis away: this process's memory knows no workers
        return None
    return list(_fresh(workers, time.time() if now is None else now).values())


def _fresh(workers: dict[str, dict[str, Any]], now: float) -> dict[str, dict[str, Any]]:
    return {name: entry for name, entry in workers.items() if entry.get("seen", 0) > now - PRESENCE_TTL_S}


class Presence:
    """A daemon thread of a worker's main process that stamps its presence until :meth:`stop`."""

    def __init__(self, hostname: str, queues: list[str], concurrency: int):
        self.hostname = hostname
        self.queues = queues
        self.concurrency = concurrency
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._stamp, name="torchcanvas-presence", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            forget_presence(self.hostname, self.queues)
        except Exception:
            logger.warning("Could not remove the presence of worker %s", self.hostname, exc_info=True)

    def _stamp(self) -> None:
        while True:
            try:
                record_presence(self.hostname, self.queues, self.concurrency)
            except Exception:  # Redis away for a moment: stamp again at the next interval
                logger.warning("Could not record the presence of worker %s", self.hostname, exc_info=True)
            if self._stop.wait(PRESENCE_INTERVAL_S):
                return
