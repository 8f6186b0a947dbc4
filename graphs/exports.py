"""Every download of a graph version, built one way for the pages, the API and the canvas.

Light formats are built in the request (:func:`build_download`): the document itself, the generated
source (one file or a ZIP package) and the diagrams. Heavy ones (ONNX, torch.export, TorchScript: the
weights are built, exported, reloaded and compared) are never built in a web request: they are stored
artifacts of the version (:mod:`graphs.artifacts`), built on a worker.

Every file is named by the engine's one rule (:func:`codegen.download_name`), so a version downloads as
``cafe_net_v3.zip`` from the page and from the API alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpResponse

import codegen
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


def _json(version: GraphVersion, title: str, options: Options) -> bytes:
    return (json.dumps(version.document, indent=2, ensure_ascii=False) + "\n").encode()


def _source(version: GraphVersion, title: str, *, layout: str, with_train: bool) -> dict[str, str]:
    return codegen.generate(
        version.document,
        name=codegen.package_name(title),
        layout=layout,
        with_train=with_train,
        limits=engine_limits(),
        title=title,
    )


def _py(version: GraphVersion, title: str, options: Options) -> bytes:
    return next(iter(_source(version, title, layout="file", with_train=False).values())).encode()


def _zip(version: GraphVersion, title: str, options: Options) -> bytes:
    return codegen.package_zip(_source(version, title, layout="package", with_train=options.with_train))


def _mermaid(version: GraphVersion, title: str, options: Options) -> bytes:
    # Diagrams are drawn even with errors: a figure of a broken graph shows where it breaks.
    return codegen.to_mermaid(version.document, limits=engine_limits()).encode()


# format → (builder, content type, file extension)
FORMATS: dict[str, tuple[Callable[[GraphVersion, str, Options], bytes], str, str]] = {
    "json": (_json, "application/json", "json"),
    "py": (_py, "text/x-python; charset=utf-8", "py"),
    "zip": (_zip, "application/zip", "zip"),
    "mermaid": (_mermaid, "text/plain; charset=utf-8", "mmd"),
}


def format_list() -> str:
    """``json, py, zip or mermaid``: for error messages."""
    names = list(FORMATS)
    return f"{', '.join(names[:-1])} or {names[-1]}"


def build_download(version: GraphVersion, title: str, fmt: str, options: Options | None = None) -> Download:
    """Version ``version`` of the graph named ``title`` as format ``fmt`` (a key of :data:`FORMATS`).

    Raises :class:`codegen.GraphError` when the graph cannot be generated, and ``KeyError`` for an unknown
    format (callers check :data:`FORMATS` first and say so in their own terms).
    """
    builder, content_type, extension = FORMATS[fmt]
    body = builder(version, title, options or Options())
    return Download(body, content_type, codegen.download_name(title, extension, version.number))
