"""In a real browser: an ablation matrix of four runs (a baseline and three disabled nodes) of a template,
queued from its version page, finishes, and its set page shows the sortable table and the overlaid curves;
a set over the quota is refused with a sentence (issue 14, item 4's done-when). On the embedded mode and
with a separate Celery worker."""

from __future__ import annotations

import json
import re
import time

import pytest
from e2e_helpers import graph_from_template

pytestmark = pytest.mark.e2e

TERMINAL = ("Succeeded", "Failed", "Cancelled")


def statuses(page) -> list[str]:
    """The badges now ([] while the page reloads itself, when its last run has ended)."""
    from playwright.sync_api import Error as PlaywrightError  # the browser tests skip without it

    try:
        return [text.strip() for text in page.locator('#run-set-table td[data-column="status"]').all_inner_texts()]
    except PlaywrightError:
        return []


def test_an_ablation_matrix_runs_and_its_table_and_curves_render(login, any_site, shot):
    site = any_site
    alice = login("alice", on=site)
    graph_id = graph_from_template(alice, site, "hybridcmi")
    alice.goto(site.url(f"/graphs/{graph_id}/versions/1/"))
    alice.get_by_test_id("run-set-new").click()

    form = alice.get_by_test_id("run-set-form")
    form.locator('input[name=kind][value="ablation"]').check()
    for node in ("conv", "relu", "gru"):
        form.locator(f'input[name=nodes][value="{node}"]').check()
    assert form.locator("input[name=baseline]").is_checked()
    form.locator("input[name=name]").fill("Ablation e2e")
    form.locator("input[name=steps]").fill("12")
    form.locator("input[name=batch_size]").fill("2")
    shot(alice, "run-set-form")
    form.locator("button[type=submit]").click()
    alice.wait_for_url(re.compile(r"/runs/sets/\d+/$"))
    set_url = alice.url

    # The badges follow the runs (htmx polls the table) until all four have finished.
    deadline = time.monotonic() + 240
    seen = set()
    while time.monotonic() < deadline:
        now = statuses(alice)
        seen.update(now)
        if len(now) == 4 and all(s in TERMINAL for s in now):
            break
        alice.wait_for_timeout(500)
    assert statuses(alice) == ["Succeeded"] * 4, (statuses(alice), seen)
    assert seen & {"Queued", "Running"}, seen  # it changed while the page was open
    # The poll that saw the last run end reloaded the page: the curves are drawn, complete, without a reload by hand.
    alice.locator("[data-compare-chart] .uplot").wait_for()
    curves = json.loads(alice.locator("#run-curves").text_content())
    assert len(curves) == 4 and all(len(c["points"]) == 12 for c in curves), curves

    alice.goto(set_url)
    variants = [c.inner_text().strip() for c in alice.locator('#run-set-table td[data-column="variant"]').all()]
    assert variants == ["baseline", "without conv", "without relu", "without gru"]
    for column in ("loss", "params", "step_time_ms", "samples_per_s"):
        values = [c.inner_text().strip() for c in alice.locator(f'#run-set-table td[data-column="{column}"]').all()]
        assert len(values) == 4 and "—" not in values, (column, values)
    # Without its conv, the model has fewer parameters than the baseline.
    params = [c.inner_text().strip() for c in alice.locator('#run-set-table td[data-column="params"]').all()]
    assert params[0] != params[1], params
    curves = json.loads(alice.locator("#run-curves").text_content())
    assert [c["label"] for c in curves] == variants and all(len(c["points"]) >= 2 for c in curves)
    alice.locator("[data-compare-chart] .uplot").wait_for()
    assert alice.locator("[data-compare-chart] .uplot").count() == 1
    shot(alice, "run-set")

    # Sorting on the server: by final loss, ascending, then descending; aria-sort says which.
    alice.locator('a[data-sort="loss"]').click()
    alice.wait_for_url(re.compile(r"\?sort=loss$"))
    heading = alice.locator('th:has(a[data-sort="loss"])')
    assert heading.get_attribute("aria-sort") == "ascending"
    losses = [float(c.inner_text()) for c in alice.locator('#run-set-table td[data-column="loss"]').all()]
    assert losses == sorted(losses), losses
    alice.locator('a[data-sort="loss"]').click()
    alice.wait_for_url(re.compile(r"\?sort=-loss$"))
    assert alice.locator('th:has(a[data-sort="loss"])').get_attribute("aria-sort") == "descending"
    losses = [float(c.inner_text()) for c in alice.locator('#run-set-table td[data-column="loss"]').all()]
    assert losses == sorted(losses, reverse=True), losses

    # Every cell links to its run.
    first = alice.locator("#run-set-table tbody tr").first
    run_id = first.get_attribute("data-run-id")
    first.locator('td[data-column="step_time_ms"] a').click()
    alice.wait_for_url(re.compile(rf"/runs/{run_id}/$"))

    # Over the quota (8 runs per set by default): refused with a sentence, nothing queued.
    alice.goto(site.url(f"/graphs/{graph_id}/versions/1/sets/new/"))
    form = alice.get_by_test_id("run-set-form")
    form.locator('input[name=kind][value="sweep"]').check()
    form.locator("select[name=param]").select_option("seed")
    form.locator("input[name=values]").fill("1, 2, 3, 4, 5, 6, 7, 8, 9")
    form.locator("button[type=submit]").click()
    alert = alice.locator(".alert-error")
    alert.wait_for()
    assert alert.inner_text().strip() == "This set has 9 runs; a set may have at most 8."

    bob = login("bob", on=site)
    assert bob.request.get(set_url).status == 404
