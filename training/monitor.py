"""The worker monitor: each process that executes runs reports its figures; the web reads the latest ones.

**Reports.** A :class:`Reporter` thread of each Celery worker's main process (and of the web process in
embedded mode, whose thread executes the runs) samples every ``TORCHCANVAS_MONITOR_INTERVAL_S`` seconds:
host, pid and the pids of its pool processes, queues, concurrency, CPU % and RSS of those processes,
the host's RAM, and per GPU its utilisation and memory (:class:`NvmlGpus` through NVML when ``pynvml``
imports, else :class:`TorchGpus`: memory only). It stores the report in the cache (Redis in celery
mode, this process's memory in embedded mode) under one key, stamped ``seen``; a report older than
:func:`report_ttl` (three intervals missed) is dropped on read, so a killed worker leaves the list.

**Snapshots.** :func:`snapshot` is what the page and ``/ws/workers/`` show a user: the live reports, each
with the runs it executes now (matched by ``Run.worker``, ``host:pid``), named only where the user may see
the run's graph (the others are counted), and the queue lengths (Redis ``LLEN`` of the Celery queues, or
the embedded worker's queue).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import cache

from training.models import Run, Status

logger = logging.getLogger("torchcanvas.training")

REPORTS_KEY = "torchcanvas:monitor:reports"
CELERY_QUEUES = ("gpu", "cpu")


def report_interval() -> float:
    return float(settings.TORCHCANVAS_MONITOR_INTERVAL_S)


def report_ttl() -> float:
    return 3 * report_interval()


# --- GPUs -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GpuFigures:
    index: int
    name: str
    memory_used_bytes: int
    memory_total_bytes: int
    utilisation_percent: float | None  # None where only memory is known (torch)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "memory_used_bytes": self.memory_used_bytes,
            "memory_total_bytes": self.memory_total_bytes,
            "utilisation_percent": self.utilisation_percent,
        }


class GpuBackend(Protocol):
    def figures(self) -> list[GpuFigures]: ...


class NvmlGpus:
    """Every GPU NVML sees (the whole device: other processes' use included), through ``pynvml``."""

    def __init__(self, nvml: Any):
        self.nvml = nvml
        nvml.nvmlInit()

    def figures(self) -> list[GpuFigures]:
        nvml, gpus = self.nvml, []
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            name = nvml.nvmlDeviceGetName(handle)
            gpus.append(
                GpuFigures(
                    index=index,
                    name=name.decode() if isinstance(name, bytes) else str(name),
                    memory_used_bytes=int(memory.used),
                    memory_total_bytes=int(memory.total),
                    utilisation_percent=float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu),
                )
            )
        return gpus


class TorchGpus:
    """The GPUs this process may use, from ``torch.cuda`` (memory of the device; no utilisation)."""

    def __init__(self, cuda: Any):
        self.cuda = cuda

    def figures(self) -> list[GpuFigures]:
        gpus = []
        for index in range(self.cuda.device_count()):
            free, total = self.cuda.mem_get_info(index)
            gpus.append(
                GpuFigures(
                    index=index,
                    name=self.cuda.get_device_name(index),
                    memory_used_bytes=int(total - free),
                    memory_total_bytes=int(total),
                    utilisation_percent=None,
                )
            )
        return gpus


class NoGpus:
    def figures(self) -> list[GpuFigures]:
        return []


def gpu_backend() -> GpuBackend:
    """NVML when ``pynvml`` (the ``nvidia-ml-py`` package) imports and finds a driver; else torch when CUDA is
    available; else none."""
    try:
        import pynvml

        return NvmlGpus(pynvml)
    except Exception:  # not installed, or no NVIDIA driver on this host
        pass
    import torch

    return TorchGpus(torch.cuda) if torch.cuda.is_available() else NoGpus()


# --- reports ----------------------------------------------------------------------------------------


class ProcessTree:
    """This process and its children (a prefork pool's processes), kept between samples: psutil measures a
    process's CPU % since the previous call on the same object."""

    def __init__(self, psutil_module: Any):
        self.psutil = psutil_module
        self.main = psutil_module.Process(os.getpid())
        self._known: dict[int, Any] = {self.main.pid: self.main}

    def processes(self) -> list[Any]:
        try:
            children = self.main.children(recursive=True)
        except self.psutil.Error:
            children = []
        current = {self.main.pid: self.main}
        for child in children:
            current[child.pid] = self._known.get(child.pid, child)
        self._known = current
        return list(current.values())


def sample(
    name: str, queues: list[str], concurrency: int, *, tree: ProcessTree, gpus: GpuBackend, now: float | None = None
) -> dict[str, Any]:
    """One report of the worker ``name``: its processes' CPU and memory, the host's, the GPUs'."""
    psutil_module = tree.psutil
    cpu, rss, pids = 0.0, 0, []
    for process in tree.processes():
        try:
            cpu += process.cpu_percent(None)  # % of one core, since the previous sample (the first one says 0)
            rss += process.memory_info().rss
            pids.append(process.pid)
        except psutil_module.Error:  # a pool process that ended meanwhile
            continue
    memory = psutil_module.virtual_memory()
    try:
        gpu_figures = [gpu.to_dict() for gpu in gpus.figures()]
    except Exception:
        logger.warning("Could not read the GPU figures", exc_info=True)
        gpu_figures = []
    return {
        "name": name,
        "host": socket.gethostname(),
        "pid": tree.main.pid,
        "pids": sorted(pids),
        "queues": sorted(queues),
        "concurrency": concurrency,
        "cpu_percent": round(cpu, 1),
        "host_cpu_percent": round(float(psutil_module.cpu_percent(None)), 1),
        "cpu_count": psutil_module.cpu_count() or 1,
        "rss_bytes": int(rss),
        "ram_used_bytes": int(memory.total - memory.available),
        "ram_total_bytes": int(memory.total),
        "gpus": gpu_figures,
        "seen": time.time() if now is None else now,
    }


def store_report(report: dict[str, Any]) -> None:
    """Keep ``report`` as its worker's latest (and forget the reports of workers gone silent)."""
    # Two workers writing at once may drop one report; its worker puts it back at its next interval.
    reports = fresh_reports(cache.get(REPORTS_KEY) or {}, report["seen"])
    reports[report["name"]] = report
    cache.set(REPORTS_KEY, reports, timeout=report_ttl())


def forget_report(name: str) -> None:
    reports = fresh_reports(cache.get(REPORTS_KEY) or {}, time.time())
    reports.pop(name, None)
    cache.set(REPORTS_KEY, reports, timeout=report_ttl())


def fresh_reports(reports: dict[str, dict[str, Any]], now: float) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in reports.items() if r.get("seen", 0) > now - report_ttl()}


def live_reports(now: float | None = None) -> list[dict[str, Any]]:
    """The latest report of each worker seen within :func:`report_ttl`, by name."""
    reports = fresh_reports(cache.get(REPORTS_KEY) or {}, time.time() if now is None else now)
    return sorted(reports.values(), key=lambda r: r["name"])


class Reporter:
    """A daemon thread that stores this process's report every interval until :meth:`stop`."""

    def __init__(self, name: str, queues: list[str], concurrency: int, *, psutil_module: Any = None, gpus=None):
        if psutil_module is None:
            import psutil as psutil_module
        self.name, self.queues, self.concurrency = name, queues, concurrency
        self.tree, self.gpus = ProcessTree(psutil_module), gpus
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._report, name="torchcanvas-monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def report_once(self) -> dict[str, Any]:
        if self.gpus is None:
            self.gpus = gpu_backend()
        report = sample(self.name, self.queues, self.concurrency, tree=self.tree, gpus=self.gpus)
        store_report(report)
        return report

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            forget_report(self.name)
        except Exception:
            logger.warning("Could not remove the report of worker %s", self.name, exc_info=True)

    def _report(self) -> None:
        while True:
            try:
                self.report_once()
            except Exception:  # Redis away for a moment: report again at the next interval
                logger.warning("Could not report the figures of worker %s", self.name, exc_info=True)
            if self._stop.wait(report_interval()):
                return


_embedded: dict[str, Reporter] = {}
_embedded_lock = threading.Lock()


def ensure_embedded_reporter() -> None:
    """In embedded mode, report this (web) process's figures: its thread executes the runs."""
    with _embedded_lock:
        reporter = _embedded.get("reporter")
        if reporter is None or not reporter.alive:
            try:
                _embedded["reporter"] = Reporter(f"embedded@{socket.gethostname()}", ["embedded"], 1)
            except ImportError as exc:  # the page still shows the queue; the worker runs, unmonitored
                logger.warning("The worker monitor needs psutil (%s): the embedded worker is not reported", exc)
                return
            try:
                _embedded["reporter"].report_once()  # the page that started it shows it at once
            except Exception:
                logger.warning("Could not report the figures of the embedded worker", exc_info=True)
            _embedded["reporter"].start()


# --- what the web shows -----------------------------------------------------------------------------


def queue_lengths() -> dict[str, int | None]:
    """Messages waiting per queue: the embedded worker's queue, or Redis ``LLEN`` of each Celery queue
    (None where Redis does not answer)."""
    from training.dispatch import EMBEDDED, embedded_worker, run_mode

    if run_mode() == EMBEDDED:
        return {EMBEDDED: embedded_worker.pending()}
    names = sorted({*CELERY_QUEUES, settings.TORCHCANVAS_EXPORTS["queue"]})
    try:
        import redis

        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1)
        with client.pipeline() as pipe:
            for queue in names:
                pipe.llen(queue)
            return dict(zip(names, (int(n) for n in pipe.execute()), strict=True))
    except Exception:
        logger.warning("Could not read the queue lengths from Redis", exc_info=True)
        return dict.fromkeys(names)


def _run_row(run: Run, visible: set[int]) -> dict[str, Any] | None:
    if run.pk not in visible:
        return None
    return {"id": run.pk, "name": run.name, "url": run.get_absolute_url()}


def snapshot(user, now: float | None = None) -> dict[str, Any]:
    """The workers, their figures and current runs (those ``user`` may see), and the queue lengths."""
    from training.access import visible_runs
    from training.dispatch import EMBEDDED, run_mode

    if run_mode() == EMBEDDED:
        ensure_embedded_reporter()
    reports = live_reports(now)
    names = {f"{r['host']}:{pid}": r["name"] for r in reports for pid in r.get("pids", [])}
    running = list(Run.objects.filter(status=Status.RUNNING, worker__in=list(names)).order_by("pk"))
    visible = set(visible_runs(user).filter(pk__in=[run.pk for run in running]).values_list("pk", flat=True))
    workers = []
    for report in reports:
        mine = [run for run in running if names[run.worker] == report["name"]]
        rows = [row for row in (_run_row(run, visible) for run in mine) if row]
        workers.append({**report, "runs": rows, "hidden_runs": len(mine) - len(rows)})
    return {"mode": run_mode(), "workers": workers, "queues": queue_lengths()}


def report_of_run(run: Run, now: float | None = None) -> dict[str, Any] | None:
    """The latest report of the worker executing ``run`` (None when it is not running, or not reporting)."""
    if run.status != Status.RUNNING or ":" not in run.worker:
        return None
    host, _, pid = run.worker.partition(":")
    for report in live_reports(now):
        if report["host"] == host and pid.isdigit() and int(pid) in report.get("pids", []):
            return report
    return None
