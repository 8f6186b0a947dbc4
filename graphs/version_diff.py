"""Diffs between two stored versions, for the diff page and the API, cached.

Versions are immutable, so the diff of (from, to) never changes: the structural diff and the generated
source's diff are kept in Django's cache (Redis in production, per-process memory otherwise) under the two
versions' content hashes (a fork's versions share entries; a recreated database cannot hit stale ones), the
engine's version and, for the source, the version numbers (its labels) and the engine limits that decide
whether code is generated at all. While Redis is away the cache backend answers from process memory
(``torchcanvas_site/cache.py``), so an outage costs the computation, never the answer.

A source diff generates both versions (about a second for 5,000 nodes), so anonymous callers get it only for
graphs up to ``TORCHCANVAS_ANON_SOURCE_DIFF_MAX_NODES`` nodes; everyone gets the structural diff.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache

import codegen
from graphs.diff import diff_documents, source_diff
from graphs.models import GraphVersion
from graphs.services import engine_limits

CACHE_SECONDS = 7 * 24 * 3600
_MISSING = object()


def structural_diff(old: GraphVersion, new: GraphVersion) -> dict[str, Any]:
    """``diff_documents`` of the two versions' documents."""
    return _cached(_key("structure", old, new), lambda: diff_documents(old.document, new.document))


def generated_source_diff(old: GraphVersion, new: GraphVersion) -> str | None:
    """The unified diff of the two versions' single-file source (``None``: one of them does not generate)."""
    limits = engine_limits()
    limits_tag = hashlib.sha256(repr(limits).encode()).hexdigest()[:12]
    return _cached(
        _key(f"source:{limits_tag}:{old.number}:{new.number}", old, new),
        lambda: source_diff(
            old.document, new.document, from_label=f"v{old.number}", to_label=f"v{new.number}", limits=limits
        ),
    )


def source_diff_refusal(user, old: GraphVersion, new: GraphVersion) -> str | None:
    """Why this caller may not have the source diff of these versions, or ``None`` when it may."""
    limit = settings.TORCHCANVAS_ANON_SOURCE_DIFF_MAX_NODES
    if user.is_authenticated:
        return None
    nodes = max(_node_count(old.document), _node_count(new.document))
    if nodes <= limit:
        return None
    return (
        f"The generated code of a graph over {limit} nodes (this one has {nodes}) is compared for signed-in "
        "users only: log in, or send an API token."
    )


def _node_count(document: Any) -> int:
    nodes = document.get("nodes") if isinstance(document, dict) else None
    return len(nodes) if isinstance(nodes, list) else 0


def _key(kind: str, old: GraphVersion, new: GraphVersion) -> str:
    return f"torchcanvas:diff:{kind}:{codegen.__version__}:{old.content_hash}:{new.content_hash}"


def _cached(key: str, compute: Callable[[], Any]) -> Any:
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value
