"""Static files as deployed: Django's hashed names, except for the frontend files Vite has already hashed.

Vite names every file of the canvas (``static/dist/``) by a hash of its content and the chunks import each
other by those names, so a second hash from Django's manifest storage would leave the imports pointing at the
unhashed copies: each lazy panel would load the entry again and start a second editor. WhiteNoise caches a
file forever when its name is a content hash, which its own test recognises only in Django's form.
"""

from __future__ import annotations

import re

from django.conf import settings
from whitenoise.storage import CompressedManifestStaticFilesStorage

# What frontend/vite.config.ts emits: <name>-<8 hex digits>.<ext> (the entries: canvas-<hash>.js, runpages-<hash>.js).
VITE_HASHED = re.compile(r"dist/[^/]+-[0-9a-f]{8}\.\w+")


class ManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's compressed manifest storage, keeping the names of the files Vite hashed."""

    def hashed_name(self, name, content=None, filename=None):
        if VITE_HASHED.fullmatch(name):
            return name
        return super().hashed_name(name, content, filename)


def immutable_file(path: str, url: str) -> bool:
    """WhiteNoise's cache test: named by its content (a hashed name in Django's manifest, or Vite's)."""
    from django.contrib.staticfiles.storage import staticfiles_storage

    name = url.removeprefix("/" + settings.STATIC_URL.strip("/") + "/")
    hashed = getattr(staticfiles_storage, "hashed_files", {})  # none in development
    return bool(VITE_HASHED.fullmatch(name)) or name in hashed.values()
