"""The architecture as a Mermaid flowchart: text a README, a wiki or a paper's appendix renders as a figure.

>>> from codegen.templates import load_template
>>> text = to_mermaid(load_template("resnet18"))
>>> text.splitlines()[0]
'flowchart TB'

Each node is a box with its id, its type (a block's name for a block instance: blocks are drawn collapsed) and
its output shape as the engine infers it, coloured by the canvas's category colours; an edge from a node with
several outputs, or into a named port, says which. Nodes are named ``n0``, ``n1``, … in document order, so no
node id can collide with Mermaid's keywords (``end``, ``graph``) or its edge syntax (an id starting with ``o`` or
``x``), and the text is the same for the same document: it can be checked in and diffed.
"""

from __future__ import annotations

import re
from typing import Any

from .api import load_graph, validate
from .schema import Limits
from .spec import CATEGORY_COLORS, NODE_SPECS, NodeSpec
from .tensor import shape_text

DEFAULT_COLOR = "#64748b"  # a node type the registry does not know


def _text(value: str) -> str:
    """Characters that would end a Mermaid label or be read as HTML, as Mermaid's entity codes."""
    return re.sub(r'["<>#&]', lambda m: f"#{ord(m.group())};", value)


def shapes_text(shape: Any) -> str:
    """A node's output shape as JSON gives it (sizes, or a list of those for several outputs) as the canvas
    writes it: ``(B, 64, 56, 56)``, several joined by `` · ``; nothing when it is not known."""
    if not shape:
        return ""
    if isinstance(shape[0], list):  # several outputs
        return " · ".join(shapes_text(s) for s in shape)
    return shape_text(shape)


def node_color(spec: NodeSpec | None, category: str = "block") -> str:
    """The colour of a node's band on the canvas: its type's own, else its category's (``category`` is the
    one of a block defined in the document, which has no spec)."""
    if spec is not None:
        return spec.color or CATEGORY_COLORS.get(spec.category, DEFAULT_COLOR)
    return CATEGORY_COLORS.get(category, DEFAULT_COLOR)


def _class_name(category: str) -> str:
    return re.sub(r"[^a-z0-9]", "_", category.lower())


def to_mermaid(
    graph: Any, *, input_shapes: dict[str, list[int]] | None = None, direction: str = "TB", limits: Limits | None = None
) -> str:
    """The Mermaid flowchart of ``graph`` (a document, its JSON, or a parsed graph), shapes from validation.

    ``direction`` is ``TB`` (top to bottom, as the canvas draws by default) or ``LR``. A graph that does not
    parse raises :class:`codegen.diagnostics.GraphError`; one with errors is drawn, with no shape where none
    could be inferred.
    """
    if direction not in ("TB", "LR"):
        raise ValueError(f"direction must be TB or LR, not {direction!r}")
    parsed = load_graph(graph, limits=limits)
    shapes = validate(parsed, input_shapes=input_shapes).shapes()
    names = {node.id: f"n{i}" for i, node in enumerate(parsed.nodes)}
    lines = [f"flowchart {direction}"]
    used: dict[str, str] = {}  # class name → colour
    for node in parsed.nodes:
        spec = NODE_SPECS.get(node.type)
        category = spec.category if spec else "block"  # no spec: a block defined in the document
        css, color = _class_name(category), node_color(spec)
        used.setdefault(css, color)
        label = [f"<b>{_text(node.label or node.id)}</b>", _text(node.type)]
        if shape := shapes_text(shapes.get(node.id)):
            label.append(_text(shape))
        lines.append(f'    {names[node.id]}["{"<br/>".join(label)}"]:::{css}')
    for edge in parsed.edges:
        if edge.source not in names or edge.target not in names:
            continue  # the engine reports it; there is nothing to draw it between
        tags = [f"out {edge.output}"] if edge.output is not None else []
        if edge.port:
            tags.append(edge.port)
        arrow = f"-->|{_text(' → '.join(tags))}|" if tags else "-->"
        lines.append(f"    {names[edge.source]} {arrow} {names[edge.target]}")
    for css, color in used.items():
        lines.append(f"    classDef {css} fill:{color},stroke:{color},color:#fff")
    return "\n".join(lines) + "\n"


__all__ = ["node_color", "shapes_text", "to_mermaid"]
