"""Module paths in a real browser: typed in the properties panel, shown on the card, saved, dropped by a paste."""

import pytest
from e2e_helpers import api, graph_from_template, node, select, wait_valid

pytestmark = pytest.mark.e2e


def test_a_typed_path_is_checked_shown_saved_and_not_pasted(login, site, shot):
    alice = login("alice")
    graph_id = graph_from_template(alice, site, "resnet18")
    alice.goto(site.url(f"/graphs/{graph_id}/canvas/"))
    node(alice, "fc").wait_for()
    wait_valid(alice)

    select(alice, "fc")
    field = alice.get_by_test_id("node-path")
    field.fill("head..0")
    error = alice.get_by_test_id("node-path-error")
    assert error.inner_text().startswith("Part 2 of 3 is empty")
    field.fill("head.0")
    error.wait_for(state="detached")
    node(alice, "fc").get_by_test_id("node-path-text").filter(has_text="head.0").wait_for()
    wait_valid(alice)
    shot(alice, "1-path-on-the-card")

    # A copy of the node comes without the path: two modules cannot share one.
    node(alice, "fc").locator(".cv-node-head").click()
    alice.keyboard.press("Control+c")
    alice.keyboard.press("Control+v")
    node(alice, "linear").wait_for()
    assert node(alice, "linear").get_by_test_id("node-path-text").count() == 0
    alice.keyboard.press("Control+z")
    node(alice, "linear").wait_for(state="detached")

    alice.get_by_test_id("save-message").fill("fc under head.0")
    alice.get_by_test_id("save").click()
    alice.get_by_test_id("save-status").filter(has_text="Saved v2").wait_for()
    document = api(alice, "GET", f"/api/graphs/{graph_id}/versions/2/")["json"]["document"]
    (fc,) = [n for n in document["nodes"] if n["id"] == "fc"]
    assert fc["path"] == "head.0"

    # The diff page lists the change like a changed label.
    alice.goto(site.url(f"/graphs/{graph_id}/diff/?from=1&to=2"))
    assert "module path" in alice.locator(".param-changes").inner_text()

    # Reloaded, the canvas shows the saved path in the field and on the card.
    alice.goto(site.url(f"/graphs/{graph_id}/canvas/"))
    node(alice, "fc").get_by_test_id("node-path-text").filter(has_text="head.0").wait_for()
    select(alice, "fc")
    assert alice.get_by_test_id("node-path").input_value() == "head.0"
