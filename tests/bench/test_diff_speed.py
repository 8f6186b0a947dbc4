"""Speed of the structural diff between two 1,000-node versions (target: under 50 ms).

Two versions of a chain and of a branchy graph (helpers of the engine benchmark): the newer one
changes a parameter on 5% of the nodes, moves 10% on the canvas, removes 10 nodes and adds 10.
Baseline, measured in the same run: the least a structural diff must do, a by-id dict diff of the two
documents (nodes keyed by id and compared whole but for their canvas position, edges as sets): which nodes were added, removed or changed,
which edges were added or removed. Also shown: a text diff of the canonical JSON (``difflib``, what a generic
"diff the stored JSON" costs) and the source diff (generate both sides + difflib).
"""

from __future__ import annotations

import copy
import difflib
import json

import pytest

from graphs.diff import diff_documents, source_diff

from .report import machine, publish
from .test_engine_speed import branchy, chain, median_seconds

pytestmark = pytest.mark.bench

NODES = 1_000
REPEAT = 21
TARGET_S = 0.050
COUNTS = ("nodes_added", "nodes_removed", "nodes_changed", "edges_added", "edges_removed")  # dict_diff's order


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


def dict_diff(a: dict, b: dict) -> tuple:
    """Added, removed and changed node ids (canvas positions aside, as ``diff_documents`` does), added and
    removed edges: the fair baseline."""
    old = {node["id"]: node for node in a["nodes"]}
    new = {node["id"]: node for node in b["nodes"]}
    changed = [key for key in old.keys() & new.keys() if {**old[key], "ui": None} != {**new[key], "ui": None}]
    old_edges, new_edges = {tuple(edge) for edge in a["edges"]}, {tuple(edge) for edge in b["edges"]}
    return new.keys() - old.keys(), old.keys() - new.keys(), changed, new_edges - old_edges, old_edges - new_edges


def text_diff(a: dict, b: dict) -> list[str]:
    a_lines = json.dumps(a, sort_keys=True, indent=1).splitlines()
    b_lines = json.dumps(b, sort_keys=True, indent=1).splitlines()
    return list(difflib.unified_diff(a_lines, b_lines, lineterm=""))


def test_diff_speed_against_a_by_id_dict_diff():
    rows = []
    for shape_name, build in (("chain", chain), ("branchy", branchy)):
        old = build(NODES)
        new = next_version(old)
        counts = diff_documents(old, new)["counts"]
        found = dict(zip(COUNTS, map(len, dict_diff(old, new))))
        assert found == counts, "the baseline must find the same changes"
        structural = median_seconds(lambda old=old, new=new: diff_documents(old, new), REPEAT)
        baseline = median_seconds(lambda old=old, new=new: dict_diff(old, new), REPEAT)
        text = median_seconds(lambda old=old, new=new: text_diff(old, new), REPEAT)
        source = median_seconds(lambda old=old, new=new: source_diff(old, new), 3)
        rows.append((shape_name, len(new["nodes"]), counts, structural, baseline, text, source))

    lines = [
        "## Diff: two 1,000-node versions",
        "",
        f"Machine: {machine()}. Median of {REPEAT} runs (3 for the source diff), in-process, after one warm-up run.",
        "Version 2 changes a parameter (or disables) 5% of the nodes, moves 10% on the canvas, removes 10 nodes and",
        "adds 10. Baseline, same run: a by-id dict diff (nodes keyed by id and compared whole but for their canvas",
        "position, edges as sets), the least any structural diff does: it finds the same changes, and",
        "`diff_documents` also names each changed field.",
        "For scale: `difflib.unified_diff` over the lines of the canonical JSON (`json.dumps(sort_keys=True,",
        "indent=1)`), i.e. diffing the stored text.",
        "",
        "| graph | nodes | changes found | `diff_documents` (ms) | by-id dict diff (ms) | ratio | JSON text diff (ms) "
        "| source diff (ms) |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for shape_name, n, counts, structural, baseline, text, source in rows:
        found = (
            f"{counts['nodes_changed']} changed, {counts['nodes_added']} added, {counts['nodes_removed']} removed, "
            f"{counts['edges_added']}/{counts['edges_removed']} edges"
        )
        lines.append(
            f"| {shape_name} | {n:,} | {found} | {structural * 1e3:.2f} | {baseline * 1e3:.2f} "
            f"| {structural / baseline:.2f} | {text * 1e3:.1f} | {source * 1e3:.0f} |"
        )
    worst = max(row[3] for row in rows)
    lines += [
        "",
        f"Target: under 50 ms — worst case here {worst * 1e3:.2f} ms ({'met' if worst < TARGET_S else 'NOT met'}).",
        "The source diff generates both versions' code first, so it costs about two `generate` calls; the API",
        "computes it only on request (`?source=1`).",
    ]
    publish("diff", lines)
    assert worst < TARGET_S
