"""Enqueue → first progress event: how long a user waits, on the real stack, for a run to show life.

Issue 4. For each deployment, the real processes on loopback (``tests/stack/stack_helpers.py``):

- **celery**: the web server and the worker as docker-compose.yml and the README start them (uvicorn with
  several processes; ``celery worker -Q cpu --concurrency 2``, no thread settings given), warm, on a fresh
  PostgreSQL database and the machine's Redis at a spare database number (broker and channel layer);
- **embedded**: daphne alone on SQLite, the in-memory channel layer, runs on the in-process worker thread.

A user logged in through the login form keeps its run-list WebSocket (``/ws/runs/``) open; then, ``RUNS`` times
after ``WARMUP`` runs, it sends ``POST /api/runs/`` (API token) for a tiny graph (Input[16] → Linear(32) →
ReLU → Linear(4), 3 steps at batch 2, CPU), opens ``/ws/runs/<id>/`` as soon as the answer comes, and takes
the time from sending the POST to the first ``{"type": "progress"}`` message there (the headline figure).
It also notes when the same event reached the already-open run-list socket (the event's real arrival,
free of the second socket's handshake), and reads the run's own timestamps from the database afterwards
to split the wait into its parts (see the report). Each run is followed to its end before the next one.

Baseline, same run: :func:`training.runner.train` called in this process on the same document and config,
from the call to its first progress callback — validation, code generation, import of the generated
package, building the model and the first step, i.e. the work a run cannot skip. The ratio is what the
platform (HTTP, database, broker, worker, channel layer, WebSocket) multiplies it by.

Target (issue 4): p95 under 300 ms. No timing is asserted: the figures go to the report.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import deployment
import pytest
import torch
from stack_helpers import Stack, fresh_database, stack_env  # tests/stack, put on the path by conftest.py

from training import runner
from training.config import RunConfig
from training.workers import available_cores

from .report import machine, pct, publish

pytest.importorskip("websockets.sync.client", reason="the latency bench needs `websockets` (dev extra)")

pytestmark = pytest.mark.bench

RUNS = 20  # measured runs per deployment
WARMUP = 2  # runs before them: the worker's first task imports and allocates
TARGET_MS = 300.0
# What a run gets on the README's worker, for the in-process baseline.
RUN_THREADS = max(1, available_cores() // int(deployment.option(deployment.command("worker-cpu"), "--concurrency")))
CONFIG = {"steps": 3, "batch_size": 2, "device": "cpu"}
TINY = {
    "version": "0.2",
    "nodes": [
        {"id": "inp", "type": "Input", "params": {"shape": [16]}},
        {"id": "fc1", "type": "Linear", "params": {"out_features": 32}},
        {"id": "relu", "type": "ReLU", "params": {}},
        {"id": "fc2", "type": "Linear", "params": {"out_features": 4}},
    ],
    "edges": [["inp", "fc1"], ["fc1", "relu"], ["relu", "fc2"]],
    "inputs": ["inp"],
    "outputs": ["fc2"],
}


# --- the baseline: the runner in this process ---------------------------------------------------------


def runner_first_progress_ms() -> float:
    """Milliseconds from calling ``runner.train`` to its first progress callback, with the torch threads a run
    gets on the README's worker (the cores divided by its concurrency)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(RUN_THREADS)
    first: list[float] = []
    try:
        begin = time.perf_counter()
        runner.train(TINY, RunConfig(**CONFIG), on_progress=lambda _: first.append(time.perf_counter()))
    finally:
        torch.set_num_threads(threads)
    return 1000 * (first[0] - begin)


# --- the stack ----------------------------------------------------------------------------------------


class Listener:
    """The run-list socket (``/ws/runs/``), read on a thread that stamps each message as it arrives."""

    def __init__(self, ws):
        self.ws = ws
        self.first_step: dict[int, float] = {}  # run id → wall time its first progress arrived
        self._thread = threading.Thread(target=self._read, name="bench-run-list", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with contextlib.suppress(Exception):  # the socket closes at the end
            while True:
                message = json.loads(self.ws.recv())
                arrived = time.time()
                run = message.get("run") or {}
                if message.get("type") == "run" and run.get("step", 0) >= 1:
                    self.first_step.setdefault(run["id"], arrived)


def follow_run(stack: Stack, session: str, run_id: int, timeout: float = 60) -> float:
    """Open ``/ws/runs/<id>/``; return the wall time the first progress message arrived, after reading on to
    the run's terminal status (so that runs do not overlap)."""
    arrivals: list[float] = []

    def note_first_progress(message: dict) -> bool:
        if not arrivals and message.get("type") == "progress":
            arrivals.append(time.time())
        return False  # read on to the end

    end = stack.follow(session, run_id, timeout, until=note_first_progress)[-1]
    if end.get("status") != "succeeded" or not arrivals:
        pytest.fail(f"Run {run_id} ended {end.get('status')} (first progress: {arrivals}): {stack.run(run_id)}")
    return arrivals[0]


def measure_stack(stack: Stack) -> list[dict]:
    """``WARMUP`` + ``RUNS`` runs of the tiny graph; the client's timings of the measured ones."""
    stack.setup_user()
    stack.wait_web()
    session = stack.login()
    resp = stack.request("POST", "/api/graphs/", {"name": "latency", "document": TINY})
    assert resp.status == 201, resp.body[:500]
    graph_id = resp.json()["id"]
    samples = []
    with stack.websocket(session, "/ws/runs/") as run_list:
        listener = Listener(run_list)
        for i in range(WARMUP + RUNS):
            sent = time.time()
            run = stack.queue_run(graph_id, CONFIG)
            answered = time.time()
            on_run_socket = follow_run(stack, session, run["id"])
            get_begin = time.perf_counter()
            stack.run(run["id"])  # a plain authenticated GET of the same server, for scale
            get_ms = 1000 * (time.perf_counter() - get_begin)
            baseline_ms = runner_first_progress_ms()  # interleaved: the same machine drift as the runs
            if i < WARMUP:
                continue
            time.sleep(0.05)  # let the run-list socket catch up before looking
            samples.append(
                {
                    "id": run["id"],
                    "sent": sent,
                    "answered": answered,
                    "run_socket": on_run_socket,
                    "list_socket": listener.first_step.get(run["id"]),
                    "get_ms": get_ms,
                    "baseline_ms": baseline_ms,
                }
            )
    return samples


def _wall(value) -> float:
    """A timestamp from the database as seconds since the epoch (SQLite stores naive UTC text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def server_times(rows: list[tuple], events: list[tuple]) -> dict[int, dict]:
    """Per run: created, dispatched, started (claimed), the ``running`` and first ``progress`` events and the
    training time of that first step (``elapsed_s`` of the event)."""
    times = {
        run_id: {"created": _wall(created), "dispatched": _wall(dispatched), "started": _wall(started)}
        for run_id, created, dispatched, started in rows
    }
    for run_id, kind, payload, created in sorted(events, key=lambda e: _wall(e[3])):
        payload = json.loads(payload) if isinstance(payload, str) else payload
        entry = times[run_id]
        if kind == "status" and payload.get("status") == "running":
            entry.setdefault("running", _wall(created))
        if kind == "progress" and "progress" not in entry:
            entry["progress"] = _wall(created)
            entry["loop_ms"] = 1000 * payload["elapsed_s"]  # training loop start → end of step 1 (+ reporting)
            entry["step_ms"] = payload["step_time_ms"]
    return times


RUN_SQL = "SELECT id, created_at, dispatched_at, started_at FROM training_run"
EVENT_SQL = "SELECT run_id, kind, payload, created_at FROM training_runevent WHERE kind IN ('status', 'progress')"


def read_postgres(url: str) -> dict[int, dict]:
    import psycopg

    with psycopg.connect(url) as conn:
        return server_times(conn.execute(RUN_SQL).fetchall(), conn.execute(EVENT_SQL).fetchall())


def read_sqlite(path: Path) -> dict[int, dict]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return server_times(conn.execute(RUN_SQL).fetchall(), conn.execute(EVENT_SQL).fetchall())


# The parts of the wait, in order; they add up to the headline (sent → first progress on the run's socket).
PARTS = {
    "request": "request: POST sent → run row created (HTTP, auth, config and graph checks)",
    "dispatch": "dispatch: → task sent (`queued` event, commit, broadcast, hand-over to the executor)",
    "claim": "claim: → run claimed by the worker (broker, task start, database connection)",
    "start": "start: → `running` event stored",
    "prepare": "prepare: → training loop starts (broadcast, validation, codegen, import, build, `started` write)",
    "loop": "loop: → step 1 reported (cancel check, step 1)",
    "deliver": "deliver: event stored → first progress on the run's socket",
}


def summarise(samples: list[dict], server: dict[int, dict]) -> dict:
    """Milliseconds, p50 and p95: the headline (POST sent → first progress on the run's socket) and its parts."""
    keys = ("run_socket", "list_socket", "answer", *PARTS, "get", "baseline")
    ms: dict[str, list[float]] = {key: [] for key in keys}
    for sample in samples:
        s = server[sample["id"]]
        loop_start = s["progress"] - s["loop_ms"] / 1000  # the event's elapsed_s counts from the loop's start
        marks = [sample["sent"], s["created"], s["dispatched"], s["started"], s["running"], loop_start]
        marks += [s["progress"], sample["run_socket"]]
        for key, begin, end in zip(PARTS, marks, marks[1:]):
            ms[key].append(1000 * (end - begin))
        ms["run_socket"].append(1000 * (sample["run_socket"] - sample["sent"]))
        if sample["list_socket"] is not None:
            ms["list_socket"].append(1000 * (sample["list_socket"] - sample["sent"]))
        ms["answer"].append(1000 * (sample["answered"] - sample["sent"]))
        ms["get"].append(sample["get_ms"])
        ms["baseline"].append(sample["baseline_ms"])
    return {key: (pct(values, 50), pct(values, 95)) for key, values in ms.items() if values} | {
        "n": len(samples),
        "step_ms": statistics.median(server[s["id"]]["step_ms"] for s in samples),
    }


def measure_celery(processes, postgres, redis_url) -> dict:
    with fresh_database(postgres) as database:
        stack = Stack(processes, stack_env(DATABASE_URL=database, REDIS_URL=redis_url))
        stack.manage("migrate", "--noinput")
        stack.start_web(wait=False)
        stack.start_worker()
        try:
            samples = measure_stack(stack)
            return summarise(samples, read_postgres(database))
        finally:
            processes.kill_all()  # before the database is dropped


def measure_embedded(processes, folder: Path) -> dict:
    database = folder / "latency.sqlite3"
    stack = Stack(processes, stack_env(DATABASE_URL=f"sqlite:///{database}", TORCHCANVAS_RUN_MODE="embedded"))
    stack.manage("migrate", "--noinput")
    stack.start_web(wait=False)
    try:
        samples = measure_stack(stack)
        return summarise(samples, read_sqlite(database))
    finally:
        processes.kill_all()


# --- the report -----------------------------------------------------------------------------------------


def row(label: str, pair: tuple[float, float] | None) -> str:
    return f"| {label} | {pair[0]:.1f} | {pair[1]:.1f} |" if pair else f"| {label} | – | – |"


def test_run_latency(request, module_processes, tmp_path):
    results: dict[str, dict | str] = {}
    try:
        results["celery"] = measure_celery(
            module_processes, request.getfixturevalue("postgres_server"), request.getfixturevalue("shared_redis")
        )
    except pytest.skip.Exception as exc:  # no PostgreSQL or Redis here: say so in the report
        results["celery"] = "Not measured: " + " ".join(str(exc).split())
    results["embedded"] = measure_embedded(module_processes, tmp_path)

    lines = [
        "## Runs: enqueue → first progress event",
        "",
        f"Machine: {machine()}.",
        f"Tiny graph (Input[16] → Linear(32) → ReLU → Linear(4)), {CONFIG['steps']} steps at batch "
        f"{CONFIG['batch_size']}, CPU, {RUN_THREADS} torch thread(s) per run. {RUNS} runs per deployment after {WARMUP} warm-up runs, "
        "one at a time, all on loopback.",
        "",
        "Measured: from sending `POST /api/runs/` (API token) to the first `progress` message on "
        "`/ws/runs/<id>/`, a socket opened as soon as the 201 came back (what the run page sees; an event that came "
        "first is replayed with the history). Also: when that event reached the user's run-list socket "
        "`/ws/runs/`, open all along. The ↳ rows split the headline in order, from the run's timestamps in "
        "the database (`created_at`, `dispatched_at`, `started_at`, the events' `created_at`; same clock as the "
        "client): the loop's start is the progress event's time minus its `elapsed_s`, so the two queries that "
        "precede storing that event count in *prepare*. `dispatched_at` is stamped once the broker took the "
        "message. p50 and p95 of each part are taken on their own, so they do not add up exactly.",
        "",
        "Baseline, same run: `training.runner.train` in the test process on the same document and config, from "
        "the call to its first progress callback (validation, generation, import, build, step 1): the work no "
        "deployment can skip. It is timed once after each run (so it sees the same machine drift). Ratio = stack "
        "/ baseline; the difference is what the deployment adds.",
    ]
    for mode in ("celery", "embedded"):
        result = results[mode]
        title = (
            "Celery: uvicorn + the README's worker (`-Q cpu --concurrency 2`), PostgreSQL, Redis"
            if mode == "celery"
            else "Embedded: daphne alone, SQLite, in-memory layer, in-process worker"
        )
        lines += ["", f"### {title}", ""]
        if isinstance(result, str):
            lines.append(result)
            continue
        p95 = result["run_socket"][1]
        baseline = result["baseline"]
        lines += [
            "| (ms) | p50 | p95 |",
            "| --- | ---: | ---: |",
            row("**POST sent → first progress on `/ws/runs/<id>/`**", result["run_socket"]),
            row("POST sent → same event on the open run-list socket", result.get("list_socket")),
            *(row(f"↳ {label}", result[key]) for key, label in PARTS.items()),
            row("POST sent → 201 received (in parallel with the worker)", result["answer"]),
            row("GET `/api/runs/<id>/` round trip (for scale)", result["get"]),
            row("baseline: in-process runner → first progress", baseline),
            "",
            f"Ratio to baseline: p50 {result['run_socket'][0] / baseline[0]:.2f}, p95 {p95 / baseline[1]:.2f}. "
            f"Target p95 under {TARGET_MS:.0f} ms: {p95:.1f} ms ({'met' if p95 < TARGET_MS else 'NOT met'}). "
            f"Step time of the tiny model: {result['step_ms']:.2f} ms (median).",
        ]
    publish("latency", lines)
