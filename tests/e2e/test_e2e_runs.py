"""In a real browser: queue a smoke run of a template from its version page, watch it live, cancel one,
and check that another user can neither see the run nor subscribe to it (issue 4's done-when).

Those scenarios run twice: on the embedded mode (what `make run` serves) and on PostgreSQL + Redis with a
separate Celery worker; the stack tests (`tests/stack/`) add worker crashes and Redis restarts. A teammate's
runs list following a run live (the per-user stream) runs on the embedded mode.
"""

from __future__ import annotations

import re
import time

import pytest
from e2e_helpers import api, graph_from_template, websocket_outcome

pytestmark = pytest.mark.e2e

TERMINAL = ("Succeeded", "Failed", "Cancelled")


def queue_from_version_page(page, site, graph_id: int, steps: int) -> int:
    page.goto(site.url(f"/graphs/{graph_id}/versions/1/"))
    form = page.locator("form.run-form")
    form.locator("input[name=steps]").fill(str(steps))
    form.locator("input[name=batch_size]").fill("2")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    return int(re.search(r"/runs/(\d+)/$", page.url).group(1))


def watch(page, until: tuple[str, ...], timeout: float = 90) -> dict:
    """Poll the run page until its badge reads one of ``until``; what the page showed on the way."""
    seen = {"progress": [], "points": [], "loss": []}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = page.locator("[data-run-status]").inner_text().strip()
        progress = page.locator("[data-progress-text]").inner_text().strip()
        points = page.locator("[data-loss-chart]").get_attribute("data-points")
        loss = page.locator('[data-stat="loss"]').inner_text().strip()
        for key, value in (("progress", progress), ("points", points), ("loss", loss)):
            if value and (not seen[key] or seen[key][-1] != value):
                seen[key].append(value)
        if status in until:
            seen["status"] = status
            return seen
        time.sleep(0.1)
    pytest.fail(f"the run page never showed {until}; it showed {seen}")


def test_a_run_queued_from_a_version_page_streams_live_and_shows_its_metrics(login, any_site, shot):
    site = any_site
    alice = login("alice", on=site)
    graph_id = graph_from_template(alice, site, "hybridcmi")
    run_id = queue_from_version_page(alice, site, graph_id, steps=150)

    seen = watch(alice, TERMINAL)
    assert seen["status"] == "Succeeded", seen
    # Live: the progress text and the chart grew while the page was open, not only at the end.
    steps_shown = [int(m.group(1)) for p in seen["progress"] if (m := re.match(r"step (\d+) / 150", p))]
    assert len(steps_shown) >= 2 and steps_shown == sorted(steps_shown), seen["progress"]
    points = [int(p) for p in seen["points"] if p]
    assert len(points) >= 2 and points[-1] >= 100, seen["points"]
    losses = [float(value) for value in seen["loss"] if re.fullmatch(r"\d+(\.\d+)?(e[-+]?\d+)?", value)]
    assert len(losses) >= 2 and losses[-1] < losses[0], seen["loss"]  # one fixed batch, learnt: the loss falls

    # The metrics table is refreshed once the run has ended: every figure filled in.
    summary = alice.locator('#run-summary[data-status="succeeded"]')
    summary.wait_for()
    for label in ("Samples / s", "Step time (median)", "Peak memory", "Final loss", "Training time"):
        value = summary.locator("tr", has_text=label).locator("td").inner_text().strip()
        assert value and value != "—", f"{label}: {value!r}"
    shot(alice, "run-finished")
    assert alice.locator("[data-loss-chart] .uplot").count() == 1

    # The chart's controls: a log axis and EMA smoothing redraw the one chart, which says what it shows.
    chart = alice.locator("[data-loss-chart]")
    assert chart.get_attribute("data-log-scale") == "0" and chart.get_attribute("data-smoothing") == "0"
    alice.get_by_label("log scale").check()
    alice.get_by_label("smoothing").fill("0.6")
    assert chart.get_attribute("data-log-scale") == "1" and chart.get_attribute("data-smoothing") == "0.6"
    assert chart.get_attribute("data-val-points") == "0"  # a smoke run has no validation split
    alice.wait_for_timeout(100)  # drawn on the next animation frame
    shot(alice, "run-chart-log-smoothed")
    assert chart.locator(".uplot").count() == 1
    assert chart.locator(".u-legend").inner_text().count("loss") == 2  # the raw loss and its smoothed line

    # The runs list shows it as succeeded.
    alice.goto(site.url("/runs/"))
    row = alice.locator(f'[data-run-id="{run_id}"]')
    assert "Succeeded" in row.inner_text()

    # The compare page draws its curve with the same chart and controls.
    alice.goto(site.url(f"/runs/compare/?ids={run_id}"))
    compare = alice.locator("[data-compare-chart]")
    compare.locator(".uplot").wait_for()
    assert int(compare.get_attribute("data-points")) >= 100
    alice.get_by_label("smoothing").fill("0.9")
    assert compare.get_attribute("data-smoothing") == "0.9"


def test_cancel_stops_a_live_run_and_an_outsider_can_neither_see_nor_subscribe(login, any_site, shot):
    site = any_site
    alice = login("alice", on=site)
    graph_id = graph_from_template(alice, site, "hybridcmi")
    run_id = queue_from_version_page(alice, site, graph_id, steps=1000)
    alice.wait_for_function("() => Number(document.querySelector('[data-loss-chart]').dataset.points || 0) > 0")
    alice.once("dialog", lambda dialog: dialog.accept())  # the cancel button asks first
    alice.locator("#run-summary button", has_text="Cancel").click()
    seen = watch(alice, TERMINAL)
    shot(alice, "run-cancelled")
    assert seen["status"] == "Cancelled", seen
    last = [int(m.group(1)) for p in seen["progress"] if (m := re.search(r"(\d+) / 1000", p))]
    assert last and last[-1] < 1000, seen["progress"]

    # The owner's own socket gets the history: proof that the probe below can tell open from refused.
    own = websocket_outcome(alice, f"/ws/runs/{run_id}/", timeout_ms=3000)
    assert own["opened"] and any(m.get("status") == "cancelled" for m in own["messages"]), own

    bob = login("bob", on=site)
    response = bob.goto(site.url(f"/runs/{run_id}/"))
    assert response.status == 404
    shot(bob, "outsider-run-page")
    bob.goto(site.url("/runs/"))
    assert bob.locator(f'[data-run-id="{run_id}"]').count() == 0
    refused = websocket_outcome(bob, f"/ws/runs/{run_id}/", timeout_ms=3000)
    assert not refused["opened"] and refused["messages"] == [], refused


def test_a_teammates_run_appears_and_progresses_live_on_the_runs_list(login, site):
    alice, bob = login("alice"), login("bob")
    team = api(alice, "POST", "/api/teams/", {"name": "Live lab"})["json"]
    invitation = api(alice, "POST", f"/api/teams/{team['slug']}/invitations/", {"role": "viewer"})["json"]
    assert api(bob, "POST", f"/api/invitations/{invitation['token']}/accept/")["status"] == 200
    graph_id = graph_from_template(alice, site, "hybridcmi")
    shared = api(alice, "PATCH", f"/api/graphs/{graph_id}/", {"team": team["slug"], "visibility": "team"})
    assert shared["status"] == 200, shared

    bob.goto(site.url("/runs/"))
    bob.evaluate("() => { window.sameDocument = true; }")  # gone if the page reloads
    queued = api(alice, "POST", "/api/runs/", {"graph": graph_id, "config": {"steps": 300, "batch_size": 2}})
    assert queued["status"] == 201, queued
    run_id = queued["json"]["id"]

    # The row arrives without a reload, its step count moves while the run trains, and it ends succeeded.
    row = bob.locator(f'#run-rows [data-run-id="{run_id}"]')
    row.wait_for(timeout=30_000)
    steps = set()
    deadline = time.monotonic() + 90
    while "Succeeded" not in row.locator('[data-field="status"]').inner_text() and time.monotonic() < deadline:
        steps.add(row.locator('[data-field="step"]').inner_text().strip())
        time.sleep(0.1)
    assert "Succeeded" in row.locator('[data-field="status"]').inner_text()
    assert len(steps - {"", "0/300"}) >= 2, steps  # live progress, not just the final state
    assert bob.evaluate("() => window.sameDocument === true")
