"""Rendering an analysed graph as PyTorch source: ``model.py``, ``blocks.py``, ``train.py``, ``__init__.py``.

The output is deterministic (no timestamps, document order), formatted the way ``ruff format``
formats it at its default line length, and made only of sanitised identifiers and ``repr`` of
checked values; user text reaches it only JSON-escaped inside comments and docstrings.
"""

from __future__ import annotations

import inspect
import json
import textwrap
from dataclasses import dataclass, field
from typing import Any

from .analysis import Analysis, NodeInfo, Scope, analyze_composite, composite_params, emit_context
from .blocks import BLOCK_CLASSES
from .diagnostics import Diagnostic, GraphError
from .dims import Sym
from .ir import Assign, Call, Ref, SelfAttr, render_expr
from .naming import Namespace, class_name
from .params import Param
from .schema import CompositeDef, Graph, Limits
from .spec import NODE_SPECS
from .tensor import SEQUENCE, TensorType

ENGINE_VERSION = "0.1.0"
LINE_LENGTH = 88  # ruff's default: generated files land in projects without our configuration
INDENT = "    "


def safe_text(text: str, limit: int = 200) -> str:
    """User text as it may appear inside a comment or docstring: one line, JSON-escaped ASCII."""
    return json.dumps(text[:limit], ensure_ascii=True)[1:-1].replace("'''", "\\'\\'\\'")


def graph_hash(document: dict[str, Any]) -> str:
    """The content hash of a graph document (canonical JSON, sha256)."""
    import hashlib

    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# Line formatting


def wrap_call(indent: str, head: str, args: list[str], tail: str = "") -> list[str]:
    """``head(args)tail`` as one line, or split the way ruff format splits a call that is too long."""
    line = f"{indent}{head}({', '.join(args)}){tail}"
    if len(line) <= LINE_LENGTH:
        return [line]
    inner = indent + INDENT
    hugged = f"{inner}{', '.join(args)}"
    if len(hugged) <= LINE_LENGTH:
        return [f"{indent}{head}(", hugged, f"{indent}){tail}"]
    return [f"{indent}{head}(", *(f"{inner}{a}," for a in args), f"{indent}){tail}"]


def render_statement(indent: str, targets: str, value: Any, comment: str = "") -> list[str]:
    """``targets = value`` with an optional trailing comment that is dropped if it would not fit."""
    text = render_expr(value)
    line = f"{indent}{targets} = {text}"
    if comment and len(line) + 2 + len(comment) <= LINE_LENGTH:
        return [f"{line}  {comment}"]
    if len(line) <= LINE_LENGTH or not isinstance(value, Call):
        return [line]
    fn = value.fn if isinstance(value.fn, str) else render_expr(value.fn)
    args = [render_expr(a) for a in value.args] + [f"{k}={render_expr(v)}" for k, v in value.kwargs]
    return wrap_call(indent, f"{targets} = {fn}", args)


def shape_comment(t: Any) -> str:
    if not isinstance(t, TensorType) or t.dims is None:
        return ""
    sizes = ", ".join("?" if d is None else str(d) for d in t.dims)
    return f"# (B, {sizes})" if sizes else "# (B,)"


# ---------------------------------------------------------------------------------------------
# One nn.Module class from an analysis


@dataclass(frozen=True)
class CompositeClass:
    """How a user composite block's class is called: its name, params and whether it takes the input size."""

    name: str
    params: tuple[Param, ...]
    needs_input_size: bool


@dataclass
class ClassSource:
    lines: list[str]
    uses: set[str] = field(default_factory=set)  # block classes referenced
    needs_input_size: bool = False
    arg_names: dict[str, str] = field(default_factory=dict)  # Input node id -> forward() argument


@dataclass
class _Forward:
    """Variable names in forward(): the flowing ``x`` is reused along chains, as torchvision does."""

    analysis: Analysis
    names: Namespace
    attr: dict[str, str]
    var: dict[tuple[str, int], str] = field(default_factory=dict)

    def input_expr(self, info: NodeInfo, index: int) -> str:
        edge = info.inputs[index]
        return self.var[(edge.source, edge.output or 0)]


def attribute_names(analysis: Analysis, names: Namespace | None = None) -> dict[str, str]:
    """Submodule attribute per node (``self.<name>``): the ``state_dict`` keys, shared with the interpreter."""
    names = names or Namespace()
    return {
        node_id: names.name(("node", node_id), node_id)
        for node_id in analysis.order
        if not (analysis.info[node_id].spec is not None and analysis.info[node_id].spec.type == "Input")
    }


def render_class(
    name: str,
    analysis: Analysis,
    *,
    doc: list[str],
    init_params: list[str],
    composites: dict[str, CompositeClass],
    input_symbol: str | None = None,
) -> ClassSource:
    """Source lines of ``class <name>(nn.Module)`` for a body analysed concretely or symbolically."""
    names = Namespace()
    attr = attribute_names(analysis, names)
    source = ClassSource([])
    init_lines: list[str] = []
    forward_lines: list[str] = []
    state = _Forward(analysis, names, attr)

    inputs = analysis.inputs
    if len(inputs) == 1:
        state.var[(inputs[0], 0)] = "x"
        holder = inputs[0]
    else:
        for input_id in inputs:
            state.var[(input_id, 0)] = names.name(("node", input_id), input_id)
        holder = None

    position = {node_id: i for i, node_id in enumerate(analysis.order)}
    consumers: dict[str, list[int]] = {n: [] for n in analysis.order}
    for node_id in analysis.order:
        for edge in analysis.info[node_id].inputs:
            consumers[edge.source].append(position[node_id])
    end = len(analysis.order)
    for output in analysis.outputs:
        consumers.setdefault(output, []).append(end)

    for node_id in analysis.order:
        info = analysis.info[node_id]
        if info.spec is not None and info.spec.type == "Input":
            continue
        i = position[node_id]
        if info.node.disabled:
            state.var[(node_id, 0)] = state.input_expr(info, 0)
            forward_lines.append(f"{INDENT * 2}# {safe_text(info.id, 60)} is disabled (ablation): identity")
            continue
        outs = info.num_outputs
        uses_x = holder is None or all(p <= i for p in consumers.get(holder, []))
        if outs == 1 and consumers[node_id] == [i + 1] and uses_x:
            out_names: tuple[str, ...] = ("x",)
            holder = node_id
        elif outs == 1:
            out_names = (attr[node_id],)
        else:
            out_names = tuple(names.fresh(f"{attr[node_id]}_{k}") for k in range(outs))
        for k, out_name in enumerate(out_names):
            state.var[(node_id, k)] = out_name
        input_refs = [Ref(state.input_expr(info, k)) for k in range(len(info.inputs))]
        if info.composite is not None:
            code_init, body = _composite_call(
                info, analysis, composites[info.composite.name], attr[node_id], input_refs, out_names
            )
            source.uses.add(info.composite.name)
        else:
            ctx = emit_context(analysis, info, attr[node_id], input_refs, out_names, names.fresh)
            code = info.spec.emit(ctx)  # type: ignore[union-attr]
            code_init, body = code.init, code.body
            if info.spec.block_class is not None:  # type: ignore[union-attr]
                source.uses.add(info.spec.type)  # type: ignore[union-attr]
        if code_init is not None:
            init_lines.extend(render_statement(INDENT * 2, f"self.{attr[node_id]}", code_init))
            if input_symbol and _mentions(code_init, input_symbol):
                source.needs_input_size = True
        comment = "" if _symbolic(info.out) else shape_comment(info.out)
        for k, stmt in enumerate(body):
            is_last = k == len(body) - 1
            forward_lines.extend(
                render_statement(INDENT * 2, ", ".join(stmt.targets), stmt.value, comment if is_last else "")
            )

    returns = [state.var[(o, 0)] for o in analysis.outputs]
    forward_lines.append(f"{INDENT * 2}return {', '.join(returns)}")

    lines = [f"class {name}(nn.Module):"]
    lines.append(f'{INDENT}"""{doc[0]}')
    if len(doc) > 1:
        lines.extend(f"{INDENT}{d}" if d else "" for d in doc[1:])
        lines.append(f'{INDENT}"""')
    else:
        lines[-1] += '"""'
    lines.append("")
    params = list(init_params)
    if input_symbol and source.needs_input_size:
        params.insert(0, f"{input_symbol}: int")
    lines.extend(wrap_call(INDENT, "def __init__", ["self", *params], " -> None:"))
    lines.append(f"{INDENT * 2}super().__init__()")
    lines.extend(init_lines)
    lines.append("")
    arg_names = ["x"] if len(inputs) == 1 else [state.var[(i, 0)] for i in inputs]
    source.arg_names = dict(zip(inputs, arg_names))
    annotation = "torch.Tensor" if len(returns) == 1 else "tuple[torch.Tensor, ...]"
    lines.extend(
        wrap_call(INDENT, "def forward", ["self", *(f"{a}: torch.Tensor" for a in arg_names)], f" -> {annotation}:")
    )
    lines.extend(forward_lines)
    source.lines = lines
    return source


def _symbolic(t: Any) -> bool:
    return isinstance(t, TensorType) and t.dims is not None and any(isinstance(d, Sym) for d in t.dims)


def _mentions(expr: Any, symbol: str) -> bool:
    import re

    return re.search(rf"\b{symbol}\b", render_expr(expr)) is not None


def _composite_call(
    info: NodeInfo, analysis: Analysis, block: CompositeClass, attr: str, inputs: list[Any], outputs: tuple[str, ...]
) -> tuple[Call, tuple[Assign, ...]]:
    """``self.blk = MyBlock(64, c=128)`` and ``x = self.blk(x)`` for a user composite instance."""
    in_type = analysis.edge_type(info.inputs[0])
    args = [in_type.features] if block.needs_input_size and in_type is not None else []
    kwargs = tuple(
        (param.name, info.params.get(param.name))
        for param in block.params
        if param.required or info.params.get(param.name) != param.default
    )
    return Call(block.name, tuple(args), kwargs), (Assign(outputs, Call(SelfAttr(attr), tuple(inputs))),)


# ---------------------------------------------------------------------------------------------
# Files


@dataclass
class Rendered:
    model_class: str
    blocks: list[list[str]]  # block class sources, in dependency order
    model: list[str]  # the model class
    uses_blocks: list[str]
    input_shapes: dict[str, tuple[int, ...] | None]
    arg_names: dict[str, str]
    input_dtypes: dict[str, tuple[str, int | None]]
    output: TensorType | None
    lazy: bool


def header(graph: Graph, what: str) -> list[str]:
    name = safe_text(graph.name or "untitled", 80)
    return [
        f"# {what}",
        f'# Generated by TorchCanvas codegen {ENGINE_VERSION} from graph "{name}".',
        f"# Source graph sha256: {graph_hash(graph.document)}",
    ]


class Renderer:
    """Renders the model class and every block class it needs, innermost blocks first."""

    def __init__(self, graph: Graph, analysis: Analysis, model_name: str, limits: Limits | None = None):
        if not analysis.ok:
            raise GraphError(analysis.errors)
        self.graph = graph
        self.analysis = analysis
        self.limits = limits or Limits()
        self.model_class = class_name(model_name)
        if self.model_class in graph.composites or self.model_class in BLOCK_CLASSES:
            self.model_class += "Model"  # a block class of the same name sits in the same file
        self.composites: dict[str, CompositeClass] = {}
        self.block_sources: dict[str, list[str]] = {}
        self.order: list[str] = []  # block classes in dependency order

    def add_builtin(self, type_name: str) -> None:
        if type_name in self.block_sources:
            return
        spec = NODE_SPECS[type_name]
        for dependency in spec.requires:
            self.add_builtin(dependency)
        source = textwrap.dedent(inspect.getsource(spec.block_class)).rstrip().splitlines()  # type: ignore[arg-type]
        self.block_sources[type_name] = source
        self.order.append(type_name)

    def add_composite(self, definition: CompositeDef, instances: list[tuple[Analysis, NodeInfo]]) -> None:
        name = definition.name
        if name in self.block_sources:
            return
        signatures = {_input_signature(a.edge_type(i.inputs[0])) for a, i in instances}
        if len(signatures) != 1:
            raise GraphError(
                [Diagnostic("COMPOSITE", f"block {name} is used with inputs of different ranks or layouts")]
            )
        rank, layout = signatures.pop()
        symbol = "in_features" if rank == 2 or layout == SEQUENCE else "in_channels"
        dims: list[Any] = [None] * (rank - 1)
        dims[-1 if symbol == "in_features" else 0] = Sym(symbol)
        scope = Scope(self.graph.composites, self.limits)
        body = analyze_composite(definition, scope, TensorType(tuple(dims), layout), None)
        if not body.ok:
            raise GraphError([Diagnostic(d.code, f"in block {name}: {d.message}", node=d.node) for d in body.errors])
        self.collect(body)
        params = composite_params(definition)
        required = [f"{p.name}: {_ANNOTATIONS[p.kind]}" for p in params if p.required]
        optional = [f"{p.name}: {_ANNOTATIONS[p.kind]} = {render_expr(p.default)}" for p in params if not p.required]
        doc = [safe_text(definition.doc or f"{name}: a composite block designed in TorchCanvas.")]
        rendered = render_class(
            name, body, doc=doc, init_params=[*required, *optional], composites=self.composites, input_symbol=symbol
        )
        self.composites[name] = CompositeClass(name, params, rendered.needs_input_size)
        self.block_sources[name] = rendered.lines
        self.order.append(name)

    def collect(self, analysis: Analysis) -> None:
        """Register the block classes an analysed body uses, innermost first."""
        instances: dict[str, list[tuple[Analysis, NodeInfo]]] = {}
        for node_id in analysis.order:
            info = analysis.info[node_id]
            if info.node.disabled:
                continue
            if info.spec is not None and info.spec.block_class is not None:
                self.add_builtin(info.spec.type)
            elif info.composite is not None:
                instances.setdefault(info.composite.name, []).append((analysis, info))
                if info.inner is not None:
                    self.collect(info.inner)
        for name, uses in instances.items():
            self.add_composite(self.graph.composites[name], uses)

    def render(self) -> Rendered:
        self.collect(self.analysis)
        analysis = self.analysis
        shapes: dict[str, tuple[int, ...] | None] = {}
        dtypes: dict[str, tuple[str, int | None]] = {}
        for input_id in analysis.inputs:
            t = analysis.info[input_id].out
            assert isinstance(t, TensorType)
            shapes[input_id] = tuple(t.dims) if t.concrete else None  # type: ignore[arg-type]
            dtypes[input_id] = (t.dtype, self.vocab_size(input_id) if t.dtype == "int64" else None)
        output = analysis.info[analysis.outputs[0]].out if len(analysis.outputs) == 1 else None
        model = render_class(
            self.model_class, analysis, doc=self.model_doc(), init_params=[], composites=self.composites
        )
        lazy = any(
            "nn.Lazy" in line
            for name in [None, *self.order]
            for line in (model.lines if name is None else self.block_sources[name])
        )
        blocks = [self.block_sources[name] for name in self.order]
        return Rendered(
            self.model_class,
            blocks,
            model.lines,
            list(self.order),
            shapes,
            model.arg_names,
            dtypes,
            output if isinstance(output, TensorType) else None,
            lazy,
        )

    def vocab_size(self, input_id: str) -> int | None:
        """Token ids for smoke runs are drawn below this: the Input's vocab_size, or its Embedding's size."""
        info = self.analysis.info[input_id]
        if info.params.get("vocab_size"):
            return info.params["vocab_size"]
        sizes = [
            i.params["num_embeddings"]
            for i in self.analysis.info.values()
            if i.spec is not None and i.spec.type == "Embedding" and any(e.source == input_id for e in i.inputs)
        ]
        return min(sizes) if sizes else None

    def model_doc(self) -> list[str]:
        title = safe_text(self.graph.name or self.model_class, 80)
        doc = [f"{title}, designed in TorchCanvas."]
        description = self.graph.metadata.get("description")
        if isinstance(description, str) and description.strip():
            doc += ["", safe_text(description.strip(), 300)]
        info = self.analysis.info
        ins = [f"``{safe_text(i, 40)}`` {_describe(info[i].out)}" for i in self.analysis.inputs]
        outs = [f"``{safe_text(o, 40)}`` {_describe(info[o].out)}" for o in self.analysis.outputs]
        doc += ["", "Inputs: " + "; ".join(ins) + ".", "Outputs: " + "; ".join(outs) + "."]
        if self.analysis.params_total is not None:
            doc.append(f"Parameters: {self.analysis.params_total:,}.")
        return doc


_ANNOTATIONS = {"int": "int", "float": "float", "bool": "bool", "choice": "str"}


def _input_signature(t: TensorType | None) -> tuple[int, str | None]:
    if t is None or t.rank is None:
        return (4, None)
    return (t.rank, t.layout if t.rank == 3 else None)


def _describe(t: Any) -> str:
    if not isinstance(t, TensorType) or t.dims is None:
        return "(shape inferred at run time)"
    return shape_comment(t)[2:]
