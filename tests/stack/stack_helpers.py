"""Helpers and fixtures of the stack tests (re-exported by ``conftest.py``; this module is importable).

The real stack as subprocesses: the web server and a Celery worker started as docker-compose.yml and the README
start them (``deployment``), Redis, PostgreSQL, for ``test_stack_runs``.

Each test database is created here and dropped at the end; the shared Redis is used at one spare database
number (flushed before and after), and the Redis-restart scenario runs a private ``redis-server`` of its own.
Every subprocess starts in its own process group and is killed (SIGKILL, the whole group) by a finalizer.

Skipped, saying why, only where Redis or PostgreSQL is really unreachable (a developer's machine); CI has both.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import deployment
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_SERVER = os.environ.get("TORCHCANVAS_STACK_PG", "postgres://postgres@127.0.0.1:5432")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_DB = int(os.environ.get("TORCHCANVAS_STACK_REDIS_DB", "14"))  # a spare database number, flushed
PASSWORD = "stack-test-password-1"
TERMINAL = {"succeeded", "failed", "cancelled"}  # a run's last statuses
# The environment of the suite that must not leak into the stack's processes.
SCRUB = ("DATABASE_URL", "REDIS_URL", "TORCHCANVAS_RUN_MODE", "DJANGO_SETTINGS_MODULE", "TORCHCANVAS_ENV") + (
    # Threads and processes are the deployment's own choice (an embedded run in this process sets the first two).
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TORCHCANVAS_WORKER_THREADS",
    "WEB_CONCURRENCY",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    """Poll ``predicate`` until it returns something truthy; fail the test naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# --- PostgreSQL and Redis ---------------------------------------------------------------------------


def _pg_admin():
    import psycopg

    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    try:
        with _pg_admin() as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "not here"
        pytest.skip(f"PostgreSQL is not reachable at {PG_SERVER} ({exc.__class__.__name__}: {exc})")
    return PG_SERVER


@contextlib.contextmanager
def fresh_database(server: str):
    """A fresh, empty PostgreSQL database for one stack; dropped at the end."""
    name = f"torchcanvas_stack_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_database(postgres_server):
    with fresh_database(postgres_server) as url:
        yield url


def redis_client(port: int = REDIS_PORT, db: int = REDIS_DB):
    import redis

    return redis.Redis(host=REDIS_HOST, port=port, db=db, socket_connect_timeout=1, socket_timeout=3)


@pytest.fixture(scope="module")
def shared_redis():
    """The machine's Redis at a spare database number, flushed before and after."""
    client = redis_client()
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT} ({exc.__class__.__name__}: {exc})")
    client.flushdb()
    yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    client.flushdb()
    client.close()


class PrivateRedis:
    """A ``redis-server`` of this test only (no persistence), which the test may restart."""

    def __init__(self, processes: Processes):
        self.processes = processes
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.url = f"redis://{REDIS_HOST}:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        self.process = self.processes.start(
            "redis",
            [binary, "--port", str(self.port), "--bind", REDIS_HOST, "--save", "", "--appendonly", "no"],
            env=os.environ.copy(),
        )
        wait_for(self._pings, 10, f"redis-server on port {self.port}")

    def _pings(self) -> bool:
        try:
            return bool(redis_client(self.port, 0).ping())
        except Exception:  # noqa: BLE001
            return False

    def kill(self) -> None:
        self.processes.kill(self.process)


@pytest.fixture
def private_redis(processes):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (the Redis-restart scenario runs a private one)")
    redis_server = PrivateRedis(processes)
    redis_server.start()
    return redis_server


# --- subprocesses -----------------------------------------------------------------------------------


class Processes:
    """Subprocesses of one test, each in its own process group, logging to files under ``tmp_path``."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[tuple[str, subprocess.Popen, Path]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = self.log_dir / f"{name}-{len(self.started)}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append((name, process, log))
        return process

    @staticmethod
    def kill(process: subprocess.Popen | None, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to ``process``'s whole group (a Celery worker and its pool children) and reap it."""
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def kill_all(self) -> None:
        for _, process, _ in reversed(self.started):
            self.kill(process)

    def logs(self, lines: int = 40) -> str:
        parts = []
        for name, process, log in self.started:
            tail = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else []
            parts.append(f"--- {name} (pid {process.pid}, exit {process.poll()}) ---\n" + "\n".join(tail))
        return "\n".join(parts)


@pytest.fixture
def processes(tmp_path, request):
    procs = Processes(tmp_path)
    yield procs
    procs.kill_all()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(procs.logs())  # shown with the failure


@pytest.fixture(scope="module")
def module_processes(tmp_path_factory):
    """Processes shared by a module's tests (one Celery stack for several scenarios)."""
    procs = Processes(tmp_path_factory.mktemp("stack"))
    yield procs
    procs.kill_all()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# --- a stack ------------------------------------------------------------------------------------------


class Response:
    def __init__(self, status: int, body: bytes, headers):
        self.status = status
        self.body = body
        self.headers = headers

    def json(self):
        return json.loads(self.body)


class Stack:
    """One deployment: its environment, its web server and workers, and an HTTP client for it."""

    def __init__(self, processes: Processes, env: dict[str, str]):
        self.processes = processes
        self.env = env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.token = ""
        self.cookies = http.cookiejar.CookieJar()
        # The browser (login form, session cookie) and the script (API token, no cookies): a session cookie
        # would make DRF's SessionAuthentication demand a CSRF token on the API.
        self.browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.script = urllib.request.build_opener()

    def manage(self, *args: str, timeout: float = 90) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode:
            pytest.fail(f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start_web(self, wait: bool = True) -> None:
        """With Redis, the web server as docker-compose and the README start it (uvicorn, ``WEB_CONCURRENCY``
        processes); in embedded mode daphne, the server behind ``make run`` (one process by design)."""
        if not self.env.get("REDIS_URL"):
            argv = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "torchcanvas_site.asgi:application"]
        else:
            argv = deployment.web_argv(self.port)
        self.web = self.processes.start("web", argv, self.env)
        if wait:
            self.wait_web()

    def wait_web(self) -> None:
        wait_for(self._web_up, 60, "the web server to answer")

    def _web_up(self) -> bool:
        if self.web.poll() is not None:
            pytest.fail(f"The web server exited ({self.web.returncode}):\n{self.processes.logs()}")
        return _port_open("127.0.0.1", self.port)

    def start_worker(self) -> subprocess.Popen:
        """A worker as docker-compose's ``worker-cpu`` and the README start it (``-Q cpu --concurrency 2``)."""
        argv = deployment.worker_argv("worker-cpu", f"stack-{uuid.uuid4().hex[:6]}@%h")
        self.worker = self.processes.start("worker", argv, self.env)
        return self.worker

    def kill_worker(self) -> None:
        self.processes.kill(self.worker)

    # HTTP

    def request(self, method: str, path: str, data=None, *, token: bool = True, form: bool = False, headers=None):
        headers = dict(headers or {})
        body = None
        if data is not None:
            if form:
                body = urllib.parse.urlencode(data).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                body = json.dumps(data).encode()
                headers["Content-Type"] = "application/json"
        if token and self.token:
            headers["Authorization"] = f"Token {self.token}"
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        opener = self.script if token and self.token else self.browser
        try:
            with opener.open(req, timeout=30) as resp:
                return Response(resp.status, resp.read(), resp.headers)
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.read(), exc.headers)

    def setup_user(self) -> dict:
        """Create the user ``stack`` (with a password and an API token); returns ``{"token": ...}``."""
        code = (
            "import json\n"
            "from django.contrib.auth import get_user_model\n"
            "from rest_framework.authtoken.models import Token\n"
            f"user = get_user_model().objects.create_user('stack', 'stack@example.com', {PASSWORD!r})\n"
            "print('STACK' + json.dumps({'token': Token.objects.create(user=user).key}))\n"
        )
        out = self.manage("shell", "-c", code)
        info = json.loads(next(line for line in out.splitlines() if line.startswith("STACK"))[5:])
        self.token = info["token"]
        return info

    def login(self) -> str:
        """Log in through the login form (CSRF included); returns the session cookie's value."""
        page = self.request("GET", "/accounts/login/", token=False)
        assert page.status == 200, page.body[:500]
        csrf = self.cookie("csrftoken")
        resp = self.request(
            "POST",
            "/accounts/login/",
            {"username": "stack", "password": PASSWORD, "csrfmiddlewaretoken": csrf},
            token=False,
            form=True,
            headers={"Referer": self.base + "/accounts/login/"},
        )
        assert resp.status in (200, 302), resp.status
        session = self.cookie("sessionid")
        assert session, f"login did not set a session cookie (status {resp.status})"
        return session

    def websocket(self, session: str, path: str):
        """A WebSocket client on ``path`` as a browser opens it: the ``session`` cookie, the site's own origin."""
        from websockets.sync.client import connect

        return connect(
            f"ws://127.0.0.1:{self.port}{path}",
            additional_headers={"Cookie": f"sessionid={session}"},
            origin=self.base,
            open_timeout=15,
        )

    def follow(self, session: str, run_id: int, timeout: float = 90, until=None) -> list[dict]:
        """The run's WebSocket messages (history, then live) until its terminal status, or ``until(message)``."""
        messages: list[dict] = []
        deadline = time.monotonic() + timeout
        with self.websocket(session, f"/ws/runs/{run_id}/") as ws:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"Run {run_id}: no terminal status on the WebSocket within {timeout} s; got {messages}")
                try:
                    message = json.loads(ws.recv(timeout=remaining))
                except TimeoutError:
                    continue
                messages.append(message)
                if until is not None and until(message):
                    return messages
                if message.get("type") == "status" and message.get("status") in TERMINAL:
                    return messages

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)

    def graph_from_template(self, template: str = "hybridcmi") -> dict:
        resp = self.request("POST", "/api/graphs/from-template/", {"template": template})
        assert resp.status == 201, resp.body[:500]
        return resp.json()

    def queue_run(self, graph_id: int, config: dict) -> dict:
        resp = self.request("POST", "/api/runs/", {"graph": graph_id, "version": 1, "config": config})
        assert resp.status == 201, resp.body[:500]
        return resp.json()

    def run(self, run_id: int) -> dict:
        resp = self.request("GET", f"/api/runs/{run_id}/")
        assert resp.status == 200, resp.body[:500]
        return resp.json()

    def wait_status(self, run_id: int, statuses: set[str], timeout: float) -> dict:
        def reached():
            run = self.run(run_id)
            return run if run["status"] in statuses else None

        return wait_for(reached, timeout, f"run {run_id} to be one of {sorted(statuses)}", interval=0.3)


def stack_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in SCRUB}
    env.update(
        DEBUG="true",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        TORCHCANVAS_RUN_HEARTBEAT_INTERVAL="1",
        TORCHCANVAS_RUN_HEARTBEAT_TIMEOUT="3",
        TORCHCANVAS_RUN_RESEND_AFTER="10",  # the minimum: the Redis-restart scenario re-sends a lost message
        PYTHONUNBUFFERED="1",
        WEB_CONCURRENCY="2",  # several uvicorn processes, as deployed; two keep the start-up short
    )
    env.update(extra)
    return env


@pytest.fixture
def make_stack(processes):
    def make(**extra: str) -> Stack:
        # Built exports go to the test's folder, which the web server and the worker share (as a volume).
        extra.setdefault("TORCHCANVAS_ARTIFACT_DIR", str(processes.log_dir / "artifacts"))
        return Stack(processes, stack_env(**extra))

    return make
