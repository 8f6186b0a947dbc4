"""Speed of the structural diff between two 1,000-node versions (target: under 50 ms).

Two versions of a chain and of a branchy graph (helpers of the engine benchmark): the newer one
changes a parameter on 5% of the nodes, moves 10% on the canvas, removes 10 nodes and adds 10.
Baseline, measured in the same run: a text diff of the canonical JSON of both documents
(``json.dumps(sort_keys=True, indent=1)`` lines through ``difflib.unified_diff``), which is what a
generic "diff the stored JSON" would cost. Also shown: the source diff (generate both sides + difflib).
"""

from __future__ import annotations

import copy
import difflib
import json

import pytest

from graphs.diff import diff_documents, source_diff

from .report import machine, write_section
from .test_engine_speed import branchy, chain, median_seconds

pytestmark = pytest.mark.bench

NODES = 1_000
REPEAT = 21
TARGET_S = 0.050


def next_version(document: dict) -> dict:
    new = copy.deepcopy(document)
    nodes = new["nodes"]
    for node in nodes[1::20]:
        if "out_features" in node.get("params", {}):
            node["params"]["out_features"] = 32
        else:
            node["disabled"] = True
    for i, node in enumerate(nodes[2::10]):
        node["ui"] = {"x": i * 40, "y": 80}
    removed = {node["id"] for node in nodes[-10:]}
    new["nodes"] = [node for node in nodes if node["id"] not in removed]
    new["edges"] = [edge for edge in new["edges"] if edge[0] not in removed and edge[1] not in removed]
    last = new["nodes"][-1]["id"]
    for i in range(10):
        new["nodes"].append({"id": f"extra{i}", "type": "ReLU", "params": {}})
        new["edges"].append([last, f"extra{i}"])
        last = f"extra{i}"
    new["outputs"] = [last]
    return new


def text_diff(a: dict, b: dict) -> list[str]:
    a_lines = json.dumps(a, sort_keys=True, indent=1).splitlines()
    b_lines = json.dumps(b, sort_keys=True, indent=1).splitlines()
    return list(difflib.unified_diff(a_lines, b_lines, lineterm=""))


def test_diff_speed_against_a_text_diff_of_the_json():
    rows = []
    for shape_name, build in (("chain", chain), ("branchy", branchy)):
        old = build(NODES)
        new = next_version(old)
        counts = diff_documents(old, new)["counts"]
        structural = median_seconds(lambda old=old, new=new: diff_documents(old, new), REPEAT)
        baseline = median_seconds(lambda old=old, new=new: text_diff(old, new), REPEAT)
        source = median_seconds(lambda old=old, new=new: source_diff(old, new), 3)
        rows.append((shape_name, len(new["nodes"]), counts, structural, baseline, source))

    lines = [
        "## Diff: two 1,000-node versions",
        "",
        f"Machine: {machine()}. Median of {REPEAT} runs (3 for the source diff), in-process, after one warm-up run.",
        "Version 2 changes a parameter (or disables) 5% of the nodes, moves 10% on the canvas, removes 10 nodes and",
        "adds 10. Baseline, same run: `difflib.unified_diff` over the lines of the canonical JSON of both documents",
        "(`json.dumps(sort_keys=True, indent=1)`), i.e. diffing the stored text.",
        "",
        "| graph | nodes | changes found | `diff_documents` (ms) | JSON text diff (ms) | ratio | source diff (ms) |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for shape_name, n, counts, structural, baseline, source in rows:
        found = (
            f"{counts['nodes_changed']} changed, {counts['nodes_added']} added, {counts['nodes_removed']} removed, "
            f"{counts['edges_added']}/{counts['edges_removed']} edges"
        )
        lines.append(
            f"| {shape_name} | {n:,} | {found} | {structural * 1e3:.2f} | {baseline * 1e3:.1f} "
            f"| {structural / baseline:.3f} | {source * 1e3:.0f} |"
        )
    worst = max(row[3] for row in rows)
    lines += [
        "",
        f"Target: under 50 ms — worst case here {worst * 1e3:.2f} ms ({'met' if worst < TARGET_S else 'NOT met'}).",
        "The source diff generates both versions' code first, so it costs about two `generate` calls; the API",
        "computes it only on request (`?source=1`).",
    ]
    path = write_section("diff", "\n".join(lines))
    print("\n".join(lines))
    print(f"written to {path}")
    assert worst < TARGET_S
