"""Figures of graphs: Mermaid flowcharts (codegen.diagram), SVG and PNG (codegen.figure), and
``python -m codegen export --format mermaid|svg|png``."""

import io
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from codegen import figure_scene, validate
from codegen.cli import main
from codegen.diagnostics import GraphError
from codegen.diagram import node_color, shapes_text, to_mermaid
from codegen.figure import CARD_HEIGHT, CARD_WIDTH, FigureTooLarge, png_scale, to_png, to_svg
from codegen.figure_layout import layered_positions
from codegen.spec import NODE_SPECS
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
    shapes = validate(document).shapes()
    for node, (label, _) in zip(document["nodes"], nodes.values(), strict=True):
        head = f"<b>{node.get('label') or node['id']}</b><br/>{node['type']}"
        # A shape, except on a loss or metric: one number for the batch.
        assert label.startswith(f"{head}<br/>(") if shapes[node["id"]] else label == head
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


# ---------------------------------------------------------------------------------------------
# SVG and PNG figures (codegen.figure)

SVG = "{http://www.w3.org/2000/svg}"
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
# The README's figures: (file, template, expand_blocks). UPDATE_SCREENSHOTS=1 redraws them.
README_FIGURES = [
    ("export-resnet50.png", "resnet50", False),
    ("export-resnet50.svg", "resnet50", False),
    ("export-resnet50.mmd", "resnet50", False),
    ("export-unet.png", "unet_small", False),
    ("export-unet.svg", "unet_small", False),
    ("export-unet.mmd", "unet_small", False),
    ("export-resnet18-expanded.png", "resnet18", True),
]


def drawn(svg: str) -> tuple[dict[str, ET.Element], dict[str, ET.Element], dict[str, str], set[str]]:
    """Cards by key, edge paths by "source->target", edge labels' texts, frame instances; the SVG must parse."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    cards = {g.get("data-node"): g for g in root.iter(f"{SVG}g") if g.get("class") == "node"}
    edges = {p.get("data-edge"): p for p in root.iter(f"{SVG}path") if p.get("class") == "edge"}
    labels = ["".join(g.itertext()) for g in root.iter(f"{SVG}g") if g.get("class") == "edge-label"]
    frames = {g.get("data-instance") for g in root.iter(f"{SVG}g") if g.get("class") == "frame"}
    return cards, edges, labels, frames


def card_text(card: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in card.iter(f"{SVG}text")]


@pytest.mark.parametrize("name", template_names())
def test_every_template_is_a_figure_with_a_card_per_node_and_a_labelled_arrow_per_edge(name):
    document = load_template(name)
    svg = to_svg(document)
    cards, edges, labels, frames = drawn(svg)
    assert list(cards) == [node["id"] for node in document["nodes"]] and not frames
    assert len(edges) == len(document["edges"])
    shapes = validate(document).shapes()
    for node in document["nodes"]:
        spec = NODE_SPECS[node["type"]]
        band = cards[node["id"]].find(f"{SVG}path")
        assert band.get("fill") == node_color(spec)  # the category's colour, as on the canvas and in Mermaid
        texts = card_text(cards[node["id"]])
        assert texts[0] == node["type"] and texts[1].startswith(node.get("label") or node["id"])
        if shapes[node["id"]]:  # its output shape (a loss or metric gives one number for the batch)
            assert shapes_text(shapes[node["id"]]) in texts
    # Every edge carries the shape of what flows along it (one output each here).
    assert sorted(labels) == sorted(shapes_text(shapes[source.split(":")[0]]) for source, *_ in document["edges"])
    assert all(edge.get("marker-end") == "url(#arrow)" for edge in edges.values())
    assert ET.fromstring(svg).find(f"{SVG}title").text == document["metadata"]["name"]
    assert to_svg(document) == svg


def test_positions_are_the_canvas_s_own_and_a_graph_without_them_is_laid_out_without_overlaps():
    document = load_template("unet_small")
    cards, _, _, _ = drawn(to_svg(document))

    def corner(card):
        rect = card.find(f"{SVG}rect")
        return float(rect.get("x")), float(rect.get("y"))

    origin = corner(cards["input"])
    for node in document["nodes"]:  # shifted by one offset: the canvas's drawing, unchanged
        x, y = corner(cards[node["id"]])
        assert (x - origin[0], y - origin[1]) == (node["ui"]["x"], node["ui"]["y"])
    for node in document["nodes"]:
        del node["ui"]
    cards, _, _, _ = drawn(to_svg(document))
    corners = [corner(card) for card in cards.values()]
    for i, (x, y) in enumerate(corners):
        for u, v in corners[i + 1 :]:
            assert abs(x - u) >= CARD_WIDTH or abs(y - v) >= CARD_HEIGHT  # no two cards overlap


def test_a_graph_the_canvas_laid_out_left_to_right_is_wired_from_side_to_side():
    document = {
        "version": "0.2",
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [8]}, "ui": {"x": 0, "y": 0}},
            {"id": "fc", "type": "Linear", "params": {"out_features": 4}, "ui": {"x": 320, "y": 0}},
            {"id": "act", "type": "ReLU", "ui": {"x": 640, "y": 0}},
        ],
        "edges": [["x", "fc"], ["fc", "act"]],
        "inputs": ["x"],
        "outputs": ["act"],
    }
    cards, edges, _, _ = drawn(to_svg(document))
    rect = {key: card.find(f"{SVG}rect") for key, card in cards.items()}
    start, *_, end = re.findall(r"-?[\d.]+,-?[\d.]+", edges["x->fc"].get("d"))
    assert start == f"{float(rect['x'].get('x')) + CARD_WIDTH:g},{float(rect['x'].get('y')) + CARD_HEIGHT / 2:g}"
    assert end == f"{float(rect['fc'].get('x')):g},{float(rect['fc'].get('y')) + CARD_HEIGHT / 2:g}"  # its left side
    for node in document["nodes"]:  # the same graph down the page: bottom to top
        node["ui"] = {"x": node["ui"]["y"], "y": node["ui"]["x"] // 2}
    cards, edges, _, _ = drawn(to_svg(document))
    start = re.findall(r"-?[\d.]+,-?[\d.]+", edges["x->fc"].get("d"))[0]
    x, y = float(cards["x"].find(f"{SVG}rect").get("x")), float(cards["x"].find(f"{SVG}rect").get("y"))
    assert start == f"{x + CARD_WIDTH / 2:g},{y + CARD_HEIGHT:g}"


def test_layered_layout_keeps_the_main_path_straight_and_wraps_a_long_chain_into_columns():
    chain = [f"n{i}" for i in range(6)]
    edges = [(a, b) for a, b in zip(chain, chain[1:])] + [("n1", "side"), ("side", "n4")]
    sizes = dict.fromkeys([*chain, "side"], (240.0, 120.0))
    laid = layered_positions([*chain, "side"], edges, sizes, wrap=False)
    assert {laid[n][0] for n in chain} == {0}  # the longest path is one straight column
    assert laid["side"][0] >= 240 and laid["side"][1] == laid["n2"][1]  # the branch beside it, a rank below n1
    long = [f"n{i}" for i in range(40)]
    laid = layered_positions(long, list(zip(long, long[1:])), dict.fromkeys(long, (240.0, 120.0)))
    columns = sorted({x for x, _ in laid.values()})
    assert len(columns) >= 3 and columns[1] - columns[0] == 240 + 140
    assert layered_positions([], [], {}) == {}


def test_blocks_are_drawn_collapsed_or_each_in_a_frame_with_its_own_layers():
    document = load_template("resnet50")
    collapsed, _, _, frames = drawn(to_svg(document))
    assert len(collapsed) == 23 and not frames
    cards, edges, labels, frames = drawn(to_svg(document, expand_blocks=True))
    blocks = [n["id"] for n in document["nodes"] if n["type"] == "Bottleneck"]
    assert frames == set(blocks)
    assert len(cards) > 150 and not set(blocks) & set(cards)  # each instance is its layers, not a card
    assert "layer1_0/conv1" in cards and "layer1_0/downsample_0" in cards  # 64 → 256 channels: a projection
    assert "(B, 128, 28, 28)" in card_text(cards["layer2_0/conv2"])  # stride 2 in the 3×3 (ResNet v1.5)
    # Wired as the instances were: into the first block's input layers, out of its last, into the next.
    assert {"maxpool->layer1_0/conv1", "maxpool->layer1_0/downsample_0", "layer1_0/relu_2->layer1_1/conv1"} <= set(
        edges
    )
    assert "layer4_2/relu_2->avgpool" in edges
    assert not any(key.endswith("/x") for key in cards)  # a block's input is what feeds it, not a card
    unet = load_template("unet_small")  # no blocks: expanding changes nothing
    assert to_svg(unet, expand_blocks=True) == to_svg(unet)


def test_blocks_defined_in_the_document_expand_through_their_ports_and_outputs():
    document = json.loads(GOLDEN.read_text())
    cards, edges, _, frames = drawn(to_svg(document, expand_blocks=True))
    assert frames == {"up1", "heads"}
    assert {"up1/up", "up1/cat", "up1/act", "heads/halves", "heads/left", "heads/right_act"} <= set(cards)
    assert "out_channels 4  kernel_size 1" in card_text(cards["heads/left"])  # "$width" as this instance sets it
    assert "sections 1×3  dim 1" in card_text(cards["heads/right"])
    assert {
        "bottom->up1/up",  # the port x feeds the block's ConvTranspose2d
        "enc->up1/cat",  # the skip port feeds its Concat
        "up1/act->heads/halves",  # a block's output into the next block's input
        "heads/left->merge",  # output 0 of the instance is the block's first output
        "heads/right_act->merge",  # and output 1 its second
    } <= set(edges)


def test_a_figure_is_the_same_bytes_every_time_and_the_png_is_a_clean_image_of_the_svg_s_size():
    document = load_template("resnet18")
    svg = to_svg(document)
    assert to_svg(json.dumps(document)) == svg
    png = to_png(document)
    assert to_png(document) == png
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"tIME", b"eXIf"):
        assert chunk not in png  # no time stamps or software names
    image = Image.open(io.BytesIO(png))
    root = ET.fromstring(svg)
    width, height = float(root.get("width")), float(root.get("height"))
    assert image.size == (math.ceil(width * 2), math.ceil(height * 2)) and image.mode == "RGB"
    assert image.getpixel((0, 0)) == (255, 255, 255)
    colors = {color for _, color in image.getcolors(maxcolors=1_000_000)}
    assert (0x8B, 0x5C, 0xF6) in colors  # the convolutions' band, as in the SVG
    assert Image.open(io.BytesIO(to_png(document, scale=1))).size == (math.ceil(width), math.ceil(height))
    _, _, labels, _ = drawn(to_svg(document, input_shapes={"input": [3, 64, 64]}))
    assert "(B, 3, 64, 64)" in labels and "(B, 512, 2, 2)" in labels  # the shapes at the size asked for


def test_a_graph_with_errors_is_drawn_showing_where_it_breaks():
    document = load_template("resnet18")
    document["nodes"][1]["params"]["kernel_size"] = 1000  # larger than the image: no shape from conv1 on
    svg = to_svg(document)
    cards, edges, labels, _ = drawn(svg)
    conv1 = cards["conv1"]
    assert conv1.find(f"{SVG}rect").get("stroke") == "#b42318"  # outlined in red, with its error count
    assert any(text.startswith("✕ ") for text in card_text(conv1))
    assert edges["conv1->bn1"].get("stroke-dasharray") and "?" in labels  # the edges after it carry no shape
    assert labels.count("(B, 3, 224, 224)") == 1  # before it, all is known
    assert Image.open(io.BytesIO(to_png(document))).size[0] > 0
    with pytest.raises(GraphError):
        to_svg('{"version": "0.2", "nodes": [')
    with pytest.raises(GraphError):
        to_png({"nodes": "none"})


def test_labels_and_ids_cannot_break_the_svg():
    document = {
        "version": "0.2",
        "nodes": [
            {"id": "a<&>\"'", "type": "Input", "params": {"shape": [4]}, "label": "<script>alert(1)</script> & co"},
            {"id": "]]>", "type": "Mystery", "params": {}, "label": "bell\x07 and a lone \ud800 surrogate"},
        ],
        "edges": [["a<&>\"'", "]]>"]],
        "inputs": ["a<&>\"'"],
        "outputs": ["]]>"],
    }
    svg = to_svg(document)
    cards, edges, _, _ = drawn(svg)
    assert set(cards) == {"a<&>\"'", "]]>"} and "<script>" not in svg
    assert "bell and a lone  surrogate" in card_text(cards["]]>"])  # what XML cannot hold is left out
    assert Image.open(io.BytesIO(to_png(document))).size[0] > 0
    assert cards["]]>"].find(f"{SVG}path").get("fill") == "#98a2b3"  # a type nobody knows: grey


def test_huge_figures_are_scaled_down_or_refused_and_nonsense_positions_are_ignored(monkeypatch):
    assert png_scale(1000, 1000, 2) == 2.0
    assert png_scale(4000, 4000, 2) == 1.0  # 16 Mpx at most
    with pytest.raises(FigureTooLarge, match="export SVG"):
        png_scale(100_000, 100_000, 2)
    for scale in (0, -1, 9, float("nan")):
        with pytest.raises(ValueError, match="scale"):
            png_scale(100, 100, scale)
    far = {
        "version": "0.2",
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [4]}, "ui": {"x": 0, "y": 0}},
            {"id": "fc", "type": "Linear", "params": {"out_features": 2}, "ui": {"x": 9_000_000, "y": 9_000_000}},
        ],
        "edges": [["x", "fc"]],
        "inputs": ["x"],
        "outputs": ["fc"],
    }
    with pytest.raises(FigureTooLarge):
        to_png(far)
    assert len(drawn(to_svg(far))[0]) == 2  # the SVG has no pixels to count
    far["nodes"][1]["ui"] = {"x": float("inf"), "y": "down"}  # not a position: the graph is laid out instead
    assert ET.fromstring(to_svg(far)).get("height") == str(2 * 24 + 2 * CARD_HEIGHT + 56)
    monkeypatch.setattr(figure_scene, "MAX_BOXES", 100)
    with pytest.raises(FigureTooLarge, match="collapsed"):
        to_svg(load_template("resnet50"), expand_blocks=True)


def test_the_cli_draws_svg_to_standard_output_and_png_to_a_file(tmp_path, capsys):
    graph = tmp_path / "resnet18.json"
    graph.write_text(json.dumps(load_template("resnet18")))
    assert main(["export", str(graph), "--format", "svg"]) == 0
    assert capsys.readouterr().out == to_svg(load_template("resnet18"))
    out = tmp_path / "resnet18.png"
    assert main(["export", str(graph), "--format", "png", "--expand-blocks", "--out", str(out)]) == 0
    assert out.read_bytes() == to_png(load_template("resnet18"), expand_blocks=True)
    assert capsys.readouterr().out == f"wrote {out}\n"
    with pytest.raises(SystemExit) as refused:
        main(["export", str(graph), "--format", "png"])  # binary: not to a terminal
    assert refused.value.code == 2 and "--out" in capsys.readouterr().err
    far = tmp_path / "far.json"
    far.write_text(
        json.dumps(
            {
                "nodes": [
                    {"id": "x", "type": "Input", "params": {"shape": [4]}, "ui": {"x": 0, "y": 0}},
                    {"id": "y", "type": "ReLU", "ui": {"x": 0, "y": 9_000_000}},
                ],
                "edges": [["x", "y"]],
                "inputs": ["x"],
                "outputs": ["y"],
            }
        )
    )
    assert main(["export", str(far), "--format", "png", "--out", str(tmp_path / "far.png")]) == 1
    assert capsys.readouterr().err.startswith("error: the figure is")


@pytest.mark.parametrize(("file", "template", "expand"), README_FIGURES)
def test_the_readme_figures_are_current(file, template, expand):
    """The README's figures as the engine draws them now; ``UPDATE_SCREENSHOTS=1`` redraws them."""
    document = load_template(template)
    if file.endswith(".png"):
        figure = to_png(document, expand_blocks=expand)
    elif file.endswith(".svg"):
        figure = to_svg(document, expand_blocks=expand).encode()
    else:
        figure = to_mermaid(document).encode()
    path = SCREENSHOTS / file
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        path.write_bytes(figure)
    assert path.read_bytes() == figure, f"{file} is stale: UPDATE_SCREENSHOTS=1 pytest {__file__}"
