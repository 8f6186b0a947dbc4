"""``POST /api/validate/`` throughput at 32 concurrent clients: the multi-process production start against one process.

Issue 9, item 10. The web server is started with ``docker-compose.yml``'s own command
(``tests/support/deployment.py``: uvicorn) on a fresh PostgreSQL database and the machine's Redis (the
channel layer and the throttles' cache), once with ``WEB_CONCURRENCY`` processes as the compose file sets it,
and once with one process (the baseline, same run). The two alternate for ``ROUNDS`` rounds.

The load: a bounded loopback generator in this process, ``CLIENTS`` asyncio clients, each on its own
keep-alive HTTP/1.1 connection, sending anonymous ``POST /api/validate/`` requests (the flat VGG-16 of the
validate benchmark) one after another until ``REQUESTS`` have been answered in all; every answer must be
200. Throughput = requests / wall time; latency = each request's round trip. The throttles are raised so
that none is answered 429. No timing is asserted: the figures go to the report.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import time

import deployment
import pytest
from stack_helpers import Stack, fresh_database, stack_env

from .report import machine, pct, publish
from .test_bench_validate_roundtrip import SHAPES, flat_vgg16

pytestmark = pytest.mark.bench

CLIENTS = 32
REQUESTS = 1_500  # per measurement, answered in all
WARMUP = 200
ROUNDS = 2


def compose_web_processes() -> str:
    """``WEB_CONCURRENCY`` as docker-compose.yml sets it by default."""
    value = deployment.compose()["services"]["web"]["environment"]["WEB_CONCURRENCY"]
    return re.fullmatch(r"\$\{WEB_CONCURRENCY:-(\d+)\}", value).group(1)


async def _client(port: int, request: bytes, budget: list[int], latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while budget[0] > 0:
            budget[0] -= 1
            begin = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
            body = await reader.readexactly(length)
            latencies.append(1000 * (time.perf_counter() - begin))
            if status != 200:
                raise AssertionError(f"{status}: {body[:300]!r}")
    finally:
        writer.close()


def load(port: int, body: bytes, requests: int) -> dict:
    """``requests`` POSTs from ``CLIENTS`` keep-alive connections; throughput and latency percentiles."""
    request = (
        f"POST /api/validate/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []

    async def main() -> float:
        budget = [requests]
        begin = time.perf_counter()
        await asyncio.gather(*(_client(port, request, budget, latencies) for _ in range(CLIENTS)))
        return time.perf_counter() - begin

    wall = asyncio.run(main())
    return {"rps": len(latencies) / wall, "p50": pct(latencies, 50), "p95": pct(latencies, 95)}


def measure(processes, database: str, redis_url: str, web_processes: str, body: bytes) -> dict:
    stack = Stack(
        processes,
        stack_env(
            DATABASE_URL=database,
            REDIS_URL=redis_url,
            WEB_CONCURRENCY=web_processes,
            TORCHCANVAS_THROTTLE_ANON="100000000/min",
            TORCHCANVAS_THROTTLE_USER="100000000/min",
        ),
    )
    stack.start_web()
    try:
        load(stack.port, body, WARMUP)  # every process imports, connects and warms its caches
        return load(stack.port, body, REQUESTS)
    finally:
        processes.kill(stack.web)


def test_web_throughput(processes, postgres_server, shared_redis):
    body = json.dumps({"graph": flat_vgg16(), "input_shapes": SHAPES}).encode()
    many = compose_web_processes()
    results: dict[str, list[dict]] = {many: [], "1": []}
    with fresh_database(postgres_server) as database:
        Stack(processes, stack_env(DATABASE_URL=database)).manage("migrate", "--noinput")
        try:
            for _ in range(ROUNDS):
                for web_processes in results:
                    results[web_processes].append(measure(processes, database, shared_redis, web_processes, body))
        finally:
            processes.kill_all()  # before the database is dropped

    def median(web_processes: str, key: str) -> float:
        return statistics.median(result[key] for result in results[web_processes])

    ratio = median(many, "rps") / median("1", "rps")
    lines = [
        "## Web: validate throughput at 32 clients, several processes against one",
        "",
        f"Machine: {machine()}; the load generator runs on the same CPUs as the server.",
        f"The production start of docker-compose.yml and the README, `{' '.join(deployment.command('web'))}`, "
        f"with `WEB_CONCURRENCY={many}` (the compose file's default) and, as the baseline in the same run, with "
        f"`WEB_CONCURRENCY=1`; PostgreSQL and Redis (channel layer, throttle counters). {CLIENTS} asyncio clients "
        f"on keep-alive connections send anonymous `POST /api/validate/` (the flat VGG-16 of the validate "
        f"benchmark, {len(body):,} bytes) back to back until {REQUESTS:,} are answered, after {WARMUP} warm-up "
        f"requests; the two starts alternate, {ROUNDS} rounds each. The table shows the median over the rounds.",
        "",
        "| web processes | requests/s | p50 (ms) | p95 (ms) |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for web_processes in results:
        lines.append(
            f"| {web_processes} | {median(web_processes, 'rps'):.0f} | {median(web_processes, 'p50'):.1f} "
            f"| {median(web_processes, 'p95'):.1f} |"
        )
    lines += ["", f"Throughput ratio, {many} processes / 1: {ratio:.2f}."]
    publish("throughput", lines)
