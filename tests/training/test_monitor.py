"""The worker monitor: reports sampled through fake psutil and GPU backends, stored in the cache with a TTL,
snapshots that name only the runs a user may see, queue lengths, the /ws/workers/ feed and the pages."""

from __future__ import annotations

import os
import socket
import sys
from types import SimpleNamespace

import pytest
from asgiref.sync import async_to_sync
from sockets import communicator

from training import consumers, monitor
from training.dispatch import embedded_worker
from training.models import Run, Status

HOST = socket.gethostname()
GIB = 2**30


class FakeProcess:
    Error = ProcessLookupError

    def __init__(self, pid: int, cpu: float, rss: int, children=()):
        self.pid, self.cpu, self.rss, self._children = pid, cpu, rss, list(children)
        self.calls = 0

    def children(self, recursive=False):
        return self._children

    def cpu_percent(self, interval=None):
        self.calls += 1
        return self.cpu if self.calls > 1 else 0.0  # like psutil: the first call has nothing to compare with

    def memory_info(self):
        return SimpleNamespace(rss=self.rss)


class Gone(FakeProcess):
    def cpu_percent(self, interval=None):
        raise ProcessLookupError(self.pid)


class FakePsutil:
    """The parts of psutil the monitor uses: this process with two pool children, one of which has ended."""

    Error = ProcessLookupError

    def __init__(self):
        self.child = FakeProcess(os.getpid() + 1, 95.0, 300 * 2**20)
        self.main = FakeProcess(os.getpid(), 4.0, 100 * 2**20, [self.child, Gone(os.getpid() + 2, 0, 0)])

    def Process(self, pid):  # noqa: N802 (psutil's name)
        assert pid == os.getpid()
        return self.main

    def virtual_memory(self):
        return SimpleNamespace(total=16 * GIB, available=10 * GIB)

    def cpu_percent(self, interval=None):
        return 37.5

    def cpu_count(self):
        return 8


class FakeGpus:
    def figures(self):
        return [monitor.GpuFigures(0, "Fake H100", 3 * GIB, 80 * GIB, 42.0)]


def report(name="cpu1@host", pids=(4242,), seen=None, **fields):
    tree = monitor.ProcessTree(FakePsutil())
    sampled = monitor.sample(name, ["cpu"], 2, tree=tree, gpus=FakeGpus(), now=seen)
    return {**sampled, "pids": list(pids), **fields}


@pytest.fixture(autouse=True)
def _no_embedded_reporter(monkeypatch):
    """The embedded reporter is a thread writing the real process's figures: tests store their own (and stop
    one that an earlier test's page view or embedded run started)."""
    monkeypatch.setattr(monitor, "ensure_embedded_reporter", lambda: None)
    running = monitor._embedded.pop("reporter", None)
    if running is not None:
        running.stop()


# --- reports ----------------------------------------------------------------------------------------


def test_a_report_sums_the_workers_processes_and_skips_the_ended_ones():
    tree = monitor.ProcessTree(FakePsutil())
    first = monitor.sample("cpu1@host", ["cpu", "export"], 2, tree=tree, gpus=FakeGpus(), now=100.0)
    assert first["cpu_percent"] == 0.0  # psutil's first measurement
    second = monitor.sample("cpu1@host", ["cpu", "export"], 2, tree=tree, gpus=FakeGpus(), now=103.0)
    assert second == {
        "name": "cpu1@host",
        "host": HOST,
        "pid": os.getpid(),
        "pids": [os.getpid(), os.getpid() + 1],
        "queues": ["cpu", "export"],
        "concurrency": 2,
        "cpu_percent": 99.0,  # kept process objects: the second sample measures since the first
        "host_cpu_percent": 37.5,
        "cpu_count": 8,
        "rss_bytes": 400 * 2**20,
        "ram_used_bytes": 6 * GIB,
        "ram_total_bytes": 16 * GIB,
        "gpus": [
            {
                "index": 0,
                "name": "Fake H100",
                "memory_used_bytes": 3 * GIB,
                "memory_total_bytes": 80 * GIB,
                "utilisation_percent": 42.0,
            }
        ],
        "seen": 103.0,
    }


def test_a_failing_gpu_backend_leaves_the_gpus_out():
    class Broken:
        def figures(self):
            raise RuntimeError("NVML: driver/library version mismatch")

    assert monitor.sample("w", ["cpu"], 1, tree=monitor.ProcessTree(FakePsutil()), gpus=Broken())["gpus"] == []


def test_nvml_figures():
    handle = object()
    memory = SimpleNamespace(used=5 * GIB, total=80 * GIB)
    nvml = SimpleNamespace(
        nvmlInit=lambda: None,
        nvmlDeviceGetCount=lambda: 1,
        nvmlDeviceGetHandleByIndex=lambda i: handle,
        nvmlDeviceGetMemoryInfo=lambda h: memory,
        nvmlDeviceGetName=lambda h: b"NVIDIA H100 80GB HBM3",
        nvmlDeviceGetUtilizationRates=lambda h: SimpleNamespace(gpu=87, memory=40),
    )
    assert monitor.NvmlGpus(nvml).figures() == [monitor.GpuFigures(0, "NVIDIA H100 80GB HBM3", 5 * GIB, 80 * GIB, 87.0)]


def test_torch_figures_know_memory_only():
    cuda = SimpleNamespace(
        device_count=lambda: 2, mem_get_info=lambda i: (70 * GIB, 80 * GIB), get_device_name=lambda i: f"GPU{i}"
    )
    figures = monitor.TorchGpus(cuda).figures()
    assert [(g.index, g.name, g.memory_used_bytes, g.utilisation_percent) for g in figures] == [
        (0, "GPU0", 10 * GIB, None),
        (1, "GPU1", 10 * GIB, None),
    ]


def test_without_nvml_or_cuda_there_are_no_gpus(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert isinstance(monitor.gpu_backend(), monitor.NoGpus)
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    assert isinstance(monitor.gpu_backend(), monitor.TorchGpus)


def test_reports_expire_after_three_missed_intervals(settings):
    settings.TORCHCANVAS_MONITOR_INTERVAL_S = 2
    monitor.store_report(report("old@host", seen=1000.0))
    monitor.store_report(report("new@host", seen=1005.0))
    assert [r["name"] for r in monitor.live_reports(now=1005.5)] == ["new@host", "old@host"]
    assert [r["name"] for r in monitor.live_reports(now=1006.5)] == ["new@host"]  # old: 6.5 s > 3 × 2 s
    assert monitor.live_reports(now=1012.0) == []


def test_a_reporter_stores_its_report_and_removes_it_when_stopped():
    reporter = monitor.Reporter("cpu9@host", ["cpu"], 1, psutil_module=FakePsutil(), gpus=FakeGpus())
    reporter.start()
    try:
        stored = reporter.report_once()
        assert [r["name"] for r in monitor.live_reports()] == ["cpu9@host"] and stored["gpus"][0]["name"] == "Fake H100"
    finally:
        reporter.stop()
    assert monitor.live_reports() == []


# --- snapshots, queue lengths -----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_snapshot_names_only_the_runs_the_user_may_see(make_run, private_graph, alice, bob, charlie):
    shared = make_run(Status.RUNNING, worker=f"{HOST}:4243", name="shared run")
    secret = make_run(Status.RUNNING, worker=f"{HOST}:4242", version=private_graph.head, name="secret run")
    make_run(Status.RUNNING, worker="elsewhere:4243")  # another host's process of the same pid
    make_run(Status.SUCCEEDED, worker=f"{HOST}:4242")
    monitor.store_report(report("cpu1@host", pids=(4242, 4243)))
    monitor.store_report(report("gpu1@host", pids=(5000,)))

    def runs(user):
        workers = {w["name"]: w for w in monitor.snapshot(user)["workers"]}
        return {name: ([r["name"] for r in w["runs"]], w["hidden_runs"]) for name, w in workers.items()}

    assert runs(alice) == {"cpu1@host": (["shared run", "secret run"], 0), "gpu1@host": ([], 0)}
    assert runs(bob) == {"cpu1@host": (["shared run"], 1), "gpu1@host": ([], 0)}
    assert runs(charlie) == {"cpu1@host": ([], 2), "gpu1@host": ([], 0)}
    assert monitor.report_of_run(Run.objects.get(pk=shared.pk))["name"] == "cpu1@host"
    assert monitor.report_of_run(Run.objects.get(pk=secret.pk))["name"] == "cpu1@host"


@pytest.mark.django_db
def test_the_embedded_queue_length_counts_what_waits(monkeypatch, alice):
    monkeypatch.setattr(embedded_worker, "_queue", type(embedded_worker._queue)())
    embedded_worker._queue.put(("execute_run", 1, None))
    embedded_worker._queue.put(("execute_run", 2, None))
    assert monitor.queue_lengths() == {"embedded": 2}
    assert monitor.snapshot(alice)["queues"] == {"embedded": 2} and monitor.snapshot(alice)["mode"] == "embedded"


def test_celery_queue_lengths_come_from_redis(monkeypatch, settings):
    settings.TORCHCANVAS_RUN_MODE = "celery"
    settings.CELERY_BROKER_URL = "redis://broker:6379/0"
    lengths = {"gpu": 3, "cpu": 0}

    class Pipeline:
        def __init__(self):
            self.names = []

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def llen(self, name):
            self.names.append(name)

        def execute(self):
            return [lengths[name] for name in self.names]

    monkeypatch.setattr("redis.Redis.from_url", lambda url, **kw: SimpleNamespace(pipeline=Pipeline))
    assert monitor.queue_lengths() == {"cpu": 0, "gpu": 3}
    monkeypatch.setattr("redis.Redis.from_url", lambda url, **kw: (_ for _ in ()).throw(ConnectionError("no redis")))
    assert monitor.queue_lengths() == {"cpu": None, "gpu": None}


# --- the feed and the pages -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_feed_refuses_anonymous_visitors_and_sends_a_logged_in_user_the_snapshot(alice, monkeypatch):
    monkeypatch.setattr(consumers.WorkersConsumer, "interval_s", 0.05)
    monitor.store_report(report("cpu1@host"))
    anonymous, user = communicator("/ws/workers/"), communicator("/ws/workers/", alice)

    async def scenario():
        assert not (await anonymous.connect())[0]
        assert (await user.connect())[0]
        message = await user.receive_json_from(3)
        assert message["type"] == "workers" and [w["name"] for w in message["workers"]] == ["cpu1@host"]
        assert message["queues"] == {"embedded": 0}
        assert await user.receive_nothing(0.2)  # nothing changed: nothing sent
        await user.disconnect()
        await anonymous.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db
def test_the_workers_page(client, alice):
    assert client.get("/workers/").status_code == 302  # log in first
    client.force_login(alice)
    html = client.get("/workers/").content.decode()
    assert "No worker has reported in the last 9 s." in html and 'src="/static/js/workers_live.js"' in html
    monitor.store_report(report("cpu1@host"))
    html = client.get("/workers/").content.decode()
    assert 'data-worker="cpu1@host"' in html and "Fake H100" in html and "42 %" in html and "80.0\xa0GB" in html


@pytest.mark.django_db
def test_the_run_page_shows_its_workers_figures_while_it_runs(client, alice, make_run):
    client.force_login(alice)
    run = make_run(Status.RUNNING, worker=f"{HOST}:4242")
    monitor.store_report(report("cpu1@host", pids=(4242,)))
    html = client.get(f"/runs/{run.pk}/").content.decode()
    assert f'hx-get="/runs/{run.pk}/worker/"' in html and "data-worker-gpu>42 % · 3.0\xa0GB / 80.0\xa0GB" in html
    html = client.get(f"/runs/{run.pk}/worker/").content.decode()
    assert "data-worker-rss>400.0\xa0MB" in html
    Run.objects.filter(pk=run.pk).update(status=Status.SUCCEEDED)
    html = client.get(f"/runs/{run.pk}/worker/").content.decode()
    assert "The run has ended." in html and "hx-get" not in html
