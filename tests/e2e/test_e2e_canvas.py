"""The canvas in a real browser (issue 5's two scenarios, and issue 14's dataset check).

1. From a new graph (a lone Input), build the seed's 1D demo (Input → Conv1d → ReLU → GRUBlock → Linear) by
   dragging from the palette and connecting handles; see the layout error on the GRU and apply the Permute
   fix; see shapes on the edges; save; find the version in the history; download the ZIP and run its
   ``train.py``; queue a smoke run from the canvas and see it finish.
2. Open the ResNet-18 template, group two nodes into a block, save a valid version; then group that block
   and the next node into a second library block that uses the first.

Screenshots of the key states are kept under ``test-artifacts/e2e/<test>/``.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile

import pytest
from e2e_helpers import api, graph_from_template, node, select, set_param, wait_valid
from smoke_fixtures import TINY  # Input [4] → Linear(5)

pytestmark = pytest.mark.e2e


def node_ids(page) -> list[str]:
    return page.locator(".react-flow__node").evaluate_all("nodes => nodes.map(n => n.dataset.id)")


def drag_from_palette(page, node_type: str, x: float, y: float) -> str:
    """Drag a palette entry onto the canvas at (x, y) of the canvas box; returns the new node's id."""
    before = set(node_ids(page))
    page.get_by_test_id("palette-search").fill(node_type)
    page.get_by_test_id(f"palette-item-{node_type}").drag_to(
        page.get_by_test_id("canvas"), target_position={"x": x, "y": y}
    )
    page.wait_for_function("n => document.querySelectorAll('.react-flow__node').length > n", arg=len(before))
    (added,) = set(node_ids(page)) - before
    page.get_by_test_id("palette-search").fill("")
    return added


def connect(page, source: str, target: str) -> None:
    """Drag from ``source``'s output handle to ``target``'s input handle, as a person does."""
    start = node(page, source).locator(".react-flow__handle.source").first.bounding_box()
    end = node(page, target).locator(".react-flow__handle.target").first.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()
    page.locator(
        f'.react-flow__edge[data-id*="{source}"][data-id*="{target}"], [data-testid=edge-shape][data-edge="{source}->{target}"]'
    ).first.wait_for(state="attached")


def validity(page) -> str:
    return page.get_by_test_id("validity").inner_text()


def test_build_the_seed_demo_fix_it_save_download_and_train_it(login, site, shot, tmp_path):
    alice = login("alice")
    alice.goto(site.url("/graphs/new/"))
    alice.fill("input[name=name]", "Drawn demo")
    alice.get_by_role("button", name="Create graph").click()
    alice.wait_for_url(re.compile(r"/graphs/\d+/canvas/$"))  # a new graph opens in the canvas
    graph_id = int(re.search(r"/graphs/(\d+)/canvas/$", alice.url).group(1))
    alice.locator(".react-flow__node").first.wait_for()
    (inp,) = node_ids(alice)
    shot(alice, "1-empty")

    select(alice, inp)
    set_param(alice, "shape", "9, 256")
    conv = drag_from_palette(alice, "Conv1d", 260, 200)
    relu = drag_from_palette(alice, "ReLU", 260, 330)
    gru = drag_from_palette(alice, "GRUBlock", 260, 460)
    fc = drag_from_palette(alice, "Linear", 260, 590)
    for source, target in ((inp, conv), (conv, relu), (relu, gru), (gru, fc)):
        connect(alice, source, target)

    select(alice, conv)
    set_param(alice, "out_channels", "64")
    set_param(alice, "kernel_size", "5")
    set_param(alice, "padding", "same")
    select(alice, gru)
    set_param(alice, "hidden_size", "128")
    select(alice, fc)
    set_param(alice, "out_features", "18")
    alice.get_by_test_id("node-output").check()

    alice.get_by_test_id("layout").click()
    alice.wait_for_timeout(600)  # the layout's fit is animated

    # The GRU is fed (B, C, T): the engine says so on the node and offers the Permute.
    node(alice, gru).get_by_test_id("node-badge").wait_for()
    alice.get_by_test_id("tab-problems").click()
    problem = alice.locator(f'[data-testid=diagnostic][data-node="{gru}"][data-code=LAYOUT]')
    problem.wait_for()
    shot(alice, "2-gru-error")
    assert "insert Permute_BCT_to_BTH" in problem.inner_text()
    assert alice.locator("[data-testid=diagnostic][data-severity=error]").count() == 1
    # The Code tab knows the graph has errors from the validation: it asks the engine for no code (no 400).
    codegen_urls = []
    alice.on("request", lambda request: codegen_urls.append(request.url) if "/api/codegen/" in request.url else None)
    alice.get_by_test_id("tab-code").click()
    alice.get_by_test_id("code-error").filter(has_text="No code while the graph has errors").wait_for()
    alice.wait_for_timeout(600)  # past the panel's debounce
    assert codegen_urls == []
    alice.get_by_test_id("tab-problems").click()
    problem.get_by_test_id("apply-suggestion").click()
    wait_valid(alice)
    permute = next(i for i in node_ids(alice) if i not in {inp, conv, relu, gru, fc})
    assert node(alice, permute).inner_text().startswith("Permute_BCT_to_BTH")
    assert node(alice, gru).get_by_test_id("node-badge").count() == 0

    # Shapes on the edges, batch axis symbolic.
    def edge_shape(source, target):
        return alice.locator(f'[data-testid=edge-shape][data-edge="{source}->{target}"]').inner_text()

    assert re.search(r"9\D+256", edge_shape(inp, conv)), edge_shape(inp, conv)
    assert re.search(r"64\D+256", edge_shape(conv, relu)), edge_shape(conv, relu)
    assert re.search(r"256\D+64", edge_shape(permute, gru)), edge_shape(permute, gru)
    assert re.search(r"\b128\b", edge_shape(gru, fc)), edge_shape(gru, fc)
    assert "79,762" in validity(alice) or "79.8k" in validity(alice), validity(alice)
    alice.get_by_test_id("layout").click()
    alice.get_by_test_id("fit-view").click()
    alice.wait_for_timeout(600)  # the fit is animated (300 ms)
    shot(alice, "3-fixed-with-shapes")

    alice.get_by_test_id("save-message").fill("Drew the 1D demo")
    alice.get_by_test_id("save").click()
    alice.get_by_test_id("save-status").filter(has_text="Saved v2").wait_for()

    # The version is in the graph's history.
    history = alice.context.new_page()
    history.goto(site.url(f"/graphs/{graph_id}/"))
    assert "Drew the 1D demo" in history.content()
    history.close()

    # The ZIP from the Code tab trains.
    alice.get_by_test_id("tab-code").click()
    alice.get_by_test_id("code-view").locator(".cm-content").wait_for()
    assert codegen_urls, "the code is asked for once the graph is valid"
    alice.get_by_test_id("code-expand").click()
    alice.get_by_test_id("code-view-expanded").filter(has_text="nn.Module").wait_for()
    alice.keyboard.press("Escape")
    alice.get_by_test_id("code-expanded").wait_for(state="detached")
    with alice.expect_download() as download:
        alice.get_by_test_id("download-zip").click()
    archive = zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read()))
    archive.extractall(tmp_path)
    package = archive.namelist()[0].split("/")[0]
    assert {f"{package}/{name}" for name in ("__init__.py", "blocks.py", "model.py", "train.py")} <= set(
        archive.namelist()
    )
    trained = subprocess.run(
        [sys.executable, "-m", f"{package}.train", "--steps", "3", "--batch-size", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "loss" in trained.stdout

    # A smoke run of v2 from the canvas.
    alice.get_by_test_id("tab-run").click()
    alice.get_by_test_id("run-steps").fill("20")
    alice.get_by_test_id("run-batch-size").fill("2")
    alice.get_by_test_id("run-queue").click()
    alice.locator('[data-testid=run-status][data-status="succeeded"]').wait_for(timeout=90_000)
    alice.get_by_test_id("run-metrics").wait_for()
    assert int(alice.get_by_test_id("run-chart").get_attribute("data-points")) >= 2
    # Smoothing and a log scale redraw the chart (one uPlot, raw and smoothed series).
    alice.get_by_test_id("chart-smoothing").fill("0.6")
    alice.get_by_test_id("chart-log").check()
    chart = alice.get_by_test_id("run-chart")
    assert chart.get_attribute("data-log") == "true" and chart.get_attribute("data-smoothing") == "0.6"
    alice.wait_for_timeout(100)  # drawn on the next animation frame
    assert chart.locator(".uplot").count() == 1 and chart.locator("canvas").count() == 1
    shot(alice, "4-run-finished")


def test_group_two_resnet_nodes_into_a_library_block_and_save(login, site, shot):
    alice = login("alice")
    graph_id = graph_from_template(alice, site, "resnet18")
    alice.goto(site.url(f"/graphs/{graph_id}/canvas/"))
    node(alice, "conv1").wait_for()
    wait_valid(alice)
    params_before = validity(alice)
    count_before = len(node_ids(alice))

    node(alice, "conv1").locator(".cv-node-head").click()
    node(alice, "bn1").locator(".cv-node-head").click(modifiers=["Shift"])
    alice.get_by_test_id("group").click()
    alice.get_by_test_id("group-name").fill("StemConvBN")
    alice.get_by_test_id("group-library").select_option("personal")
    shot(alice, "1-group-dialog")
    alice.get_by_test_id("group-confirm").click()
    alice.get_by_test_id("group-dialog").wait_for(state="detached")

    # One block node replaces the two; the model is unchanged: same parameter count, still valid.
    assert len(node_ids(alice)) == count_before - 1
    assert "conv1" not in node_ids(alice) and "bn1" not in node_ids(alice)
    block = alice.locator(".react-flow__node", has=alice.locator(".cv-node-type", has_text="StemConvBN"))
    assert block.count() == 1
    block.get_by_test_id("node-shape").filter(has_text="112").wait_for()  # validated with the block in place
    wait_valid(alice)
    assert validity(alice) == params_before, (validity(alice), params_before)

    # Look inside the block.
    block.locator(".cv-node-head").click()
    alice.get_by_test_id("tab-properties").click()
    alice.get_by_test_id("look-inside").click()
    inside = alice.get_by_test_id("block-view")
    inside.wait_for()
    assert "Conv2d" in inside.inner_text() and "BatchNorm2d" in inside.inner_text()
    shot(alice, "2-look-inside")
    alice.keyboard.press("Escape")
    inside.wait_for(state="detached")

    # Saved from the message box with Ctrl+S (the browser's own "Save page as" must not get it).
    alice.get_by_test_id("save-message").fill("Stem as a block")
    alice.get_by_test_id("save-message").press("Control+s")
    alice.get_by_test_id("save-status").filter(has_text="Saved v2").wait_for()
    shot(alice, "3-saved")

    # The block is in alice's library, and v2's code declares it as a class.
    alice.goto(site.url("/library/"))
    assert "StemConvBN" in alice.content()
    source = alice.request.get(site.url(f"/graphs/{graph_id}/versions/2/download/py/")).text()
    assert "class StemConvBN(nn.Module)" in source

    # A library block can use another: StemConvBN and the ReLU after it become "Stem", also in the library.
    alice.goto(site.url(f"/graphs/{graph_id}/canvas/"))
    block.locator(".cv-node-head").click()
    node(alice, "relu").locator(".cv-node-head").click(modifiers=["Shift"])
    alice.get_by_test_id("group").click()
    alice.get_by_test_id("group-name").fill("Stem")
    alice.get_by_test_id("group-library").select_option("personal")
    alice.get_by_test_id("group-confirm").click()
    alice.get_by_test_id("group-dialog").wait_for(state="detached")
    stem = alice.locator(".react-flow__node", has=alice.locator(".cv-node-type", has_text=re.compile(r"^Stem$")))
    stem.get_by_test_id("node-shape").filter(has_text="112").wait_for()  # validated with the new block in place
    wait_valid(alice)
    assert validity(alice) == params_before, (validity(alice), params_before)
    alice.get_by_test_id("save-message").fill("Stem of blocks")
    alice.get_by_test_id("save").click()
    alice.get_by_test_id("save-status").filter(has_text="Saved v3").wait_for()
    shot(alice, "4-nested-saved")
    (listed,) = [b for b in api(alice, "GET", "/api/composites/?q=Stem")["json"]["results"] if b["name"] == "Stem"]
    published = api(alice, "GET", f"/api/composites/{listed['id']}/versions/1/")["json"]
    assert list(published["composites"]) == ["StemConvBN"], published
    source = alice.request.get(site.url(f"/graphs/{graph_id}/versions/3/download/py/")).text()
    assert "class Stem(nn.Module)" in source and "class StemConvBN(nn.Module)" in source


def test_unsaved_edits_survive_a_reload_and_a_stale_save_shows_the_newer_head(login, site, shot):
    alice = login("alice")
    graph_id = graph_from_template(alice, site, "hybridcmi")
    alice.goto(site.url(f"/graphs/{graph_id}/canvas/"))
    select(alice, "fc")
    set_param(alice, "out_features", "10")
    wait_valid(alice)

    # A reload keeps the edit (a local draft) and says so.
    alice.reload()
    alice.get_by_test_id("draft-notice").wait_for()
    select(alice, "fc")
    assert alice.get_by_test_id("param-out_features").input_value() == "10"

    # Meanwhile someone saves v2 from v1 (here: alice in another tab, through the API).
    other = alice.context.new_page()
    other.goto(site.url(f"/graphs/{graph_id}/"))
    document = api(other, "GET", f"/api/graphs/{graph_id}/versions/1/")["json"]["document"]
    document["nodes"][1]["params"]["out_channels"] = 32
    saved = api(
        other, "POST", f"/api/graphs/{graph_id}/versions/", {"document": document, "base": 1, "message": "Thinner"}
    )
    assert saved["status"] == 201, saved
    other.close()

    # Saving the draft (based on v1) is refused: the dialog names v2 and what changed; nothing is overwritten.
    alice.get_by_test_id("save").click()
    dialog = alice.get_by_test_id("conflict-dialog")
    dialog.wait_for()
    assert "v2" in dialog.inner_text() and "Thinner" in dialog.inner_text()
    assert "conv" in alice.get_by_test_id("conflict-diff").inner_text()
    shot(alice, "conflict")
    alice.get_by_test_id("conflict-keep").click()
    dialog.wait_for(state="detached")
    assert alice.get_by_test_id("param-out_features").input_value() == "10"  # still editing the draft

    alice.get_by_test_id("save").click()
    alice.get_by_test_id("conflict-load").click()
    dialog.wait_for(state="detached")
    select(alice, "conv")
    assert alice.get_by_test_id("param-out_channels").input_value() == "32"  # v2 is on the canvas now
    versions = api(alice, "GET", f"/api/graphs/{graph_id}/versions/")["json"]
    assert [v["number"] for v in versions["results"]] == [2, 1], versions  # nothing else was saved


def test_the_chosen_dataset_checks_the_input_and_its_fix_sets_the_shape(login, site, shot):
    alice = login("alice")
    alice.goto(site.url("/graphs/"))
    scores = {**TINY["nodes"][1], "params": {"out_features": 2}}  # Two moons has two classes
    created = api(
        alice, "POST", "/api/graphs/", {"name": "Moons", "document": {**TINY, "nodes": [TINY["nodes"][0], scores]}}
    )
    assert created["status"] == 201, created
    moons = next(d for d in api(alice, "GET", "/api/datasets/")["json"]["results"] if d["builtin"] == "two-moons")
    alice.goto(site.url(f"/graphs/{created['json']['id']}/canvas/"))
    alice.get_by_test_id("validity").wait_for()
    wait_valid(alice)

    alice.get_by_test_id("tab-run").click()
    alice.get_by_test_id("run-dataset").select_option(str(moons["id"]))
    assert "samples are [2]" in alice.get_by_test_id("run-dataset-problem").inner_text()
    shot(alice, "dataset-chosen")
    select(alice, "inp")  # the Input's properties list it too
    alice.get_by_test_id("properties").get_by_text("DATASET").wait_for()
    alice.get_by_test_id("tab-problems").click()
    problem = alice.locator('[data-testid=diagnostic][data-code="DATASET"]')
    problem.wait_for()
    assert "the dataset's samples are [2]" in problem.inner_text()
    shot(alice, "dataset-problem")
    problem.get_by_test_id("apply-suggestion").click()
    problem.wait_for(state="detached")
    select(alice, "inp")
    assert alice.get_by_test_id("param-shape").input_value() == "2"
    node(alice, "inp").get_by_text("(B, 2)").wait_for()  # the fixed shape, validated
    alice.get_by_test_id("undo").click()  # one undo step, like other fixes: the problem is back
    alice.get_by_test_id("tab-problems").click()
    problem.wait_for()
    problem.get_by_test_id("apply-suggestion").click()
    problem.wait_for(state="detached")
    node(alice, "inp").get_by_text("(B, 2)").wait_for()

    # Remembered for this graph: after a reload the check runs again (on the unsaved fix: no problem).
    alice.reload()
    alice.get_by_test_id("draft-notice").wait_for()
    alice.get_by_test_id("tab-problems").click()
    alice.get_by_text("✓ No problems: every shape fits.").wait_for()
    alice.get_by_test_id("tab-run").click()
    alice.get_by_test_id("run-dataset").locator(f'option[value="{moons["id"]}"]').wait_for(state="attached")
    assert alice.get_by_test_id("run-dataset").input_value() == str(moons["id"])

    # Saved, the fixed graph trains on Two moons: its run reports each epoch's validation figures.
    alice.get_by_test_id("save").click()
    alice.get_by_test_id("save-status").filter(has_text="Saved v2").wait_for()
    alice.get_by_test_id("run-queue").click()
    alice.locator('[data-testid=run-status][data-status="succeeded"]').wait_for(timeout=90_000)
    assert alice.get_by_test_id("run-val-accuracy").inner_text().endswith(" %")
    alice.get_by_test_id("run-val-loss").wait_for()
    run = api(alice, "GET", f"/api/runs/?graph={created['json']['id']}")["json"]["results"][0]
    assert run["config"]["dataset"] == moons["id"] and "steps" in run["config"], run["config"]
    shot(alice, "dataset-run-finished")
