"""``POST /api/validate/`` round trip for a VGG-16 graph, against a real server on loopback.

Issue 5. A daphne subprocess (``tests/stack/stack_helpers.py``; SQLite, no Redis) answers ``POST /api/validate/``
with a flat VGG-16 (every conv, activation and pool its own node, as a person draws it on the canvas: 40
nodes, 138 M parameters) and ``input_shapes`` ``{"input": [3, 224, 224]}``, ``ROUNDS`` times after ``WARMUP``
rounds, as the canvas sends it: logged in through the login form, with the session cookie, ``X-CSRFToken`` and
``Origin``, over one keep-alive HTTP/1.1 connection (the headline). Each round also times, on the same graph,
in an order that rotates from round to round (so machine drift and going first hit all alike):

- the baseline: :func:`codegen.validate` called in this process (what the engine itself costs);
- ``to_dict()`` and JSON encoding and decoding of that call's result, alone (the serialisation);
- Django's test client in this process, anonymous (the whole view stack — middleware, DRF parsing, throttle,
  serializer, renderer — without an ASGI server or a socket);
- daphne, anonymous (no session to look up, no CSRF check), on a keep-alive connection and on a new
  connection per request.

The throttles are raised for the server so that it never answers 429; it still counts every request.
Target (issue 5): p95 under 150 ms. No timing is asserted: the figures go to the report.
"""

from __future__ import annotations

import http.client
import json
import time

import pytest
from rest_framework.test import APIClient
from stack_helpers import Stack, stack_env  # tests/stack, put on the path by conftest.py

import codegen
from graphs.services import engine_limits

from .report import machine, pct, write_section

pytestmark = pytest.mark.bench

ROUNDS = 60
WARMUP = 5
TARGET_MS = 150.0
SHAPES = {"input": [3, 224, 224]}
VGG16_LAYERS = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def flat_vgg16() -> dict:
    """VGG-16 (configuration D) with one node per layer: 13 convolutions, 5 pools, the classifier."""
    nodes = [{"id": "input", "type": "Input", "params": {}}]
    for index, layer in enumerate(VGG16_LAYERS):
        if layer == "M":
            nodes.append({"id": f"pool{index}", "type": "MaxPool2d", "params": {"kernel_size": 2}})
        else:
            nodes.append({"id": f"conv{index}", "type": "Conv2d", "params": {"out_channels": layer, "padding": 1}})
            nodes.append({"id": f"relu{index}", "type": "ReLU", "params": {}})
    nodes.append({"id": "flatten", "type": "Flatten", "params": {}})
    for index, width in enumerate((4096, 4096, 1000)):
        nodes.append({"id": f"fc{index}", "type": "Linear", "params": {"out_features": width}})
        if width != 1000:
            nodes.append({"id": f"fc_relu{index}", "type": "ReLU", "params": {}})
            nodes.append({"id": f"dropout{index}", "type": "Dropout", "params": {"p": 0.5}})
    edges = [[a["id"], b["id"]] for a, b in zip(nodes, nodes[1:])]
    return {"version": "0.2", "nodes": nodes, "edges": edges, "inputs": ["input"], "outputs": [nodes[-1]["id"]]}


def timed(call) -> tuple[float, object]:
    begin = time.perf_counter()
    result = call()
    return 1000 * (time.perf_counter() - begin), result


def post(connection: http.client.HTTPConnection, body: bytes, headers: dict[str, str] | None = None) -> dict:
    headers = {"Content-Type": "application/json", **(headers or {})}
    connection.request("POST", "/api/validate/", body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    assert response.status == 200, (response.status, data[:500])
    return json.loads(data)


def test_validate_roundtrip(processes, tmp_path, reset_throttles):
    document = flat_vgg16()
    body = json.dumps({"graph": document, "input_shapes": SHAPES}).encode()
    limits = engine_limits()

    stack = Stack(
        processes,
        stack_env(
            DATABASE_URL=f"sqlite:///{tmp_path / 'validate.sqlite3'}",
            TORCHCANVAS_RUN_MODE="embedded",
            TORCHCANVAS_THROTTLE_ANON="1000000/min",
            TORCHCANVAS_THROTTLE_USER="1000000/min",
        ),
    )
    stack.manage("migrate", "--noinput")
    stack.start_web(wait=False)
    stack.setup_user()
    stack.wait_web()
    session = stack.login()
    browser_headers = {  # what the canvas's fetch sends: the session cookie, the CSRF token, its origin
        "Cookie": f"sessionid={session}; csrftoken={stack.cookie('csrftoken')}",
        "X-CSRFToken": stack.cookie("csrftoken"),
        "Origin": stack.base,
    }
    browser = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    keep_alive = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    client = APIClient()

    def engine():
        return codegen.validate(document, input_shapes=SHAPES, limits=limits)

    validation = engine()

    def serialised():
        return json.loads(json.dumps(validation.to_dict()))

    def in_process():
        response = client.post("/api/validate/", data=body, content_type="application/json")
        assert response.status_code == 200, response.content[:500]
        return response.json()

    def fresh_connection():
        connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
        try:
            return post(connection, body)
        finally:
            connection.close()

    kinds = {
        "engine": engine,
        "serialised": serialised,
        "test_client": in_process,
        "browser": lambda: post(browser, body, browser_headers),
        "keep_alive": lambda: post(keep_alive, body),
        "fresh": fresh_connection,
    }
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    try:
        for i in range(WARMUP + ROUNDS):
            reset_throttles()  # the test client's anonymous throttle (this process's cache): 600/min
            order = list(kinds)[i % len(kinds) :] + list(kinds)[: i % len(kinds)]  # rotate who goes first
            answers = {kind: timed(kinds[kind]) for kind in order}
            if i < WARMUP:
                continue
            for kind, (ms, _) in answers.items():
                times[kind].append(ms)
    finally:
        browser.close()
        keep_alive.close()
    answer = answers["browser"][1]
    assert answer["ok"] and answer == answers["serialised"][1], "the server's answer differs from the engine's"

    stats = {kind: (pct(values, 50), pct(values, 95)) for kind, values in times.items()}
    base = stats["engine"]
    p95 = stats["browser"][1]
    labels = {
        "engine": "`codegen.validate` in-process (baseline)",
        "serialised": "`to_dict()` + JSON encode/decode of its result (alone)",
        "test_client": "Django test client, in-process, anonymous (view stack, no server)",
        "browser": "**daphne on loopback, logged-in session (cookie + CSRF), keep-alive**",
        "keep_alive": "daphne on loopback, anonymous, keep-alive",
        "fresh": "daphne on loopback, anonymous, new connection per request",
    }
    lines = [
        "## Engine API: validate round trip",
        "",
        f"Machine: {machine()}.",
        f"A flat VGG-16 ({len(document['nodes'])} nodes: 13 `Conv2d` + `ReLU`, 5 `MaxPool2d`, the classifier; "
        f"{answer['params_total']:,} parameters), `input_shapes` {SHAPES}; request body {len(body):,} bytes, "
        f"answer {len(json.dumps(answer)):,} bytes. `POST /api/validate/` to a daphne subprocess (DEBUG on, "
        "SQLite, no Redis) over loopback: as the canvas sends it (logged in: session cookie, `X-CSRFToken`, "
        "`Origin`; one keep-alive connection), and anonymously (no session to look up, no CSRF check), "
        f"{ROUNDS} rounds after {WARMUP} warm-up rounds. Every round times each row once, the order rotating from round to round, so drift and going "
        "first hit all rows alike.",
        "",
        "Baseline, same run: the engine call itself, `codegen.validate` in the test process on the same graph. "
        "Ratio = row / baseline (at p50 and at p95): what HTTP, Django, DRF and serialisation add.",
        "",
        "| (ms) | p50 | p95 | ratio p50 | ratio p95 |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for kind, label in labels.items():
        p50_, p95_ = stats[kind]
        lines.append(f"| {label} | {p50_:.2f} | {p95_:.2f} | {p50_ / base[0]:.1f} | {p95_ / base[1]:.1f} |")
    lines += [
        "",
        f"Target: p95 under {TARGET_MS:.0f} ms — {p95:.2f} ms as the canvas sends it "
        f"({'met' if p95 < TARGET_MS else 'NOT met'}).",
    ]
    path = write_section("validate", "\n".join(lines))
    print("\n".join(lines))
    print(f"written to {path}")
