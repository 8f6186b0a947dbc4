"""The real stack, end to end: the web server and a Celery worker as docker-compose and the README start them
(uvicorn with several processes; ``worker -Q cpu --concurrency 2``) on PostgreSQL and Redis, and the embedded mode.

A run of the ``hybridcmi`` template (5 steps, batch 2) is queued through the HTTP API with a token, and a
WebSocket client logged in through the login form follows it on ``/ws/runs/<id>/``. The worker is
SIGKILLed mid-run, Redis is restarted under a queued run; in every case the run must end, never stay
"running" or "queued". See ``conftest.py`` for the processes and what is skipped when.
"""

from __future__ import annotations

import json
import time

import pytest
from dataset_models import SHAPES_CNN, model
from stack_helpers import TERMINAL, Stack, fresh_database, stack_env, wait_for

from training.workers import available_cores

pytest.importorskip("websockets.sync.client", reason="the stack tests need `websockets` (dev extra)")

pytestmark = pytest.mark.stack

CONFIG = {"steps": 5, "batch_size": 2, "device": "cpu"}


def assert_streamed_in_order(messages: list[dict], steps: int = CONFIG["steps"]) -> None:
    seqs = [m["seq"] for m in messages]
    assert seqs == sorted(set(seqs)), f"seq must increase strictly: {seqs}"
    kinds = [(m["type"], m.get("status")) for m in messages]
    statuses = [m["status"] for m in messages if m["type"] == "status"]
    assert statuses[0] == "queued" and statuses[-1] == "succeeded", statuses
    running = kinds.index(("status", "running"))
    progress = [i for i, m in enumerate(messages) if m["type"] == "progress"]
    done = kinds.index(("done", None))
    assert progress, f"no progress event: {kinds}"
    assert running < progress[0] and progress[-1] < done < len(messages) - 1, kinds
    # Progress is reported at most every so often (the runner's tracker), always at the last step.
    last_running = max(i for i in range(done) if kinds[i] == ("status", "running"))
    steps_seen = [messages[i]["step"] for i in progress if i > last_running]
    assert steps_seen == sorted(set(steps_seen)) and steps_seen[-1] == steps, steps_seen
    assert messages[done]["metrics"]["loss"] is not None


# --- the Celery stack (one database, web server and worker for the scenarios below) ---------------------


@pytest.fixture(scope="module")
def celery_stack(module_processes, postgres_server, shared_redis):
    with fresh_database(postgres_server) as database:
        env = stack_env(
            DATABASE_URL=database,
            REDIS_URL=shared_redis,
            # Shared by the web server and every worker, as docker-compose's volume is.
            TORCHCANVAS_CHECKPOINT_DIR=str(module_processes.log_dir / "checkpoints"),
            TORCHCANVAS_RUN_MAX_STEPS="20000",  # the checkpoint scenario trains long enough to be killed
        )
        stack = Stack(module_processes, env)
        stack.manage("migrate", "--noinput")
        stack.start_web(wait=False)
        stack.start_worker()
        stack.setup_user()
        stack.wait_web()
        stack.session = stack.login()
        stack.graph = stack.graph_from_template("hybridcmi")
        yield stack
        module_processes.kill_all()  # before the database is dropped


def test_celery_run_streams_status_progress_done_in_order(celery_stack):
    stack = celery_stack
    run = stack.queue_run(stack.graph["id"], CONFIG)
    assert (run["status"], run["queue"]) == ("queued", "cpu")

    messages = stack.follow(stack.session, run["id"])

    assert_streamed_in_order(messages)
    final = stack.run(run["id"])
    assert final["status"] == "succeeded", final
    assert final["progress"]["step"] == CONFIG["steps"]
    assert final["metrics"]["loss"] is not None


def test_two_runs_overlap_on_the_worker_each_with_its_share_of_the_cores(celery_stack):
    stack = celery_stack
    runs = [stack.queue_run(stack.graph["id"], {**CONFIG, "steps": 30, "seed": seed}) for seed in (1, 2)]
    finals = [stack.wait_status(run["id"], TERMINAL, timeout=120) for run in runs]

    assert [final["status"] for final in finals] == ["succeeded", "succeeded"], finals
    first, second = sorted(finals, key=lambda final: final["started_at"])
    assert second["started_at"] < first["finished_at"], f"the two runs did not overlap: {finals}"
    # `-c 2`: two runs at once, each with half of the cores (not every core each, fighting over them).
    assert {final["metrics"]["cpu_threads"] for final in finals} == {max(1, available_cores() // 2)}


def test_a_cuda_run_is_refused_at_once_while_only_cpu_workers_are_up(celery_stack):
    stack = celery_stack
    before = stack.request("GET", "/api/runs/?mine=1").json()["count"]
    resp = stack.request("POST", "/api/runs/", {"graph": stack.graph["id"], "version": 1, "config": {"device": "cuda"}})

    assert resp.status == 400, resp.body[:500]
    assert "No GPU worker is running" in resp.json()["detail"], resp.json()
    assert stack.request("GET", "/api/runs/?mine=1").json()["count"] == before  # no run holds a slot


def test_the_worker_monitor_shows_the_celery_worker_its_running_run_and_the_queue_lengths(celery_stack):
    stack = celery_stack
    run = stack.queue_run(stack.graph["id"], {**CONFIG, "steps": 300})
    stack.follow(stack.session, run["id"], timeout=60, until=lambda m: m["type"] == "progress")
    deadline = time.monotonic() + 30
    with stack.websocket(stack.session, "/ws/workers/") as ws:
        while time.monotonic() < deadline:
            snapshot = json.loads(ws.recv(timeout=10))
            running = [w for w in snapshot["workers"] if run["id"] in [r["id"] for r in w["runs"]]]
            if running:
                break
        else:
            pytest.fail(f"the worker of run {run['id']} never showed it: {snapshot}")
    worker = running[0]
    assert snapshot["mode"] == "celery" and set(snapshot["queues"]) >= {"cpu", "gpu"}, snapshot
    assert all(isinstance(n, int) for n in snapshot["queues"].values()), snapshot  # LLEN answered
    assert "cpu" in worker["queues"] and worker["concurrency"] == 2 and len(worker["pids"]) >= 2, worker
    assert worker["rss_bytes"] > 0 and 0 < worker["ram_used_bytes"] < worker["ram_total_bytes"], worker
    stack.request("POST", f"/api/runs/{run['id']}/cancel/")
    stack.wait_status(run["id"], TERMINAL, timeout=60)


def restart_and_sweep(stack: Stack, run_id: int) -> None:
    """After a worker was killed under run ``run_id``: start another, and sweep until the run left "running"."""
    stack.start_worker()  # boots while the heartbeat goes stale (TORCHCANVAS_RUN_HEARTBEAT_TIMEOUT=3)
    time.sleep(3.5)

    def swept_or_ended():
        if stack.run(run_id)["status"] != "running":
            return True
        stack.manage("sweep_runs")  # what Celery beat does every minute
        return stack.run(run_id)["status"] != "running"

    wait_for(swept_or_ended, 40, f"run {run_id} to leave 'running' after its worker was killed", interval=1)


def test_worker_killed_mid_run_is_requeued_and_completes(celery_stack):
    stack = celery_stack
    # Kill the worker (and its pool child) outright at the run's first progress event: it is training. On a
    # fast machine 5 steps may all be done by then; the run is then queued again with more steps.
    for steps in (5, 40, 300):
        if stack.worker is None or stack.worker.poll() is not None:
            stack.start_worker()
        run = stack.queue_run(stack.graph["id"], {**CONFIG, "steps": steps})
        stack.follow(stack.session, run["id"], timeout=60, until=lambda m: m["type"] == "progress")
        stack.kill_worker()
        if stack.run(run["id"])["status"] == "running":
            break
    else:
        pytest.fail("Every run finished before its worker could be killed")

    restart_and_sweep(stack, run["id"])
    final = stack.wait_status(run["id"], TERMINAL, timeout=60)

    assert final["status"] == "succeeded", final  # re-delivered to the new worker (attempt 2 of 2)
    assert final["attempts"] == 2, final
    assert final["progress"]["step"] == steps


def test_redis_restarted_while_run_queued_still_completes(celery_stack, processes, private_redis):
    # The same database and user, a web server and (later) a worker on a Redis of this test's own.
    stack = Stack(processes, {**celery_stack.env, "REDIS_URL": private_redis.url})
    stack.token = celery_stack.token
    stack.start_web()
    run = stack.queue_run(celery_stack.graph["id"], CONFIG)
    assert run["status"] == "queued"

    # No worker yet: the message waits in Redis, which is restarted without persistence and loses it.
    private_redis.kill()
    private_redis.start()
    stack.start_worker()
    assert stack.run(run["id"])["status"] == "queued"  # the web server still answers (its cache reconnects)

    def resent_or_ended():
        # The sweeper re-sends a queued run TORCHCANVAS_RUN_RESEND_AFTER (10 s, the least) after it was sent.
        if stack.run(run["id"])["status"] != "queued":
            return True
        stack.manage("sweep_runs")
        return stack.run(run["id"])["status"] != "queued"

    wait_for(resent_or_ended, 60, f"run {run['id']} to be re-sent after Redis restarted", interval=2)
    final = stack.wait_status(run["id"], TERMINAL, timeout=60)

    # A clear failure would name its cause in `error`; with a worker present the run completes.
    assert final["status"] == "succeeded", final
    assert final["progress"]["step"] == CONFIG["steps"]


# --- the embedded mode ----------------------------------------------------------------------------------


def test_embedded_mode_runs_end_to_end(processes, tmp_path):
    stack = Stack(
        processes,
        stack_env(DATABASE_URL=f"sqlite:///{tmp_path / 'stack.sqlite3'}", TORCHCANVAS_RUN_MODE="embedded"),
    )
    stack.manage("migrate", "--noinput")
    stack.start_web(wait=False)
    stack.setup_user()
    stack.wait_web()
    session = stack.login()
    graph = stack.graph_from_template("hybridcmi")

    run = stack.queue_run(graph["id"], CONFIG)
    assert (run["status"], run["queue"]) == ("queued", "embedded")
    messages = stack.follow(session, run["id"])

    assert_streamed_in_order(messages)
    final = stack.run(run["id"])
    assert final["status"] == "succeeded", final
    assert final["progress"]["step"] == CONFIG["steps"]


def test_worker_killed_mid_run_resumes_from_its_last_checkpoint(celery_stack):
    """A run on a dataset checkpoints after every epoch; SIGKILLed mid-run, it is re-queued and the next worker
    continues after the checkpoint: no step before it is trained (or reported) again."""
    stack = celery_stack
    resp = stack.request("POST", "/api/graphs/", {"name": "Shapes CNN", "document": model(SHAPES_CNN)})
    assert resp.status == 201, resp.body[:500]
    shapes = next(d for d in stack.request("GET", "/api/datasets/").json()["results"] if d["builtin"] == "shapes-16")
    for epochs in (20, 60):
        if stack.worker is None or stack.worker.poll() is not None:
            stack.start_worker()
        config = {"dataset": shapes["id"], "batch_size": 2, "epochs": epochs, "lr": 0.005, "device": "cpu"}
        run = stack.queue_run(resp.json()["id"], config)
        seen = stack.follow(stack.session, run["id"], timeout=60, until=lambda m: m["type"] == "checkpoint")
        stack.kill_worker()
        if stack.run(run["id"])["status"] == "running":
            break
    else:
        pytest.fail("Every run finished before its worker could be killed")
    killed_after = seen[-1]["step"]
    assert killed_after == 160  # one epoch of 320 training images at batch 2

    restart_and_sweep(stack, run["id"])
    final = stack.wait_status(run["id"], TERMINAL, timeout=180)
    assert final["status"] == "succeeded" and final["attempts"] == 2, final
    resumed_from = final["metrics"]["resumed_from_step"]
    assert resumed_from >= killed_after, final["metrics"]
    total = 160 * epochs
    assert final["metrics"]["steps"] == total and final["metrics"]["loss_curve"][-1][0] == total

    messages = stack.follow(stack.session, run["id"], timeout=30)
    requeued = max(i for i, m in enumerate(messages) if m["type"] == "status" and m["status"] == "queued")
    after = [m["step"] for m in messages[requeued:] if m["type"] == "progress"]
    assert after and min(after) == resumed_from + 1 and max(after) == total, (resumed_from, after[:5])
    epochs_after = [m["epoch"] for m in messages[requeued:] if m["type"] == "epoch"]
    assert epochs_after[0] == resumed_from // 160 + 1 and epochs_after[-1] == epochs
