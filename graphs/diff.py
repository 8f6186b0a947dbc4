"""Structural diff between two graph documents, and a unified diff of their generated source.

``diff_documents`` compares by node id in one pass over each side (dictionary look-ups, no sequence
alignment), so two 1,000-node versions diff in about a millisecond. It is pure: it reads stored
documents and never raises on odd shapes (a missing list is an empty one).
"""

from __future__ import annotations

import difflib
from typing import Any

import codegen

NODE_FIELDS = ("disabled", "label", "path", "stage", "trainable", "init")


def _nodes(document: dict) -> dict[str, dict]:
    nodes = document.get("nodes")
    if not isinstance(nodes, list):
        return {}
    by_id: dict[str, dict] = {}
    for node in nodes:
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            by_id.setdefault(node["id"], node)
    return by_id


def _edges(document: dict) -> list[tuple]:
    edges = document.get("edges")
    if not isinstance(edges, list):
        return []
    return [tuple(edge) for edge in edges if isinstance(edge, list) and all(isinstance(v, str) for v in edge)]


def _mapping(document: dict, key: str) -> dict:
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def _list(document: dict, key: str) -> list:
    """``inputs`` or ``outputs`` as a list of text; named outputs as ``name = node``."""
    value = document.get(key)
    if isinstance(value, dict):
        return [f"{name} = {ref}" for name, ref in value.items()]
    return value if isinstance(value, list) else []


def _params(node: dict) -> dict:
    params = node.get("params")
    return params if isinstance(params, dict) else {}


def _node_change(old: dict, new: dict) -> dict[str, Any]:
    """What changed in one node (empty when only its canvas position did)."""
    change: dict[str, Any] = {}
    if old.get("type") != new.get("type"):
        change["type"] = {"old": old.get("type"), "new": new.get("type")}
    old_params, new_params = _params(old), _params(new)
    if old_params != new_params:
        params = {}
        for name in sorted(old_params.keys() | new_params.keys()):
            before, after = old_params.get(name), new_params.get(name)
            if before != after or (name in old_params) != (name in new_params):
                params[name] = {"old": before, "new": after}
        change["params"] = params
    for key in NODE_FIELDS:
        if old.get(key) != new.get(key):
            change[key] = {"old": old.get(key), "new": new.get(key)}
    return change


def _edge_json(edge: tuple) -> list[str]:
    return list(edge)


def diff_documents(a: dict, b: dict) -> dict[str, Any]:
    """What changed from document ``a`` to document ``b``.

    ``nodes``: ``added`` / ``removed`` (``{"id", "type"}``), ``changed`` (by id: ``type``, each changed
    param with ``old``/``new``, ``disabled``, ``label``, ``path``, ``stage``, ``trainable``, ``init``) and ``moved`` (ids whose canvas
    position alone changed); ``edges``: ``added`` / ``removed``; ``inputs`` / ``outputs``: ``{"old", "new"}`` when they
    differ (named outputs as ``name = node``); ``training``: the optimizer or scheduler that changed, with
    ``old``/``new``; ``composites``: block names ``added`` / ``removed`` / ``changed``; ``metadata``: changed keys.
    ``identical`` is true when nothing at all differs.
    """
    a = a if isinstance(a, dict) else {}
    b = b if isinstance(b, dict) else {}
    old_nodes, new_nodes = _nodes(a), _nodes(b)
    added = [{"id": nid, "type": node.get("type")} for nid, node in new_nodes.items() if nid not in old_nodes]
    removed = [{"id": nid, "type": node.get("type")} for nid, node in old_nodes.items() if nid not in new_nodes]
    changed: dict[str, dict] = {}
    moved: list[str] = []
    for nid, old in old_nodes.items():
        new = new_nodes.get(nid)
        if new is None or new == old:
            continue
        change = _node_change(old, new)
        if change:
            changed[nid] = change
        elif old.get("ui") != new.get("ui"):
            moved.append(nid)

    old_edges, new_edges = _edges(a), _edges(b)
    old_edge_set, new_edge_set = set(old_edges), set(new_edges)
    edges = {
        "added": [_edge_json(e) for e in new_edges if e not in old_edge_set],
        "removed": [_edge_json(e) for e in old_edges if e not in new_edge_set],
    }

    result: dict[str, Any] = {
        "nodes": {"added": added, "removed": removed, "changed": changed, "moved": moved},
        "edges": edges,
    }
    for key in ("inputs", "outputs"):
        before, after = _list(a, key), _list(b, key)
        result[key] = {"old": before, "new": after} if before != after else None
    old_training, new_training = _mapping(a, "training"), _mapping(b, "training")
    result["training"] = {
        part: {"old": old_training.get(part), "new": new_training.get(part)}
        for part in sorted(old_training.keys() | new_training.keys(), key=str)
        if old_training.get(part) != new_training.get(part)
    }

    old_blocks, new_blocks = _mapping(a, "composites"), _mapping(b, "composites")
    result["composites"] = {
        "added": sorted(name for name in new_blocks if name not in old_blocks),
        "removed": sorted(name for name in old_blocks if name not in new_blocks),
        "changed": sorted(name for name in old_blocks if name in new_blocks and old_blocks[name] != new_blocks[name]),
    }
    old_meta, new_meta = _mapping(a, "metadata"), _mapping(b, "metadata")
    result["metadata"] = {
        key: {"old": old_meta.get(key), "new": new_meta.get(key)}
        for key in sorted(old_meta.keys() | new_meta.keys(), key=str)
        if old_meta.get(key) != new_meta.get(key) or (key in old_meta) != (key in new_meta)
    }
    if a.get("version") != b.get("version"):
        result["metadata"]["(version)"] = {"old": a.get("version"), "new": b.get("version")}

    result["identical"] = a == b
    result["counts"] = {
        "nodes_added": len(added),
        "nodes_removed": len(removed),
        "nodes_changed": len(changed),
        "edges_added": len(edges["added"]),
        "edges_removed": len(edges["removed"]),
    }
    return result


def _source(document: dict, limits: codegen.Limits | None) -> str | None:
    try:
        files = codegen.generate(document, name="model", layout="file", limits=limits)
    except codegen.GraphError:
        return None
    return next(iter(files.values()))


def source_diff(
    a: dict, b: dict, *, from_label: str = "a", to_label: str = "b", limits: codegen.Limits | None = None
) -> str | None:
    """A unified diff of the generated single-file source; ``None`` when either side does not generate."""
    old, new = _source(a, limits), _source(b, limits)
    if old is None or new is None:
        return None
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=from_label, tofile=to_label
    )
    return "".join(lines)
