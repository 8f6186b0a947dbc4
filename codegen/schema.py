"""The graph document (v0.2): parsing and structural checks of its JSON shape.

Parsing only checks the *shape* of the document and collects every problem with its JSON path
(``nodes[3].id: expected string, got 7``). Whether node types, params and wiring make sense is the
validator's job (:mod:`codegen.analysis`).
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Diagnostic, GraphError
from .document import load_document

SUPPORTED_VERSIONS = ("0.2",)
GRAPH_KEYS = {"version", "metadata", "nodes", "edges", "inputs", "outputs", "composites", "training"}
NODE_KEYS = {"id", "type", "params", "disabled", "label", "ui", "path", "stage", "trainable", "init"}
# The parts of a training recipe a node belongs to (see codegen/recipe.py).
STAGES = ("model", "loss", "metrics")
# A named output's key in the dict the model returns.
OUTPUT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,63}")
COMPOSITE_KEYS = {"params", "nodes", "edges", "inputs", "outputs", "doc", "category"}
# What editors put in metadata.name before the user names the graph: not a name to head code with.
PLACEHOLDER_NAMES = {"untitled", "untitled graph"}
COMPOSITE_PARAM_KEYS = {"name", "type", "default", "min", "max", "choices", "doc"}


@dataclass(frozen=True)
class Limits:
    """Size caps for one document. The web layer sets them from settings; the CLI uses the defaults."""

    max_nodes: int = 5000
    max_edges: int = 20000
    max_id_length: int = 100
    max_composites: int = 200
    max_composite_depth: int = 8
    max_expanded_nodes: int = 100_000  # layers once every composite block is expanded
    max_params: int = 2_000_000_000  # learnable parameters of the whole model
    max_memory_bytes: int = 64 * 2**30  # estimated forward activations of one sample, fp32 (memory_bytes)
    # CustomModule classes this deployment may build: exact paths (``pkg.layers.Gate``) or ``pkg.*``. The
    # check is textual; nothing here is ever imported (see codegen/nodes/custom.py).
    custom_modules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for pattern in self.custom_modules:
            problem = custom_module_pattern_problem(pattern)
            if problem:
                raise ValueError(problem)

    def allows_module(self, class_path: str) -> bool:
        """Whether ``class_path`` matches an entry of :attr:`custom_modules` (exactly, or under a ``pkg.*``)."""
        return any(
            class_path.startswith(pattern[:-1]) if pattern.endswith(".*") else class_path == pattern
            for pattern in self.custom_modules
        )


MAX_CLASS_PATH = 200


def dotted_name_problem(text: str) -> str | None:
    """Why ``text`` is not a dotted path of ASCII identifiers (no keyword, no ``__`` segment), or None."""
    if len(text) > MAX_CLASS_PATH:
        return f"{describe(text)} has {len(text)} characters; at most {MAX_CLASS_PATH}"
    for segment in text.split("."):
        if not (segment.isascii() and segment.isidentifier()):
            return f"{describe(text)} is not a dotted path of ASCII identifiers (package.module.ClassName)"
        if keyword.iskeyword(segment):
            return f"{describe(text)} has the Python keyword `{segment}` as a segment"
        if segment.startswith("__"):
            return f"{describe(text)} has the segment `{segment}`; names starting with __ are refused"
    return None


def custom_module_pattern_problem(pattern: str) -> str | None:
    """Why an allow-list entry is malformed (``pkg.mod.Class`` or ``pkg.*`` are the two forms), or None."""
    base = pattern[:-2] if pattern.endswith(".*") else pattern
    problem = dotted_name_problem(base)
    return f"custom module pattern {pattern!r}: {problem}" if problem else None


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    params: dict[str, Any]
    disabled: bool = False
    label: str | None = None
    ui: dict[str, Any] | None = None
    path: str | None = None  # module path in generated code (``features.0.1``); see codegen/hierarchy.py
    stage: str | None = None  # "model", "loss" or "metrics" when the document says; None: by type
    trainable: bool = True  # False: frozen (no gradients, eval mode)
    init: Any = None  # weight init as written (checked by codegen.recipe)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    port: str | None = None  # target port name, when the edge names one
    output: int | None = None  # source output index for multi-output nodes (written "split:1")

    @property
    def pair(self) -> tuple[str, str]:
        return (self.source, self.target)


@dataclass
class GraphBody:
    """Nodes, edges, inputs and outputs: a model, or the inside of a composite block."""

    nodes: list[Node]
    edges: list[Edge]
    inputs: list[str]
    outputs: list[str]  # node ids, or "node:k" for output k of a multi-output node
    path: str = ""  # JSON path prefix of this body ("" for the model, "composites.SE" for a block)
    output_names: list[str] | None = None  # the model returns a dict with these keys (``outputs`` as an object)

    def __post_init__(self) -> None:
        self.by_id: dict[str, Node] = {}
        for node in self.nodes:
            self.by_id.setdefault(node.id, node)


@dataclass
class CompositeDef:
    """A user-defined composite block: a sub-graph with declared parameters (``"$name"`` references)."""

    name: str
    params: list[dict[str, Any]]
    body: GraphBody
    doc: str = ""
    category: str = "block"


@dataclass
class Graph:
    body: GraphBody
    version: str = "0.2"
    metadata: dict[str, Any] = field(default_factory=dict)
    composites: dict[str, CompositeDef] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict)  # the parsed JSON, for hashing and export
    title: str = ""  # the caller's name for the graph (a saved graph's name), when metadata.name gives none
    training: dict[str, Any] = field(default_factory=dict)  # optimizer and scheduler (codegen.recipe)

    @property
    def nodes(self) -> list[Node]:
        return self.body.nodes

    @property
    def edges(self) -> list[Edge]:
        return self.body.edges

    @property
    def inputs(self) -> list[str]:
        return self.body.inputs

    @property
    def outputs(self) -> list[str]:
        return self.body.outputs

    @property
    def name(self) -> str:
        """The display name: ``metadata.name``, else :attr:`title` (a placeholder such as "untitled" is no name)."""
        name = self.metadata.get("name")
        if isinstance(name, str) and name.strip() and name.strip().lower() not in PLACEHOLDER_NAMES:
            return name
        return self.title


def describe(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "null"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return json.dumps(shown, ensure_ascii=False)
    return {int: "int", float: "float", list: "list", dict: "object"}.get(type(value), type(value).__name__)


class _Parser:
    def __init__(self, limits: Limits):
        self.limits = limits
        self.problems: list[Diagnostic] = []

    def problem(self, path: str, message: str, code: str = "PARSE") -> None:
        self.problems.append(Diagnostic(code, f"{path}: {message}" if path else message, path=path or None))

    def expect(self, value: Any, kind: type, path: str, what: str) -> bool:
        # bool is an int subclass in Python; JSON true is never a valid count or id.
        if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
            return True
        self.problem(path, f"expected {what}, got {describe(value)}")
        return False

    def unknown_keys(self, data: dict[str, Any], allowed: set[str], path: str) -> None:
        for key in sorted(set(data) - allowed, key=str):
            self.problem(f"{path}.{key}" if path else key, f"unknown field (allowed: {', '.join(sorted(allowed))})")

    def graph(self, data: Any) -> Graph:
        if not self.expect(data, dict, "", "a JSON object with nodes, edges, inputs and outputs"):
            raise GraphError(self.problems)
        self.unknown_keys(data, GRAPH_KEYS, "")
        version = data.get("version", "0.2")
        if version not in SUPPORTED_VERSIONS:
            self.problem(
                "version", f"unsupported version {describe(version)}; this engine reads {', '.join(SUPPORTED_VERSIONS)}"
            )
        metadata = data.get("metadata", {})
        if not self.expect(metadata, dict, "metadata", "object"):
            metadata = {}
        body = self.body(data, "")
        composites: dict[str, CompositeDef] = {}
        raw = data.get("composites", {})
        if self.expect(raw, dict, "composites", "object mapping block names to definitions"):
            if len(raw) > self.limits.max_composites:
                self.problem(
                    "composites",
                    f"{len(raw)} composite blocks exceed the limit of {self.limits.max_composites}",
                    "LIMIT",
                )
            for name, definition in raw.items():
                composite = self.composite(name, definition)
                if composite is not None:
                    composites[name] = composite
        training = data.get("training", {})
        if not self.expect(training, dict, "training", "object with optimizer and scheduler"):
            training = {}
        if self.problems:
            raise GraphError(self.problems)
        return Graph(body, str(version), metadata, composites, data, training=training)

    def composite(self, name: str, data: Any) -> CompositeDef | None:
        path = f"composites.{name}"
        if not name.isidentifier() or not name.isascii() or not name[:1].isupper():
            self.problem(path, "block names must be ASCII identifiers starting with a capital letter (e.g. MyBlock)")
            return None
        if not self.expect(data, dict, path, "object"):
            return None
        self.unknown_keys(data, COMPOSITE_KEYS, path)
        params = data.get("params", [])
        if not self.expect(params, list, f"{path}.params", "list of parameter declarations"):
            params = []
        for index, param in enumerate(params):
            where = f"{path}.params[{index}]"
            if self.expect(param, dict, where, "object"):
                self.unknown_keys(param, COMPOSITE_PARAM_KEYS, where)
                pname = param.get("name")
                if not (isinstance(pname, str) and pname.isidentifier() and pname.isascii()):
                    self.problem(f"{where}.name", f"expected an ASCII identifier, got {describe(pname)}")
                if param.get("type", "int") not in ("int", "float", "bool", "choice"):
                    self.problem(f"{where}.type", "expected one of int, float, bool, choice")
        doc = data.get("doc", "")
        category = data.get("category", "block")
        return CompositeDef(
            name,
            [p for p in params if isinstance(p, dict)],
            self.body(data, path),
            doc if isinstance(doc, str) else "",
            category if isinstance(category, str) else "block",
        )

    def body(self, data: dict[str, Any], prefix: str) -> GraphBody:
        at = (lambda key: f"{prefix}.{key}") if prefix else (lambda key: key)
        nodes_raw = data.get("nodes")
        nodes: list[Node] = []
        if self.expect(nodes_raw, list, at("nodes"), "list of nodes"):
            if len(nodes_raw) > self.limits.max_nodes:
                self.problem(
                    at("nodes"), f"{len(nodes_raw)} nodes exceed the limit of {self.limits.max_nodes}", "LIMIT"
                )
                nodes_raw = []
            for index, raw in enumerate(nodes_raw):
                node = self.node(raw, f"{at('nodes')}[{index}]")
                if node is not None:
                    nodes.append(node)
        edges_raw = data.get("edges", [])
        edges: list[Edge] = []
        if self.expect(edges_raw, list, at("edges"), "list of [source, target] pairs"):
            if len(edges_raw) > self.limits.max_edges:
                self.problem(
                    at("edges"), f"{len(edges_raw)} edges exceed the limit of {self.limits.max_edges}", "LIMIT"
                )
                edges_raw = []
            ids = {n.id for n in nodes}
            for index, raw in enumerate(edges_raw):
                edge = self.edge(raw, f"{at('edges')}[{index}]", ids)
                if edge is not None:
                    edges.append(edge)
        inputs = self.names(data.get("inputs", []), at("inputs"))
        raw_outputs = data.get("outputs", [])
        if isinstance(raw_outputs, dict) and not prefix:
            names = self.output_names(raw_outputs, at("outputs"))
            outputs = [
                ref
                for name, ref in raw_outputs.items()
                if self.expect(ref, str, f"{at('outputs')}.{name}", "node id string (or node:port)")
            ]
        else:
            names = None
            outputs = self.names(raw_outputs, at("outputs"))
        return GraphBody(nodes, edges, inputs, outputs, prefix, names)

    def output_names(self, raw: dict[str, Any], path: str) -> list[str]:
        """The keys of ``outputs`` written as an object: the names of the dict the model returns."""
        if not raw:
            self.problem(path, "expected at least one named output")
        for name in raw:
            if not isinstance(name, str):  # YAML keys may be numbers
                self.problem(path, f"output names are text, got {describe(name)}")
            elif not OUTPUT_NAME.fullmatch(name):
                self.problem(
                    f"{path}.{name}" if len(name) <= 64 else path,
                    f"output name {describe(name)} must be 1 to 64 letters, digits, `_`, `.`, `/` or `-`, "
                    "starting with a letter, digit or `_`",
                )
        return list(raw)

    def node(self, raw: Any, path: str) -> Node | None:
        if not self.expect(raw, dict, path, "object with id, type and params"):
            return None
        self.unknown_keys(raw, NODE_KEYS, path)
        ok = self.expect(raw.get("id"), str, f"{path}.id", "string")
        ok = self.expect(raw.get("type"), str, f"{path}.type", "string") and ok
        params = raw.get("params", {})
        if params is None:
            params = {}
        ok = self.expect(params, dict, f"{path}.params", "object") and ok
        disabled = raw.get("disabled", False)
        ok = self.expect(disabled, bool, f"{path}.disabled", "bool") and ok
        label = raw.get("label")
        if label is not None:
            ok = self.expect(label, str, f"{path}.label", "string") and ok
        ui = raw.get("ui")
        if ui is not None:
            ok = self.expect(ui, dict, f"{path}.ui", "object") and ok
        module_path = raw.get("path")
        if module_path is not None:
            ok = self.expect(module_path, str, f"{path}.path", "string (a module path such as features.0)") and ok
        stage = raw.get("stage")
        if stage is not None and stage not in STAGES:
            self.problem(f"{path}.stage", f"expected one of {', '.join(STAGES)}, got {describe(stage)}")
            ok = False
        trainable = raw.get("trainable", True)
        ok = self.expect(trainable, bool, f"{path}.trainable", "bool") and ok
        if not ok:
            return None
        node_id = raw["id"]
        if (
            not node_id
            or len(node_id) > self.limits.max_id_length
            or any(ord(c) < 32 or ord(c) == 127 for c in node_id)
        ):
            self.problem(
                f"{path}.id",
                f"ids must be 1 to {self.limits.max_id_length} characters without control characters",
                "BAD_ID",
            )
            return None
        return Node(
            node_id, raw["type"], dict(params), disabled, label, ui, module_path, stage, trainable, raw.get("init")
        )

    def edge(self, raw: Any, path: str, ids: set[str]) -> Edge | None:
        if not isinstance(raw, list) or len(raw) not in (2, 3) or not all(isinstance(v, str) for v in raw):
            self.problem(path, f"expected [source, target] or [source, target, port] of strings, got {describe(raw)}")
            return None
        source, target = raw[0], raw[1]
        output = None
        if source not in ids and ":" in source:
            head, _, tail = source.rpartition(":")
            if head in ids and tail.isdigit() and len(tail) <= 3:
                source, output = head, int(tail)
        return Edge(source, target, raw[2] if len(raw) == 3 else None, output)

    def names(self, raw: Any, path: str) -> list[str]:
        if not self.expect(raw, list, path, "list of node ids"):
            return []
        names = []
        for index, value in enumerate(raw):
            if self.expect(value, str, f"{path}[{index}]", "node id string"):
                names.append(value)
        return names


def parse_graph(data: Any, limits: Limits | None = None) -> Graph:
    """Parse a graph document (a dict, or JSON or YAML text/bytes) or raise :class:`GraphError`."""
    if isinstance(data, (str, bytes, bytearray)):
        data = load_document(data)
    return _Parser(limits or Limits()).graph(data)
