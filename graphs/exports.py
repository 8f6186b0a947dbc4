"""Every download of a graph version, built one way for the pages, the API and the canvas.

Light formats are built in the request (:func:`build_download`): the document itself, the generated
source (one file or a ZIP package), the diagrams and the model summary (Markdown, CSV). Heavy ones (ONNX, torch.export, TorchScript: the
weights are built, exported, reloaded and compared) are never built in a web request: they are stored
artifacts of the version (:mod:`graphs.artifacts`), built on a worker.

Every file is named by the engine's one rule (:func:`codegen.download_name`), so a version downloads as
``cafe_net_v3.zip`` from the page and from the API alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpResponse

import codegen
from codegen.document import dump_json, dump_yaml
from graphs.models import GraphVersion
from graphs.services import engine_limits


@dataclass(frozen=True)
class Download:
    body: bytes
    content_type: str
    filename: str

    def response(self) -> HttpResponse:
        return attachment(self.body, self.content_type, self.filename)


def attachment(body: bytes, content_type: str, filename: str) -> HttpResponse:
    """A download response; ``filename`` comes from :func:`codegen.download_name` (ASCII, no quotes)."""
    return HttpResponse(
        body, content_type=content_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@dataclass(frozen=True)
class Options:
    """What a caller may choose: a ZIP with or without ``train.py``; diagrams with blocks drawn open."""

    with_train: bool = True
    expand_blocks: bool = False


def _json(document: dict, title: str, options: Options) -> bytes:
    return dump_json(document).encode()


def _yaml(document: dict, title: str, options: Options) -> bytes:
    return dump_yaml(document).encode()


def _source(document: dict, title: str, *, layout: str, with_train: bool) -> dict[str, str]:
    return codegen.generate(
        document,
        name=codegen.package_name(title),
        layout=layout,
        with_train=with_train,
        limits=engine_limits(),
        title=title,
    )


def _py(document: dict, title: str, options: Options) -> bytes:
    return next(iter(_source(document, title, layout="file", with_train=False).values())).encode()


def _zip(document: dict, title: str, options: Options) -> bytes:
    return codegen.package_zip(_source(document, title, layout="package", with_train=options.with_train))


# Diagrams are drawn even with errors: a figure of a broken graph shows where it breaks.


def _mermaid(document: dict, title: str, options: Options) -> bytes:
    return codegen.to_mermaid(document, limits=engine_limits()).encode()


def _svg(document: dict, title: str, options: Options) -> bytes:
    return codegen.to_svg(document, limits=engine_limits(), expand_blocks=options.expand_blocks).encode()


def _png(document: dict, title: str, options: Options) -> bytes:
    return codegen.to_png(document, limits=engine_limits(), expand_blocks=options.expand_blocks)


def summary(document: dict, title: str) -> codegen.ModelSummary:
    """The model summary of ``document``, titled with the graph's name; raises ``codegen.GraphError`` when the
    graph has errors."""
    limits = engine_limits()
    parsed = dataclasses.replace(codegen.load_graph(document, limits=limits), title=title)
    return codegen.summarize(parsed, limits=limits)


def _markdown(document: dict, title: str, options: Options) -> bytes:
    return summary(document, title).to_markdown().encode()


def _csv(document: dict, title: str, options: Options) -> bytes:
    return summary(document, title).to_csv().encode()


# format → (builder, content type, file extension)
FORMATS: dict[str, tuple[Callable[[dict, str, Options], bytes], str, str]] = {
    "json": (_json, "application/json", "json"),
    "yaml": (_yaml, "application/yaml; charset=utf-8", "yaml"),
    "py": (_py, "text/x-python; charset=utf-8", "py"),
    "zip": (_zip, "application/zip", "zip"),
    "mermaid": (_mermaid, "text/plain; charset=utf-8", "mmd"),
    "svg": (_svg, "image/svg+xml", "svg"),
    "png": (_png, "image/png", "png"),
    # The model summary: a layer table with shapes, parameters, FLOPs/MACs and activation memory.
    "md": (_markdown, "text/markdown; charset=utf-8", "md"),
    "csv": (_csv, "text/csv; charset=utf-8", "csv"),
}
DIAGRAMS = ("mermaid", "svg", "png")


def format_list(formats=tuple(FORMATS)) -> str:
    """``json, py, zip or mermaid``: for error messages."""
    names = list(formats)
    return f"{', '.join(names[:-1])} or {names[-1]}"


def build(document: dict, title: str, fmt: str, options: Options | None = None, number: int | None = None) -> Download:
    """``document`` (of the graph named ``title``; version ``number`` if it is saved) as format ``fmt``.

    Raises :class:`codegen.GraphError` when the graph cannot be generated, and ``KeyError`` for an unknown
    format (callers check :data:`FORMATS` first and say so in their own terms).
    """
    builder, content_type, extension = FORMATS[fmt]
    body = builder(document, title, options or Options())
    return Download(body, content_type, codegen.download_name(title, extension, number))


def build_download(version: GraphVersion, title: str, fmt: str, options: Options | None = None) -> Download:
    """Version ``version`` of the graph named ``title`` as format ``fmt``: :func:`build`."""
    return build(version.document, title, fmt, options, version.number)
