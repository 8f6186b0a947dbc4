"""A training recipe on the canvas (issue 15): stage bands, a frozen layer and named outputs, in a real browser.

A saved graph with a Target, a loss, a metric, a frozen layer and outputs named as a dict (one of them a
port of a Chunk) opens with its Loss and Metrics bands, the Target tag, the legend, the frozen badge and the output
names; unfreezing one layer and freezing another saves a version whose document keeps everything else.
"""

import json

import pytest
from e2e_helpers import ROOT, api, node, select, wait_valid

pytestmark = pytest.mark.e2e

# The canvas's own recipe fixture (its unit tests use it too): Input x, Target y, a frozen Linear `body`
# with an init, a Chunk `fork`, Linear `fc`, CrossEntropyLoss `ce`, Accuracy `acc`;
# outputs {"logits": "fc", "aux": "fork:1"} and a training block.
RECIPE = json.loads((ROOT / "frontend" / "src" / "test" / "recipe.json").read_text())


def test_stages_frozen_nodes_and_named_outputs_show_and_save(login, site, shot):
    alice = login("alice")  # on the site's first page: the API calls below are same-origin
    created = api(alice, "POST", "/api/graphs/", {"name": "Recipe", "document": RECIPE})
    assert created["status"] == 201, created
    graph_id = created["json"]["id"]
    alice.goto(site.url(f"/graphs/{graph_id}/canvas/"))
    node(alice, "ce").wait_for()
    wait_valid(alice)

    def stage(node_id: str) -> str:
        return node(alice, node_id).get_by_test_id("node-stage").inner_text().strip().lower()

    assert [stage("ce"), stage("acc"), stage("y")] == ["loss", "metrics", "target"]
    assert node(alice, "fc").get_by_test_id("node-stage").count() == 0
    legend = [
        alice.get_by_test_id(f"recipe-legend-{group}").inner_text() for group in ("model", "loss", "metrics", "target")
    ]
    assert legend == ["Model 4", "Loss 1", "Metrics 1", "Targets 1"]
    assert node(alice, "body").get_by_test_id("node-frozen").inner_text() == "❄ frozen"
    assert node(alice, "fc").get_by_test_id("node-output-name").inner_text() == "→ logits"
    assert node(alice, "fork").get_by_test_id("port-output").inner_text() == "→ aux"
    shot(alice, "1-recipe")

    select(alice, "body")
    alice.get_by_test_id("node-trainable").check()
    node(alice, "body").get_by_test_id("node-frozen").wait_for(state="detached")
    select(alice, "fc")
    alice.get_by_test_id("node-trainable").uncheck()
    node(alice, "fc").get_by_test_id("node-frozen").wait_for()
    shot(alice, "2-head-frozen")
    alice.get_by_test_id("save-message").fill("train the body, freeze the head")
    alice.get_by_test_id("save").click()
    alice.get_by_test_id("save-status").filter(has_text="Saved v2").wait_for()

    document = api(alice, "GET", f"/api/graphs/{graph_id}/versions/2/")["json"]["document"]
    nodes = {n["id"]: n for n in document["nodes"]}
    assert "trainable" not in nodes["body"] and nodes["fc"]["trainable"] is False
    assert nodes["body"]["init"] == {"type": "normal", "std": 0.01}
    assert document["outputs"] == {"logits": "fc", "aux": "fork:1"}
    assert document["training"] == RECIPE["training"]
