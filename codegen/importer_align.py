"""Align an imported graph with the version its code was generated from, so a new version shows only the edit.

The importer names nodes after torch.fx (``layer1_0_conv1``, ``add_3``) and writes params its own way, so a
graph imported from a generated package (edited or not) would differ from its source version in every node.
:func:`align` gives the imported nodes the base version's ids where they correspond:

1. inputs by position, and nodes by module path: the generated model's attributes are the base nodes'
   ``path`` or a name made from their id (:func:`codegen.render.attribute_names`), and the importer reads
   each attribute back as the node's ``path``;
2. then, to a fixed point, nodes without a path (``x + y``, ``torch.cat``, ``torch.flatten``): an unmatched
   imported node whose inputs are all matched corresponds to the unmatched base node of the same type with
   those inputs in that order; one whose reader is matched, to the base node of the same type at that port.

A matched node that is the same up to defaults (``kernel_size`` 3 left out, ``[3, 3]`` for ``3``) is the base
node verbatim, canvas position, label and ``disabled`` included; a changed one keeps its base id, position
and label and takes the new type or params (the params it kept as the base wrote them). Edges into a node
whose inputs did not change, the inputs/outputs lists and composite definitions stay the base's, and so does
the metadata (the import's own is made up: the class name and "Imported from …").
What has no counterpart keeps a fresh id that no base node has.

User blocks: a class the importer folded (used twice or more) is the base's block where its instances compute
what the base's did. A block instance the importer inlined (a block used once: its layers under the
instance's path) is spelled out in the base as its layers with concrete params, matched like any layers, and
folded back into the block node, with a changed argument or a changed literal of the block where that
reproduces the edited layers (blocks inside such blocks in turn). Disabled nodes, which the code bypasses, are
put back where it still does; nodes no output depends on, which the code leaves out, stay as they were, and so
does the training recipe (Targets, losses, metrics and their stages: recipe.py's code, which is not imported).

So the unedited code of a version imports back to exactly that version's document, and an edit shows as just
that edit on the diff page.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .analysis import Analysis
from .api import validate
from .naming import sanitize
from .render import attribute_names
from .spec import lookup

_PERMUTE_021 = "Permute(0, 2, 1)"
_MAX_DEPTH = 8  # levels of blocks inside blocks spelled out


def _params(node: dict[str, Any]) -> dict[str, Any]:
    return node["params"] if isinstance(node.get("params"), dict) else {}


def _kind(node: dict[str, Any]) -> str:
    """The type; spellings of one piece of code are one (a permute's name depends on the inferred layouts)."""
    node_type = node.get("type") if isinstance(node.get("type"), str) else ""
    params = _params(node)
    if node_type in ("Permute_BCT_to_BTH", "Permute_BTH_to_BCT"):
        return _PERMUTE_021
    if node_type == "Permute" and params.get("dims") == [0, 2, 1]:
        return _PERMUTE_021
    if node_type == "GRUBlock" and params.get("out") == "seq":  # the code of a GRU
        return "GRU"
    spec = lookup(node_type)
    return node_type if spec is None else spec.type


def canonical_params(node: dict[str, Any]) -> dict[str, Any]:
    """The node's params with defaults filled in, lists as lists and ``[k, k]`` as ``k`` where a size may be."""
    params = dict(_params(node))
    if _kind(node) == "GRU" and node.get("type") != "GRU":
        return canonical_params({"type": "GRU", "params": {k: v for k, v in params.items() if k != "out"}})
    spec = lookup(_kind(node)) if _kind(node) != _PERMUTE_021 else None
    if _kind(node) == _PERMUTE_021:
        return {}
    if spec is None:  # a user block: its params as written
        return params
    values: dict[str, Any] = {p.name: p.default for p in spec.params if not p.required}
    values.update(params)
    if spec.type == "Input":  # a stated layout only guides validation; the vocabulary the importer reads back
        values.pop("layout", None)
        values.pop("vocab_size", None)
    if values.get("stride", 0) is None and "ceil_mode" in values:  # pooling: no stride is the kernel size
        values["stride"] = values.get("kernel_size")
    if spec.type == "VGGBlock" and values.get("convs") == 1:  # c2 sizes the convolutions after the first
        values["c2"] = values.get("c1")
    if spec.type == "Bottleneck":  # width_per_group values giving one inner width are one model
        try:
            planes = int(values["out_channels"]) // int(values["expansion"])
            values["width_per_group"] = planes * int(values["width_per_group"]) // 64
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            pass
    for name, value in values.items():
        if isinstance(value, tuple):
            value = list(value)
        param = spec.param(name)
        uniform = isinstance(value, list) and len(value) > 1 and len({repr(v) for v in value}) == 1
        if uniform and getattr(param, "kind", "") in ("ints", "padding"):
            value = value[0]
        values[name] = value
    return values


def same_node(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """One layer up to how its params are written."""
    return _kind(a) == _kind(b) and canonical_params(a) == canonical_params(b)


def _list(document: dict[str, Any], key: str) -> list[Any]:
    return document[key] if isinstance(document.get(key), list) else []


def _well_formed(document: Any) -> dict[str, Any]:
    """The parts of a stored document alignment reads, dropping what is malformed (the server keeps what it got)."""
    if not isinstance(document, dict):
        document = {}
    nodes = [n for n in _list(document, "nodes") if isinstance(n, dict) and isinstance(n.get("id"), str)]
    ids = {n["id"] for n in nodes}
    edges = [
        e
        for e in _list(document, "edges")
        if isinstance(e, list)
        and 2 <= len(e) <= 3
        and all(isinstance(v, str) for v in e)
        and e[0].split(":")[0] in ids
        and e[1] in ids
    ]
    lists = {k: [r for r in _list(document, k) if isinstance(r, str)] for k in ("inputs", "outputs")}
    return {**document, "nodes": nodes, "edges": edges, **lists}


def _analysis(document: dict[str, Any], imported: dict[str, Any] | None = None) -> Analysis | None:
    """The engine's analysis of ``document``, its unsized inputs sized as the import's (so blocks expand)."""
    shapes = {}
    if imported is not None:
        sizes = {n["id"]: _params(n).get("shape") for n in imported["nodes"] if n.get("type") == "Input"}
        nodes = {n["id"]: n for n in document["nodes"]}
        for base_id, imp_id in zip(document.get("inputs", []), imported.get("inputs", [])):
            open_input = base_id in nodes and _params(nodes[base_id]).get("shape") is None
            if open_input and isinstance(sizes.get(imp_id), list):
                shapes[base_id] = sizes[imp_id]
    try:
        return validate(document, input_shapes=shapes or None).analysis
    except Exception:  # a document that does not parse (or the engine failing on it): align by ids and paths
        return None


def _same_open_input(imp: dict[str, Any], base: dict[str, Any]) -> bool:
    """An input the base leaves unsized (lazy layers) is the same input whatever size the import was traced at."""
    if _kind(base) != "Input" or _kind(imp) != "Input" or _params(base).get("shape") is not None:
        return False
    sized, unsized = canonical_params(imp), canonical_params(base)
    return {**sized, "shape": None} == {**unsized, "shape": None}


def _attributes(base: dict[str, Any], analysis: Analysis | None) -> dict[str, str]:
    """Base node id -> the attribute (module path) that holds it in the code generated from ``base``."""
    names = attribute_names(analysis) if analysis is not None else {}
    used = set(names.values())
    for node in base.get("nodes", []):  # nodes the analysis leaves out (dead ones) or never saw (spelled out)
        name = node.get("path") or sanitize(node["id"])
        if node["id"] not in names and node.get("type") != "Input" and isinstance(name, str) and name not in used:
            names[node["id"]] = name
            used.add(name)
    return names


def _incoming(document: dict[str, Any]) -> dict[str, list[list[str]]]:
    """Each node's incoming edges in argument order (labelled ports sorted by position)."""
    types = {n["id"]: _kind(n) for n in document["nodes"]}
    incoming: dict[str, list[list[str]]] = defaultdict(list)
    for edge in document["edges"]:
        incoming[edge[1]].append(edge)
    for target, edges in incoming.items():
        spec = lookup(types.get(target, ""))
        ports = list(spec.ports) if spec else []
        if all(len(e) == 3 and (e[2].isdigit() or e[2] in ports) for e in edges):
            edges.sort(key=lambda e: int(e[2]) if e[2].isdigit() else ports.index(e[2]))
    return incoming


def _rename_ref(ref: str, ids: dict[str, str]) -> str:
    node_id, sep, output = ref.partition(":")
    return ids.get(node_id, node_id) + sep + output


class _Matcher:
    """Imported id -> base id, grown from inputs and module paths, then through the wiring."""

    def __init__(self, imported: dict[str, Any], base: dict[str, Any]) -> None:
        self.imp_nodes = {n["id"]: n for n in imported["nodes"]}
        self.base_nodes = {n["id"]: n for n in base["nodes"]}
        self.imp_in = _incoming(imported)
        self.base_in = _incoming(base)
        self.to_base: dict[str, str] = {}
        self.to_imp: dict[str, str] = {}
        self.attrs: dict[str, str] = {}  # base id -> its attribute in the generated code
        self.dead: set[str] = set()  # base nodes no output depends on: the code has nothing of them
        self.bypass: dict[str, str] = {}  # disabled base node -> the ref its code passes on (its first input's)

    def adopt(self, other: _Matcher) -> _Matcher:
        """This matcher (over a copy of the same import) with ``other``'s pairs."""
        self.to_base, self.to_imp, self.attrs = dict(other.to_base), dict(other.to_imp), other.attrs
        self.dead, self.bypass = other.dead, other.bypass
        return self

    def skip_disabled(self, base: dict[str, Any]) -> None:
        """Disabled nodes have no code: matching reads through them to the input they pass on."""
        for node in base["nodes"]:
            first = (self.base_in.get(node["id"]) or [None])[0]
            if node.get("disabled") and first is not None:
                self.bypass[node["id"]] = first[0]
        for node_id in self.bypass:
            seen, ref = {node_id}, self.bypass[node_id]
            while ref.split(":")[0] in self.bypass and ref.split(":")[0] not in seen:
                seen.add(ref.split(":")[0])
                ref = self.bypass[ref.split(":")[0]]
            self.bypass[node_id] = ref

    def _through(self, ref: str) -> str:
        return self.bypass.get(ref.split(":")[0], ref)

    def pair(self, imp_id: str, base_id: str) -> None:
        if imp_id in self.to_base or base_id in self.to_imp or base_id in self.dead or base_id in self.bypass:
            return
        self.to_base[imp_id] = base_id
        self.to_imp[base_id] = imp_id

    def seed(self, imported: dict[str, Any], base: dict[str, Any], analysis: Analysis | None) -> None:
        for imp_id, base_id in zip(imported.get("inputs", []), base.get("inputs", [])):
            if imp_id in self.imp_nodes and base_id in self.base_nodes:
                self.pair(imp_id, base_id)
        self.attrs = _attributes(base, analysis)
        by_attr = {attr: node_id for node_id, attr in self.attrs.items()}
        for node in imported["nodes"]:
            base_id = by_attr.get(node.get("path") or "")
            if base_id is not None and node.get("type") != "Input":
                self.pair(node["id"], base_id)

    def _sources(self, incoming: list[list[str]], ids: dict[str, str], through: bool = False) -> list[str] | None:
        """The inputs' refs translated through ``ids``; None when one of them has no counterpart yet."""
        refs = []
        for edge in incoming:
            node_id, sep, output = (self._through(edge[0]) if through else edge[0]).partition(":")
            if node_id not in ids:
                return None
            refs.append(ids[node_id] + sep + output)
        return refs

    def propagate(self) -> None:
        changed = True
        while changed:
            changed = self._forward() | self._backward()

    def _forward(self) -> bool:
        """Unmatched nodes whose inputs are all matched: the base node of that type reading the same inputs."""
        candidates: dict[tuple, list[str]] = defaultdict(list)
        for base_id, node in self.base_nodes.items():
            if base_id in self.to_imp or base_id in self.dead or base_id in self.bypass or node.get("type") == "Input":
                continue
            sources = self._sources(self.base_in.get(base_id, []), {b: b for b in self.to_imp}, through=True)
            if sources is not None:
                candidates[(_kind(node), tuple(sources))].append(base_id)
        readers: dict[tuple, list[str]] = defaultdict(list)
        for imp_id, node in self.imp_nodes.items():
            if imp_id in self.to_base or node.get("type") == "Input":
                continue
            sources = self._sources(self.imp_in.get(imp_id, []), self.to_base)
            if sources is not None and (_kind(node), tuple(sources)) in candidates:
                readers[(_kind(node), tuple(sources))].append(imp_id)
        grew = False
        for key, imp_ids in readers.items():
            base_ids = candidates[key]
            if len(imp_ids) == len(base_ids) == 1:
                self.pair(imp_ids[0], base_ids[0])
                grew = True
                continue
            # Look-alikes reading the same tensors: those with the same params compute the same, so any
            # pairing of them is right (in order); a group with different numbers on each side is left alone.
            by_params: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
            for imp_id in imp_ids:
                by_params[repr(canonical_params(self.imp_nodes[imp_id]))][0].append(imp_id)
            for base_id in base_ids:
                by_params[repr(canonical_params(self.base_nodes[base_id]))][1].append(base_id)
            for imps, bases in by_params.values():
                if len(imps) == len(bases):
                    for imp_id, base_id in zip(imps, bases):
                        self.pair(imp_id, base_id)
                        grew = True
        return grew

    def _backward(self) -> bool:
        """An unmatched input of a matched node: the base node of its type feeding that port of the counterpart."""
        grew = False
        for imp_id, base_id in list(self.to_base.items()):
            imp_edges, base_edges = self.imp_in.get(imp_id, []), self.base_in.get(base_id, [])
            if len(imp_edges) != len(base_edges):
                continue
            for imp_edge, base_edge in zip(imp_edges, base_edges):
                imp_src, base_src = imp_edge[0].split(":")[0], self._through(base_edge[0]).split(":")[0]
                if imp_src in self.to_base or base_src in self.to_imp or base_src in self.dead:
                    continue
                imp_node, base_node = self.imp_nodes.get(imp_src), self.base_nodes.get(base_src)
                if imp_node and base_node and _kind(imp_node) == _kind(base_node) and imp_node["type"] != "Input":
                    self.pair(imp_src, base_src)
                    grew = True
        return grew


def _changed_node(imp: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """The base node (id, position, label, path…) with the imported type and params; params kept as written."""
    node = copy.deepcopy(base)
    node["type"] = imp["type"]
    if _kind(imp) != _kind(base):
        node["params"] = copy.deepcopy(_params(imp))
        return node
    old, new = _params(base), _params(imp)
    old_canon, new_canon = canonical_params(base), canonical_params(imp)
    params: dict[str, Any] = {}
    for name in [*old, *(k for k in new if k not in old)]:
        if name in old and old_canon.get(name) == new_canon.get(name):
            params[name] = old[name]
        elif name in new:
            params[name] = copy.deepcopy(new[name])
        elif name in new_canon:  # the import left a default out where the base had another value: say it
            params[name] = copy.deepcopy(new_canon[name])
    node["params"] = params
    return node


def _fresh_ids(imported: dict[str, Any], base: dict[str, Any], to_base: dict[str, str]) -> dict[str, str]:
    taken = {n["id"] for n in base["nodes"]} | set(to_base.values())
    ids = dict(to_base)
    for node in imported["nodes"]:
        if node["id"] in ids:
            continue
        name, counter = node["id"], 1
        while name in taken:
            name = f"{node['id']}_{counter}"
            counter += 1
        taken.add(name)
        ids[node["id"]] = name
    return ids


def _new_node(imp: dict[str, Any], node_id: str) -> dict[str, Any]:
    node = {**copy.deepcopy(imp), "id": node_id}
    if node.get("path") == sanitize(node_id):  # the attribute would be named so anyway; no path mode for it
        del node["path"]
    return node


def _ordered_nodes(
    imported: dict[str, Any], base: dict[str, Any], matcher: _Matcher, ids: dict[str, str], same: set[str]
) -> list[dict[str, Any]]:
    """The base's nodes in the base's order, each new node after the node the import put before it."""
    after: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    previous: str | None = None
    for node in imported["nodes"]:
        if node["id"] in matcher.to_base:
            previous = matcher.to_base[node["id"]]
        else:
            after[previous].append(_new_node(matcher.imp_nodes[node["id"]], ids[node["id"]]))
    read = {
        e[0].split(":")[0] for target, edges in matcher.base_in.items() if target not in matcher.dead for e in edges
    }
    nodes = list(after[None])
    for node in base["nodes"]:
        imp_id = matcher.to_imp.get(node["id"])
        if imp_id is None:
            if node["id"] in matcher.dead:  # nothing of it in the code, so nothing the code could have changed
                nodes.append(copy.deepcopy(node))
                nodes.extend(after[node["id"]])
            continue  # removed
        imp = matcher.imp_nodes[imp_id]
        unchanged = imp_id in same or same_node(imp, node) or _same_open_input(imp, node)
        unchanged = unchanged or (_kind(node) == _kind(imp) == "Input" and node["id"] not in read)  # no code reads it
        kept = copy.deepcopy(node) if unchanged else _changed_node(imp, node)
        path = imp.get("path")
        if path and path != matcher.attrs.get(node["id"]):  # found by its wiring under a new attribute name
            kept["path"] = path
        nodes.append(kept)
        nodes.extend(after[node["id"]])
    return nodes


def _edges(imported: dict[str, Any], base: dict[str, Any], matcher: _Matcher, ids: dict[str, str]) -> list[list[str]]:
    """Edges into a node that reads what its base node read keep the base's form and order; the rest are new."""
    new_in: dict[str, list[list[str]]] = defaultdict(list)
    for edge in imported["edges"]:
        new_in[ids[edge[1]]].append([_rename_ref(edge[0], ids), ids[edge[1]], *edge[2:]])
    ordered_new = {
        target: [[_rename_ref(e[0], ids), *e[1:]] for e in edges] for target, edges in matcher.imp_in.items()
    }
    kept: set[str] = set()
    for base_id, imp_id in matcher.to_imp.items():
        old = [e[0] for e in matcher.base_in.get(base_id, [])]
        if old == [e[0] for e in ordered_new.get(imp_id, [])]:
            kept.add(base_id)
    present = set(matcher.to_imp) | matcher.dead
    edges: list[list[str]] = []
    done: set[str] = set()
    for edge in base["edges"]:
        target = edge[1]
        if target in matcher.dead:
            if edge[0].split(":")[0] in present:
                edges.append(copy.deepcopy(edge))
        elif target in kept:
            edges.append(copy.deepcopy(edge))
        elif target not in done and target in matcher.to_imp:
            edges.extend(new_in.get(target, []))
        done.add(target)
    for node in imported["nodes"]:
        target = ids[node["id"]]
        if target not in done and target not in kept:
            edges.extend(new_in.get(target, []))
            done.add(target)
    return edges


def _body_signature(inner: Analysis) -> tuple:
    """A user block instance's inside, with its concrete params, by attribute: equal means the same code."""
    attrs = attribute_names(inner)
    keys = {node_id: attrs.get(node_id, f"<input {i}>") for i, node_id in enumerate(inner.order)}
    items = []
    for node_id in inner.order:
        info = inner.info[node_id]
        node = {"type": info.type_name, "params": info.params}
        nested = _body_signature(info.inner) if info.inner is not None else None
        sources = tuple(f"{keys.get(e.source, e.source)}:{e.output or 0}" for e in info.inputs)
        params = repr(sorted(canonical_params(node).items()))
        items.append((keys[node_id], _kind(node), params, nested, sources, bool(info.node.disabled)))
    return tuple(sorted(items, key=repr))


@dataclass
class _Blocks:
    """What became of the imported user blocks (the classes the importer folded)."""

    names: dict[str, str] = field(default_factory=dict)  # imported block name -> its name in the result
    definitions: dict[str, Any] = field(default_factory=dict)  # the result's block definitions
    same: set[str] = field(default_factory=set)  # imported instances of an unchanged block, inside as the base's


def _blocks(
    imported: dict[str, Any], base: dict[str, Any], matcher: _Matcher, base_analysis: Analysis | None
) -> _Blocks:
    """A block whose instances sit where a base block's did is that block: its name, and its definition if
    every instance computes what the base's did; else the imported definition replaces the base's."""
    own = base.get("composites")
    result = _Blocks(definitions=copy.deepcopy(own) if isinstance(own, dict) else {})
    folded = imported.get("composites") or {}
    imp_analysis = _analysis(imported) if folded else None
    pairs: dict[str, set[str]] = defaultdict(set)
    differs: set[str] = set()
    instances: dict[str, list[str]] = defaultdict(list)
    for imp_id, base_id in matcher.to_base.items():
        ii = imp_analysis.info.get(imp_id) if imp_analysis else None
        bi = base_analysis.info.get(base_id) if base_analysis else None
        if ii is None or bi is None or ii.composite is None or bi.composite is None:
            continue
        pairs[ii.composite.name].add(bi.composite.name)
        instances[ii.composite.name].append(imp_id)
        if ii.inner is None or bi.inner is None or _body_signature(ii.inner) != _body_signature(bi.inner):
            differs.add(ii.composite.name)
    claimed: dict[str, list[str]] = defaultdict(list)
    for name, targets in pairs.items():
        if len(targets) == 1:
            claimed[next(iter(targets))].append(name)
    for name, definition in folded.items():
        targets = pairs.get(name, set())
        target = next(iter(targets)) if len(targets) == 1 and len(claimed[next(iter(targets))]) == 1 else None
        if target is not None and name not in differs:
            result.names[name] = target
            result.same.update(instances[name])
            continue
        if target is None:
            target, counter = name, 1
            while target in result.definitions or (target in folded and target != name):
                target = f"{name}{counter}"
                counter += 1
        result.names[name] = target
        result.definitions[target] = copy.deepcopy(definition)
    return result


def _restore_disabled(imported: dict[str, Any], base: dict[str, Any], matcher: _Matcher) -> list[tuple[str, str]]:
    """Put back, in ``imported``, the base's disabled nodes that its code still bypasses.

    A disabled node's code is nothing (its readers read its first input), so the import has no node for it.
    Where the import's readers still read that input at the same place, the node (or a chain of them, each
    the only reader of the one before) goes back in between. Returns the (imported id, base id) pairs.
    """
    imp_ids = {n["id"] for n in imported["nodes"]}
    nodes = {n["id"]: n for n in base["nodes"]}
    readers: dict[str, list[tuple[str, int]]] = defaultdict(list)  # base id -> (reader, argument position)
    for target, edges in matcher.base_in.items():
        for position, edge in enumerate(edges):
            readers[edge[0].split(":")[0]].append((target, position))

    def first_source(node_id: str) -> str | None:
        edges = matcher.base_in.get(node_id) or []
        return edges[0][0] if edges else None

    restored: list[tuple[str, str]] = []
    for head in base["nodes"]:
        source = first_source(head["id"])
        if not head.get("disabled") or head["id"] in matcher.to_imp or source is None:
            continue
        if source.split(":")[0] not in matcher.to_imp:
            continue  # inside a chain, or reading what the import does not have: the chain's head decides
        chain = [head["id"]]
        while len(readers[chain[-1]]) == 1 and chain[-1] not in base.get("outputs", []):
            reader, position = readers[chain[-1]][0]
            if not nodes[reader].get("disabled") or position != 0 or reader in chain:
                break
            chain.append(reader)
        passed = _rename_ref(source, matcher.to_imp)
        places = []
        for reader, position in readers[chain[-1]]:
            if reader in matcher.dead:
                continue  # kept as it is, with its edges
            imp_reader = matcher.to_imp.get(reader)
            edges = matcher.imp_in.get(imp_reader, []) if imp_reader else []
            if position >= len(edges) or edges[position][0] != passed:
                break
            places.append(edges[position])
        else:
            outputs = [i for i, ref in enumerate(base.get("outputs", [])) if ref == chain[-1]]
            if any(imported["outputs"][i : i + 1] != [passed] for i in outputs) or not (places or outputs):
                continue
            ids = dict(matcher.to_imp)
            for base_id in chain:
                new_id, counter = base_id, 1
                while new_id in imp_ids:
                    new_id, counter = f"{base_id}__{counter}", counter + 1
                imp_ids.add(new_id)
                ids[base_id] = new_id
                imported["nodes"].append(copy.deepcopy({**nodes[base_id], "id": new_id}))
                for edge in matcher.base_in[base_id]:
                    if edge[0].split(":")[0] in ids:
                        imported["edges"].append([_rename_ref(edge[0], ids), new_id, *edge[2:]])
                restored.append((new_id, base_id))
            for edge in places:  # edges of ``imported`` itself: the readers now read the last disabled node
                edge[0] = ids[chain[-1]]
            for i in outputs:
                imported["outputs"][i] = ids[chain[-1]]
    return restored


def _dead(base: dict[str, Any], analysis: Analysis | None) -> set[str]:
    """Base nodes the model's code has nothing of, so they stay as they were: those no output depends on (left
    over on the canvas), and the training recipe's (Targets and the loss and metrics stages: recipe.py's code)."""
    if analysis is None:
        return set()
    return {
        n["id"]
        for n in base["nodes"]
        if (info := analysis.info.get(n["id"])) is not None
        and not info.is_input
        and (not info.live or info.stage != "model")
    }


def _matched(imported: dict[str, Any], base: dict[str, Any], analysis: Analysis | None) -> tuple[dict, _Matcher]:
    """The import (with the base's bypassed disabled nodes put back) and its correspondence with ``base``."""
    matcher = _Matcher(imported, base)
    matcher.dead = _dead(base, analysis)
    matcher.skip_disabled(base)
    matcher.seed(imported, base, analysis)
    matcher.propagate()
    if not any(n.get("disabled") for n in base["nodes"]):
        return imported, matcher
    imported = copy.deepcopy(imported)
    restored = _restore_disabled(imported, base, _Matcher(imported, base).adopt(matcher))
    if not restored:
        return imported, matcher
    again = _Matcher(imported, base)
    again.attrs, again.dead = matcher.attrs, matcher.dead
    for imp_id, base_id in [*matcher.to_base.items(), *restored]:
        again.pair(imp_id, base_id)
    again.propagate()
    return imported, again


@dataclass
class _Inlined:
    """A base block instance whose code the importer inlined, spelled out as its layers in the base."""

    node: dict[str, Any]  # the base's block node
    inner: dict[str, str] = field(default_factory=dict)  # inner node id -> its id in the spelled-out base
    entries: list[list[str]] = field(default_factory=list)  # the block node's incoming edges in the base
    exits: dict[str, str] = field(default_factory=dict)  # ref of an inner output -> the block's ref for it


def _spell_out(base: dict[str, Any], analysis: Analysis | None, imported: dict[str, Any]):
    """``base`` with each user block instance the import inlined replaced by its layers (concrete params,
    module paths under the instance's), and what it takes to fold them back."""
    if analysis is None or not base.get("composites"):
        return base, []
    attrs = attribute_names(analysis)
    paths = {n.get("path") for n in imported["nodes"] if n.get("path")}
    taken = {n["id"] for n in base["nodes"]}
    incoming = _incoming(base)
    nodes: list[dict[str, Any]] = []
    replaced: dict[str, _Inlined] = {}
    for node in base["nodes"]:
        info = analysis.info.get(node["id"])
        attr = attrs.get(node["id"], "")
        inner = info.inner if info is not None and info.composite is not None else None
        inlined = attr not in paths and any(p.startswith(f"{attr}.") for p in paths)
        if inner is None or not inlined:
            nodes.append(node)
            continue
        block = _Inlined(node, entries=incoming.get(node["id"], []))
        inner_attrs = attribute_names(inner)
        for inner_id in inner.order:
            if inner_id in inner.inputs:
                continue
            new_id, counter = f"{node['id']}_{inner_id}", 1
            while new_id in taken:
                new_id, counter = f"{node['id']}_{inner_id}_{counter}", counter + 1
            taken.add(new_id)
            block.inner[inner_id] = new_id
        for inner_id, new_id in block.inner.items():
            i = inner.info[inner_id]
            params = {k: _as_json(i.params[k]) for k in i.node.params if k in i.params}
            spelled = {"id": new_id, "type": i.type_name, "params": params, "path": f"{attr}.{inner_attrs[inner_id]}"}
            nodes.append({**spelled, "disabled": True} if i.node.disabled else spelled)
        for index, ref in enumerate(inner.outputs):
            inner_id, sep, output = ref.partition(":")
            block.exits[block.inner[inner_id] + sep + output] = node["id"] + (
                f":{index}" if len(inner.outputs) > 1 else ""
            )
        replaced[node["id"]] = block
    if not replaced:
        return base, []
    edges: list[list[str]] = []
    for edge in base["edges"]:
        source_id = edge[0].split(":")[0]
        if edge[1] in replaced:
            block = replaced[edge[1]]
            if edge is block.entries[0]:
                edges.extend(_inner_edges(block, analysis.info[edge[1]].inner))
            continue
        if source_id in replaced:
            block = replaced[source_id]
            exit_ref = next((r for r, b in block.exits.items() if b == edge[0]), None)
            if exit_ref is not None:
                edges.append([exit_ref, *edge[1:]])
            continue
        edges.append(edge)
    outputs = []
    for ref in base.get("outputs", []):
        block = replaced.get(ref.split(":")[0])
        outputs.append(next((r for r, b in block.exits.items() if b == ref), ref) if block else ref)
    return {**base, "nodes": nodes, "edges": edges, "outputs": outputs}, list(replaced.values())


def _as_json(value: Any) -> Any:
    """A coerced param value as a document writes it (tuples as lists)."""
    if isinstance(value, (list, tuple)):
        return [_as_json(v) for v in value]
    return value


def _inner_edges(block: _Inlined, inner: Analysis) -> list[list[str]]:
    """The edges into a spelled-out block's layers: from the block's sources where it reads its inputs."""
    sources = [e[0] for e in block.entries]
    edges = []
    for inner_id, new_id in block.inner.items():
        for edge in inner.info[inner_id].inputs:
            suffix = f":{edge.output}" if edge.output is not None else ""
            if edge.source in inner.inputs:
                position = inner.inputs.index(edge.source)
                if position < len(sources):
                    edges.append([sources[position], new_id])
            else:
                edges.append([block.inner[edge.source] + suffix, new_id])
    return edges


def _touching(edges: list[list[str]], ids: set[str]) -> list[list[str]]:
    return [e for e in edges if e[1] in ids or e[0].split(":")[0] in ids]


def _base_order(edges: list[list[str]], nodes: list[dict[str, Any]], base: dict[str, Any]) -> list[list[str]]:
    """Edges into nodes that read exactly what they read in ``base`` take the base's order among themselves
    (folding a block back puts its edges where the block's first one was); the others keep their places."""
    position = {tuple(e): i for i, e in enumerate(base["edges"])}
    before, after = _incoming(base), _incoming({"nodes": nodes, "edges": edges})
    same = {target for target, incoming in after.items() if incoming == before.get(target)}
    slots = [i for i, e in enumerate(edges) if e[1] in same and tuple(e) in position]
    ordered = sorted((edges[i] for i in slots), key=lambda e: position[tuple(e)])
    result = list(edges)
    for slot, edge in zip(slots, ordered):
        result[slot] = edge
    return result


def _fold_back(
    document: dict[str, Any], spelled: dict[str, Any], blocks: list[_Inlined], imported: dict[str, Any]
) -> dict[str, Any]:
    """Each spelled-out block whose layers and wiring came back becomes a block node again: the base's when
    nothing changed; else with the instance's arguments or the block's literals changed to what the import
    computes, when that reproduces every layer (checked by spelling it out again)."""
    for block in blocks:
        inner_ids = set(block.inner.values())
        expected = {n["id"]: n for n in spelled["nodes"] if n["id"] in inner_ids}
        got = {n["id"]: n for n in document["nodes"] if n["id"] in inner_ids}
        if set(got) != inner_ids or _touching(document["edges"], inner_ids) != _touching(spelled["edges"], inner_ids):
            continue
        if got == expected:
            document = _folded(document, block, block.node, None)
            continue
        refit = _refit(block, expected, got, document)
        if refit is None:
            continue
        candidate = _folded(document, block, *refit)
        if _reproduces(candidate, block, got, imported):
            document = candidate
    return document


def _folded(
    document: dict[str, Any], block: _Inlined, node: dict[str, Any], definition: dict[str, Any] | None
) -> dict[str, Any]:
    """``document`` with ``block``'s spelled-out layers replaced by ``node`` (and its definition, if given)."""
    inner_ids = set(block.inner.values())
    nodes, placed = [], False
    for each in document["nodes"]:
        if each["id"] not in inner_ids:
            nodes.append(each)
        elif not placed:
            nodes.append(copy.deepcopy(node))
            placed = True
    edges, entered = [], False
    for edge in document["edges"]:
        if edge[1] in inner_ids:
            if not entered:
                edges.extend(copy.deepcopy(block.entries))
                entered = True
        elif edge[0] in block.exits:
            edges.append([block.exits[edge[0]], *edge[1:]])
        else:
            edges.append(edge)
    outputs = [block.exits.get(ref, ref) for ref in document.get("outputs", [])]
    folded = {**document, "nodes": nodes, "edges": edges, "outputs": outputs}
    if definition is not None:
        folded["composites"] = {**document["composites"], node["type"]: definition}
    return folded


def _refit(
    block: _Inlined, expected: dict[str, Any], got: dict[str, Any], document: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The block node and definition that would compute the edited layers: a param written ``$name`` in the
    block changes the instance's argument, a literal one the block (only a block this instance alone uses)."""
    name = block.node.get("type")
    definition = copy.deepcopy((document.get("composites") or {}).get(name))
    if not isinstance(definition, dict):
        return None
    inside = {n.get("id"): n for n in definition.get("nodes", []) if isinstance(n, dict)}
    arguments: dict[str, Any] = {}
    literal = False
    for inner_id, new_id in block.inner.items():
        old, new = expected[new_id], got[new_id]
        if _kind(old) != _kind(new) or inner_id not in inside:
            return None
        before, after = canonical_params(old), canonical_params(new)
        for param in sorted(before.keys() | after.keys()):
            if before.get(param) == after.get(param):
                continue
            written = _params(inside[inner_id]).get(param)
            value = copy.deepcopy(_params(new).get(param, after.get(param)))
            if isinstance(written, str) and written.startswith("$"):
                symbol = written[1:]
                if not symbol.isidentifier() or arguments.get(symbol, value) != value:
                    return None  # an expression of the arguments, or two values for one argument
                arguments[symbol] = value
            else:
                inside[inner_id].setdefault("params", {})[param] = value
                literal = True
    users = [n for n in document["nodes"] if n.get("type") == name]
    nested = any(n.get("type") == name for d in document.get("composites", {}).values() for n in d.get("nodes", []))
    if literal and (users or nested):
        return None  # another instance uses the block as it was
    node = copy.deepcopy(block.node)
    if arguments:
        node["params"] = {**_params(node), **arguments}
    return node, definition


def _reproduces(candidate: dict[str, Any], block: _Inlined, got: dict[str, Any], imported: dict[str, Any]) -> bool:
    """Whether ``candidate``'s block node, spelled out again, is the layers the import has."""
    again, blocks = _spell_out(candidate, _analysis(candidate, imported), imported)
    redone = next((b for b in blocks if b.node.get("id") == block.node.get("id")), None)
    if redone is None or set(redone.inner) != set(block.inner):
        return False
    nodes = {n["id"]: n for n in again["nodes"]}
    return all(same_node(nodes[redone.inner[k]], got[block.inner[k]]) for k in block.inner)


def align(imported: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """``imported`` with the ids and writing of ``base`` wherever the two correspond (see the module docs).

    Named outputs are aligned by their references: the names are the import's (what its forward returns), or
    the base's when the import names none and returns the same values.
    """
    names, base_names = _output_names(imported), _output_names(base)
    document = _align(_listed(imported), _listed(base))
    refs = document["outputs"]
    if names is not None:
        document["outputs"] = dict(zip(names, refs))
    elif base_names is not None and refs == list(base["outputs"].values()):
        document["outputs"] = dict(zip(base_names, refs))
    return document


def _output_names(document: Any) -> list[str] | None:
    outputs = document.get("outputs") if isinstance(document, dict) else None
    return list(outputs) if isinstance(outputs, dict) else None


def _listed(document: Any) -> Any:
    """The document with named outputs as the list of what they name."""
    if _output_names(document) is None:
        return document
    return {**document, "outputs": list(document["outputs"].values())}


def _align(imported: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    original = _well_formed(base)
    analysis = _analysis(original, imported)
    base, levels, current = original, [], analysis
    while len(levels) < _MAX_DEPTH:  # a block inlined inside an inlined block is spelled out in turn
        spelled, inlined = _spell_out(base, current, imported)
        if not inlined:
            break
        base = spelled
        levels.append((spelled, inlined))
        current = _analysis(base, imported)
    imported, matcher = _matched(imported, base, analysis)
    blocks = _blocks(imported, base, matcher, current)
    for node_id, node in matcher.imp_nodes.items():
        if node.get("type") in blocks.names:
            matcher.imp_nodes[node_id] = {**node, "type": blocks.names[node["type"]]}
    ids = _fresh_ids(imported, base, matcher.to_base)
    nodes = _ordered_nodes(imported, base, matcher, ids, blocks.same)
    document: dict[str, Any] = {key: copy.deepcopy(value) for key, value in base.items()}
    document["nodes"] = nodes
    document["edges"] = _edges(imported, base, matcher, ids)
    for key in ("inputs", "outputs"):
        renamed = [_rename_ref(ref, ids) for ref in imported.get(key, [])]
        document[key] = copy.deepcopy(base[key]) if renamed == base.get(key) else renamed
    if blocks.definitions:
        document["composites"] = blocks.definitions
    else:
        document.pop("composites", None)
    for spelled, inlined in reversed(levels):
        document = _fold_back(document, spelled, inlined, imported)
    if levels:
        document["edges"] = _base_order(document["edges"], document["nodes"], original)
    for key in ("inputs", "outputs"):
        if document[key] == original.get(key):
            document[key] = copy.deepcopy(original[key])
    return document


__all__ = ["align", "canonical_params", "same_node"]
