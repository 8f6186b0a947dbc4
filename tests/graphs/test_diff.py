"""graphs.diff: structural diff of two documents, and the unified diff of their generated source."""

import copy
import time

from platform_helpers import chain_document, edited

from graphs.diff import diff_documents, source_diff


def test_identical_documents_have_no_changes(demo_graph):
    diff = diff_documents(demo_graph, copy.deepcopy(demo_graph))
    assert diff["identical"]
    assert diff["nodes"] == {"added": [], "removed": [], "changed": {}, "moved": []}
    assert diff["edges"] == {"added": [], "removed": []}
    assert diff["inputs"] is None and diff["outputs"] is None


def test_it_reports_each_changed_param_with_old_and_new(demo_graph):
    diff = diff_documents(demo_graph, edited(demo_graph, 10))
    assert diff["nodes"]["changed"] == {"fc": {"params": {"out_features": {"old": 18, "new": 10}}}}
    assert diff["counts"]["nodes_changed"] == 1 and not diff["identical"]


def test_it_reports_added_and_removed_params(demo_graph):
    new = copy.deepcopy(demo_graph)
    del new["nodes"][1]["params"]["padding"]
    new["nodes"][1]["params"]["stride"] = 2
    assert diff_documents(demo_graph, new)["nodes"]["changed"]["conv"]["params"] == {
        "padding": {"old": "same", "new": None},
        "stride": {"old": None, "new": 2},
    }


def test_it_reports_type_changes_and_ablations(demo_graph):
    new = copy.deepcopy(demo_graph)
    new["nodes"][2]["type"] = "GELU"
    new["nodes"][1]["disabled"] = True
    new["nodes"][1]["label"] = "Front conv"
    changed = diff_documents(demo_graph, new)["nodes"]["changed"]
    assert changed["relu"] == {"type": {"old": "ReLU", "new": "GELU"}}
    assert changed["conv"] == {"disabled": {"old": None, "new": True}, "label": {"old": None, "new": "Front conv"}}


def test_it_reports_module_paths_set_changed_and_cleared(demo_graph):
    old = copy.deepcopy(demo_graph)
    old["nodes"][1]["path"] = "features.0"
    old["nodes"][5]["path"] = "classifier.0"
    new = copy.deepcopy(old)
    new["nodes"][1]["path"] = "features.1"
    del new["nodes"][5]["path"]
    new["nodes"][4]["path"] = "encoder"
    changed = diff_documents(old, new)["nodes"]["changed"]
    assert changed == {
        "conv": {"path": {"old": "features.0", "new": "features.1"}},
        "gru": {"path": {"old": None, "new": "encoder"}},
        "fc": {"path": {"old": "classifier.0", "new": None}},
    }


def test_a_node_that_only_moved_on_the_canvas_is_listed_apart(demo_graph):
    new = copy.deepcopy(demo_graph)
    new["nodes"][3]["ui"] = {"x": 10, "y": 20}
    nodes = diff_documents(demo_graph, new)["nodes"]
    assert nodes["changed"] == {} and nodes["moved"] == ["perm"]


def test_it_reports_added_and_removed_nodes_and_edges(demo_graph):
    new = copy.deepcopy(demo_graph)
    new["nodes"].insert(3, {"id": "drop", "type": "Dropout", "params": {"p": 0.1}})
    new["edges"][2] = ["relu", "drop"]
    new["edges"].insert(3, ["drop", "perm"])
    new["nodes"] = [n for n in new["nodes"] if n["id"] != "fc"]
    new["edges"] = [e for e in new["edges"] if e[1] != "fc"]
    new["outputs"] = ["gru"]
    diff = diff_documents(demo_graph, new)
    assert diff["nodes"]["added"] == [{"id": "drop", "type": "Dropout"}]
    assert diff["nodes"]["removed"] == [{"id": "fc", "type": "Linear"}]
    assert diff["edges"] == {
        "added": [["relu", "drop"], ["drop", "perm"]],
        "removed": [["relu", "perm"], ["gru", "fc"]],
    }
    assert diff["outputs"] == {"old": ["fc"], "new": ["gru"]}


def test_it_reports_composite_and_metadata_changes(demo_graph):
    block = {"nodes": [{"id": "i", "type": "Input"}], "edges": [], "inputs": ["i"], "outputs": ["i"]}
    old = {**demo_graph, "composites": {"A": block, "B": block}, "metadata": {"name": "x"}}
    new = {**demo_graph, "composites": {"B": {**block, "doc": "d"}, "C": block}, "metadata": {"name": "y"}}
    diff = diff_documents(old, new)
    assert diff["composites"] == {"added": ["C"], "removed": ["A"], "changed": ["B"]}
    assert diff["metadata"] == {"name": {"old": "x", "new": "y"}}


def test_odd_documents_do_not_break_it():
    diff = diff_documents({"nodes": "x", "edges": [1, ["a"], ["a", "b"]]}, {"nodes": [7, {"id": 3}]})
    assert diff["edges"]["removed"] == [["a"], ["a", "b"]]
    assert diff_documents(None, [])["identical"]


def test_two_thousand_node_versions_diff_in_well_under_fifty_ms():
    old = chain_document(1000)
    new = copy.deepcopy(old)
    for node in new["nodes"][1::20]:
        node["params"]["out_features"] = 32
    diff_documents(old, new)
    start = time.perf_counter()
    diff = diff_documents(old, new)
    assert time.perf_counter() - start < 0.05
    assert diff["counts"]["nodes_changed"] == 50


def test_the_source_diff_is_a_unified_diff_of_the_generated_file(demo_graph):
    text = source_diff(demo_graph, edited(demo_graph, 10), from_label="v1", to_label="v2")
    assert text.startswith("--- v1\n+++ v2\n")
    assert "-        self.fc = nn.Linear(128, 18)\n+        self.fc = nn.Linear(128, 10)\n" in text


def test_there_is_no_source_diff_when_a_side_has_errors(demo_graph):
    broken = edited(demo_graph)
    broken["nodes"][4]["type"] = "NoSuchLayer"
    assert source_diff(demo_graph, broken) is None
