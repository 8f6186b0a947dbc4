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
from .spec import CATEGORY_COLORS, NODE_SPECS
from .tensor import shape_text


def _text(value: str) -> str:
    """Characters that would end a Mermaid label or be read as HTML, as Mermaid's entity codes."""
    return re.sub(r'["<>#&]', lambda m: f"#{ord(m.group())};", value)


def _shape(shape: Any) -> str:
    if not shape:
        return ""
    if isinstance(shape[0], list):  # several outputs
        return " · ".join(_shape(s) for s in shape)
    return shape_text(shape)


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
        css, color = _class_name(category), (spec and spec.color) or CATEGORY_COLORS.get(category, "#64748b")
        used.setdefault(css, color)
        label = [f"<b>{_text(node.label or node.id)}</b>", _text(node.type)]
        if shape := _shape(shapes.get(node.id)):
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


__all__ = ["to_mermaid"]
