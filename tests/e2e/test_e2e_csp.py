"""Under the Content-Security-Policy the canvas, Swagger UI and Redoc work, with no violation and no request
leaving the site (every request is routed; one to another host fails the test)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from e2e_helpers import PASSWORD, api, graph_from_template

LOCAL_HOSTS = {"127.0.0.1"}
# Records every securitypolicyviolation event of the page (console messages catch those of workers too).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`);
});
"""


@pytest.fixture
def guarded(browser, site):
    """A logged-in page of alice whose CSP violations and non-local requests are recorded."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    record = {"foreign": [], "console": []}

    def route(route):
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            record["foreign"].append(route.request.url)
            route.abort()

    context.route("**/*", route)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and record["console"].append(message.text),
    )
    page.goto(site.url("/accounts/login/"))
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    yield page, record
    context.close()


def assert_clean(page, record, where: str) -> None:
    events = page.evaluate("window.__cspViolations")
    assert events == [], f"{where}: CSP violations {events}"
    assert record["console"] == [], f"{where}: CSP console messages {record['console']}"
    assert record["foreign"] == [], f"{where}: requests left the site: {record['foreign']}"


def test_the_canvas_and_the_api_docs_work_under_the_policy(guarded, site, shot):
    page, record = guarded
    assert_clean(page, record, "dashboard")

    graph_id = graph_from_template(page, site, "hybridcmi")
    page.goto(site.url(f"/graphs/{graph_id}/canvas/"))
    page.locator(".react-flow__node").first.wait_for()
    assert page.locator(".react-flow__node").count() > 3
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-testid=validity]');"
        " return v && v.innerText.includes('✓ Valid') && !v.querySelector('.cv-spinner'); }"
    )
    page.get_by_test_id("tab-code").click()  # a lazy panel with CodeMirror, which brings its own styles
    page.get_by_test_id("code-view").wait_for()
    shot(page, "canvas")
    assert_clean(page, record, "canvas")

    # The run pages' script (its own entry) and its chart, which styles itself as it draws.
    queued = api(page, "POST", "/api/runs/", {"graph": graph_id, "config": {"steps": 5, "batch_size": 2}})
    assert queued["status"] == 201, queued
    page.goto(site.url(f"/runs/{queued['json']['id']}/"))
    page.locator("[data-loss-chart] .uplot").wait_for(timeout=60_000)
    page.get_by_label("smoothing").fill("0.5")
    assert_clean(page, record, "run page")

    page.goto(site.url("/api/docs/"))
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 10
    shot(page, "swagger")
    assert_clean(page, record, "Swagger UI")

    page.goto(site.url("/api/redoc/"))
    page.locator("h1", has_text="TorchCanvas API").wait_for()
    search = page.locator("input[placeholder='Search...']")
    search.fill("graph")  # the search index runs in a Web Worker
    page.locator("[data-role='search:results'] [role=menuitem]").first.wait_for()
    shot(page, "redoc")
    assert_clean(page, record, "Redoc")
