"""``{% canvas_assets %}``: the tags that load the canvas island, found through Vite's manifest.

Vite names the canvas's files by their content (frontend/vite.config.ts), so the page learns the entry's
name, its stylesheets and the chunks it imports from ``static/dist/.vite/manifest.json``, as Vite's guide to
backend integration describes. The manifest is read again only when the file changes (a rebuild).
"""

from __future__ import annotations

import functools
import json
import os

from django import template
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()

MANIFEST = "dist/.vite/manifest.json"  # under a static files directory
ENTRY = "src/main.tsx"
BUILD = "`make frontend` (or `cd frontend && npm run build`) builds it"


class CanvasNotBuilt(ImproperlyConfigured):
    """The canvas's build (Vite's manifest, or its entry in it) is missing or unreadable."""


@register.simple_tag
def canvas_assets() -> SafeString:
    """Stylesheets, module preloads and the entry script of the canvas, by their hashed names."""
    styles, preloads, script = canvas_files()
    return format_html(
        "{}{}{}",
        format_html_join("", '<link rel="stylesheet" href="{}">', ((static(f),) for f in styles)),
        format_html_join("", '<link rel="modulepreload" href="{}">', ((static(f),) for f in preloads)),
        format_html('<script type="module" src="{}"></script>', static(script)),
    )


def canvas_files() -> tuple[list[str], list[str], str]:
    """(stylesheets, chunks the entry imports, the entry), as static file names under ``dist/``."""
    path = finders.find(MANIFEST)
    if path is None:
        raise CanvasNotBuilt(f"The canvas is not built: static/{MANIFEST} is missing; {BUILD}.")
    return _read(path, os.stat(path).st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _read(path: str, mtime_ns: int) -> tuple[list[str], list[str], str]:
    try:
        with open(path, encoding="utf-8") as file:
            return _entry_files(json.load(file))
    except (OSError, ValueError, LookupError, TypeError) as exc:
        raise CanvasNotBuilt(f"The canvas's build is unusable ({path}: {exc!r}); {BUILD} again.") from None


def _entry_files(manifest: dict) -> tuple[list[str], list[str], str]:
    styles: list[str] = []
    preloads: list[str] = []
    seen: set[str] = set()

    def visit(key: str) -> None:  # the entry, then what it imports statically, depth first
        seen.add(key)
        chunk = manifest[key]
        styles.extend(f"dist/{css}" for css in chunk.get("css", ()) if f"dist/{css}" not in styles)
        for imported in chunk.get("imports", ()):
            if imported not in seen:
                preloads.append(f"dist/{manifest[imported]['file']}")
                visit(imported)

    visit(ENTRY)
    return styles, preloads, f"dist/{manifest[ENTRY]['file']}"
