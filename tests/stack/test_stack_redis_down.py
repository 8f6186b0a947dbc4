"""Redis stopped under a running stack (the web server and a Celery worker as deployed on PostgreSQL and a private Redis).

While Redis is away the engine endpoints, the platform API and the pages answer as usual, and a run is
created (201, queued, with a notice); nothing answers 500. Once Redis is back the run is sent (the sweeper,
``manage.py sweep_runs``, does what Celery beat does every minute) and completes.
"""

from __future__ import annotations

import re

import pytest
from stack_helpers import TERMINAL, Stack, fresh_database, stack_env, wait_for

pytestmark = pytest.mark.stack

CONFIG = {"steps": 5, "batch_size": 2, "device": "cpu"}


@pytest.fixture
def stack(processes, postgres_server, private_redis):
    with fresh_database(postgres_server) as database:
        stack = Stack(processes, stack_env(DATABASE_URL=database, REDIS_URL=private_redis.url))
        stack.manage("migrate", "--noinput")
        stack.start_web(wait=False)
        stack.start_worker()
        stack.setup_user()
        stack.wait_web()
        yield stack
        processes.kill_all()  # before the database is dropped


def test_with_redis_stopped_the_site_answers_and_a_run_waits_for_it(stack, private_redis):
    stack.login()
    graph = stack.graph_from_template("hybridcmi")
    document = stack.request("GET", f"/api/graphs/{graph['id']}/versions/1/").json()["document"]
    engine = {"graph": document, "name": "Hybrid"}

    private_redis.kill()

    statuses = {
        "registry": stack.request("GET", "/api/registry/").status,
        "validate": stack.request("POST", "/api/validate/", {"graph": document}).status,
        "codegen": stack.request("POST", "/api/codegen/", engine).status,
        "zip": stack.request("POST", "/api/export/zip/", engine).status,
        "graphs": stack.request("GET", "/api/graphs/").status,
        "graph page": stack.request("GET", f"/graphs/{graph['id']}/", token=False).status,
        "version page": stack.request("GET", f"/graphs/{graph['id']}/versions/1/", token=False).status,
    }
    assert statuses == dict.fromkeys(statuses, 200)

    created = stack.request("POST", "/api/runs/", {"graph": graph["id"], "version": 1, "config": CONFIG})
    assert created.status == 201, created.body[:500]
    run = created.json()
    assert run["status"] == "queued" and run["notice"].startswith("Queued, but the task queue (Redis) cannot be")
    assert stack.run(run["id"])["status"] == "queued"

    private_redis.start()  # empty: the run's message was never sent

    def sent_or_ended():
        if stack.run(run["id"])["notice"] is None:  # sent (or already past queued)
            return True
        stack.manage("sweep_runs")
        return stack.run(run["id"])["notice"] is None

    wait_for(sent_or_ended, 60, f"run {run['id']} to be sent once Redis is back", interval=2)
    final = stack.wait_status(run["id"], TERMINAL, timeout=90)
    assert final["status"] == "succeeded", final
    assert final["progress"]["step"] == CONFIG["steps"]

    log = next(path for name, _, path in stack.processes.started if name == "web").read_text(errors="replace")
    assert '"GET /api/registry/ HTTP/1.1" 200' in log  # uvicorn's access log, read below
    assert not re.search(r'" 5\d\d ', log) and "Internal Server Error" not in log, log[-3000:]
