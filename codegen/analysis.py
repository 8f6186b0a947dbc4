"""The validator: structure, parameters, topology and shape inference, as one pass over a graph.

``analyze`` turns a parsed :class:`~codegen.schema.Graph` into an :class:`Analysis`: every node's
checked parameters and inferred output type, a forward order, parameter counts, an activation
memory estimate and the list of diagnostics. Rendering and the reference interpreter read the
analysis; nothing downstream re-checks the graph.
"""

from __future__ import annotations

import ast
import difflib
import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from . import nodes as _nodes  # noqa: F401  (registers the node types)
from .diagnostics import ERROR, WARNING, Diagnostic, ShapeError
from .dims import ExpressionTooLong, Sym, parse_sym
from .hierarchy import path_problems
from .ir import Call, Evaluator
from .naming import sanitize
from .params import Bool, Choice, Float, Int, Param, ParamError
from .recipe import Init, RecipeError, Training, check_init, check_training
from .schema import CompositeDef, Edge, Graph, GraphBody, Limits, Node
from .spec import ALIASES, NODE_SPECS, EmitCtx, InferCtx, NodeSpec, lookup
from .tensor import SEQUENCE, UNKNOWN, TensorType

try:  # the built-in composite blocks register themselves on import
    from . import blocks as _blocks  # noqa: F401
except ImportError:  # pragma: no cover - during bootstrap only
    _blocks = None

BYTES_PER_VALUE = 4  # fp32 activations
# Registry categories whose nodes measure the model (one number per batch) and the stage they belong to.
STAGE_OF_CATEGORY = {"loss": "loss", "metric": "metrics"}


_NOT_EMITTED = object()  # NodeInfo.init before node_init() ran (None means "no module")


@dataclass
class NodeInfo:
    """What the analysis learned about one node."""

    node: Node
    index: int
    spec: NodeSpec | None = None
    composite: CompositeDef | None = None
    params: dict[str, Any] = field(default_factory=dict)
    inputs: list[Edge] = field(default_factory=list)  # incoming edges in argument order
    out: TensorType | tuple[TensorType, ...] | None = None  # None: not inferred (an error upstream)
    param_count: int | None = None
    inner: Analysis | None = None  # a user composite instance, expanded with its concrete params
    live: bool = True  # contributes to an output
    valid: bool = True  # type and params are usable
    init: Any = field(default=_NOT_EMITTED, repr=False, compare=False)  # the constructor, once node_init() ran
    weight_init: Init | None = None  # the node's checked ``init`` (codegen.recipe)

    @property
    def id(self) -> str:
        return self.node.id

    @property
    def is_input(self) -> bool:
        return self.spec is not None and self.spec.type == "Input"

    @property
    def type_name(self) -> str:
        if self.spec is not None:
            return self.spec.type
        return self.composite.name if self.composite is not None else self.node.type

    @property
    def is_target(self) -> bool:
        return self.spec is not None and self.spec.type == "Target"

    @property
    def stage(self) -> str | None:
        """``model``, ``loss`` or ``metrics`` (see codegen/recipe.py); None for a Target, which feeds the last two."""
        if self.is_target:
            return None
        if self.node.stage is not None:
            return self.node.stage
        return STAGE_OF_CATEGORY.get(self.spec.category if self.spec is not None else "", "model")

    @property
    def measures(self) -> bool:
        """A loss or metric node: one number for the batch, feeding nothing."""
        return self.spec is not None and self.spec.category in STAGE_OF_CATEGORY

    @property
    def num_outputs(self) -> int:
        return len(self.out) if isinstance(self.out, tuple) else 1

    def output(self, index: int | None) -> TensorType | None:
        if isinstance(self.out, tuple):
            return self.out[index] if index is not None and index < len(self.out) else None
        return self.out


@dataclass
class Analysis:
    body: GraphBody
    info: dict[str, NodeInfo]
    order: list[str]  # live nodes in forward order (inputs first)
    inputs: list[str]
    outputs: list[str]  # the nodes the model returns values of
    diagnostics: list[Diagnostic]
    params_total: int | None = None
    params_frozen: int = 0  # of params_total, those of nodes with ``trainable: false``
    memory_bytes: int | None = None
    expanded_nodes: int = 0  # layers once every block is expanded (Inputs excluded)
    composites: dict[str, CompositeDef] = field(default_factory=dict)
    # What forward() returns, in order: (node, output index; None for a single-output node).
    output_refs: list[tuple[str, int | None]] = field(default_factory=list)
    output_names: list[str] | None = None  # forward() returns a dict with these keys
    stages: dict[str, list[str]] = field(default_factory=dict)  # "loss"/"metrics" -> their nodes, in order
    targets: list[str] = field(default_factory=list)  # Target nodes the stages read, in document order
    training: Training = field(default_factory=Training)  # the document's optimizer and scheduler

    def __post_init__(self) -> None:
        if not self.output_refs:
            self.output_refs = [(name, None) for name in self.outputs]

    def measured(self, stage: str) -> list[str]:
        """The loss (``stage="loss"``) or metric nodes of a stage, in order: what it reports."""
        return [n for n in self.stages.get(stage, []) if self.info[n].measures]

    @property
    def output_labels(self) -> list[str]:
        """Each output as forward() names it: its name (named outputs) or its reference (``fc``, ``split:1``)."""
        return self.output_names or [ref_text(node, port) for node, port in self.output_refs]

    @property
    def ok(self) -> bool:
        return not any(d.severity == ERROR for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    def edge_type(self, edge: Edge) -> TensorType | None:
        source = self.info.get(edge.source)
        return source.output(edge.output) if source is not None else None

    def input_types(self, node_id: str) -> list[TensorType | None]:
        return [self.edge_type(e) for e in self.info[node_id].inputs]


@dataclass
class Scope:
    """What a body is analysed against: the model, or a composite's inside."""

    composites: dict[str, CompositeDef]
    limits: Limits
    input_types: dict[str, TensorType] = field(default_factory=dict)  # overrides for Input nodes
    symbols: frozenset[str] | None = None  # composite class body: "$name" params become Sym
    substitutions: dict[str, Any] | None = None  # composite instance: "$name" params become values
    stack: tuple[str, ...] = ()  # composite names being expanded (recursion guard)
    # Block instances with the same definition, input type and values share one expansion, so nested
    # blocks cost one analysis per distinct use instead of fan-out ** depth.
    expansions: dict[tuple[Any, ...], Analysis] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------


def ref_text(node: str, port: int | None) -> str:
    """How a document writes one output of a node: ``fc``, or ``split:1`` for a multi-output node's."""
    return node if port is None else f"{node}:{port}"


def all_type_names(composites: dict[str, CompositeDef]) -> list[str]:
    """Type names, canonical ones first so that a suggestion never prefers an alias."""
    return [*sorted({*NODE_SPECS, *composites}), *sorted(set(ALIASES) - set(NODE_SPECS))]


def _shown(text: str, limit: int = 60) -> str:
    """``repr`` of user text, shortened: messages must stay readable whatever was sent."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def did_you_mean(word: str, candidates: list[str]) -> str | None:
    lowered: dict[str, str] = {}
    for candidate in candidates:
        lowered.setdefault(candidate.lower(), candidate)
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def composite_params(definition: CompositeDef) -> tuple[Param, ...]:
    """Turn a composite's parameter declarations into :class:`Param` objects.

    An int whose default refers to other parameters or input sizes (``"$in_channels"``) defaults to
    ``None``, as in the rendered signature; :func:`default_order` says how it is computed.
    """
    params: list[Param] = []
    references = reference_defaults(definition)
    for decl in definition.params:
        kind = decl.get("type", "int")
        common = {"name": decl["name"], "doc": decl.get("doc", "") if isinstance(decl.get("doc"), str) else ""}
        if "default" in decl:
            common["default"] = decl["default"]
        bounds = {
            k: decl[k]
            for k in ("min", "max")
            if isinstance(decl.get(k), (int, float)) and not isinstance(decl.get(k), bool)
        }
        if kind == "float":
            params.append(Float(**common, **bounds))
        elif kind == "bool":
            params.append(Bool(**common))
        elif kind == "choice":
            choices = tuple(c for c in decl.get("choices", []) if isinstance(c, str))
            params.append(Choice(**common, choices=choices))
        elif decl["name"] in references:
            params.append(Int(**{**common, "default": None}, **bounds, optional=True))
        else:
            params.append(Int(**common, **bounds))
    return tuple(params)


def size_name(index: int, port: str, features: bool) -> str:
    """The constructor argument for a block input's size: ``in_channels`` for the first, ``skip_channels``
    for a port ``skip``; ``*_features`` where the input is a vector or a sequence."""
    kind = "features" if features else "channels"
    return f"in_{kind}" if index == 0 else f"{sanitize(port, 'port')}_{kind}"


def reads_features(t: TensorType | None) -> bool:
    """Whether a block input's size is its features (vectors, sequences) rather than its channels."""
    return t is not None and (t.rank == 2 or t.layout == SEQUENCE)


def size_names(definition: CompositeDef) -> dict[str, int]:
    """Every name a parameter default may use for an input's size, with the input's position."""
    return {
        size_name(index, port, features): index
        for index, port in enumerate(definition.body.inputs)
        for features in (False, True)
    }


def reference_defaults(definition: CompositeDef) -> dict[str, str]:
    """Int parameters whose default is an expression of other parameters or input sizes."""
    return {
        decl["name"]: decl["default"]
        for decl in definition.params
        if isinstance(decl.get("name"), str)
        and decl.get("type", "int") == "int"
        and isinstance(decl.get("default"), str)
        and decl["default"].startswith("$")
    }


@dataclass(frozen=True)
class DefaultRule:
    """``name = expr`` when the parameter is not given; ``uses`` are the names ``expr`` reads."""

    name: str
    text: str
    expr: Sym | int
    uses: frozenset[str]


def default_order(definition: CompositeDef) -> tuple[list[DefaultRule], list[str]]:
    """The reference defaults in an order where each follows those it reads, or why there is none."""
    params = sorted(n for n in {p.get("name") for p in definition.params} if isinstance(n, str))
    positions = size_names(definition)
    sizes = sorted(positions, key=lambda n: (positions[n], n))
    known = frozenset(params) | frozenset(sizes)
    rules: dict[str, DefaultRule] = {}
    problems: list[str] = []
    for name, text in reference_defaults(definition).items():
        try:
            expr = parse_sym(text, known)
        except ValueError as exc:
            unknown = [] if isinstance(exc, ExpressionTooLong) else sorted(_names_in(text) - known)
            problems.append(
                f"the default of `{name}` reads `{unknown[0]}`, which is neither a parameter ({', '.join(params)}) "
                f"nor an input size ({', '.join(sizes)})"
                if unknown
                else f"the default of `{name}`: {exc}"
            )
            continue
        rules[name] = DefaultRule(name, text, expr, _names_in(text))
    order: list[DefaultRule] = []
    state: dict[str, str] = {}  # "visiting" or "done"

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = path[path.index(name) :] + [name]
            if len(cycle) == 2:
                problems.append(f"the default of `{name}` refers to itself; give it a number")
            else:
                shown = " → ".join(cycle)
                problems.append(f"the defaults of {shown} refer to each other; give one of them a number")
            return
        state[name] = "visiting"
        for used in sorted(rules[name].uses & set(rules)):
            visit(used, [*path, name])
        state[name] = "done"
        order.append(rules[name])

    for name in rules:
        visit(name, [])
    return order, problems


def _names_in(text: str) -> frozenset[str]:
    """The names a parameter expression of checked length reads (``"$a // $b"``: a and b)."""
    try:
        tree = ast.parse(text.strip().replace("$", ""), mode="eval")
    except SyntaxError:
        return frozenset()
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))


def _evaluate(expr: Sym | int, values: dict[str, Any]) -> Any:
    """The value of a checked parameter expression (``+ - * //`` over ``values``, ints or symbols)."""
    if isinstance(expr, int):
        return expr
    return eval(compile(expr.text, "<param>", "eval"), {"__builtins__": {}}, dict(values))  # noqa: S307


class _BodyAnalyzer:
    def __init__(self, body: GraphBody, scope: Scope):
        self.body = body
        self.scope = scope
        self.diagnostics: list[Diagnostic] = []
        self.info: dict[str, NodeInfo] = {}

    # -- reporting -------------------------------------------------------------------------
    def report(
        self,
        code: str,
        message: str,
        severity: str = ERROR,
        node: str | None = None,
        edge: tuple[str, str] | None = None,
        path: str | None = None,
        suggestion: dict[str, Any] | None = None,
    ) -> None:
        if path and self.body.path:
            path = f"{self.body.path}.{path}"
        self.diagnostics.append(Diagnostic(code, message, severity, node, edge, path, suggestion))

    # -- passes ----------------------------------------------------------------------------
    def run(self) -> Analysis:
        self.resolve_nodes()
        self.check_paths()
        self.resolve_edges()
        inputs, outputs = self.resolve_interface()
        self.check_stages()
        order = self.topological_order()
        measures = [i.id for i in self.info.values() if i.measures and i.valid]
        self.mark_live(outputs, measures)
        if order is not None:
            for node_id in order:
                self.infer_node(self.info[node_id])
        self.check_output_ports()
        live = [n for n in (order or []) if self.info[n].live]
        forward = [n for n in live if self.info[n].stage == "model"]
        analysis = Analysis(
            self.body,
            self.info,
            forward,
            inputs,
            outputs,
            self.diagnostics,
            composites=self.scope.composites,
            output_refs=list(self.output_refs),
            output_names=self.body.output_names,
            stages={s: [n for n in live if self.info[n].stage == s] for s in ("loss", "metrics")},
            targets=[i.id for i in self.info.values() if i.is_target and i.live],
        )
        self.check_unused_paths(analysis)
        self.count(analysis)
        self.check_training_fields(analysis)
        self.check_stage_parameters(analysis)
        return analysis

    def check_stage_parameters(self, analysis: Analysis) -> None:
        """A node moved to the loss or metrics stage computes on the outputs; no optimizer trains it there."""
        for stage, nodes in analysis.stages.items():
            for node_id in nodes:
                info = self.info[node_id]
                if info.measures or info.out is None or not info.valid:
                    continue
                count = info.inner.params_total if info.inner is not None else node_param_count(analysis, info)
                if count:
                    self.report(
                        "STAGE",
                        f"`{node_id}` has {count:,} parameters, and nothing trains a node of the {stage} stage: "
                        "keep it in the model",
                        node=node_id,
                        path=f"nodes[{info.index}].stage",
                        suggestion={"action": "set_stage", "node": node_id, "stage": "model"},
                    )

    def check_training_fields(self, analysis: Analysis) -> None:
        """Each node's ``trainable`` and ``init``: model layers only, set on the model's nodes (a block's
        instance, not the layers inside its definition)."""
        for info in self.info.values():
            node = info.node
            if node.init is None and node.trainable:
                continue
            what = "`init`" if node.init is not None else "`trainable`"
            if self.body.path:
                self.report(
                    "RECIPE",
                    f"`{info.id}` sets {what} inside a block; set it on the block's instance in the model",
                    node=info.id,
                    path=f"nodes[{info.index}]",
                )
                continue
            if info.stage != "model" or info.is_input or info.is_target:
                self.report("RECIPE", f"`{info.id}` sets {what}, but only the model's layers train", node=info.id)
                continue
            if node.init is not None and info.spec is not None:
                try:
                    info.weight_init = check_init(node.init, info.spec.type, f"nodes[{info.index}].init")
                except RecipeError as exc:
                    self.report("RECIPE", str(exc), node=info.id, path=exc.path)
            if not node.trainable and info.live and info.composite is None and node_init(analysis, info) is None:
                self.report(
                    "RECIPE",
                    f"`{info.id}` is frozen (trainable: false) but is a function in forward: nothing to freeze",
                    WARNING,
                    node=info.id,
                    path=f"nodes[{info.index}].trainable",
                )

    def output_label(self, index: int) -> str:
        names = self.body.output_names
        return f"outputs.{names[index]}" if names else f"outputs[{index}]"

    def check_output_ports(self) -> None:
        """An output of a multi-output node names its port (``split:1``); a single-output node takes none."""
        for index, (name, port) in enumerate(self.output_refs):
            out = self.info[name].out
            where = self.output_label(index)
            count = len(out) if isinstance(out, tuple) else 1
            if isinstance(out, tuple) and port is None:  # forward() returns one tensor per listed output
                self.report(
                    "BAD_PORT",
                    f"{where} names `{name}`, which has {count} outputs; "
                    f"name one of them: `{name}:0` … `{name}:{count - 1}`",
                    node=name,
                    path=where,
                )
            elif port is not None and out is not None and port >= count:
                self.report(
                    "BAD_PORT",
                    f"{where} names output {port} of `{name}`, which has {count} output{'s' if count != 1 else ''}",
                    node=name,
                    path=where,
                )

    def check_stages(self) -> None:
        """Targets, losses and metrics sit outside the model: the model never reads them, and they read the
        model only through its outputs (so that training and inference run the same module)."""
        model_outputs = {(name, port or 0) for name, port in self.output_refs}
        for info in self.info.values():
            if self.body.path and (info.is_target or info.measures or info.node.stage is not None):
                what = "a stage" if info.node.stage is not None else f"a {info.type_name}"
                self.report(
                    "STAGE",
                    f"`{info.id}` has {what}: targets, losses and metrics belong to the model's graph, not to a block",
                    node=info.id,
                )
                info.valid = False
                continue
            if not info.valid:
                continue
            stage = info.stage
            if info.measures and stage != STAGE_OF_CATEGORY[info.spec.category]:  # type: ignore[union-attr]
                self.report(
                    "STAGE",
                    f"{info.type_name} `{info.id}` belongs to the {STAGE_OF_CATEGORY[info.spec.category]} stage, "  # type: ignore[union-attr]
                    f"not {stage}",
                    node=info.id,
                    path=f"nodes[{info.index}].stage",
                )
                info.valid = False
            for edge in info.inputs:
                source = self.info.get(edge.source)
                if source is None:
                    continue
                problem = self.stage_problem(info, source, edge, model_outputs)
                if problem is not None:
                    message, suggestion = problem
                    self.report("STAGE", message, node=info.id, edge=edge.pair, suggestion=suggestion)
                    info.valid = False

    def stage_problem(
        self, info: NodeInfo, source: NodeInfo, edge: Edge, model_outputs: set[tuple[str, int]]
    ) -> tuple[str, dict[str, Any] | None] | None:
        """Why ``info`` may not read ``source`` across stages (with a fix), or None."""
        if source.measures:
            return f"`{source.id}` is a {source.type_name}: losses and metrics feed nothing", {
                "action": "remove_edge",
                "edge": [edge.source, edge.target],
            }
        if info.stage == "model" and (source.is_target or source.stage != "model"):
            what = "a Target" if source.is_target else f"in the {source.stage} stage"
            return (
                f"`{info.id}` is in the model but reads `{source.id}`, {what}: "
                "the model runs without targets, losses and metrics",
                None,
            )
        if info.stage != "model" and source.stage == "model" and (source.id, edge.output or 0) not in model_outputs:
            ref = ref_text(source.id, edge.output)
            outputs = [ref_text(n, p) for n, p in self.output_refs]
            return (
                f"`{info.id}` ({info.stage}) reads `{ref}`, which is not an output of the model: "
                "losses and metrics read the model's outputs, so add it to them",
                {"action": "set_outputs", "outputs": [*outputs, ref]},
            )
        return None

    def resolve_nodes(self) -> None:
        composites = self.scope.composites
        for index, node in enumerate(self.body.nodes):
            if node.id in self.info:
                self.report(
                    "DUPLICATE_ID", f"two nodes have the id `{node.id}`", node=node.id, path=f"nodes[{index}].id"
                )
                continue
            info = NodeInfo(node, index)
            self.info[node.id] = info
            spec = NODE_SPECS.get(node.type) or NODE_SPECS.get(ALIASES.get(node.type, ""))
            if spec is not None:
                info.spec = spec
                declared = spec.params
            elif node.type in composites:
                info.composite = composites[node.type]
                declared = composite_params(info.composite)
            else:
                guess = did_you_mean(node.type, all_type_names(composites))
                hint = f"; did you mean `{guess}`?" if guess else ""
                self.report(
                    "UNKNOWN_TYPE",
                    f"unknown node type {_shown(node.type)}{hint}",
                    node=node.id,
                    path=f"nodes[{index}].type",
                    suggestion={"action": "set_type", "node": node.id, "type": guess} if guess else None,
                )
                info.valid = False
                continue
            info.params = self.resolve_params(info, declared)

    def check_paths(self) -> None:
        is_input = {n: info.is_input for n, info in self.info.items()}
        for node, message in path_problems([info.node for info in self.info.values()], is_input):
            index = self.info[node.id].index
            self.report("PATH", message, node=node.id, path=f"nodes[{index}].path")

    def check_unused_paths(self, analysis: Analysis) -> None:
        """A path on a node that renders as a function in ``forward`` (Add, Flatten, …) places nothing."""
        for node_id in analysis.order:
            info = self.info[node_id]
            if info.node.path is None or info.spec is None or info.is_input or info.node.disabled or not info.valid:
                continue
            if node_init(analysis, info) is None:
                self.report(
                    "PATH",
                    f"{info.spec.type} is a function in forward, with no module or learned tensor of its own, so "
                    f"its module path `{info.node.path}` places nothing; clear it",
                    WARNING,
                    node=node_id,
                    path=f"nodes[{info.index}].path",
                )

    def resolve_params(self, info: NodeInfo, declared: tuple[Param, ...]) -> dict[str, Any]:
        node = info.node
        names = [p.name for p in declared]
        raw = dict(node.params)
        if info.is_input and node.id in self.scope.input_types:
            raw.pop("shape", None)
        for key in raw:
            if key not in names:
                guess = did_you_mean(key, names)
                hint = (
                    f"; did you mean `{guess}`?"
                    if guess
                    else f" ({info.type_name} takes: {', '.join(names) or 'no parameters'})"
                )
                self.report(
                    "UNKNOWN_PARAM",
                    f"{info.type_name} has no parameter {_shown(key)}{hint}",
                    node=node.id,
                    path=f"nodes[{info.index}].params.{key}",
                    suggestion={"action": "rename_param", "node": node.id, "param": key, "to": guess}
                    if guess
                    else None,
                )
                info.valid = False
        params: dict[str, Any] = {}
        for param in declared:
            path = f"nodes[{info.index}].params.{param.name}"
            if param.name not in raw:
                if param.required:
                    doc = f" ({param.doc.rstrip('.')})" if param.doc else ""
                    self.report(
                        "MISSING_PARAM",
                        f"{info.type_name} needs `{param.name}`{doc}",
                        node=node.id,
                        path=path,
                    )
                    info.valid = False
                    continue
                params[param.name] = param.default
                continue
            value = raw[param.name]
            if self.scope.substitutions is not None and isinstance(value, str) and value.startswith("$"):
                value = self.substitute(value, info, path)
                if value is _INVALID:
                    continue
            try:
                params[param.name] = param.coerce(value, self.scope.symbols)
            except ParamError as exc:
                full = f"{self.body.path}.{path}" if self.body.path else path
                self.report(exc.code, f"{full}: {exc}", node=node.id, path=path)
                info.valid = False
        return params

    def substitute(self, text: str, info: NodeInfo, path: str) -> Any:
        """Replace ``"$name"`` (or ``"$a // $b"``) by the composite instance's concrete value."""
        values = self.scope.substitutions or {}
        try:
            expr = parse_sym(text, frozenset(values))
        except ValueError as exc:
            code = exc.code if isinstance(exc, ExpressionTooLong) else "COMPOSITE"
            self.report(code, str(exc), node=info.id, path=path)
            info.valid = False
            return _INVALID
        try:
            return _evaluate(expr, values)
        except Exception as exc:  # a checked expression of + - * // over declared values only
            self.report("COMPOSITE", f"{text!r} cannot be evaluated: {exc}", node=info.id, path=path)
            info.valid = False
            return _INVALID

    def resolve_edges(self) -> None:
        seen: set[tuple[str, int | None, str, str | None]] = set()
        for index, edge in enumerate(self.body.edges):
            path = f"edges[{index}]"
            missing = [n for n in (edge.source, edge.target) if n not in self.info]
            if missing and self.named_output(edge, path):
                continue
            if missing:
                self.report(
                    "DANGLING_EDGE",
                    f"edge {edge.source} → {edge.target} names unknown node `{missing[0]}`",
                    edge=edge.pair,
                    path=path,
                    suggestion={"action": "remove_edge", "edge": [edge.source, edge.target]},
                )
                continue
            if edge.source == edge.target:
                self.report(
                    "SELF_LOOP",
                    f"edge connects `{edge.source}` to itself",
                    node=edge.source,
                    edge=edge.pair,
                    path=path,
                    suggestion={"action": "remove_edge", "edge": [edge.source, edge.target]},
                )
                continue
            key = (edge.source, edge.output, edge.target, edge.port)
            if key in seen:
                self.report(
                    "DUPLICATE_EDGE",
                    f"edge {edge.source} → {edge.target} appears twice",
                    WARNING,
                    node=edge.target,
                    edge=edge.pair,
                    path=path,
                )
            seen.add(key)
            self.info[edge.target].inputs.append(edge)
        for info in self.info.values():
            self.order_ports(info)

    def named_output(self, edge: Edge, path: str) -> bool:
        """Report an edge from ``"up:skip"`` (a block's output by name) with the position to use instead."""
        head, _, tail = edge.source.rpartition(":")
        block = self.info[head].composite if head in self.info and edge.target in self.info else None
        if block is None or tail not in block.body.outputs:
            return False
        position = block.body.outputs.index(tail)
        self.report(
            "BAD_PORT",
            f"outputs of block {block.name} are read by position: connect from `{head}:{position}` "
            f"for its output `{tail}`",
            node=edge.target,
            edge=edge.pair,
            path=path,
        )
        return True

    def order_ports(self, info: NodeInfo) -> None:
        """Put incoming edges in argument order: named ports first by position, then edge order."""
        spec = info.spec
        if spec is not None:
            ports = list(spec.ports)
        elif info.composite is not None:
            ports = list(info.composite.body.inputs)
        else:
            return
        if not info.inputs:
            return
        if spec is not None and spec.variadic:
            for edge in info.inputs:
                if edge.port is not None and not edge.port.isdigit():
                    self.report(
                        "BAD_PORT",
                        f"{spec.type} inputs are ordered by edge order or a number, not {edge.port!r}",
                        node=info.id,
                        edge=edge.pair,
                    )
            info.inputs.sort(key=lambda e: int(e.port) if e.port is not None and e.port.isdigit() else 1_000_000)
            return
        named = [e for e in info.inputs if e.port is not None]
        what = f"block {info.type_name}" if spec is None else info.type_name
        for edge in named:
            if edge.port not in ports:
                guess = did_you_mean(edge.port, ports) if spec is None else None
                hint = f"did you mean `{guess}`? " if guess else ""
                self.report(
                    "BAD_PORT",
                    f"{what} has no input port {edge.port!r} ({hint}ports: {', '.join(ports)})",
                    node=info.id,
                    edge=edge.pair,
                )
                info.valid = False
        twice = sorted({e.port for e in named if sum(e.port == other.port for other in named) > 1})
        if twice:
            shown = "the same port" if spec is not None else f"port `{twice[0]}`"
            self.report("BAD_PORT", f"two edges feed {shown}", node=info.id)
            info.valid = False
        if not info.valid:
            return
        slots: list[Edge | None] = [None] * len(ports)
        for edge in named:
            slots[ports.index(edge.port)] = edge
        rest = iter(e for e in info.inputs if e.port is None)
        info.inputs = [slot if slot is not None else next(rest, None) for slot in slots]  # type: ignore[misc]
        info.inputs = [e for e in info.inputs if e is not None] + list(rest)

    def resolve_interface(self) -> tuple[list[str], list[str]]:
        body = self.body
        inputs: list[str] = []
        for index, name in enumerate(body.inputs):
            info = self.info.get(name)
            if info is None or (info.spec is not None and info.spec.type != "Input") or info.composite is not None:
                what = "no such node" if info is None else f"`{name}` is a {info.type_name}, not an Input"
                self.report(
                    "UNKNOWN_INPUT",
                    f"inputs[{index}] names `{name}`: {what}",
                    node=name if info else None,
                    path=f"inputs[{index}]",
                )
            elif name not in inputs:
                inputs.append(name)
        for info in self.info.values():
            if info.is_input:
                if info.inputs:
                    self.report("INPUT_HAS_EDGES", f"Input `{info.id}` cannot have incoming edges", node=info.id)
                    info.valid = False
                if info.id not in inputs:
                    self.report(
                        "UNDECLARED_INPUT",
                        f"Input `{info.id}` is not listed in `inputs`; it is used as one",
                        WARNING,
                        node=info.id,
                        suggestion={"action": "add_input", "node": info.id},
                    )
                    inputs.append(info.id)
        if not inputs:
            self.report("NO_INPUTS", "the graph has no Input node", suggestion={"action": "add_node", "type": "Input"})
        outputs: list[str] = []
        self.output_refs: list[tuple[str, int | None]] = []
        for index, name in enumerate(body.outputs):
            ref = self.output_ref(name)
            if ref is None:
                where = self.output_label(index)
                self.report("UNKNOWN_OUTPUT", f"{where} names `{name}`, which is not a node", path=where)
                continue
            info = self.info[ref[0]]
            if info.measures or info.is_target:
                where = self.output_label(index)
                self.report(
                    "STAGE",
                    f"{where} names `{name}`, a {info.type_name}: the model returns its own values; "
                    "runs report losses and metrics",
                    node=info.id,
                    path=where,
                )
                continue
            if ref not in self.output_refs or body.output_names:  # a named output may repeat a value
                self.output_refs.append(ref)
            if ref[0] not in outputs:
                outputs.append(ref[0])
        if not outputs and self.info:
            sinks = [i.id for i in self.info.values() if not any(e.source == i.id for e in body.edges) and i.inputs]
            self.report(
                "NO_OUTPUTS",
                "the graph declares no outputs",
                suggestion={"action": "set_outputs", "outputs": sinks} if sinks else None,
            )
        connected = {end for edge in body.edges for end in (edge.source, edge.target)}
        for info in self.info.values():
            if info.spec is None or info.spec.type == "Input":
                continue
            if info.id not in connected and len(self.info) > 1:
                info.valid = False  # UNCONNECTED (a warning) says it all; the node is left out
                continue
            low, high = info.spec.arity
            count = len(info.inputs)
            if count < low or (high is not None and count > high):
                if high is None:
                    need = f"at least {low} inputs"
                elif low == high:
                    need = f"exactly {low} input{'s' if low != 1 else ''}"
                else:
                    need = f"{low} to {high} inputs"
                self.report("ARITY", f"{info.type_name} needs {need}, has {count}", node=info.id)
                info.valid = False
        for info in self.info.values():
            if info.composite is not None and info.id not in connected and len(self.info) > 1:
                info.valid = False
            elif info.composite is not None and info.valid and len(info.inputs) != len(info.composite.body.inputs):
                self.report("ARITY", self.block_arity(info), node=info.id)
                info.valid = False
        return inputs, outputs

    def output_ref(self, name: str) -> tuple[str, int | None] | None:
        """``fc`` → (``fc``, None); ``split:1`` → (``split``, 1); None when no node has that name."""
        if name in self.info:
            return (name, None)
        head, _, tail = name.rpartition(":")
        if head in self.info and tail.isdigit() and len(tail) <= 3:
            return (head, int(tail))
        return None

    def block_arity(self, info: NodeInfo) -> str:
        """What a block instance with too few or too many inputs needs, naming the ports."""
        assert info.composite is not None
        ports = info.composite.body.inputs
        count = len(info.inputs)
        need = f"block {info.type_name} takes {len(ports)} input{'s' if len(ports) != 1 else ''} "
        need += f"({', '.join(ports)}), has {count}"
        if count > len(ports):
            return f"{need}: remove {count - len(ports)} of its edges"
        named = {e.port for e in info.inputs}
        free = [p for p in ports if p not in named][count - len(named - {None}) :]
        return f"{need}: connect {', '.join(f'`{p}`' for p in free)}"

    def topological_order(self) -> list[str] | None:
        """Kahn's algorithm; ties broken by position in the document, so forward() reads as drawn."""
        indegree = {node_id: 0 for node_id in self.info}
        consumers: dict[str, list[str]] = {node_id: [] for node_id in self.info}
        for info in self.info.values():
            for edge in info.inputs:
                indegree[info.id] += 1
                consumers[edge.source].append(info.id)
        ready = [(info.index, info.id) for info in self.info.values() if indegree[info.id] == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _, node_id = heapq.heappop(ready)
            order.append(node_id)
            for consumer in consumers[node_id]:
                indegree[consumer] -= 1
                if indegree[consumer] == 0:
                    heapq.heappush(ready, (self.info[consumer].index, consumer))
        if len(order) == len(self.info):
            return order
        cycle = self.find_cycle({n for n, d in indegree.items() if d > 0})
        shown = " → ".join([*cycle, cycle[0]])
        self.report(
            "CYCLE",
            f"the graph has a cycle: {shown}",
            node=cycle[0],
            edge=(cycle[-1], cycle[0]),
            suggestion={"action": "remove_edge", "edge": [cycle[-1], cycle[0]]},
        )
        return None

    def find_cycle(self, remaining: set[str]) -> list[str]:
        """Walk backwards along edges inside the cyclic remainder until a node repeats."""
        start = min(remaining, key=lambda n: self.info[n].index)
        path: list[str] = []
        position: dict[str, int] = {}
        current = start
        while current not in position:
            position[current] = len(path)
            path.append(current)
            current = next(e.source for e in self.info[current].inputs if e.source in remaining)
        cycle = path[position[current] :]
        cycle.reverse()
        first = min(range(len(cycle)), key=lambda i: self.info[cycle[i]].index)
        return cycle[first:] + cycle[:first]

    def mark_live(self, outputs: list[str], measures: Sequence[str] = ()) -> None:
        """Nodes that lead to an output, or to a loss or metric, are live (the stages read the outputs)."""
        live: set[str] = set()
        stack = [*outputs, *measures]
        while stack:
            node_id = stack.pop()
            if node_id in live or node_id not in self.info:
                continue
            live.add(node_id)
            stack.extend(e.source for e in self.info[node_id].inputs)
        edges_of = {n: 0 for n in self.info}
        for edge in self.body.edges:
            for end in (edge.source, edge.target):
                if end in edges_of:
                    edges_of[end] += 1
        only_input = sum(info.is_input for info in self.info.values()) == 1
        for info in self.info.values():
            is_input = info.is_input
            info.live = info.id in live or is_input
            if info.measures and not info.valid:
                continue
            if edges_of[info.id] == 0 and len(self.info) > 1 and not (is_input and info.id in outputs):
                self.report(
                    "UNCONNECTED",
                    f"`{info.id}` is not connected to anything",
                    WARNING,
                    node=info.id,
                    # Removing the only Input leaves a model without one: the fix is an edge from it.
                    suggestion=None if is_input and only_input else {"action": "remove_node", "node": info.id},
                )
            elif info.id not in live and outputs:
                what = (
                    "Input is not used by any output"
                    if is_input
                    else "does not lead to any output; it is left out of the code"
                )
                self.report(
                    "DEAD_NODE",
                    f"`{info.id}` {what}",
                    WARNING,
                    node=info.id,
                    suggestion=self.dead_input_fix(info.id, outputs, live, only_input)
                    if is_input
                    else self.dead_node_fix(info.id, outputs),
                )

    def dead_input_fix(self, input_id: str, outputs: list[str], live: set[str], only_input: bool) -> dict | None:
        """For an Input no output reads: make the ends of what it feeds outputs, never remove a used Input.

        The outputs kept are those some live Input reaches; the tails added are the nodes downstream of this
        Input that feed nothing. An Input that feeds nothing and is not the only one may simply go.
        """
        targets = self.edge_targets()
        tails = self.tails(targets.get(input_id, []), targets)
        if not targets.get(input_id):
            return None if only_input else {"action": "remove_node", "node": input_id}
        fed = [n for n in live if self.info[n].is_input]
        kept = [o for o in outputs if any(o in self.tails([i], targets, every=True) for i in fed)]
        return {"action": "set_outputs", "outputs": kept + [t for t in tails if t not in kept]} if tails else None

    def dead_node_fix(self, node_id: str, outputs: list[str]) -> dict:
        """For a node no output reads: remove it, unless the only outputs are Inputs (a new graph's
        placeholder, ``outputs: ["input"]``) and an Input feeds it: then the chain just drawn is the model,
        and the fix is to make its ends the outputs."""
        if all(self.info[o].is_input for o in outputs if o in self.info):
            targets = self.edge_targets()
            inputs = [i.id for i in self.info.values() if i.is_input]
            if node_id in self.tails(inputs, targets, every=True):
                return {"action": "set_outputs", "outputs": self.tails([node_id], targets)}
        return {"action": "remove_node", "node": node_id}

    @cached_property
    def _targets(self) -> dict[str, list[str]]:
        targets: dict[str, list[str]] = {}
        for edge in self.body.edges:
            if edge.source in self.info and edge.target in self.info:
                targets.setdefault(edge.source, []).append(edge.target)
        return targets

    def edge_targets(self) -> dict[str, list[str]]:
        """Who each node feeds (read once the edges are resolved)."""
        return self._targets

    def tails(self, starts: list[str], targets: dict[str, list[str]], every: bool = False) -> list[str]:
        """The nodes reachable from ``starts`` (themselves included) that feed nothing, in document order;
        with ``every``, all the nodes reachable."""
        seen: set[str] = set()
        stack = list(starts)
        while stack:
            node_id = stack.pop()
            if node_id not in seen:
                seen.add(node_id)
                stack.extend(targets.get(node_id, []))
        found = seen if every else {n for n in seen if n not in targets}
        return sorted(found, key=lambda n: self.info[n].index)

    # -- shape inference -------------------------------------------------------------------
    def infer_node(self, info: NodeInfo) -> None:
        if not info.valid:
            return
        if info.is_input:
            override = self.scope.input_types.get(info.id)
            info.out = override if override is not None else self.call_rule(info, [])
            return
        for edge, source in zip(info.inputs, (self.info[e.source] for e in info.inputs)):
            if source.out is None:
                return  # an upstream problem was already reported
            count = source.num_outputs
            if count > 1 and edge.output is None:
                self.report(
                    "BAD_PORT",
                    f"`{source.id}` has {count} outputs: connect from `{source.id}:0` … `{source.id}:{count - 1}`",
                    node=info.id,
                    edge=edge.pair,
                )
                return
            if edge.output is not None and edge.output >= count:
                self.report(
                    "BAD_PORT",
                    f"`{source.id}` has no output {edge.output} (it has {count})",
                    node=info.id,
                    edge=edge.pair,
                )
                return
        types = [self.edge_type(edge) for edge in info.inputs]
        if info.node.disabled:
            info.out = types[0]
            if len(types) != 1:
                self.report(
                    "ARITY",
                    "a disabled node passes its first input through; the others are ignored",
                    WARNING,
                    node=info.id,
                )
            return
        if info.composite is not None:
            self.infer_composite(info, types)  # type: ignore[arg-type]
            return
        info.out = self.call_rule(info, types)  # type: ignore[arg-type]

    def edge_type(self, edge: Edge) -> TensorType | None:
        source = self.info.get(edge.source)
        if source is None or source.out is None:
            return None
        if isinstance(source.out, tuple):
            return source.out[edge.output] if edge.output is not None and edge.output < len(source.out) else None
        return source.out if edge.output in (None, 0) else None

    def call_rule(self, info: NodeInfo, types: list[TensorType]) -> TensorType | tuple[TensorType, ...] | None:
        assert info.spec is not None
        ctx = InferCtx(info.id, info.params, types, [e.source for e in info.inputs], limits=self.scope.limits)
        try:
            out = info.spec.infer(ctx)
        except ShapeError as exc:
            self.shape_report(info, exc, ERROR)
            out = None
        except (TypeError, ArithmeticError) as exc:
            if self.scope.symbols is None:
                raise
            # Inside a composite class body some rules cannot reason about symbolic sizes.
            self.report("NEEDS_SHAPE", f"size cannot be expressed from the block's parameters ({exc})", node=info.id)
            out = None
        for error in ctx.errors:
            self.shape_report(info, error, ERROR)
        for warning in ctx.warnings:
            self.shape_report(info, warning, WARNING)
        return out

    def shape_report(self, info: NodeInfo, exc: ShapeError, severity: str) -> None:
        edge = None
        if exc.edge_index is not None and exc.edge_index < len(info.inputs):
            edge = info.inputs[exc.edge_index].pair
        self.report(exc.code, exc.message, severity, node=info.id, edge=edge, suggestion=exc.suggestion)

    def infer_composite(self, info: NodeInfo, types: list[TensorType]) -> None:
        definition = info.composite
        assert definition is not None
        if definition.name in self.scope.stack:
            chain = " → ".join([*self.scope.stack, definition.name])
            self.report("COMPOSITE_RECURSION", f"block {definition.name} contains itself: {chain}", node=info.id)
            return
        if len(self.scope.stack) >= self.scope.limits.max_composite_depth:
            self.report(
                "LIMIT", f"blocks are nested deeper than {self.scope.limits.max_composite_depth} levels", node=info.id
            )
            return
        if not self.resolve_defaults(info, types):
            return
        # Inside a block class, values may be symbolic (``c * 2``): substituting them keeps the inner
        # block's sizes in terms of the outer class's parameters.
        inner = analyze_composite(definition, self.scope, tuple(types), info.params)
        info.inner = inner
        for diagnostic in inner.errors:
            where = f" at `{diagnostic.node}`" if diagnostic.node else ""
            self.report(diagnostic.code, f"inside block {definition.name}{where}: {diagnostic.message}", node=info.id)
        if inner.ok and inner.outputs:
            outs = tuple(inner.info[name].output(port) for name, port in inner.output_refs)
            info.out = outs[0] if len(outs) == 1 else outs  # type: ignore[assignment]

    def resolve_defaults(self, info: NodeInfo, types: list[TensorType]) -> bool:
        """Fill in the parameters this instance leaves to defaults that read other values or input sizes."""
        definition = info.composite
        assert definition is not None
        rules, problems = default_order(definition)
        if problems:
            return False  # reported once, with the block's definition
        sizes: dict[str, Any] = {}
        spelled: dict[str, str] = {}  # the other spelling of each size -> the one that fits the input
        for index, (port, t) in enumerate(zip(definition.body.inputs, types)):
            fits = reads_features(t)
            sizes[size_name(index, port, fits)] = t.features
            if t.dims is None:  # rank unknown: either spelling may be meant, and neither size is known
                sizes[size_name(index, port, not fits)] = None
            else:
                spelled[size_name(index, port, not fits)] = size_name(index, port, fits)
        for rule in rules:
            for used in sorted(rule.uses & set(spelled)):
                self.report(
                    "COMPOSITE",
                    f"block {definition.name}: the default of `{rule.name}` reads `{used}`, but that input's size "
                    f"is `{spelled[used]}` here; write `${spelled[used]}`",
                    node=info.id,
                )
                return False
        values = dict(info.params)
        for rule in rules:
            if values.get(rule.name) is not None:
                continue  # set on this instance
            unknown = sorted(n for n in rule.uses if n in sizes and sizes[n] is None)
            if unknown:
                port = definition.body.inputs[size_names(definition)[unknown[0]]]
                self.report(
                    "NEEDS_SHAPE",
                    f"`{rule.name}` of block {definition.name} defaults to {rule.text!r}, but the size of its "
                    f"input `{port}` is unknown here: set `{rule.name}`, or `shape` on the Input node",
                    node=info.id,
                )
                return False
            said = f"`{rule.name}` of block {definition.name} defaults to {rule.text!r}"
            try:
                value = _evaluate(rule.expr, {**values, **sizes})
            except ArithmeticError as exc:
                self.report(
                    "COMPOSITE", f"{said}, which cannot be computed here ({exc}); set `{rule.name}`", node=info.id
                )
                return False
            declared = next(p for p in composite_params(definition) if p.name == rule.name)
            try:
                values[rule.name] = declared.coerce(value)
            except ParamError as exc:
                self.report(exc.code, f"{said}: {exc} here; set `{rule.name}`", node=info.id)
                return False
        info.params = values
        return True

    # -- counting --------------------------------------------------------------------------
    def count(self, analysis: Analysis) -> None:
        total: int | None = 0
        memory: int | None = 0
        for node_id in analysis.order:
            info = self.info[node_id]
            is_input = info.is_input
            analysis.expanded_nodes += info.inner.expanded_nodes if info.inner is not None else int(not is_input)
            if info.out is None:
                total = memory = None
                continue
            info.param_count = node_param_count(analysis, info)
            total = None if total is None or info.param_count is None else total + info.param_count
            if not info.node.trainable and info.param_count:
                analysis.params_frozen += info.param_count
            if memory is not None:
                memory = _add(memory, node_activation_bytes(info))
        analysis.params_total = total if analysis.order else None
        analysis.memory_bytes = memory if analysis.order else None
        limits = self.scope.limits
        if total is not None and total > limits.max_params:
            self.report("BUDGET", f"{total:,} parameters exceed the budget of {limits.max_params:,}")
        if memory is not None and memory > limits.max_memory_bytes:
            self.report(
                "BUDGET",
                f"about {size_text(memory)} of activations per sample exceed the budget of {size_text(limits.max_memory_bytes)}",
            )


def _add(total: int, more: int | None) -> int | None:
    return None if more is None else total + more


def output_bytes(info: NodeInfo) -> int | None:
    """fp32 bytes of one sample of a node's output(s); None while a size is unknown."""
    total: int | None = 0
    for out in info.out if isinstance(info.out, tuple) else (info.out,):
        numel = None if out is None else out.numel()
        total = None if total is None or numel is None else total + numel * BYTES_PER_VALUE
    return total


def node_activation_bytes(info: NodeInfo) -> int | None:
    """The forward activations a node keeps per sample: its outputs, and for a user block every value
    computed inside it (the block's own Inputs are its caller's values, counted there). A built-in block
    (``VGGBlock``, ``Bottleneck``, …) counts its outputs only: its internals are not analysed."""
    if info.inner is None:
        return output_bytes(info)
    inside = info.inner.memory_bytes
    for name in info.inner.inputs:
        given = output_bytes(info.inner.info[name])
        if inside is None or given is None:
            return None
        inside -= given
    return inside


_INVALID = object()


def size_text(count: int) -> str:
    """Bytes for people: ``1.5 GiB``, ``12.0 KiB``, ``900 bytes``."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count:,} bytes"


def node_param_count(analysis: Analysis, info: NodeInfo) -> int | None:
    """Learnable parameters of one node, counted on the meta device (no memory is allocated)."""
    if info.is_input or info.node.disabled:
        return 0
    if info.inner is not None:
        return info.inner.params_total
    if info.spec is None:
        return None
    init = node_init(analysis, info)
    return 0 if init is None else count_call_parameters(init)


def node_init(analysis: Analysis, info: NodeInfo) -> Call | None:
    """The constructor a node type's render rule gives it (None for a function in forward), emitted once.

    Both the parameter count and the check of unused module paths need it; inputs' types are final by then.
    """
    if info.init is _NOT_EMITTED:
        info.init = info.spec.emit(emit_context(analysis, info, "m", ["x"] * len(info.inputs))).init  # type: ignore[union-attr]
    return info.init


def emit_context(
    analysis: Analysis,
    info: NodeInfo,
    name: str,
    inputs: list[Any],
    outputs: tuple[str, ...] | None = None,
    new_temp=lambda hint: hint,
) -> EmitCtx:
    from .ir import Ref

    in_types = [t if t is not None else UNKNOWN for t in analysis.input_types(info.id)]
    outs = outputs if outputs is not None else tuple(f"out{i}" for i in range(info.num_outputs))
    return EmitCtx(
        name, info.params, in_types, info.out, [Ref(i) if isinstance(i, str) else i for i in inputs], outs, new_temp
    )


@lru_cache(maxsize=4096)
def count_call_parameters(init: Call) -> int | None:
    import torch

    from .interpreter import base_namespaces

    namespaces = base_namespaces()
    if isinstance(init.fn, str) and init.fn.split(".")[0] not in namespaces:
        return None  # a user's class (CustomModule): validation never imports it, so its size is unknown
    try:
        with torch.device("meta"):
            module = Evaluator(namespaces).eval(init)
    except TypeError:
        return None  # symbolic arguments: counted per instance instead
    # A learned-tensor node's constructor is the parameter itself, not a module holding some.
    params = [module] if isinstance(module, torch.nn.Parameter) else list(module.parameters())
    if any(isinstance(p, torch.nn.parameter.UninitializedParameter) for p in params):
        return None
    return sum(p.numel() for p in params)


def analyze_body(body: GraphBody, scope: Scope) -> Analysis:
    return _BodyAnalyzer(body, scope).run()


def analyze_composite(
    definition: CompositeDef, scope: Scope, input_types: tuple[TensorType, ...], values: dict[str, Any] | None
) -> Analysis:
    """Analyse a block's inside, one type per input port: with concrete ``values`` (an instance) or
    symbolically (its class)."""
    frozen = None if values is None else tuple(sorted((k, _hashable(v)) for k, v in values.items()))
    key = (definition.name, input_types, frozen, scope.stack)
    cached = scope.expansions.get(key)
    if cached is not None:
        return cached
    names = frozenset(p["name"] for p in definition.params if isinstance(p.get("name"), str))
    inner_scope = Scope(
        composites=scope.composites,
        limits=scope.limits,
        input_types=dict(zip(definition.body.inputs, input_types)),
        symbols=names if values is None else None,
        substitutions=values if values is not None else None,
        stack=(*scope.stack, definition.name),
        expansions=scope.expansions,
    )
    analysis = scope.expansions[key] = analyze_body(definition.body, inner_scope)
    return analysis


def _hashable(value: Any) -> Any:
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def analyze(graph: Graph, input_shapes: dict[str, list[int]] | None = None, limits: Limits | None = None) -> Analysis:
    """Validate ``graph`` and infer every tensor type; see :class:`Analysis`."""
    limits = limits or Limits()
    overrides: dict[str, TensorType] = {}
    extra: list[Diagnostic] = []
    for name, shape in (input_shapes or {}).items():
        node = graph.body.by_id.get(name)
        spec = NODE_SPECS["Input"]
        if node is None or lookup(node.type) is not spec:
            what = "which is not a node" if node is None else f"a {node.type}, not an Input"
            extra.append(Diagnostic("UNKNOWN_INPUT", f"input shape given for `{name}`, {what}"))
            continue
        try:
            params = {p.name: p.default for p in spec.params}
            params.update({k: v for k, v in node.params.items() if k in params})
            params["shape"] = spec.param("shape").coerce(list(shape))  # type: ignore[union-attr]
            for p in spec.params:
                params[p.name] = p.coerce(params[p.name]) if p.name != "shape" else params["shape"]
        except ParamError as exc:
            extra.append(Diagnostic(exc.code, f"input shape for `{name}`: {exc}", node=name))
            continue
        overrides[name] = spec.infer(InferCtx(name, params, []))  # type: ignore[arg-type]
    scope = Scope(graph.composites, limits, overrides)
    analysis = analyze_body(graph.body, scope)
    if analysis.expanded_nodes > limits.max_expanded_nodes:
        analysis.diagnostics.append(
            Diagnostic(
                "LIMIT",
                f"with every block expanded the model has {analysis.expanded_nodes:,} layers, "
                f"over the limit of {limits.max_expanded_nodes:,}",
            )
        )
    analysis.diagnostics[:0] = extra
    analysis.training, problems = check_training(graph.training)
    analysis.diagnostics.extend(problems)
    for definition in graph.composites.values():
        check_composite_definition(definition, analysis)
    return analysis


def check_composite_definition(definition: CompositeDef, analysis: Analysis) -> None:
    body = definition.body

    def problem(message: str) -> None:
        analysis.diagnostics.append(Diagnostic("COMPOSITE", message, path=body.path))

    if not body.inputs or not body.outputs:
        problem(
            f"block {definition.name} needs at least one input and one output (has {len(body.inputs)} and {len(body.outputs)}): "
            "list its Input nodes in `inputs` and the nodes it returns in `outputs`"
        )
    for key, listed in (("inputs", body.inputs), ("outputs", body.outputs)):
        for name in sorted({n for n in listed if listed.count(n) > 1}):
            problem(f"block {definition.name} lists `{name}` twice in `{key}`: each port appears once")
    for node in body.nodes:
        if lookup(node.type) is NODE_SPECS["Input"] and node.id not in body.inputs:
            problem(
                f"block {definition.name}: Input `{node.id}` is not one of its `inputs`; list it there (a port) or remove it"
            )
    # Only the node types a graph can place are taken; helper classes (MBConv's SqueezeExcitation)
    # clash only where generated code carries them, which the renderer checks.
    if definition.name in NODE_SPECS or definition.name in ALIASES:
        problem(f"block name {definition.name} is taken by a built-in type; rename it")
    names = [p.get("name") for p in definition.params]
    sizes = size_names(definition)
    for reserved in sorted(sizes, key=lambda n: (sizes[n], n)):
        if reserved in names:
            port = "" if sizes[reserved] == 0 else f" `{body.inputs[sizes[reserved]]}`"
            problem(
                f"block {definition.name}: `{reserved}` is passed automatically from the input{port}; do not declare it"
            )
    if len(set(names)) != len(names):
        problem(f"block {definition.name} declares a parameter twice")
    references = reference_defaults(definition)
    for param in composite_params(definition):
        if param.name in references:
            continue
        if not param.required:
            try:
                param.coerce(param.default)
            except ParamError as exc:
                hint = " (only int parameters may default to another)" if str(param.default).startswith("$") else ""
                problem(f"block {definition.name}: default of `{param.name}` {exc}{hint}")
    for message in default_order(definition)[1]:
        problem(f"block {definition.name}: {message}")
