"""Module paths: where a node's submodule sits in the generated module tree, and the containers above it.

A node may carry ``"path": "features.0.1"``. Its module (or learned ``nn.Parameter``) is then registered at
that path, so the ``state_dict`` keys are the ones a hand-written model (torchvision's, say) has, and its
checkpoint loads by name. The prefixes become containers:

- siblings that form a chain of module calls (each reads only the one before it, nothing else reads the
  values in between) become one ``nn.Sequential``, built in one expression and called once in ``forward``;
  runs of equal blocks in it are written as a loop (``*[Bottleneck(256, 64) for _ in range(2)]``), runs
  whose integer arguments grow evenly as one too (``DenseLayer(64 + 32 * i, 32, 4) for i in range(6)``);
- other containers are plain namespaces: ``nn.Module()`` for named children, ``nn.ModuleList`` for
  numbered ones, and ``forward`` reads each member where it is used (``self.encoder.ln(x)``).

Nodes without a path keep their flat attribute name. Paths inside a composite body are relative to the
block's class.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Any

import torch.nn as nn

from .ir import BinOp, Call, ListOf, Numbered, Ref, Repeat, Starred, render_expr
from .schema import Node

MAX_PATH_LENGTH = 200
MAX_PATH_DEPTH = 16
MAX_INDEX = 9999
_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|0|[1-9][0-9]*")
# Attribute names an nn.Module already has (methods, `training`, ...): a child of that name would shadow them.
_MODULE_ATTRIBUTES = frozenset(set(dir(nn.Module)) | set(vars(nn.Module())))


def split_path(text: str) -> tuple[str, ...]:
    """The segments of a module path; raises ValueError with a sentence saying what is wrong."""
    if not text:
        raise ValueError("is empty; clear it to use the node's own name")
    if len(text) > MAX_PATH_LENGTH:
        raise ValueError(f"is longer than {MAX_PATH_LENGTH} characters")
    segments = tuple(text.split("."))
    if len(segments) > MAX_PATH_DEPTH:
        raise ValueError(f"has more than {MAX_PATH_DEPTH} levels")
    for segment in segments:
        if not _SEGMENT.fullmatch(segment):
            shown = segment if segment.isprintable() and len(segment) <= 40 else repr(segment[:40])
            raise ValueError(
                f"has the segment `{shown}`: each segment is a Python identifier (ASCII) or a number "
                "without leading zeros, as in `features.0.conv1`"
            )
        if segment.isdigit() and int(segment) > MAX_INDEX:
            raise ValueError(f"numbers the segment {segment}; indices go up to {MAX_INDEX}")
        if keyword.iskeyword(segment) or segment.startswith("__") or segment in _MODULE_ATTRIBUTES:
            raise ValueError(f"uses `{segment}`, which Python or nn.Module reserves; rename that segment")
    return segments


def path_problems(nodes: list[Node], is_input: dict[str, bool]) -> list[tuple[Node, str]]:
    """(node, message) for each path that cannot be built: malformed, shared, or clashing with another."""
    problems: list[tuple[Node, str]] = []
    owner: dict[tuple[str, ...], Node] = {}
    for node in nodes:
        if node.path is None:
            continue
        if is_input.get(node.id):
            problems.append((node, "an Input node holds no module, so it takes no module path; clear it"))
            continue
        try:
            segments = split_path(node.path)
        except ValueError as error:
            problems.append((node, f"module path `{node.path[:60]}` {error}"))
            continue
        if segments in owner:
            problems.append(
                (node, f"module path `{node.path}` is already used by `{owner[segments].id}`; paths are unique")
            )
            continue
        owner[segments] = node
    prefixes = {segments[:k]: node for segments, node in owner.items() for k in range(1, len(segments))}
    for segments, node in owner.items():
        if segments in prefixes:
            inner = prefixes[segments]
            problems.append(
                (
                    node,
                    f"module path `{node.path}` is also the container of `{inner.id}` (`{inner.path}`); a module "
                    "cannot hold both its own layer and others: rename one",
                )
            )
    children: dict[tuple[str, ...], set[bool]] = {}
    for segments in owner:
        for k in range(len(segments)):
            children.setdefault(segments[:k], set()).add(segments[k].isdigit())
    for segments, node in owner.items():
        for k in range(1, len(segments)):
            if children.get(segments[:k]) == {True, False}:
                container = ".".join(segments[:k])
                problems.append(
                    (
                        node,
                        f"container `{container}` mixes numbered and named members; number them all "
                        "(a sequence) or name them all",
                    )
                )
                break
    return problems


# ---------------------------------------------------------------------------------------------
# The module tree of one class


@dataclass
class Leaf:
    """A node's own module or parameter: ``init`` is its constructor; ``chainable`` when ``forward`` only
    calls it on the single value before it (so it may sit inside an ``nn.Sequential``)."""

    node_id: str
    init: Any
    chainable: bool

    @property
    def parameter(self) -> bool:
        return isinstance(self.init, Call) and self.init.fn == "nn.Parameter"


@dataclass
class Container:
    children: dict[str, Leaf | Container] = field(default_factory=dict)
    sequential: bool = False

    def leaves(self) -> list[Leaf]:
        """Leaves in member order: numbered members by number, named ones in the order they appear."""
        return [leaf for _, child in self.members() for leaf in _leaves_of(child)]

    def members(self) -> list[tuple[str, Leaf | Container]]:
        items = list(self.children.items())
        if items and items[0][0].isdigit():
            items.sort(key=lambda item: int(item[0]))
        return items


@dataclass
class Tree:
    """The containers of one class, and the chains that ``forward`` calls as one ``nn.Sequential``."""

    root: Container
    calls: dict[str, tuple[str, list[str]]]  # last node of a called chain -> (container path, its nodes)

    def skipped(self) -> set[str]:
        """Nodes whose forward statement the container's call replaces (all but the last of each chain)."""
        return {n for _, nodes in self.calls.values() for n in nodes[:-1]}


def build_tree(
    paths: dict[str, tuple[str, ...]],
    leaves: dict[str, Leaf],
    sources: dict[str, list[tuple[str, int]]],
    readers: dict[str, int],
) -> Tree:
    """The container tree for nodes at ``paths``.

    ``sources[n]`` are the (node, output) pairs ``n`` reads; ``readers[n]`` counts the reads of ``n``'s
    first output (a graph output counts as one).
    """
    root = Container()
    for node_id, segments in paths.items():
        if node_id not in leaves:
            continue
        container = root
        for segment in segments[:-1]:
            child = container.children.setdefault(segment, Container())
            assert isinstance(child, Container)  # path_problems refused a layer that is also a container
            container = child
        container.children[segments[-1]] = leaves[node_id]
    calls: dict[str, tuple[str, list[str]]] = {}

    def decide(container: Container, prefix: tuple[str, ...]) -> None:
        for key, child in container.children.items():
            if isinstance(child, Container):
                decide(child, (*prefix, key))
        if prefix:
            container.sequential = _is_chain(container, sources, readers)

    def collect(container: Container, prefix: tuple[str, ...]) -> None:
        for key, child in container.children.items():
            if not isinstance(child, Container):
                continue
            if child.sequential:
                nodes = [leaf.node_id for leaf in child.leaves()]
                calls[nodes[-1]] = (".".join((*prefix, key)), nodes)
            else:
                collect(child, (*prefix, key))

    decide(root, ())
    collect(root, ())
    return Tree(root, calls)


def _is_chain(container: Container, sources: dict[str, list[tuple[str, int]]], readers: dict[str, int]) -> bool:
    members = container.members()
    if members[0][0].isdigit() and [key for key, _ in members] != [str(i) for i in range(len(members))]:
        return False  # a gap: a numbered member is not a module here
    if any(isinstance(child, Container) and not child.sequential for _, child in members):
        return False
    leaves = container.leaves()
    if not all(leaf.chainable for leaf in leaves):
        return False
    for before, after in zip(leaves, leaves[1:]):
        if sources[after.node_id] != [(before.node_id, 0)] or readers.get(before.node_id, 0) != 1:
            return False
    return len(sources[leaves[0].node_id]) == 1


def init_statements(tree: Tree, first_use: dict[str, int]) -> list[tuple[str, Any]]:
    """``(target, value)`` assignments that build every top-level member, in the order of first use."""
    members = sorted(
        tree.root.children.items(),
        key=lambda item: min(first_use[leaf.node_id] for leaf in _leaves_of(item[1])),
    )
    statements: list[tuple[str, Any]] = []
    for key, child in members:
        statements += _build(f"self.{key}", child)
    return statements


def _leaves_of(child: Leaf | Container) -> list[Leaf]:
    return [child] if isinstance(child, Leaf) else child.leaves()


def _build(target: str, child: Leaf | Container) -> list[tuple[str, Any]]:
    if isinstance(child, Leaf):
        return [(target, child.init)]
    if child.sequential:
        return [(target, sequential(child))]
    members = child.members()
    if members[0][0].isdigit():  # nn.ModuleList; a number left out (a function in forward) stays empty
        size = int(members[-1][0]) + 1
        slots: list[Any] = [Call("nn.Identity")] * size
        rest: list[tuple[str, Any]] = []
        for key, member in members:
            if isinstance(member, Container) and not member.sequential:
                # Its first statement makes the container (a filled nn.ModuleList, or an empty nn.Module()
                # whose members the following statements set): that value fills the slot.
                (_, made), *more = _build(f"{target}[{key}]", member)
                slots[int(key)] = made
                rest += more
            else:
                slots[int(key)] = _value(member)
        items = _loops(slots)
        listed = items[0].value if len(items) == 1 and isinstance(items[0], Starred) else ListOf(tuple(items))
        return [(target, Call("nn.ModuleList", (listed,))), *rest]
    statements: list[tuple[str, Any]] = [(target, Call("nn.Module"))]
    for key, member in members:
        statements += _build(f"{target}.{key}", member)
    return statements


def _value(child: Leaf | Container) -> Any:
    if isinstance(child, Leaf):
        return child.init
    return sequential(child)


def sequential(container: Container) -> Call:
    members = container.members()
    if members[0][0].isdigit():
        return Call("nn.Sequential", tuple(_loops([_value(member) for _, member in members])))
    entries = _named_loops([(key, _value(member)) for key, member in members])
    if len(entries) == 1 and isinstance(entries[0], Starred):  # all one run: the generator is the argument
        return Call("nn.Sequential", (Call("OrderedDict", (entries[0].value,)),))
    return Call("nn.Sequential", (Call("OrderedDict", (ListOf(tuple(entries)),)),))


# ---------------------------------------------------------------------------------------------
# Runs written as loops


def _loops(values: list[Any]) -> list[Any]:
    """Runs of equal values (2 or more) as ``*[v for _ in range(n)]``, of evenly growing ones (3 or more) with ``i``."""
    if _reads_i(values):
        return values
    out: list[Any] = []
    start = 0
    while start < len(values):
        end, template = _run(values, start)
        if template is not _DIFFERENT and _worth_a_loop(values[start:end]):
            var = "_" if values[start] == values[end - 1] else "i"
            out.append(Starred(Repeat(template, var, end - start)))
            start = end
        else:
            out.append(values[start])
            start += 1
    return out


def _named_loops(entries: list[tuple[str, Any]]) -> list[Any]:
    """Named members ``layer1``, ``layer2``, … whose values form a run, as one generator of (name, value)."""
    if _reads_i([value for _, value in entries]):
        return list(entries)
    out: list[Any] = []
    start = 0
    while start < len(entries):
        end = start + 1
        numbered = re.fullmatch(r"(.*?)(\d+)", entries[start][0])
        if numbered:
            prefix, first = numbered.group(1), int(numbered.group(2))
            while end < len(entries) and entries[end][0] == f"{prefix}{first + end - start}":
                end += 1
        values = [value for _, value in entries[start:end]]
        best, template = _run(values, 0)
        if numbered and template is not _DIFFERENT and _worth_a_loop(values[:best]):
            index: Any = _progression(first, 1)
            item = (Numbered(prefix, index), template)
            out.append(Starred(Repeat(item, "i", best, generator=True)))
            start += best
        else:
            out.append(entries[start])
            start += 1
    return out


def _run(values: list[Any], start: int) -> tuple[int, Any]:
    """The longest run from ``start`` that one template with ``i`` describes, and that template.

    Each value only needs checking against the two before it: equal neighbours and a constant step
    between every consecutive three make one run, so a long Sequential costs linear time.
    """
    if start + 2 > len(values) or _template(values[start : start + 2]) is _DIFFERENT:
        return start + 1, _DIFFERENT
    end = start + 2
    while end < len(values) and _template(values[end - 2 : end + 1]) is not _DIFFERENT:
        end += 1
    return end, _template(values[start:end])


def _worth_a_loop(run: list[Any]) -> bool:
    """Two equal values, or three or more: fewer varying ones read better written out."""
    return len(run) >= 3 or (len(run) == 2 and run[0] == run[1])


_DIFFERENT = object()  # no one template describes the values


def _reads_i(values: list[Any]) -> bool:
    """Whether a value already reads a name ``i`` (a block parameter), which a loop variable would hide."""
    return any(re.search(r"\bi\b", render_expr(value)) for value in values)


def _template(values: list[Any]) -> Any:
    """One expression in ``i`` (0, 1, …) giving each of ``values``: integers may grow evenly, all else is equal."""
    first = values[0]
    if all(v == first and type(v) is type(first) for v in values):
        return first
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        step = values[1] - values[0]
        if all(b - a == step for a, b in zip(values, values[1:])):
            return _progression(values[0], step)
        return _DIFFERENT
    if not all(type(v) is type(first) for v in values):
        return _DIFFERENT
    if isinstance(first, Call):
        if any(v.fn != first.fn or len(v.args) != len(first.args) for v in values):
            return _DIFFERENT
        if any([k for k, _ in v.kwargs] != [k for k, _ in first.kwargs] for v in values):
            return _DIFFERENT
        args = tuple(_template([v.args[k] for v in values]) for k in range(len(first.args)))
        kwargs = tuple((key, _template([dict(v.kwargs)[key] for v in values])) for key, _ in first.kwargs)
        if any(a is _DIFFERENT for a in args) or any(v is _DIFFERENT for _, v in kwargs):
            return _DIFFERENT
        return Call(first.fn, args, kwargs)
    if isinstance(first, tuple) and all(len(v) == len(first) for v in values):
        items = tuple(_template([v[k] for v in values]) for k in range(len(first)))
        return _DIFFERENT if any(item is _DIFFERENT for item in items) else items
    return _DIFFERENT


def _progression(start: int, step: int) -> Any:
    """``start + step * i`` written as a person would (``i``, ``i + 1``, ``64 + 32 * i``)."""
    grown: Any = Ref("i") if step == 1 else BinOp("*", step, Ref("i"))
    return grown if start == 0 else BinOp("+", grown, start) if step == 1 else BinOp("+", start, grown)
