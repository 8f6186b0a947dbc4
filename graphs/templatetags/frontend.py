"""``{% frontend_assets "canvas" %}``: the tags that load one of frontend/'s entries, found through Vite's manifest.

Vite builds two entries (frontend/vite.config.ts): the canvas island and the run pages' script. It names their
files by their content, so the page learns an entry's name, its stylesheets and the chunks it imports from
``static/dist/.vite/manifest.json``, as Vite's guide to backend integration describes. The manifest is read
again only when the file changes (a rebuild).
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
# An entry's name in the templates → its source, the manifest's key (the `input` of frontend/vite.config.ts).
ENTRIES = {"canvas": "src/main.tsx", "runpages": "src/runpages/main.ts"}
BUILD = "`make frontend` (or `cd frontend && npm run build`) builds it"


class FrontendNotBuilt(ImproperlyConfigured):
    """The frontend's build (Vite's manifest, or an entry in it) is missing or unreadable."""


@register.simple_tag
def frontend_assets(entry: str) -> SafeString:
    """Stylesheets, module preloads and the script of the entry named `entry`, by their hashed names."""
    styles, preloads, script = entry_files(entry)
    return format_html(
        "{}{}{}",
        format_html_join("", '<link rel="stylesheet" href="{}">', ((static(f),) for f in styles)),
        format_html_join("", '<link rel="modulepreload" href="{}">', ((static(f),) for f in preloads)),
        format_html('<script type="module" src="{}"></script>', static(script)),
    )


def entry_files(entry: str) -> tuple[list[str], list[str], str]:
    """(stylesheets, chunks the entry imports, the entry), as static file names under ``dist/``."""
    if entry not in ENTRIES:
        raise template.TemplateSyntaxError(
            f"No frontend entry is named {entry!r}; the entries are {', '.join(ENTRIES)}."
        )
    path = finders.find(MANIFEST)
    if path is None:
        raise FrontendNotBuilt(f"The frontend is not built: static/{MANIFEST} is missing; {BUILD}.")
    return _read(path, os.stat(path).st_mtime_ns, ENTRIES[entry])


@functools.lru_cache(maxsize=8)
def _read(path: str, mtime_ns: int, source: str) -> tuple[list[str], list[str], str]:
    try:
        with open(path, encoding="utf-8") as file:
            return _entry_files(json.load(file), source)
    except (OSError, ValueError, LookupError, TypeError) as exc:
        raise FrontendNotBuilt(f"The frontend's build is unusable ({path}: {exc!r}); {BUILD} again.") from None


def _entry_files(manifest: dict, source: str) -> tuple[list[str], list[str], str]:
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

    visit(source)
    return styles, preloads, f"dist/{manifest[source]['file']}"
