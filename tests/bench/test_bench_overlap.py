"""Overlapping runs on the README's deployment: a run's step time alone, and with two and four submitted at once.

Issue 9, item 8. The web server and the worker are started with ``docker-compose.yml``'s own commands
(``tests/support/deployment.py``): uvicorn, and ``celery -A torchcanvas_site worker -Q cpu --concurrency 2``
with no thread settings given (the worker divides the cores among its runs itself), on a fresh PostgreSQL
database and the machine's Redis at a spare database number.

Each round submits one run, then two at once, then four at once (the worker takes two at a time, so the
four run in two overlapping pairs), each batch followed to its end before the next. The figure is each run's
median step time (its ``metrics.step_time_ms``: the steady steps, the first one left out). Baseline, same
run: the run alone. Target (issue 9): overlapping / alone ≤ 1.3 on two cores. No timing is asserted.
"""

from __future__ import annotations

import statistics

import deployment
import pytest
from stack_helpers import TERMINAL, Stack, fresh_database, stack_env

from .report import machine, publish

pytestmark = pytest.mark.bench

ROUNDS = 3
BATCHES = (1, 2, 4)  # runs submitted at once
TARGET_RATIO = 1.3
CONFIG = {"steps": 40, "batch_size": 8, "device": "cpu"}  # the HybridCMI template: a medium CPU run
TEMPLATE = "hybridcmi"


def run_batch(stack: Stack, graph_id: int, count: int) -> list[dict]:
    runs = [stack.queue_run(graph_id, {**CONFIG, "seed": seed}) for seed in range(count)]
    finals = [stack.wait_status(run["id"], TERMINAL, timeout=600) for run in runs]
    failed = [final for final in finals if final["status"] != "succeeded"]
    if failed:
        pytest.fail(f"Runs did not succeed: {failed}")
    return finals


def test_overlapping_runs(processes, postgres_server, shared_redis):
    worker = deployment.command("worker-cpu")
    concurrency = int(deployment.option(worker, "--concurrency"))
    step_ms: dict[int, list[float]] = {count: [] for count in BATCHES}
    threads: set[int] = set()
    with fresh_database(postgres_server) as database:
        stack = Stack(
            processes,
            stack_env(DATABASE_URL=database, REDIS_URL=shared_redis, TORCHCANVAS_RUN_MAX_CONCURRENT=str(max(BATCHES))),
        )
        stack.manage("migrate", "--noinput")
        stack.start_web(wait=False)
        stack.start_worker()
        try:
            stack.setup_user()
            stack.wait_web()
            graph = stack.graph_from_template(TEMPLATE)
            run_batch(stack, graph["id"], concurrency)  # warm-up: each pool process imports and allocates once
            for _ in range(ROUNDS):
                for count in BATCHES:
                    for final in run_batch(stack, graph["id"], count):
                        step_ms[count].append(final["metrics"]["step_time_ms"])
                        threads.add(final["metrics"]["cpu_threads"])
        finally:
            processes.kill_all()  # before the database is dropped

    alone = statistics.median(step_ms[1])
    lines = [
        "## Runs: overlapping runs on the README's worker",
        "",
        f"Machine: {machine()}.",
        f"The deployment as docker-compose.yml and the README start it: `{' '.join(deployment.command('web'))}` "
        f"(`WEB_CONCURRENCY={stack.env['WEB_CONCURRENCY']}`) and `{' '.join(worker)}`, no thread settings given; "
        f"PostgreSQL, Redis. Torch threads per run, as the worker chose them: {sorted(threads)}.",
        f"The {TEMPLATE} template, {CONFIG['steps']} steps at batch {CONFIG['batch_size']}, CPU. {ROUNDS} rounds "
        f"after one warm-up pair; each round submits 1, then {BATCHES[1]}, then {BATCHES[2]} runs at once (the "
        f"worker runs {concurrency} at a time), each batch to its end before the next. Figure: each run's median "
        "step time (`metrics.step_time_ms`, the first step left out); the table shows the median over the runs "
        "of a row.",
        "",
        "Baseline, same run: one run alone. Ratio = row / baseline.",
        "",
        "| runs submitted at once | runs measured | step time p50 (ms) | slowest run (ms) | ratio |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for count in BATCHES:
        median = statistics.median(step_ms[count])
        lines.append(
            f"| {count} | {len(step_ms[count])} | {median:.1f} | {max(step_ms[count]):.1f} | {median / alone:.2f} |"
        )
    worst = max(statistics.median(step_ms[count]) for count in BATCHES[1:]) / alone
    lines += [
        "",
        f"Target: overlapping / alone ≤ {TARGET_RATIO} — {worst:.2f} at worst "
        f"({'met' if worst <= TARGET_RATIO else 'NOT met'}).",
    ]
    publish("overlap", lines)
