"""The canvas as deployed (issue 9, item 9): production mode, static files collected and served by WhiteNoise.

Every lazy panel (Code, JSON, Run, the group dialog, a block's "Look inside") is clicked once, with a draft
and a selection in place. After each click: the panel shows on that first click; the canvas's entry module
has been fetched once, under whatever name (the names Django's manifest gives it); every canvas file fetched
has a content-hashed name and is cached forever; no "Restored your unsaved draft" banner (the editor did not
start again); the selection is kept; no console error. Source maps are not served.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
from e2e_helpers import graph_from_template, node, select, set_param, wait_valid

pytestmark = pytest.mark.e2e

STATIC = "/static/"


class Traffic:
    """What the page fetched from ``/static/dist/`` and what it logged as an error."""

    def __init__(self, page):
        self.canvas: list = []  # responses under /static/dist/
        self.errors: list[str] = []
        page.on("response", self.on_response)
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def on_response(self, response) -> None:
        if urlparse(response.url).path.startswith(STATIC + "dist/"):
            self.canvas.append(response)


def selected(page) -> set[str]:
    return set(page.locator(".react-flow__node.selected").evaluate_all("nodes => nodes.map(n => n.dataset.id)"))


def test_every_lazy_panel_opens_on_the_first_click_with_the_canvas_loaded_once(login, production_site, shot):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    site = production_site
    static_root = Path(site.env["STATIC_ROOT"])
    stored = json.loads((static_root / "staticfiles.json").read_text())["paths"]  # name → hashed name

    alice = login("alice", on=site)
    graph_id = graph_from_template(alice, site, "resnet18")
    traffic = Traffic(alice)
    alice.goto(site.url(f"/graphs/{graph_id}/canvas/"))
    node(alice, "conv1").wait_for()
    wait_valid(alice)
    entry = alice.locator("script[type=module]").get_attribute("src").removeprefix(STATIC)
    entry_names = {entry} | {name for name, hashed in stored.items() if hashed == entry}

    # An unsaved edit (kept as a draft in localStorage), then two nodes selected.
    select(alice, "fc")
    set_param(alice, "out_features", "10")
    alice.wait_for_function(f"() => localStorage.getItem('torchcanvas:draft:{graph_id}:1') !== null")
    node(alice, "conv1").locator(".cv-node-head").click()
    node(alice, "bn1").locator(".cv-node-head").click(modifiers=["Shift"])
    assert selected(alice) == {"conv1", "bn1"}

    def opened(what: str, shown, selection: set[str]) -> None:
        """``shown`` (a panel's content) appeared on the first click, and the canvas was not loaded again."""
        problems = []
        try:
            shown.wait_for()
        except PlaywrightTimeout:
            problems.append("its content did not appear on the first click")
        names = [urlparse(r.url).path.removeprefix(STATIC) for r in traffic.canvas]
        if sum(name in entry_names for name in names) != 1:
            problems.append(f"the entry module was fetched again ({names})")
        if unhashed := [name for name in names if name not in stored.values()]:
            problems.append(f"canvas files fetched by a name without a content hash: {unhashed}")
        cached = [(r.url, r.status, r.headers.get("cache-control", "")) for r in traffic.canvas]
        if not_forever := [found for found in cached if found[1] != 200 or "immutable" not in found[2]]:
            problems.append(f"canvas files not served as immutable: {not_forever}")
        if alice.get_by_test_id("draft-notice").count():
            problems.append('the editor started again: "Restored your unsaved draft" is shown')
        if selected(alice) != selection:
            problems.append(f"the selection changed: {sorted(selection)} → {sorted(selected(alice))}")
        if traffic.errors:
            problems.append(f"console errors: {traffic.errors}")
        shot(alice, what)
        assert not problems, f"{what}: " + "; ".join(problems)

    alice.get_by_test_id("tab-code").click()
    opened("code", alice.get_by_test_id("code-view"), {"conv1", "bn1"})
    alice.get_by_test_id("tab-json").click()
    opened("json", alice.get_by_test_id("json-copy"), {"conv1", "bn1"})
    alice.get_by_test_id("tab-run").click()
    opened("run", alice.get_by_test_id("run-queue"), {"conv1", "bn1"})
    alice.get_by_test_id("group").click()
    opened("group", alice.get_by_test_id("group-name"), {"conv1", "bn1"})

    # The block the dialog makes, looked inside.
    alice.get_by_test_id("group-name").fill("StemConvBN")
    alice.get_by_test_id("group-library").select_option("personal")
    alice.get_by_test_id("group-confirm").click()
    alice.get_by_test_id("group-dialog").wait_for(state="detached")
    block = alice.locator(".react-flow__node", has=alice.locator(".cv-node-type", has_text="StemConvBN"))
    block.locator(".cv-node-head").click()
    alice.get_by_test_id("tab-properties").click()
    alice.get_by_test_id("look-inside").click()
    opened("look-inside", alice.get_by_test_id("block-view"), {block.get_attribute("data-id")})
    assert "Conv2d" in alice.get_by_test_id("block-view").inner_text()

    # The canvas's source maps are neither collected nor served, and no script points to one.
    assert not list((static_root / "dist").rglob("*.map")), "the canvas's source maps were collected"
    scripts = [r for r in traffic.canvas if urlparse(r.url).path.endswith(".js")]
    assert {r.url for r in scripts} >= {site.url(STATIC + entry)}
    for response in scripts:
        assert b"sourceMappingURL" not in response.body(), response.url
        assert alice.request.get(response.url + ".map").status == 404, response.url + ".map"
