"""The built-in templates: ready-made graph documents (v0.2) to start a design from.

Each template is one ``<name>.json`` file in this folder, shipped as package data. The name is the
file's stem (``vgg16``, ``resnet18``, ``hybridcmi``, …); the display title is the document's
``metadata.name`` (``VGG16``, ``ResNet18``, ``HybridCMI``, …). Every template validates without
errors or warnings, and its nodes carry ``ui`` positions so that it opens tidily on a canvas.

>>> from codegen.templates import list_templates, load_template
>>> "resnet18" in [t["name"] for t in list_templates()]
True
>>> load_template("vgg16")["metadata"]["name"]
'VGG16'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["TEMPLATES_DIR", "list_templates", "load_template", "template_names"]

TEMPLATES_DIR: Path = Path(__file__).resolve().parent
"""The folder holding the template documents (``<name>.json``)."""


def template_names() -> list[str]:
    """The names of every built-in template, sorted: the stems of the ``*.json`` files in :data:`TEMPLATES_DIR`."""
    return sorted(path.stem for path in TEMPLATES_DIR.glob("*.json") if path.is_file())


def load_template(name: str) -> dict[str, Any]:
    """The graph document of the template ``name`` (e.g. ``"resnet18"``), a fresh dict on every call.

    ``name`` is looked up among :func:`template_names` and never used as a path, so ``"../x"`` or an
    absolute path cannot reach other files. Raises :class:`KeyError` for an unknown name; its message
    lists the known ones.
    """
    names = template_names()
    if not isinstance(name, str) or name not in names:
        raise KeyError(f"unknown template {name!r}; available templates: {', '.join(names)}")
    with open(TEMPLATES_DIR / f"{name}.json", encoding="utf-8") as handle:
        return json.load(handle)


def list_templates() -> list[dict[str, Any]]:
    """A summary of every template, sorted by name: what a gallery or ``python -m codegen templates`` shows.

    Each entry has ``name`` (the key for :func:`load_template`), ``title`` (``metadata.name``),
    ``description``, ``tags`` (a list of strings), ``node_count`` and ``edge_count``.
    """
    summaries = []
    for name in template_names():
        document = load_template(name)
        metadata = document.get("metadata") or {}
        summaries.append(
            {
                "name": name,
                "title": metadata.get("name") or name,
                "description": metadata.get("description", ""),
                "tags": list(metadata.get("tags", [])),
                "node_count": len(document.get("nodes", [])),
                "edge_count": len(document.get("edges", [])),
            }
        )
    return summaries
