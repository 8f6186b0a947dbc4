"""The architecture as a figure, SVG or PNG, drawn the way the canvas draws it: for a paper or a README.

>>> from codegen.templates import load_template
>>> to_svg(load_template("resnet18")).startswith("<svg")
True

What is drawn where is :mod:`codegen.figure_scene`'s (cards, frames, curves, labels); this module writes it.
The same document gives the same bytes: document order throughout, fixed number formatting, Pillow's own font
(no system fonts) and no PNG metadata.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .figure_scene import (
    BORDER,
    CARD_HEIGHT,
    CARD_WIDTH,
    EDGE,
    ERROR_COLOR,
    FONT_SIZE,
    FRAME_FILL,
    HEAD_HEIGHT,
    LABEL_BORDER,
    MONO,
    SANS,
    SHAPE,
    Card,
    FigureTooLarge,
    Frame,
    Run,
    Scene,
    Text,
    Wire,
    drawable,
    drawn_width,
    font,
    label_box,
    point,
    scene,
    text_line,
)
from .schema import Limits

# What a PNG may cost.
MAX_PNG_PIXELS = 16_000_000  # about 4000 × 4000
MIN_PNG_SCALE = 0.5  # below this the text is not legible: refuse rather than draw it
MAX_PNG_SCALE = 8.0
SUPERSAMPLE = 2  # the PNG is drawn this much larger and reduced: smooth curves and text


# ---------------------------------------------------------------------------------------------
# SVG


def _n(value: float) -> str:
    """A coordinate with at most one decimal, the same text for the same value on every platform."""
    text = f"{round(value, 1):.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def _svg_run(run: Run) -> str:
    attrs = f'class="{"m" if run.mono else "s"}" fill="{run.color}"'
    if run.size != FONT_SIZE:
        attrs += f' font-size="{_n(run.size)}"'
    if run.bold:
        attrs += ' font-weight="600"'
    return f"<tspan {attrs}>{escape(run.text)}</tspan>"


def _svg_text(t: Text, anchor: str = "") -> str:
    anchor = anchor or ("end" if t.end else "")
    attrs = f'x="{_n(t.x)}" y="{_n(t.y)}"' + (f' text-anchor="{anchor}"' if anchor else "")
    return f'<text {attrs} xml:space="preserve">{"".join(_svg_run(r) for r in t.runs)}</text>'


def _svg_lines(s: Scene) -> Iterator[str]:
    yield (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(s.width)}" height="{_n(s.height)}" '
        f'viewBox="0 0 {_n(s.width)} {_n(s.height)}" font-size="{_n(FONT_SIZE)}" role="img">'
    )
    if s.title:
        yield f"<title>{escape(s.title)}</title>"
    yield (
        f"<style>.s{{font-family:{SANS}}}.m{{font-family:{MONO}}}</style>"
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="{EDGE}"/></marker>'
        '<marker id="arrow-broken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="{ERROR_COLOR}"/></marker></defs>'
    )
    yield '<rect width="100%" height="100%" fill="#ffffff"/>'
    for f in s.frames:
        yield (
            f'<g class="frame" data-instance={quoteattr(f.key)}><rect x="{_n(f.x)}" y="{_n(f.y)}" '
            f'width="{_n(f.width)}" height="{_n(f.height)}" rx="12" fill="{FRAME_FILL}" stroke="{EDGE}" '
            f'stroke-width="2" stroke-dasharray="8 5"/>{"".join(_svg_text(t) for t in f.texts)}</g>'
        )
    for w in s.wires:
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = w.curve
        path = f"M{_n(x0)},{_n(y0)} C{_n(x1)},{_n(y1)} {_n(x2)},{_n(y2)} {_n(x3)},{_n(y3)}"
        style = (
            f'stroke="{ERROR_COLOR}" stroke-dasharray="5 3" marker-end="url(#arrow-broken)"'
            if w.broken
            else f'stroke="{EDGE}" marker-end="url(#arrow)"'
        )
        yield f'<path class="edge" data-edge={quoteattr(f"{w.source}->{w.target}")} d="{path}" fill="none" stroke-width="1.5" {style}/>'
    for c in s.cards:
        yield (
            f'<g class="node" data-node={quoteattr(c.key)}>'
            f'<rect x="{_n(c.x)}" y="{_n(c.y)}" width="{CARD_WIDTH}" height="{CARD_HEIGHT}" rx="8" fill="#ffffff" '
            f'stroke="{ERROR_COLOR if c.error else BORDER}" stroke-width="{1.5 if c.error else 1}"/>'
            f'<path d="M{_n(c.x + 0.5)},{_n(c.y + HEAD_HEIGHT)}V{_n(c.y + 8)}a7.5,7.5 0 0 1 7.5,-7.5H{_n(c.x + CARD_WIDTH - 8)}'
            f'a7.5,7.5 0 0 1 7.5,7.5V{_n(c.y + HEAD_HEIGHT)}z" fill="{c.color}"/>'
            + (
                f'<line x1="{_n(c.x + 8)}" y1="{_n(c.y + 92)}" x2="{_n(c.x + CARD_WIDTH - 8)}" y2="{_n(c.y + 92)}" '
                f'stroke="{BORDER}" stroke-dasharray="3 2"/>'
                if c.foot
                else ""
            )
            + "".join(_svg_text(t) for t in c.texts)
            + "</g>"
        )
    for w in s.wires:
        if not w.label:
            continue
        x, y, width, height = label_box(w)
        color = ERROR_COLOR if w.broken else SHAPE
        yield (
            f'<g class="edge-label"><rect x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" height="{height}" rx="4" '
            f'fill="#ffffff" fill-opacity="0.92" stroke="{"#fecdca" if w.broken else LABEL_BORDER}"/>'
            f"{_svg_text(text_line(x + width / 2, y + 14, w.label, color, mono=True), 'middle')}</g>"
        )
    yield "</svg>"


def to_svg(
    document: Any,
    *,
    input_shapes: dict[str, list[int]] | None = None,
    limits: Limits | None = None,
    expand_blocks: bool = False,
) -> str:
    """The SVG figure of ``document`` (a document, its JSON, or a parsed graph), drawn as the canvas draws it.

    A graph that does not parse raises :class:`codegen.diagnostics.GraphError`; one with errors is drawn, its
    broken nodes outlined in red and unknown shapes as ``?``. :class:`FigureTooLarge` for a drawing past
    :data:`MAX_BOXES` boxes.
    """
    return (
        "\n".join(_svg_lines(scene(document, input_shapes=input_shapes, limits=limits, expand_blocks=expand_blocks)))
        + "\n"
    )


# ---------------------------------------------------------------------------------------------
# PNG


def png_scale(width: float, height: float, scale: float) -> float:
    """The scale the PNG is drawn at: ``scale``, or less where that would pass :data:`MAX_PNG_PIXELS`;
    :class:`FigureTooLarge` where even :data:`MIN_PNG_SCALE` would."""
    if not (isinstance(scale, (int, float)) and 0 < scale <= MAX_PNG_SCALE):
        raise ValueError(f"scale must be above 0 and at most {MAX_PNG_SCALE:g}, not {scale!r}")
    pixels = width * height
    if pixels * scale * scale <= MAX_PNG_PIXELS:
        return float(scale)
    fitting = math.floor(math.sqrt(MAX_PNG_PIXELS / pixels) * 100) / 100
    if fitting < MIN_PNG_SCALE:
        raise FigureTooLarge(
            f"the figure is {width:,.0f} × {height:,.0f} units: even at scale {MIN_PNG_SCALE:g} the PNG would pass "
            f"{MAX_PNG_PIXELS:,} pixels; export SVG (or draw blocks collapsed) instead"
        )
    return fitting


class _Painter:
    def __init__(self, s: Scene, factor: float):
        from PIL import Image, ImageDraw

        self.factor = factor
        self.image = Image.new("RGB", (math.ceil(s.width * factor), math.ceil(s.height * factor)), "#ffffff")
        self.draw = ImageDraw.Draw(self.image)

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return (x * self.factor, y * self.factor)

    def box(self, x: float, y: float, width: float, height: float) -> list[float]:
        return [x * self.factor, y * self.factor, (x + width) * self.factor, (y + height) * self.factor]

    def width(self, units: float) -> int:
        return max(1, round(units * self.factor))

    def text(self, t: Text, centred: bool = False) -> None:
        widths = [drawn_width(r.text, r.size, r.bold) for r in t.runs]
        x = t.x - sum(widths) if t.end else t.x - sum(widths) / 2 if centred else t.x
        for run, width in zip(t.runs, widths, strict=True):
            self.draw.text(
                self.xy(x, t.y),
                drawable(run.text),
                fill=run.color,
                font=font(round(run.size * self.factor, 2)),
                anchor="ls",
                stroke_width=0.45 * self.factor if run.bold else 0,  # Pillow's font has no bold face
                stroke_fill=run.color,
            )
            x += width

    def dashed(self, points: list[tuple[float, float]], color: str, width: int, dash: float, gap: float) -> None:
        """A polyline drawn dashed (Pillow has no dash pattern)."""
        on, left = True, dash
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            length = math.hypot(x1 - x0, y1 - y0)
            at = 0.0
            while at < length:
                step = min(left, length - at)
                if on:
                    a, b = at / length, (at + step) / length
                    self.draw.line(
                        [(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a), (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b)],
                        fill=color,
                        width=width,
                    )
                at += step
                left -= step
                if left <= 0:
                    on = not on
                    left = dash if on else gap

    def wire(self, w: Wire) -> None:
        color = ERROR_COLOR if w.broken else EDGE
        points = [self.xy(*point(w.curve, k / 32)) for k in range(33)]
        if w.broken:
            self.dashed(points, color, self.width(1.5), 5 * self.factor, 3 * self.factor)
        else:
            self.draw.line(points, fill=color, width=self.width(1.5), joint="curve")
        (x2, y2), (x3, y3) = w.curve[2], w.curve[3]
        dx, dy = x3 - x2, y3 - y2
        length = math.hypot(dx, dy) or 1.0
        ux, uy = dx / length, dy / length
        back, half = 9.0, 4.5
        tip = (x3, y3)
        left = (x3 - ux * back - uy * half, y3 - uy * back + ux * half)
        right = (x3 - ux * back + uy * half, y3 - uy * back - ux * half)
        self.draw.polygon([self.xy(*tip), self.xy(*left), self.xy(*right)], fill=color)

    def frame(self, f: Frame) -> None:
        outline = self.box(f.x, f.y, f.width, f.height)
        self.draw.rounded_rectangle(outline, radius=12 * self.factor, fill=FRAME_FILL)
        x0, y0, x1, y1 = (f.x + 6, f.y + 6, f.x + f.width - 6, f.y + f.height - 6)  # the dashed border's straight runs
        for run in (
            [(x0, f.y), (x1, f.y)],
            [(x0, f.y + f.height), (x1, f.y + f.height)],
            [(f.x, y0), (f.x, y1)],
            [(f.x + f.width, y0), (f.x + f.width, y1)],
        ):
            self.dashed([self.xy(*p) for p in run], EDGE, self.width(2), 8 * self.factor, 5 * self.factor)
        for t in f.texts:
            self.text(t)

    def card(self, c: Card) -> None:
        outline = self.box(c.x, c.y, CARD_WIDTH, CARD_HEIGHT)
        border = ERROR_COLOR if c.error else BORDER
        self.draw.rounded_rectangle(
            outline, radius=8 * self.factor, fill="#ffffff", outline=border, width=self.width(1.5 if c.error else 1)
        )
        inset = 1.5 if c.error else 1
        head = self.box(c.x + inset, c.y + inset, CARD_WIDTH - 2 * inset, HEAD_HEIGHT - inset)
        self.draw.rounded_rectangle(head, radius=7 * self.factor, fill=c.color, corners=(True, True, False, False))
        if c.foot:
            self.dashed(
                [self.xy(c.x + 8, c.y + 92), self.xy(c.x + CARD_WIDTH - 8, c.y + 92)],
                BORDER,
                self.width(1),
                3 * self.factor,
                2 * self.factor,
            )
        for t in c.texts:
            self.text(t)

    def label(self, w: Wire) -> None:
        x, y, width, height = label_box(w)
        self.draw.rounded_rectangle(
            self.box(x, y, width, height),
            radius=4 * self.factor,
            fill="#ffffff",
            outline="#fecdca" if w.broken else LABEL_BORDER,
            width=self.width(1),
        )
        self.text(
            text_line(x + width / 2, y + 14, w.label, ERROR_COLOR if w.broken else SHAPE, mono=True), centred=True
        )


def to_png(
    document: Any,
    *,
    input_shapes: dict[str, list[int]] | None = None,
    limits: Limits | None = None,
    expand_blocks: bool = False,
    scale: float = 2.0,
) -> bytes:
    """The PNG figure of ``document``: the SVG's drawing at ``scale`` pixels per canvas unit (2: sharp on a
    high-density screen), less where the image would pass :data:`MAX_PNG_PIXELS` (see :func:`png_scale`).

    Errors as :func:`to_svg`; ``ValueError`` for a scale outside (0, 8].
    """
    s = scene(document, input_shapes=input_shapes, limits=limits, expand_blocks=expand_blocks)
    drawn_at = png_scale(s.width, s.height, scale)
    painter = _Painter(s, drawn_at * SUPERSAMPLE)
    for f in s.frames:
        painter.frame(f)
    for w in s.wires:
        painter.wire(w)
    for c in s.cards:
        painter.card(c)
    for w in s.wires:
        if w.label:
            painter.label(w)
    image = painter.image.reduce(SUPERSAMPLE)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=9)  # no text chunks, no time: the same bytes
    return out.getvalue()


__all__ = ["FigureTooLarge", "png_scale", "to_png", "to_svg"]
