"""Mermaid flowcharts of graphs (codegen.diagram) and ``python -m codegen export --format mermaid``."""

import json
import re
from pathlib import Path

import pytest

from codegen.cli import main
from codegen.diagnostics import GraphError
from codegen.diagram import to_mermaid
from codegen.templates import load_template, template_names
from codegen.tensor import shape_text

GOLDEN = Path(__file__).parent / "golden" / "composite_ports" / "graph.json"
NODE_LINE = re.compile(r'^    (n\d+)\["(.*)"\]:::([a-z0-9_]+)$')
EDGE_LINE = re.compile(r"^    (n\d+) -->(?:\|(.*)\|)? (n\d+)$")


def parse(text: str) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str | None]], set[str]]:
    """Nodes (name → label, class), edges and declared classes; fails on any line of another form."""
    lines = text.splitlines()
    assert lines[0] in ("flowchart TB", "flowchart LR")
    nodes, edges, classes = {}, [], set()
    for line in lines[1:]:
        if m := NODE_LINE.match(line):
            nodes[m[1]] = (m[2], m[3])
        elif m := EDGE_LINE.match(line):
            edges.append((m[1], m[3], m[2]))
        elif m := re.match(r"^    classDef ([a-z0-9_]+) fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6},color:#fff$", line):
            classes.add(m[1])
        else:
            pytest.fail(f"not a line of the flowchart: {line!r}")
    return nodes, edges, classes


@pytest.mark.parametrize("name", template_names())
def test_every_template_is_one_box_per_node_and_one_arrow_per_edge_with_its_shape(name):
    document = load_template(name)
    text = to_mermaid(document)
    nodes, edges, classes = parse(text)
    assert len(nodes) == len(document["nodes"])
    assert len(edges) == len(document["edges"])
    assert {css for _, css in nodes.values()} == classes  # every class used is declared, and only those
    for node, (label, _) in zip(document["nodes"], nodes.values(), strict=True):
        assert label.startswith(f"<b>{node.get('label') or node['id']}</b><br/>{node['type']}<br/>(")  # a shape
    assert to_mermaid(document) == text  # the same document, the same text


def test_ports_outputs_and_blocks_defined_in_the_document():
    document = json.loads(GOLDEN.read_text())
    nodes, edges, _ = parse(to_mermaid(document, direction="LR"))
    name = {node["id"]: f"n{i}" for i, node in enumerate(document["nodes"])}
    assert (name["enc"], name["up1"], "skip") in edges
    assert (name["heads"], name["merge"], "out 1") in edges
    assert nodes[name["up1"]][1] == "block"  # the block "Up", drawn collapsed in the block colour
    assert "<br/>Up<br/>" in nodes[name["up1"]][0]


def test_labels_and_ids_cannot_break_the_flowchart():
    document = {
        "version": "0.2",
        "nodes": [
            {"id": "end", "type": "Input", "params": {"shape": [4]}, "label": 'say "hi" <b>#1</b> & more'},
            {"id": "o", "type": "Linear", "params": {"out_features": 2}},
        ],
        "edges": [["end", "o"]],
        "inputs": ["end"],
        "outputs": ["o"],
    }
    text = to_mermaid(document)
    nodes, edges, _ = parse(text)
    assert nodes["n0"][0].startswith("<b>say #34;hi#34; #60;b#62;#35;1#60;/b#62; #38; more</b>")
    assert edges == [("n0", "n1", None)]
    assert "end" not in re.sub(r'"[^"]*"', "", text)  # the id appears inside its label only


def test_sizes_read_as_the_canvas_shows_them_unknown_ones_as_a_question_mark():
    assert shape_text(["B", 64, None]) == "(B, 64, ?)"
    assert shape_text(["B", "H/2"]) == "(B, H/2)"


def test_a_graph_with_errors_is_drawn_and_one_that_does_not_parse_is_refused():
    document = load_template("resnet18")
    document["nodes"][1]["params"]["kernel_size"] = 1000  # larger than the image: no shape from conv1 on
    nodes, _, _ = parse(to_mermaid(document))
    assert nodes["n1"][0] == "<b>conv1</b><br/>Conv2d"
    with pytest.raises(GraphError):
        to_mermaid('{"version": "0.2", "nodes": [')
    with pytest.raises(ValueError, match="TB or LR"):
        to_mermaid(load_template("resnet18"), direction="BT")


def test_the_cli_writes_the_flowchart_and_reports_what_it_cannot_read(tmp_path, capsys):
    graph = tmp_path / "unet.json"
    graph.write_text(json.dumps(load_template("unet_small")))
    out = tmp_path / "unet.mmd"
    assert main(["export", str(graph), "--format", "mermaid", "--direction", "LR", "--out", str(out)]) == 0
    assert out.read_text() == to_mermaid(load_template("unet_small"), direction="LR")
    assert capsys.readouterr().out == f"wrote {out}\n"
    assert main(["export", str(graph), "--format", "mermaid"]) == 0  # top to bottom, to standard output
    assert capsys.readouterr().out == to_mermaid(load_template("unet_small"))

    graph.write_text('{"version": "0.2", "nodes": [')
    assert main(["export", str(graph), "--format", "mermaid"]) == 1
    assert "PARSE" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        main(["export", str(graph), "--format", "gif"])
    assert refused.value.code == 2
    with pytest.raises(SystemExit, match="cannot read .*missing.json"):
        main(["export", str(tmp_path / "missing.json"), "--format", "mermaid"])
