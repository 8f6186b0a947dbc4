"""A model imported from PyTorch code: uploaded as the CLI wrote it, laid out a stage per column, exported, run."""

import pytest
from e2e_helpers import api, node, wait_valid

from codegen.cli import main as codegen_cli

pytestmark = pytest.mark.e2e

STAGES = ["layer1", "layer2", "layer3", "layer4"]


def test_an_imported_model_opens_in_stage_columns_exports_and_runs(login, site, shot, tmp_path):
    graph_file = tmp_path / "staged.json"
    target = "tests.support.imported_models:StagedNet"
    assert codegen_cli(["import", target, "--input-shape", "3,32,32", "--out", str(graph_file)]) == 0

    alice = login("alice")
    alice.goto(site.url("/graphs/import/"))
    alice.locator("input[type=file]").set_input_files(str(graph_file))
    alice.get_by_role("button", name="Import").click()
    alice.wait_for_url(lambda url: url.rstrip("/").split("/")[-1].isdigit())
    graph_id = int(alice.url.rstrip("/").split("/")[-1])

    alice.goto(site.url(f"/graphs/{graph_id}/canvas/"))
    node(alice, "fc").wait_for()
    wait_valid(alice)
    shot(alice, "1-imported-in-stage-columns")

    # Each stage is a column of its own, left to right in forward order; the stem comes first.
    def column(prefix: str) -> tuple[float, float]:
        boxes = [node(alice, f"{prefix}_{i}").bounding_box() for i in range(9)]
        return min(b["x"] for b in boxes), max(b["x"] + b["width"] for b in boxes)

    columns = [column(stage) for stage in STAGES]
    assert node(alice, "conv1").bounding_box()["x"] + node(alice, "conv1").bounding_box()["width"] < columns[0][0]
    for before, after in zip(columns, columns[1:]):
        assert before[1] < after[0]

    # Like any graph: a version with a valid head that exports to code.
    version = api(alice, "GET", f"/api/graphs/{graph_id}/versions/1/")["json"]
    assert version["valid"] is True
    assert [n.get("path") for n in version["document"]["nodes"]][:4] == [None, "conv1", "bn1", "relu"]
    exported = alice.request.get(site.url(f"/api/graphs/{graph_id}/versions/1/export/?format=py"))
    assert exported.status == 200
    assert "self.layer1 = nn.Sequential(" in exported.text()

    # And it trains: a smoke run of the imported version ends succeeded, with a loss.
    queued = api(alice, "POST", "/api/runs/", {"graph": graph_id, "config": {"steps": 3, "batch_size": 2}})
    assert queued["status"] == 201, queued
    alice.goto(site.url(f"/runs/{queued['json']['id']}/"))
    alice.locator('#run-summary[data-status="succeeded"]').wait_for(timeout=90_000)
    run = api(alice, "GET", f"/api/runs/{queued['json']['id']}/")["json"]
    assert run["progress"]["step"] == 3 and run["metrics"]["loss"] > 0
