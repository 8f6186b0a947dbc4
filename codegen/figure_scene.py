"""The scene of a figure: every card, frame, curve and label of a graph's drawing, in canvas units.

:mod:`codegen.figure` writes it as SVG or paints it as PNG. Each node is a card as on the canvas
(frontend/src/editor/LayerNode.tsx): a band in its category's colour with its type, its name, its module path,
its key parameters, its output shape and parameter count; each edge a curve (React Flow's Bézier) with the shape
of the tensor it carries (unknown sizes as ``?``), as the canvas's ShapeEdge, its label moved along the curve off
cards and other labels. Positions are the canvas's own (``ui.x``/``ui.y``, written by its layout) when every node
has one, left to right where the canvas drew it so (most edges run sideways); otherwise, and when blocks are
drawn expanded, :mod:`codegen.figure_layout` lays the graph out top to bottom by the canvas's rules.

Blocks are drawn collapsed, one card per instance. Expanded, each instance is its own layers in a dashed frame
named after it, wired as the instance was (as the canvas's "Expand" does): a block defined in the document shows
its body; a built-in block (``Bottleneck``) shows the layers its class runs, as the importer reads them from the
class built for that instance (on the meta device: no weights). One level: blocks inside a block stay collapsed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .analysis import Analysis, NodeInfo, node_init
from .api import load_graph, validate
from .diagnostics import ERROR, Diagnostic, GraphError
from .diagram import node_color, shapes_text
from .figure_layout import layered_positions
from .schema import Edge, Limits, Node

# The card (canvas.css .cv-node) and the frame around an expanded block (stages.ts FRAME_PAD, FRAME_LABEL).
CARD_WIDTH = 240
CARD_HEIGHT = 120
HEAD_HEIGHT = 26
FRAME_PAD = 24
FRAME_LABEL = 28
MARGIN = 24
FONT_SIZE = 13.5
MIN_CURVE = 36  # how far a curve leaves its handle at least
HEAD_FONT_SIZE = 14
FOOT_FONT_SIZE = 12.5

# What a hostile or merely huge document may cost (the PNG has its own caps, in codegen.figure).
MAX_BOXES = 10_000  # cards once blocks are expanded
MAX_BLOCK_BUILDS = 100  # different built-in block configurations traced for expand_blocks

# Colours of canvas.css.
EDGE = "#98a2b3"
ERROR_COLOR = "#b42318"
TEXT = "#101828"
MUTED = "#667085"
SHAPE = "#175cd3"
BORDER = "#d0d5dd"
DISABLED = "#98a2b3"
LABEL_BORDER = "#d1e0ff"
FRAME_FILL = "#f8f9fb"
UNKNOWN_COLOR = "#98a2b3"  # a type the registry does not know (.cv-node--unknown)

SANS = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"


class FigureTooLarge(ValueError):
    """The figure would be too big to draw (or to read): too many boxes, or a PNG over the pixel cap."""


# ---------------------------------------------------------------------------------------------
# The scene: what is drawn where, shared by the SVG and the PNG


@dataclass(frozen=True)
class Run:
    """Text in one style: sans or mono, bold or not."""

    text: str
    color: str
    size: float = FONT_SIZE
    mono: bool = False
    bold: bool = False


@dataclass(frozen=True)
class Text:
    """A line of runs at a baseline, starting at ``x`` (or ending there when ``end``). Each output sets the
    runs one after the other in its own font, so the SVG's fonts need not have Pillow's widths."""

    x: float
    y: float
    runs: tuple[Run, ...]
    end: bool = False


def text_line(x: float, y: float, text: str, color: str, end: bool = False, **style: Any) -> Text:
    return Text(x, y, (Run(text, color, **style),), end)


@dataclass(frozen=True)
class Card:
    key: str  # the drawn id: the node's, or ``instance/node`` inside an expanded block
    x: float
    y: float
    color: str
    error: bool
    texts: tuple[Text, ...]
    foot: bool  # a dashed line above the shape


@dataclass(frozen=True)
class Frame:
    key: str  # the instance's id
    x: float
    y: float
    width: float
    height: float
    texts: tuple[Text, ...]


@dataclass(frozen=True)
class Wire:
    source: str
    target: str
    curve: tuple[tuple[float, float], ...]  # a cubic Bézier: start, two control points, end
    label: str
    broken: bool  # no shape reaches it: the graph breaks upstream
    at: tuple[float, float] = (0.0, 0.0)  # the centre of its label


@dataclass
class Scene:
    width: float
    height: float
    frames: list[Frame]
    wires: list[Wire]
    cards: list[Card]
    title: str = ""  # the graph's name


# ---------------------------------------------------------------------------------------------
# Text measurement (Pillow's bundled font, for both outputs: the SVG's fonts are alike in width)


@cache
def font(size: float) -> Any:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def drawn_width(text: str, size: float = FONT_SIZE, bold: bool = False) -> float:
    """The width of ``text`` in the PNG: Pillow's font (Aileron)."""
    return font(size).getlength(drawable(text)) * (1.06 if bold else 1.0)


def text_width(text: str, size: float = FONT_SIZE, mono: bool = False, bold: bool = False) -> float:
    """The most room ``text`` takes in either output: what decides cutting and wrapping. An SVG viewer's
    fonts are wider than Aileron (DejaVu Sans on Linux about 0.55 em a character, monospace fonts 0.6)."""
    estimate = (0.6 if mono else 0.56 * (1.08 if bold else 1.0)) * size * len(text)
    return max(drawn_width(text, size, bold), estimate)


# What XML 1.0 cannot hold (control characters, lone surrogates, U+FFFE/U+FFFF), and what a label has no use for.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _fit(text: str, room: float, **style: Any) -> str:
    """``text`` from the document, without what XML cannot hold, cut with an ellipsis where it would run past
    ``room``."""
    text = _UNWRITABLE.sub("", text)
    if text_width(text, **style) <= room:
        return text
    while text and text_width(text + "…", **style) > room:
        text = text[:-1]
    return text + "…"


_PNG_GLYPHS = str.maketrans({"×": "x", "→": "->", "–": "-", "✕": "x"})  # not in Pillow's font


def drawable(text: str) -> str:
    return text.translate(_PNG_GLYPHS)


# ---------------------------------------------------------------------------------------------
# What is drawn: the nodes of the model, with expanded blocks replaced by their inside


@dataclass
class _Box:
    key: str
    node: Node
    info: NodeInfo
    analysis: Analysis
    instance: str | None = None  # the expanded block it sits in


@dataclass
class _Link:
    source: str  # a box key
    output: int  # which output of the source
    target: str
    slot: int  # which input of the target, in argument order
    label: str
    broken: bool


@dataclass
class _Drawing:
    boxes: dict[str, _Box] = field(default_factory=dict)
    links: list[_Link] = field(default_factory=list)
    frames: dict[str, str] = field(default_factory=dict)  # instance id → block name, in document order


def _incoming(analysis: Analysis) -> dict[str, list[Edge]]:
    """Each node's incoming edges: the ones the analysis wired, in argument order, then any others."""
    result: dict[str, list[Edge]] = {node_id: list(info.inputs) for node_id, info in analysis.info.items()}
    for edge in analysis.body.edges:
        edges = result.get(edge.target)
        if edges is not None and edge not in edges:
            edges.append(edge)
    return result


def _label(analysis: Analysis, edge: Edge) -> tuple[str, bool]:
    shape = analysis.edge_type(edge)
    json = shape.to_json() if shape is not None else None
    return (shapes_text(json), False) if json else ("?", True)


class _Builder:
    def __init__(self, analysis: Analysis, expand: bool, limits: Limits):
        self.analysis = analysis
        self.limits = limits
        self.builds: dict[Any, Analysis | None] = {}
        self.inside: dict[str, Analysis] = {}
        if expand:
            for node_id in (n.id for n in analysis.body.nodes):
                info = analysis.info.get(node_id)
                if info is not None and (inner := self._inside(info)) is not None:
                    self.inside[node_id] = inner

    def _inside(self, info: NodeInfo) -> Analysis | None:
        """The analysed inside of a block instance, or None when it is no block or cannot be drawn open."""
        if info.composite is not None:
            inner = info.inner
        elif info.spec is not None and info.spec.block_class is not None and info.valid and info.out is not None:
            inner = self._built(info)
        else:
            return None
        if inner is None or not any(n.id not in inner.inputs for n in inner.body.nodes):
            return None
        return inner

    def _built(self, info: NodeInfo) -> Analysis | None:
        """A built-in block's layers: its class built for this instance on the meta device, read by the importer."""
        in_types = self.analysis.input_types(info.id)
        if len(in_types) != 1 or in_types[0] is None or not in_types[0].concrete:
            return None
        sizes = [int(s) for s in in_types[0].to_json()[1:]]
        init = node_init(self.analysis, info)
        key = (init, tuple(sizes))
        if key not in self.builds:
            if len(self.builds) >= MAX_BLOCK_BUILDS:
                raise FigureTooLarge(
                    f"more than {MAX_BLOCK_BUILDS} different built-in block configurations to draw expanded; "
                    "draw the blocks collapsed"
                )
            self.builds[key] = _import_block(init, sizes, self.limits)
        return self.builds[key]

    def drawing(self) -> _Drawing:
        drawing = _Drawing()
        for node in self.analysis.body.nodes:
            info = self.analysis.info.get(node.id)
            if info is None:
                continue  # not analysed: the engine says why
            inner = self.inside.get(node.id)
            if inner is None:
                drawing.boxes[node.id] = _Box(node.id, node, info, self.analysis)
                continue
            drawing.frames[node.id] = info.type_name
            for inner_node in inner.body.nodes:
                if inner_node.id not in inner.inputs:  # _inside() made sure there is one
                    key = f"{node.id}/{inner_node.id}"
                    drawing.boxes[key] = _Box(key, inner_node, inner.info[inner_node.id], inner, node.id)
            if len(drawing.boxes) > MAX_BOXES:
                break
        if len(drawing.boxes) > MAX_BOXES:
            raise FigureTooLarge(f"the figure would have more than {MAX_BOXES:,} boxes; draw the blocks collapsed")
        outer = _incoming(self.analysis)
        inner_incoming = {instance: _incoming(inner) for instance, inner in self.inside.items()}
        for box in drawing.boxes.values():
            edges = outer[box.node.id] if box.instance is None else inner_incoming[box.instance][box.node.id]
            for slot, edge in enumerate(edges):
                source = (
                    self._outer_source(edge, 0)
                    if box.instance is None
                    else self._inner_source(box.instance, edge.source, edge.output, 0)
                )
                if source is not None and source[0] in drawing.boxes:
                    label, broken = _label(box.analysis, edge)
                    drawing.links.append(_Link(source[0], source[1], box.key, slot, label, broken))
        return drawing

    def _outer_source(self, edge: Edge, hops: int) -> tuple[str, int] | None:
        """The box an edge of the model comes from: an expanded instance's output k is its block's output k."""
        inner = self.inside.get(edge.source)
        if inner is None:
            return edge.source, edge.output or 0
        outputs = inner.outputs
        if not outputs:
            return None
        index = edge.output or 0
        return self._inner_source(edge.source, outputs[index if index < len(outputs) else 0], None, hops)

    def _inner_source(self, instance: str, source: str, output: int | None, hops: int) -> tuple[str, int] | None:
        """The box a node inside ``instance`` reads: one of the block's inputs is what feeds the instance."""
        inner = self.inside[instance]
        if source not in inner.inputs:
            return f"{instance}/{source}", output or 0
        feeds = self.analysis.info[instance].inputs
        k = inner.inputs.index(source)
        if k >= len(feeds) or hops > len(self.inside):  # a block passing its input straight out, in a cycle
            return None
        return self._outer_source(feeds[k], hops + 1)


def _import_block(init: Any, sizes: list[int], limits: Limits) -> Analysis | None:
    """The analysis of what a built-in block's class runs, traced by the importer (None where it cannot)."""
    import torch

    from .importer import from_module
    from .interpreter import base_namespaces
    from .ir import Evaluator

    try:
        with torch.device("meta"):
            module = Evaluator(base_namespaces()).eval(init)
        document = from_module(module, sizes)
    except (GraphError, ValueError, TypeError, RuntimeError):
        return None  # drawn collapsed: its inside is nothing the importer can read
    return validate(document, limits=limits).analysis


# ---------------------------------------------------------------------------------------------
# Placing the boxes


def _ui_position(node: Node) -> tuple[float, float] | None:
    """The canvas's position of a node, when it has a sane one."""
    ui = node.ui or {}
    x, y = ui.get("x"), ui.get("y")
    if all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= 1e7 for v in (x, y)
    ):
        return float(x), float(y)  # type: ignore[arg-type]
    return None


def _positions(
    drawing: _Drawing,
) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float, float, float]], bool]:
    """Top-left corner of every card, the box (x, y, width, height) of every frame, and whether the positions
    are the canvas's own (else this module's top-to-bottom layout)."""
    if not drawing.frames:
        given = {key: _ui_position(box.node) for key, box in drawing.boxes.items()}
        if all(p is not None for p in given.values()):
            return given, {}, True  # type: ignore[return-value]
    card = (float(CARD_WIDTH), float(CARD_HEIGHT))
    unit_of = {key: box.instance or key for key, box in drawing.boxes.items()}
    members: dict[str, list[str]] = {instance: [] for instance in drawing.frames}
    inside: dict[str, list[tuple[str, str]]] = {instance: [] for instance in drawing.frames}
    for key, box in drawing.boxes.items():
        if box.instance is not None:
            members[box.instance].append(key)
    for lk in drawing.links:
        if unit_of[lk.source] == unit_of[lk.target] and unit_of[lk.target] in inside:
            inside[unit_of[lk.source]].append((lk.source, lk.target))
    sizes: dict[str, tuple[float, float]] = {}
    within: dict[str, tuple[float, float]] = {}
    for instance in drawing.frames:
        laid = layered_positions(
            members[instance], inside[instance], dict.fromkeys(members[instance], card), wrap=False
        )
        right = max(x for x, _ in laid.values()) + CARD_WIDTH
        bottom = max(y for _, y in laid.values()) + CARD_HEIGHT
        for key, (x, y) in laid.items():
            within[key] = (x + FRAME_PAD, y + FRAME_PAD + FRAME_LABEL)
        sizes[instance] = (right + 2 * FRAME_PAD, bottom + 2 * FRAME_PAD + FRAME_LABEL)
    units = list(dict.fromkeys(unit_of.values()))
    for unit in units:
        sizes.setdefault(unit, card)
    unit_links = list(
        dict.fromkeys(
            (unit_of[lk.source], unit_of[lk.target]) for lk in drawing.links if unit_of[lk.source] != unit_of[lk.target]
        )
    )
    placed = layered_positions(units, unit_links, sizes)
    cards = {}
    for key, unit in unit_of.items():
        ux, uy = placed[unit]
        dx, dy = within.get(key, (0.0, 0.0))
        cards[key] = (ux + dx, uy + dy)
    frames = {instance: (*placed[instance], *sizes[instance]) for instance in drawing.frames}
    return cards, frames, False


# ---------------------------------------------------------------------------------------------
# Building the scene


def _count(n: int) -> str:
    """2944 → ``2.9k``, 11_689_512 → ``11.7M``, as the canvas writes parameter counts."""

    def trim(x: float) -> str:
        return f"{x:.0f}" if x >= 100 else f"{x:.1f}".removesuffix(".0")

    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{trim(n / 1e3)}k"
    if n < 1_000_000_000:
        return f"{trim(n / 1e6)}M"
    return f"{trim(n / 1e9)}G"


def _value(value: Any) -> str:
    """A parameter value as the canvas's card shows it (format.ts shortValue)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):  # the analysis settles lists as tuples
        return "×".join(_value(v) for v in value)
    return str(value)


def _params(box: _Box) -> list[tuple[str, str, bool]]:
    """(name, value, set) of the parameters the canvas shows on the card, as it shows them."""
    spec = box.info.spec
    if spec is None:
        return []
    written, settled = box.node.params, box.info.params  # settled: a block's "$width" as this instance's number
    shown = []
    for name in spec.summary:
        declared = spec.param(name)
        if name in written:
            shown.append((name, _value(settled.get(name, written[name])), True))
        elif declared is not None and declared.required:
            shown.append((name, "?", True))
        elif declared is not None and declared.default is not None:
            shown.append((name, _value(declared.default), False))
    return shown


def _color(box: _Box) -> str:
    info = box.info
    if box.node.disabled:
        return DISABLED
    if info.spec is None and info.composite is None:
        return UNKNOWN_COLOR
    return node_color(info.spec, info.composite.category if info.composite else "block")


def _card(box: _Box, x: float, y: float, errors: int) -> Card:
    room = CARD_WIDTH - 16
    left, right = x + 8, x + CARD_WIDTH - 8
    badge = f"✕ {errors}" if errors else ""
    head_room = room - (text_width(badge) + 8 if badge else 0)
    head = _fit(box.info.type_name, head_room, size=HEAD_FONT_SIZE, bold=True)
    texts = [text_line(left, y + 18, head, "#ffffff", size=HEAD_FONT_SIZE, bold=True)]
    if badge:
        texts.append(text_line(right, y + 18, badge, "#ffffff", end=True))
    lines: list[tuple[Run, ...]] = []
    own_id = box.node.id
    if box.node.label:
        name = _fit(box.node.label, room, size=14, bold=True)
        after = room - text_width(name + " ", 14, bold=True)
        muted = (Run(" " + _fit(own_id, after, mono=True), MUTED, mono=True),) if after > 30 else ()
        lines.append((Run(name, TEXT, 14, bold=True), *muted))
    else:
        tag = " (disabled)" if box.node.disabled else ""
        lines.append((Run(_fit(own_id + tag, room, mono=True), TEXT, mono=True),))
    if box.node.path and box.node.path != own_id:
        lines.append((Run(_fit(box.node.path, room, mono=True), MUTED, mono=True),))
    lines.extend(_param_lines(_params(box), room, 3 - len(lines)))
    texts.extend(Text(left, y + 45 + 18 * k, runs) for k, runs in enumerate(lines))
    # The shape first; the parameter count where there is room beside it (a size smaller than the canvas's,
    # so that both fit more often).
    shape = _fit(shapes_text(_json(box.info.out)), room, mono=True, size=FOOT_FONT_SIZE)
    count = box.info.param_count
    count_text = f"{_count(count)} params" if count else ""
    if shape:
        texts.append(text_line(left, y + 110, shape, SHAPE, mono=True, size=FOOT_FONT_SIZE))
    if (
        count_text
        and text_width(shape, mono=True, size=FOOT_FONT_SIZE) + 10 + text_width(count_text, size=FOOT_FONT_SIZE) <= room
    ):
        texts.append(text_line(right, y + 110, count_text, MUTED, end=True, size=FOOT_FONT_SIZE))
    return Card(box.key, x, y, _color(box), errors > 0, tuple(texts), bool(shape or count_text))


def _param_lines(params: list[tuple[str, str, bool]], room: float, most: int) -> list[tuple[Run, ...]]:
    """The parameters as ``name value`` pairs, wrapped over at most ``most`` lines; more, an ellipsis."""
    lines: list[tuple[Run, ...]] = []
    line: list[Run] = []
    used = 0.0
    for name, value, set_here in params:
        if most <= 0:
            break
        named = text_width(f"{name} ")
        gap = text_width("  ") if line else 0.0
        if line and used + gap + named + text_width(value, bold=set_here) > room:
            if len(lines) + 1 == most:
                if used + text_width("  …") <= room:
                    line.append(Run("  …", MUTED))
                break
            lines.append(tuple(line))
            line, used, gap = [], 0.0, 0.0
        value = _fit(value, max(room - used - gap - named, 0), bold=set_here)  # one value wider than the card
        if gap:
            line.append(Run("  ", MUTED))
        line += [Run(f"{name} ", MUTED), Run(value, TEXT if set_here else MUTED, bold=set_here)]
        used += gap + named + text_width(value, bold=set_here)
    if line:
        lines.append(tuple(line))
    return lines


def _json(out: Any) -> Any:
    if out is None:
        return None
    if isinstance(out, tuple):
        return [t.to_json() for t in out]
    return out.to_json()


def _frame(instance: str, block: str, x: float, y: float, width: float, height: float) -> Frame:
    room = width - 2 * 12
    title = _fit(instance, room, bold=True)
    after = room - text_width(title + " ", bold=True)
    note = (Run(" " + _fit(f"{block}, expanded", after), MUTED),) if after > 40 else ()
    return Frame(instance, x, y, width, height, (Text(x + 12, y + 20, (Run(title, TEXT, bold=True), *note)),))


Side = str  # which side of a card a handle sits on: "top", "bottom", "left" or "right"


def _handle(corner: tuple[float, float], side: Side, index: int, count: int) -> tuple[float, float]:
    """Where handle ``index`` of ``count`` sits on a side of the card at ``corner``: spread evenly, as on the canvas."""
    x, y = corner
    along = (index + 1) / (count + 1)
    return {
        "top": (x + CARD_WIDTH * along, y),
        "bottom": (x + CARD_WIDTH * along, y + CARD_HEIGHT),
        "left": (x, y + CARD_HEIGHT * along),
        "right": (x + CARD_WIDTH, y + CARD_HEIGHT * along),
    }[side]


def _control(point: tuple[float, float], side: Side, other: tuple[float, float]) -> tuple[float, float]:
    """React Flow's Bézier control point for a handle (getControlWithCurvature, curvature 0.25), but always a
    little away from the card, so that two handles side by side still get a curve."""

    def offset(distance: float) -> float:
        return max(0.5 * distance if distance >= 0 else 0.25 * 25 * math.sqrt(-distance), MIN_CURVE)

    (x, y), (u, v) = point, other
    return {
        "top": (x, y - offset(y - v)),
        "bottom": (x, y + offset(v - y)),
        "left": (x - offset(x - u), y),
        "right": (x + offset(u - x), y),
    }[side]


def _curve(
    start: tuple[float, float], leaves: Side, end: tuple[float, float], enters: Side
) -> tuple[tuple[float, float], ...]:
    return (start, _control(start, leaves, end), _control(end, enters, start), end)


def _across(links: list[_Link], corners: dict[str, tuple[float, float]]) -> bool:
    """Whether the canvas drew the graph left to right (its LR layout): most edges run sideways."""
    sideways = sum(
        abs(corners[lk.target][0] - corners[lk.source][0]) > abs(corners[lk.target][1] - corners[lk.source][1])
        for lk in links
    )
    return sideways * 2 > len(links)


def _backwards(source: tuple[float, float], target: tuple[float, float], across: bool) -> bool:
    """The target sits before the source in its row or column (the way back along a U): the canvas turns
    the handles (convert.ts ``backwards``)."""
    if across:
        return source[0] - target[0] > CARD_WIDTH / 2 and abs(source[1] - target[1]) < CARD_HEIGHT
    return source[1] - target[1] > CARD_HEIGHT / 2 and abs(source[0] - target[0]) < CARD_WIDTH


def _before(source: tuple[float, float], target: tuple[float, float], across: bool) -> bool:
    """The source is clearly earlier along the flow than the target."""
    if across:
        return source[0] + CARD_WIDTH / 2 < target[0]
    return source[1] + CARD_HEIGHT / 2 < target[1]


def point(curve: tuple[tuple[float, float], ...], t: float) -> tuple[float, float]:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = curve
    a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
    return (a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3)


def scene(
    document: Any,
    *,
    input_shapes: dict[str, list[int]] | None = None,
    limits: Limits | None = None,
    expand_blocks: bool = False,
) -> Scene:
    """Everything the figure of ``document`` draws, in figure coordinates (a margin around it, from 0, 0)."""
    limits = limits or Limits()
    parsed = load_graph(document, limits=limits)
    analysis = validate(parsed, input_shapes=input_shapes, limits=limits).analysis
    drawing = _Builder(analysis, expand_blocks, limits).drawing()
    corners, frame_boxes, drawn_by_canvas = _positions(drawing)
    errors: dict[int, dict[str, int]] = {}  # per analysis (the model's, each expanded block's): node → errors
    for box in drawing.boxes.values():
        errors.setdefault(id(box.analysis), _errors_by_node(box.analysis.diagnostics))
    cards = [
        _card(box, *corners[key], errors[id(box.analysis)].get(box.node.id, 0)) for key, box in drawing.boxes.items()
    ]
    frames = [_frame(i, block, *frame_boxes[i]) for i, block in drawing.frames.items()]
    wires = []
    slots: dict[str, int] = {}
    across = drawn_by_canvas and _across(drawing.links, corners)
    # Handles face the way the flow goes: a box read from before it gives its output on its leading side, a box
    # fed from after it takes its inputs on its trailing side (the canvas decides by the first edge; any one
    # reads better here), and so does a box on the way back that nothing before it feeds (the bottom of a U).
    turned_out: set[str] = set()
    turned_in: set[str] = set()
    fed_from_before: set[str] = set()
    for link in drawing.links:
        slots[link.target] = max(slots.get(link.target, 0), link.slot + 1)
        if _backwards(corners[link.source], corners[link.target], across):
            turned_out.add(link.source)
            turned_in.add(link.target)
        if _before(corners[link.source], corners[link.target], across):
            fed_from_before.add(link.target)
    turned_in |= turned_out - fed_from_before
    sides = {False: ("bottom", "top"), True: ("right", "left")}[across]  # out, in: the way the flow runs
    for link in drawing.links:
        leaves = sides[1] if link.source in turned_out else sides[0]
        enters = sides[0] if link.target in turned_in else sides[1]
        outputs = drawing.boxes[link.source].info.num_outputs
        start = _handle(corners[link.source], leaves, min(link.output, outputs - 1), outputs)
        end = _handle(corners[link.target], enters, link.slot, slots[link.target])
        wires.append(Wire(link.source, link.target, _curve(start, leaves, end, enters), link.label, link.broken))
    result = _framed(cards, frames, _placed_labels(wires, cards, frames))
    result.title = _UNWRITABLE.sub("", parsed.name)
    return result


def _errors_by_node(diagnostics: Iterable[Diagnostic]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for d in diagnostics:
        if d.severity == ERROR and d.node:
            counts[d.node] = counts.get(d.node, 0) + 1
    return counts


def _framed(cards: list[Card], frames: list[Frame], wires: list[Wire]) -> Scene:
    """The scene moved so that everything drawn (curves and labels included) sits a margin from the origin."""
    xs: list[float] = []
    ys: list[float] = []
    for c in cards:
        xs += [c.x, c.x + CARD_WIDTH]
        ys += [c.y, c.y + CARD_HEIGHT]
    for f in frames:
        xs += [f.x, f.x + f.width]
        ys += [f.y, f.y + f.height]
    for w in wires:
        for k in range(17):
            x, y = point(w.curve, k / 16)
            xs.append(x)
            ys.append(y)
        x, y, width, height = label_box(w)
        xs += [x, x + width]
        ys += [y, y + height]
    if not xs:
        return Scene(2 * MARGIN, 2 * MARGIN, [], [], [])
    dx, dy = MARGIN - min(xs), MARGIN - min(ys)

    def moved(texts: tuple[Text, ...]) -> tuple[Text, ...]:
        return tuple(Text(t.x + dx, t.y + dy, t.runs, t.end) for t in texts)

    return Scene(
        round(max(xs) - min(xs) + 2 * MARGIN),
        round(max(ys) - min(ys) + 2 * MARGIN),
        [Frame(f.key, f.x + dx, f.y + dy, f.width, f.height, moved(f.texts)) for f in frames],
        [
            Wire(
                w.source,
                w.target,
                tuple((x + dx, y + dy) for x, y in w.curve),
                w.label,
                w.broken,
                (w.at[0] + dx, w.at[1] + dy),
            )
            for w in wires
        ],
        [Card(c.key, c.x + dx, c.y + dy, c.color, c.error, moved(c.texts), c.foot) for c in cards],
    )


# ---------------------------------------------------------------------------------------------
# Where the edge labels sit


def label_box(wire: Wire, at: tuple[float, float] | None = None) -> tuple[float, float, float, float]:
    x, y = at or wire.at
    width = text_width(wire.label, mono=True) + 10
    return (x - width / 2, y - 10, width, 20)


# Where along its curve a label may sit, best first: the middle, as on the canvas, and towards either end (at
# the ends, the gaps beside the cards).
LABEL_SPOTS = (0.5, 0.38, 0.62, 0.26, 0.74, 0.15, 0.85, 0.92, 0.08)
_CELL = 256.0  # the side of the grid squares that find what a label could cover


class _Obstacles:
    """Rectangles on a coarse grid, to ask quickly whether a new one would overlap any of them."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}

    def _cells(self, box: tuple[float, float, float, float]) -> Iterator[tuple[int, int]]:
        x, y, width, height = box
        for i in range(math.floor(x / _CELL), math.floor((x + width) / _CELL) + 1):
            for j in range(math.floor(y / _CELL), math.floor((y + height) / _CELL) + 1):
                yield (i, j)

    def add(self, box: tuple[float, float, float, float]) -> None:
        for cell in self._cells(box):
            self.cells.setdefault(cell, []).append(box)

    def hits(self, box: tuple[float, float, float, float]) -> int:
        """How many of the rectangles ``box`` overlaps."""
        x, y, width, height = box
        found = {
            (u, v, w, h)
            for cell in self._cells(box)
            for u, v, w, h in self.cells.get(cell, ())
            if x < u + w and u < x + width and y < v + h and v < y + height
        }
        return len(found)


def _placed_labels(wires: list[Wire], cards: list[Card], frames: list[Frame]) -> list[Wire]:
    """Each label at the middle of its curve (as the canvas puts it) or, where that would cover a card, a
    frame's title or an earlier label, at the nearest spot along the curve that covers none (or fewest)."""
    taken = _Obstacles()
    for c in cards:
        taken.add((c.x, c.y, CARD_WIDTH, CARD_HEIGHT))
    for f in frames:
        taken.add((f.x, f.y, f.width, FRAME_LABEL + 4))
    placed = []
    for w in wires:
        spots = [point(w.curve, t) for t in LABEL_SPOTS]
        at = min(spots, key=lambda p: taken.hits(label_box(w, p)))  # the first free spot, else the least covered
        if w.label:
            taken.add(label_box(w, at))
        placed.append(Wire(w.source, w.target, w.curve, w.label, w.broken, at))
    return placed


__all__ = [
    "Card",
    "FigureTooLarge",
    "Frame",
    "Run",
    "Scene",
    "Text",
    "Wire",
    "drawable",
    "drawn_width",
    "font",
    "label_box",
    "point",
    "scene",
    "text_line",
    "text_width",
]
