"""Repeated user classes become composite blocks: one definition, one node per instance.

The importer first inlines every submodule that is not a registry leaf. Here the instances of a class
that occurs at least twice, with the same inner wiring, are folded back: the definition holds the
first instance's nodes (paths relative to the instance), every parameter whose value differs between
instances becomes a block parameter (``conv_stride``), and each instance becomes one node whose ``path``
is the instance's, so the state_dict keys do not change. Only classes that hold no other such class are
folded, and only instances with one input tensor and one output, which is what a block may have.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from torch import fx, nn

from .spec import lookup

# Containers only call their members (a Sequential subclass such as torchvision's Conv2dNormActivation
# too): their members are the layers, and the class that holds them is the block.
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _owners(node: fx.Node) -> list[tuple[str, type]]:
    """The module instances (path, class) whose forward made ``node``, outermost first, containers left out."""
    stack = list((node.meta.get("nn_module_stack") or {}).values())
    if node.op == "call_module":
        stack = stack[:-1]  # the called module itself
    return [value for value in stack if not issubclass(value[1], _CONTAINERS)]


def _identifier(text: str) -> str:
    return re.sub(r"\W", "_", text)


def fold(document: dict[str, Any], origin: dict[str, fx.Node]) -> dict[str, Any] | None:
    """``document`` with repeated user classes as composites, or None when there is nothing to fold."""
    nodes = {n["id"]: n for n in document["nodes"]}
    members: dict[str, list[str]] = defaultdict(list)
    classes: dict[str, type] = {}
    nested: set[str] = set()  # instances that hold another instance: left inlined
    for node_id, node in nodes.items():
        fx_node = origin.get(node_id)
        if node["type"] == "Input" or not isinstance(fx_node, fx.Node):
            continue
        owners = _owners(fx_node)
        if not owners:
            continue
        path, cls = owners[-1]
        members[path].append(node_id)
        classes[path] = cls
        nested |= {outer for outer, _ in owners[:-1]}
    # The edges into and out of each node (positions in the document), so that each instance reads only its own.
    incoming: dict[str, list[int]] = defaultdict(list)
    outgoing: dict[str, list[int]] = defaultdict(list)
    for index, edge in enumerate(document["edges"]):
        incoming[edge[1]].append(index)
        outgoing[edge[0].split(":")[0]].append(index)
    shapes: dict[tuple[type, Any], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for path, ids in members.items():
        if path in nested:
            continue
        body = _body(document, nodes, path, ids, (incoming, outgoing))
        if body is not None:
            shapes[(classes[path], body["signature"])].append((path, body))
    groups = [instances for instances in shapes.values() if len(instances) >= 2]
    if not groups:
        return None
    taken = set(nodes)
    composites: dict[str, Any] = {}
    folded: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (body, the node that stands for it)
    for instances in groups:
        name = _class_name(classes[instances[0][0]].__name__, composites)
        try:
            definition, values = _definition(instances, classes[instances[0][0]])
        except _NotFoldable:
            continue
        composites[name] = definition
        for (path, body), params in zip(instances, values):
            node_id = _identifier(path)
            while node_id in taken:
                node_id += "_"
            taken.add(node_id)
            folded.append((body, {"id": node_id, "type": name, "params": params, "path": path}))
    if not composites:
        return None
    return {**_replace(document, folded), "composites": composites}


def _class_name(name: str, composites: dict[str, Any]) -> str:
    """The class's own name, unless a node type or an earlier block has it (then ``Name2``, ``Name3``)."""
    candidate, count = name, 1
    while lookup(candidate) is not None or candidate in composites or candidate in ("Model",):
        count += 1
        candidate = f"{name}{count}"
    return candidate


def _body(
    document: dict[str, Any],
    nodes: dict[str, Any],
    path: str,
    ids: list[str],
    wiring: tuple[dict[str, list[int]], dict[str, list[int]]],
) -> dict[str, Any] | None:
    """One instance's nodes in local terms, if it has one input tensor and one output node.

    ``ids`` are in document order; ``wiring`` holds the positions of the edges into and out of each node.
    """
    inside = set(ids)
    incoming, outgoing = wiring
    edges = document["edges"]
    into = sorted(i for node_id in ids for i in incoming.get(node_id, ()))  # in document order
    sources = {edges[i][0] for i in into if edges[i][0].split(":")[0] not in inside}
    readers = {edges[i][0] for node_id in ids for i in outgoing.get(node_id, ()) if edges[i][1] not in inside}
    readers |= {o for o in document["outputs"] if o.split(":")[0] in inside}
    if len(sources) != 1 or len(readers) != 1 or ":" in next(iter(readers)):
        return None
    local: dict[str, str] = {}
    unnamed = 0
    for node_id in ids:
        node = nodes[node_id]
        if node.get("path"):
            local[node_id] = _identifier(node["path"][len(path) + 1 :])
        else:
            unnamed += 1
            local[node_id] = f"{node['type'].lower()}_{unnamed}"

    def ref(source: str) -> str:
        node_id, sep, port = source.partition(":")
        return "in" if source in sources else local[node_id] + sep + port

    edges = [[ref(edges[i][0]), local[edges[i][1]], *edges[i][2:]] for i in into]
    inner = [
        {
            "id": local[i],
            "type": nodes[i]["type"],
            "params": nodes[i]["params"],
            **({"path": nodes[i]["path"][len(path) + 1 :]} if nodes[i].get("path") else {}),
        }
        for i in ids
    ]
    signature = (
        tuple((n["id"], n["type"], n.get("path")) for n in inner),
        tuple(tuple(e) for e in edges),
        local[next(iter(readers))],
    )
    return {
        "signature": signature,
        "nodes": inner,
        "edges": edges,
        "output": local[next(iter(readers))],
        "ids": inside,
        "first": ids[0],
        "source": next(iter(sources)),
        "reader": next(iter(readers)),
    }


_KINDS = {bool: "bool", int: "int", float: "float"}


def _definition(instances: list[tuple[str, dict[str, Any]]], cls: type) -> tuple[dict[str, Any], list[dict]]:
    """The block shared by ``instances``: a parameter for each value that differs between them."""
    first = instances[0][1]
    declared: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = [{} for _ in instances]
    inner = []
    for index, node in enumerate(first["nodes"]):
        spec = lookup(node["type"])
        params = dict(node["params"])
        names = set().union(*(set(body["nodes"][index]["params"]) for _, body in instances))
        for key in sorted(names):
            default = spec.param(key).default
            seen = [body["nodes"][index]["params"].get(key, default) for _, body in instances]
            if all(v == seen[0] and type(v) is type(seen[0]) for v in seen):
                continue
            kind = _KINDS.get(type(seen[0]))
            if kind is None or any(type(v) is not type(seen[0]) for v in seen):
                raise _NotFoldable
            # One parameter per distinct column of values: conv1 and conv2 of a ResNet block share a width.
            name = next((d["name"] for d in declared if [v[d["name"]] for v in values] == seen), None)
            if name is None:
                name = _identifier(f"{node['id']}_{key}")
                declared.append({"name": name, "type": kind, "default": seen[0]})
                for i, value in enumerate(seen):
                    values[i][name] = value
            params[key] = f"${name}"
        inner.append({**node, "params": params})
    definition = {
        "doc": f"Imported from `{cls.__module__}.{cls.__qualname__}`.",
        "params": declared,
        "nodes": [{"id": "in", "type": "Input"}, *inner],
        "edges": first["edges"],
        "inputs": ["in"],
        "outputs": [first["output"]],
    }
    return definition, values


class _NotFoldable(Exception):
    """A value that differs between instances cannot be a block parameter (a list, a string)."""


def _replace(document: dict[str, Any], folded: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """``document`` with each body's nodes replaced by its node, in one pass over the nodes and edges.

    The node takes the place of the body's first node; the edge into it comes first among the edges (the
    last body's first, as when each body was put in place in turn); reads of a body's output read the node.
    """
    inner: set[str] = set()
    standing: dict[str, dict[str, Any]] = {}  # id of a body's first node -> the node
    renamed: dict[str, str] = {}  # a body's output -> the node
    for body, node in folded:
        inner |= body["ids"]
        standing[body["first"]] = node
        renamed[body["reader"]] = node["id"]
    nodes = [standing.get(n["id"], n) for n in document["nodes"] if n["id"] not in inner or n["id"] in standing]
    edges = [[renamed.get(body["source"], body["source"]), node["id"]] for body, node in reversed(folded)]
    edges += ([renamed.get(e[0], e[0]), *e[1:]] for e in document["edges"] if e[1] not in inner)
    outputs = [renamed.get(o, o) for o in document["outputs"]]
    return {**document, "nodes": nodes, "edges": edges, "outputs": outputs}
