"""Helpers and fixtures of the browser tests (re-exported by ``conftest.py``; this module is importable).

The site runs as ``make run`` serves it: one daphne process in the embedded mode (SQLite file, in-memory
channel layer, in-process run worker), started once per session on a free port with its own database.
Playwright drives Debian's Chromium (``/usr/bin/chromium``; Playwright's own browsers are never
downloaded). Without that browser the tests are skipped, saying why, except in CI
(``CI=true`` or ``TORCHCANVAS_E2E_REQUIRED=1``), where they fail: CI must prove them.

Screenshots of key states go to ``test-artifacts/e2e/`` (or ``$TORCHCANVAS_E2E_ARTIFACTS``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
from pathlib import Path

import pytest
from stack_helpers import (
    PG_SERVER,
    REDIS_HOST,
    REDIS_PORT,
    Processes,
    Stack,
    fresh_database,
    redis_client,
    stack_env,
)

ROOT = Path(__file__).resolve().parents[2]

CHROMIUM = os.environ.get("TORCHCANVAS_CHROMIUM", "/usr/bin/chromium")
# Headless on a machine without a screen, a GPU or the internet (no background calls to Google's hosts).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("TORCHCANVAS_E2E_ARTIFACTS", ROOT / "test-artifacts" / "e2e"))
MANIFEST = ROOT / "static" / "dist" / ".vite" / "manifest.json"  # of the canvas's build
PASSWORD = "e2e-password-1"
USERS = ("alice", "bob")
REDIS_DB = int(os.environ.get("TORCHCANVAS_E2E_REDIS_DB", "13"))  # a spare database number, flushed


def browser_required() -> bool:
    return os.environ.get("TORCHCANVAS_E2E_REQUIRED", "") == "1" or os.environ.get("CI", "") not in ("", "0", "false")


def missing(reason: str):
    if browser_required():
        pytest.fail(f"{reason} (the browser tests are required in CI)")
    pytest.skip(reason)


class Site(Stack):
    """The site (embedded or with Celery) with the users alice and bob (password ``PASSWORD``)."""

    def create_users(self) -> None:
        code = (
            "from django.contrib.auth import get_user_model\n"
            f"for name in {USERS!r}:\n"
            f"    get_user_model().objects.create_user(name, name + '@example.com', {PASSWORD!r})\n"
        )
        self.manage("shell", "-c", code)

    def url(self, path: str) -> str:
        return self.base + path


def start_site(folder: Path, *, production: bool = False, **env: str) -> Site:
    if not MANIFEST.exists():
        pytest.fail(f"The canvas is not built ({MANIFEST.relative_to(ROOT)} is missing): `make frontend` builds it")
    environment = stack_env(
        TORCHCANVAS_ARTIFACT_DIR=str(folder / "artifacts"),
        TORCHCANVAS_RUN_MAX_STEPS="5000",  # a run on a dataset trains long enough to be paused mid-way
        **env,
    )
    if production:  # as deployed: DEBUG off, the static files collected (hashed names) and served by WhiteNoise
        environment.update(
            TORCHCANVAS_ENV="production",
            DEBUG="false",
            SECRET_KEY=secrets.token_urlsafe(50),
            SECURE_SSL_REDIRECT="false",  # plain HTTP on 127.0.0.1; the browser accepts secure cookies there
            STATIC_ROOT=str(folder / "static"),
        )
    site = Site(Processes(folder), environment)
    site.manage("migrate", "--noinput")
    if production:
        site.manage("collectstatic", "--noinput", "--verbosity", "0")
    site.create_users()
    site.start_web()
    return site


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Site:
    """The embedded mode, as `make run` serves it: SQLite, in-memory channel layer, in-process worker."""
    folder = tmp_path_factory.mktemp("e2e-site")
    site = start_site(folder, DATABASE_URL=f"sqlite:///{folder / 'site.sqlite3'}", TORCHCANVAS_RUN_MODE="embedded")
    yield site
    site.processes.kill_all()


@pytest.fixture(scope="session")
def production_site(tmp_path_factory) -> Site:
    """The embedded mode in production mode (``TORCHCANVAS_ENV=production``), static files as deployed."""
    folder = tmp_path_factory.mktemp("e2e-production")
    site = start_site(
        folder,
        production=True,
        DATABASE_URL=f"sqlite:///{folder / 'site.sqlite3'}",
        TORCHCANVAS_RUN_MODE="embedded",
    )
    yield site
    site.processes.kill_all()


@pytest.fixture(scope="session")
def celery_site(tmp_path_factory) -> Site:
    """The production mode: PostgreSQL, Redis channel layer and broker, a separate Celery worker."""
    redis = redis_client(REDIS_PORT, REDIS_DB)
    try:
        redis.ping()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "not here"
        missing(f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT} ({exc.__class__.__name__})")
    redis.flushdb()
    with contextlib.ExitStack() as cleanup:  # processes killed first, then the database dropped
        try:
            url = cleanup.enter_context(fresh_database(PG_SERVER))
        except Exception as exc:  # noqa: BLE001
            missing(f"PostgreSQL is not reachable at {PG_SERVER} ({exc.__class__.__name__})")
        site = start_site(
            tmp_path_factory.mktemp("e2e-celery"),
            DATABASE_URL=url,
            REDIS_URL=f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
        )
        cleanup.callback(site.processes.kill_all)
        site.start_worker()
        yield site
    redis.flushdb()
    redis.close()


@pytest.fixture(params=["embedded", "celery"])
def any_site(request) -> Site:
    """Each run scenario runs against both ways to run (../shared/ARCHITECTURE.md)."""
    return request.getfixturevalue("site" if request.param == "embedded" else "celery_site")


# Per module, not per session: while Playwright's sync API is open, its event loop runs in the main thread,
# where asgiref's async_to_sync (used by later Django tests) refuses to run.
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (dev extra)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def login(browser, request):
    """``login("alice")`` → a logged-in page of ``site`` (or of ``on=``) in a fresh browser context."""
    contexts = []

    def log_in(username: str, on: Site | None = None):
        on = on or request.getfixturevalue("site")  # only started when a test uses it
        context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(on.url("/accounts/login/"))
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    yield log_in
    for context in contexts:
        context.close()


@pytest.fixture
def shot(request):
    """``shot(page, "name")`` keeps a screenshot under ARTIFACTS/<test name>/name.png."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    return take


def graph_from_template(page, site: Site, template: str) -> int:
    """Use ``template`` from the gallery (a private graph, v1); returns the new graph's id."""
    page.goto(site.url("/templates/"))
    page.click(f"#template-{template} button[type=submit]")
    page.wait_for_url(re.compile(r"/graphs/\d+/$"))
    return int(re.search(r"/graphs/(\d+)/$", page.url).group(1))


def websocket_outcome(page, path: str, timeout_ms: int = 5000) -> dict:
    """Open a WebSocket from ``page`` (its cookies, its origin) and report whether it opened and its messages."""
    script = """([path, timeout]) => new Promise((resolve) => {
        const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
        const ws = new WebSocket(url);
        const result = {opened: false, closed: false, code: null, messages: []};
        ws.onopen = () => { result.opened = true; };
        ws.onmessage = (event) => result.messages.push(JSON.parse(event.data));
        ws.onclose = (event) => { result.closed = true; result.code = event.code; resolve(result); };
        setTimeout(() => { ws.close(); resolve(result); }, timeout);
    })"""
    return page.evaluate(script, [path, timeout_ms])


def api(page, method: str, path: str, body=None) -> dict:
    """A same-origin fetch from ``page`` (session cookie + CSRF from the cookie); returns status and JSON."""
    script = """async ([method, path, body]) => {
        const csrf = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";
        const response = await fetch(path, {method, credentials: "same-origin",
            headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
            body: body === null ? undefined : JSON.stringify(body)});
        const text = await response.text();
        let json = null; try { json = JSON.parse(text); } catch (e) {}
        return {status: response.status, json};
    }"""
    return page.evaluate(script, [method, path, None if body is None else json.loads(json.dumps(body))])


# --- the canvas ---------------------------------------------------------------------------------------------


def node(page, node_id: str):
    return page.locator(f'.react-flow__node[data-id="{node_id}"]')


def select(page, node_id: str) -> None:
    node(page, node_id).locator(".cv-node-head").click()
    page.get_by_test_id("tab-properties").click()
    page.get_by_test_id("node-id").wait_for()


def set_param(page, name: str, value: str) -> None:
    field = page.get_by_test_id(f"param-{name}")
    if field.evaluate("el => el.tagName") == "SELECT":
        field.select_option(value)
    else:
        field.fill(value)
        field.press("Enter")


def wait_valid(page) -> None:
    """Until the latest validation (no check in flight) says the graph is valid."""
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-testid=validity]');"
        " return v.innerText.includes('✓ Valid') && !v.querySelector('.cv-spinner'); }"
    )
