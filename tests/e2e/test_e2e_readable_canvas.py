"""The canvas at real model sizes, in Chromium: text size on screen for every template, collapsed module stages,
block instances expanded in place.

On screen a text is its computed font size times the canvas zoom (the scale of ``.react-flow__viewport``). At
the opening view every text in a node card or an edge label that is in view must be at least 12 px; after Fit
(the whole model in view) every node's name must be at least 10 px: the card's name line at detail zoom, its
"glance" name (semantic zoom, ``.cv-glance`` on the flow) when zoomed out.
"""

import json

import pytest
from e2e_helpers import ROOT, api, graph_from_template, node, set_param, wait_valid

from codegen.templates import template_names

pytestmark = pytest.mark.e2e

# Text nodes inside cards and edge labels, visible and at least partly inside the canvas pane.
TEXT_ON_SCREEN = """() => {
  const flow = document.querySelector('.react-flow');
  const zoom = new DOMMatrix(getComputedStyle(flow.querySelector('.react-flow__viewport')).transform).a;
  const pane = flow.getBoundingClientRect();
  const texts = [];
  const walker = document.createTreeWalker(flow, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    const element = walker.currentNode.parentElement;
    const where = element.closest('.react-flow__node, .cv-edge-label');
    if (!text || !where) continue;
    const style = getComputedStyle(element);
    if (style.visibility !== 'visible' || element.getClientRects().length === 0) continue;
    const r = element.getBoundingClientRect();
    if (r.right <= pane.left || r.left >= pane.right || r.bottom <= pane.top || r.top >= pane.bottom) continue;
    texts.push({text, px: parseFloat(style.fontSize) * zoom, edge: where.classList.contains('cv-edge-label')});
  }
  return {zoom, texts};
}"""

# Each node's name as drawn: the glance name when the flow is zoomed out, else the card's name line.
NAMES = """() => {
  const flow = document.querySelector('.cv-flow');
  const zoom = new DOMMatrix(getComputedStyle(flow.querySelector('.react-flow__viewport')).transform).a;
  const glance = flow.classList.contains('cv-glance');
  return [...flow.querySelectorAll('.react-flow__node')].map((node) => {
    const name = glance ? node.querySelector('.cv-glance-name') : node.querySelector('.cv-node-name strong, .cv-node-name > span');
    const style = getComputedStyle(name);
    return {id: node.dataset.id, glance, px: parseFloat(style.fontSize) * zoom,
            shown: style.visibility === 'visible' && name.getClientRects().length > 0};
  });
}"""

SETTLED = """() => new Promise((resolve) => {
  const viewport = document.querySelector('.react-flow__viewport');
  let last = viewport.style.transform, still = 0;
  const tick = () => {
    const now = viewport.style.transform;
    still = now === last ? still + 1 : 0;
    last = now;
    if (still >= 10) resolve(now); else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})"""


@pytest.mark.parametrize("template", template_names())
def test_every_template_reads_at_the_opening_view_and_after_fit(login, site, shot, template):
    page = login("alice")
    graph_id = graph_from_template(page, site, template)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(site.url(f"/graphs/{graph_id}/canvas/"))
    page.locator(".react-flow__node").first.wait_for()
    wait_valid(page)
    page.evaluate(SETTLED)

    opening = page.evaluate(TEXT_ON_SCREEN)
    shot(page, "1-opening-view")
    assert opening["texts"], "no text in view at the opening view"
    small = [t for t in opening["texts"] if t["px"] < 12 - 1e-6]
    assert not small, f"zoom {opening['zoom']:.3f}: text under 12 px on screen: {small[:5]}"
    if opening["zoom"] >= 0.75:  # edge labels are detail: drawn at detail zoom only
        assert any(t["edge"] for t in opening["texts"]), "no edge label in view at the opening view"

    page.get_by_test_id("fit-view").click()
    page.evaluate(SETTLED)
    shot(page, "2-after-fit")
    names = page.evaluate(NAMES)
    unreadable = [n for n in names if not n["shown"] or n["px"] < 10 - 1e-6]
    assert not unreadable, f"after Fit, names under 10 px on screen: {unreadable[:5]}"


def test_module_stages_collapse_to_cards_and_expand_in_place(login, site, shot):
    page = login("alice")
    graph_id = graph_from_template(page, site, "resnet50")
    page.goto(site.url(f"/graphs/{graph_id}/canvas/"))
    node(page, "conv1").wait_for()
    wait_valid(page)
    stored = {n: node(page, n).bounding_box() is not None for n in ("layer1_0", "layer4_2")}
    assert all(stored.values())

    page.get_by_test_id("stages-toggle").click()
    for stage, count in (("layer1", 3), ("layer2", 4), ("layer3", 6), ("layer4", 3)):
        card = page.get_by_test_id(f"stage-{stage}")
        card.wait_for()
        assert f"{count} nodes" in card.text_content()
    assert node(page, "layer3_4").count() == 0
    # The card says what the stage hands on and what it weighs (from the latest validation).
    assert "(B, 2048, 7, 7)" in page.get_by_test_id("stage-layer4").text_content()
    assert page.locator(".react-flow__edge").count() == 10  # input → … → layer1 card → … → layer4 card → avgpool → fc
    page.evaluate(SETTLED)
    shot(page, "1-collapsed")
    names = page.evaluate(NAMES)
    assert len(names) == 11 and all(n["px"] >= 10 for n in names), names

    # One stage opens in place; the others stay cards. Collapsing is a view: nothing to save.
    page.get_by_test_id("stage-layer2").dblclick()
    node(page, "layer2_3").wait_for()
    assert page.get_by_test_id("stage-layer2").count() == 0
    assert page.get_by_test_id("stage-layer3").count() == 1
    assert page.get_by_test_id("undo").is_disabled()

    # Editing works while stages are collapsed (zoomed out, a click anywhere on the card selects it; the
    # layout puts fc in the bottom-right corner, under the minimap, so the click goes to the card itself).
    node(page, "fc").dispatch_event("click")
    page.get_by_test_id("tab-properties").click()
    page.get_by_test_id("node-id").wait_for()
    set_param(page, "out_features", "10")
    page.get_by_test_id("stages-toggle").filter(has_text="Expand stages").click()
    node(page, "layer3_4").wait_for()
    assert page.get_by_test_id("stage-layer1").count() == 0
    page.wait_for_function(
        "() => document.querySelector('[data-id=fc] [data-testid=node-shape]').textContent === '(B, 10)'"
    )


def test_a_block_instance_expands_in_place_and_folds_back(login, site, shot):
    page = login("alice")
    document = json.loads((ROOT / "tests" / "codegen" / "golden" / "composite_ports" / "graph.json").read_text())
    created = api(page, "POST", "/api/graphs/", {"name": "Tiny U-Net with blocks", "document": document})["json"]
    page.goto(site.url(f"/graphs/{created['id']}/canvas/"))
    node(page, "up1").wait_for()
    wait_valid(page)

    # The instance's block is drawn in its place: its own nodes, framed, wired as the instance was.
    node(page, "up1").dispatch_event("click")
    page.get_by_test_id("tab-properties").click()
    page.get_by_test_id("expand-in-place").click()
    page.get_by_test_id("frame-up1").wait_for()
    for inner in ("up", "cat", "conv", "bn", "act"):
        node(page, f"up1/{inner}").wait_for(state="attached")
    assert node(page, "up1/x").count() == 0  # the block's inputs are where its edges come from, not nodes
    # what fed the instance's ports feeds the block's nodes: the skip from enc, x from bottom
    assert page.locator('.cv-edge-label[data-edge="enc->up1/cat"]').count() == 1
    assert page.locator('.cv-edge-label[data-edge="bottom->up1/up"]').count() == 1
    assert page.get_by_test_id("undo").is_disabled()  # a view: the document did not change
    page.evaluate(SETTLED)
    shot(page, "1-expanded")

    # The frame stands for the instance: selecting it shows the instance's properties; Collapse folds it back.
    node(page, "enc").dispatch_event("click")
    page.wait_for_function("() => document.querySelector('[data-testid=node-id]')?.value === 'enc'")
    page.get_by_test_id("frame-up1").dispatch_event("click")
    page.wait_for_function("() => document.querySelector('[data-testid=node-id]')?.value === 'up1'")
    page.get_by_test_id("collapse-up1").click()
    page.get_by_test_id("frame-up1").wait_for(state="detached")
    node(page, "up1").wait_for()
    assert node(page, "up1/conv").count() == 0
