"""Workers: each run's share of the cores, one run per GPU, and the presence that lets the web refuse a run
no worker would take (a ``cuda`` run on a deployment without GPU workers)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from django.test import override_settings

from torchcanvas_site.cache import redis_cache
from training import workers
from training.dispatch import RunRefused, queue_run
from training.models import Run, Status

ROOT = Path(__file__).resolve().parents[2]
NO_GPU_WORKER = "No GPU worker is running (none has taken runs from the gpu queue in the last 30 s)"


@pytest.fixture(autouse=True)
def fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def closed_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def cache_away(fresh_cache):
    """The deployed cache on a Redis that is not there (after ``fresh_cache``, so that one clears the real cache):
    it answers from this process's memory, which knows no workers."""
    with override_settings(CACHES={"default": redis_cache(f"redis://127.0.0.1:{closed_port()}/0")}):
        yield


@pytest.mark.parametrize(("concurrency", "cores", "threads"), [(2, 2, 1), (2, 8, 4), (1, 8, 8), (4, 2, 1), (3, 8, 2)])
def test_each_run_gets_its_share_of_the_cores(concurrency, cores, threads):
    assert workers.threads_per_run(concurrency, cores) == threads


def test_the_thread_count_can_be_set(settings):
    settings.TORCHCANVAS_WORKER_THREADS = 3
    assert workers.threads_per_run(2, 2) == 3


def test_the_cores_are_the_ones_this_process_may_use():
    assert 1 <= workers.available_cores() <= len(os.sched_getaffinity(0))


def test_limiting_threads_sets_torch_and_the_environment_of_child_processes(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    try:
        workers.limit_threads(1)
        assert torch.get_num_threads() == 1
        assert os.environ["OMP_NUM_THREADS"] == os.environ["MKL_NUM_THREADS"] == "1"
    finally:
        torch.set_num_threads(before)


def test_a_gpu_worker_runs_one_run_at_a_time():
    assert workers.gpu_concurrency_problem(["gpu"], 1) is None
    assert workers.gpu_concurrency_problem(["cpu"], 4) is None
    assert workers.gpu_concurrency_problem(["cpu", "gpu"], 2) == (
        "A worker of the gpu queue runs one run at a time (its processes would share one GPU), but this one has "
        "--concurrency 2: start it with --concurrency 1, one worker per GPU (CUDA_VISIBLE_DEVICES=1 celery ... "
        "--hostname gpu1@%h for a second GPU)."
    )


def test_a_gpu_worker_started_with_more_than_one_process_stops_saying_why():
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "TORCHCANVAS_RUN_MODE")}
    env.update(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0", DJANGO_SETTINGS_MODULE="torchcanvas_site.settings")
    argv = [str(Path(sys.executable).parent / "celery"), "-A", "torchcanvas_site", "worker", "-Q", "gpu", "-c", "2"]
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "A worker of the gpu queue runs one run at a time" in result.stderr


def test_a_worker_is_live_on_its_queues_until_it_goes_silent_or_leaves():
    now = time.time()
    workers.record_presence("cpu@a", ["cpu"], 2, now=now)
    workers.record_presence("both@b", ["cpu", "gpu"], 1, now=now - 20)
    assert sorted(w["host"] for w in workers.live_workers("cpu", now=now)) == ["both@b", "cpu@a"]
    assert workers.live_workers("gpu", now=now) == [
        {"host": "both@b", "queues": ["cpu", "gpu"], "concurrency": 1, "seen": now - 20}
    ]
    # Three stamps missed: gone, and forgotten at the next stamp of another worker.
    assert workers.live_workers("gpu", now=now + 11) == []
    workers.record_presence("cpu@a", ["cpu"], 2, now=now + 11)
    assert [w["host"] for w in workers.live_workers("cpu", now=now + 11)] == ["cpu@a"]
    workers.forget_presence("cpu@a", ["cpu"])
    assert workers.live_workers("cpu") == []


def test_a_cache_that_is_away_cannot_say(cache_away):
    assert workers.live_workers("gpu") is None


# --- at submit time ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_cuda_run_without_a_gpu_worker_is_refused_and_holds_no_slot(tiny_graph, alice, settings):
    settings.TORCHCANVAS_RUN_MODE = "celery"
    workers.record_presence("cpu@a", ["cpu"], 2)
    with pytest.raises(RunRefused) as refused:
        queue_run(tiny_graph.head, alice, {"device": "cuda"})
    assert refused.value.message == (
        f"{NO_GPU_WORKER}, so this run would wait without starting: choose device cpu, or start a GPU worker "
        "(celery -A torchcanvas_site worker -Q gpu --concurrency 1)."
    )
    assert not Run.objects.exists()
    assert queue_run(tiny_graph.head, alice, {"device": "cpu"}).queue == "cpu"


@pytest.mark.django_db
def test_auto_runs_sent_to_the_gpu_queue_need_a_gpu_worker_too(tiny_graph, alice, settings):
    settings.TORCHCANVAS_RUN_MODE = "celery"
    settings.TORCHCANVAS_RUNS["auto_queue"] = "gpu"
    with pytest.raises(RunRefused, match=NO_GPU_WORKER.replace("(", r"\(").replace(")", r"\)")):
        queue_run(tiny_graph.head, alice, {})


@pytest.mark.django_db
def test_a_cuda_run_queues_while_a_gpu_worker_is_live(tiny_graph, alice, settings):
    settings.TORCHCANVAS_RUN_MODE = "celery"
    workers.record_presence("gpu@a", ["gpu"], 1, now=time.time() - 25)
    assert queue_run(tiny_graph.head, alice, {"device": "cuda"}).status == Status.QUEUED


@pytest.mark.django_db
def test_a_gpu_worker_silent_for_too_long_no_longer_counts(tiny_graph, alice, settings):
    settings.TORCHCANVAS_RUN_MODE = "celery"
    workers.record_presence("gpu@a", ["gpu"], 1, now=time.time() - 31)
    with pytest.raises(RunRefused):
        queue_run(tiny_graph.head, alice, {"device": "cuda"})


@pytest.mark.django_db
def test_when_the_cache_cannot_say_the_run_queues(tiny_graph, alice, settings, cache_away):
    settings.TORCHCANVAS_RUN_MODE = "celery"
    assert queue_run(tiny_graph.head, alice, {"device": "cuda"}).status == Status.QUEUED
