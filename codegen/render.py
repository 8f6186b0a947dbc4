"""Rendering an analysed graph as PyTorch source: ``model.py``, ``blocks.py``, ``train.py``, ``__init__.py``.

The output is deterministic (no timestamps, document order), formatted the way ``ruff format``
formats it at its default line length, and made only of sanitised identifiers and ``repr`` of
checked values; user text reaches it only JSON-escaped inside comments and docstrings.
"""

from __future__ import annotations

import inspect
import json
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .analysis import (
    Analysis,
    NodeInfo,
    Scope,
    analyze_composite,
    composite_params,
    default_order,
    emit_context,
    reads_features,
    size_name,
    size_names,
)
from .blocks import BLOCK_CLASSES

if TYPE_CHECKING:
    from .recipe_render import RecipeSource
from .diagnostics import Diagnostic, GraphError
from .dims import Sym
from .hierarchy import Container, Leaf, Tree, build_tree, init_statements
from .ir import Assign, BinOp, Call, ListOf, Method, Ref, Repeat, SelfAttr, Starred, render_expr, sole_generator
from .naming import Namespace, class_name
from .params import Param
from .schema import CompositeDef, Graph, Limits
from .spec import NODE_SPECS
from .tensor import TensorType

ENGINE_VERSION = "0.1.0"
LINE_LENGTH = 88  # ruff's default: generated files land in projects without our configuration
INDENT = "    "


def safe_text(text: str, limit: int = 200) -> str:
    """User text as it may appear inside a comment or docstring: one line of ASCII with Python escapes.

    Quotes, backslashes and control characters are escaped as JSON escapes them; other non-ASCII
    characters become ``\\xNN``/``\\uNNNN``/``\\UNNNNNNNN``, which a docstring decodes back to the same
    character (JSON's surrogate pairs would decode to two lone surrogates, which crash on output).
    """
    text = text[:limit].encode("utf-8", "replace").decode("utf-8")  # lone surrogates become "?"
    escaped = json.dumps(text, ensure_ascii=False)[1:-1].encode("ascii", "backslashreplace").decode("ascii")
    return escaped.replace("'''", "\\'\\'\\'")


def graph_hash(document: dict[str, Any]) -> str:
    """The content hash of a graph document (canonical JSON, sha256)."""
    import hashlib

    try:
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except RecursionError:  # free-form metadata nested about as deep as the JSON parser allows
        raise GraphError([Diagnostic("PARSE", "the document is nested too deeply")]) from None
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# Line formatting


def _fits(line: str) -> bool:
    return len(line) <= LINE_LENGTH


def wrap_call(indent: str, head: str, args: list[str], tail: str = "") -> list[str]:
    """``head(args)tail`` as one line, or split the way ruff format splits it.

    A ``def`` with a single parameter is split one parameter per line with a trailing comma; a call
    with a single argument keeps it on its own line, whatever its length.
    """
    line = f"{indent}{head}({', '.join(args)}){tail}"
    if _fits(line):
        return [line]
    inner = indent + INDENT
    hugged = f"{inner}{', '.join(args)}"
    is_def = head.startswith("def ")
    if (_fits(hugged) and not (is_def and len(args) == 1)) or (len(args) == 1 and not is_def):
        return [f"{indent}{head}(", hugged, f"{indent}){tail}"]
    return [f"{indent}{head}(", *(f"{inner}{a}," for a in args), f"{indent}){tail}"]


def _arguments(expr: Call | Method) -> list[tuple[str, Any]]:
    return [("", a) for a in expr.args] + [(f"{k}=", v) for k, v in expr.kwargs]


def _callee(expr: Call | Method) -> str:
    """Everything before the opening parenthesis of a call."""
    if isinstance(expr, Method):
        return f"{_operand(expr.obj)}.{expr.name}"
    return expr.fn if isinstance(expr.fn, str) else render_expr(expr.fn)


def _operand(expr: Any) -> str:
    text = render_expr(expr)
    return f"({text})" if isinstance(expr, BinOp) else text


def format_expr(indent: str, prefix: str, expr: Any, suffix: str) -> list[str]:
    """``prefix + expr + suffix`` starting at ``indent``, split at brackets as ruff format would."""
    flat = f"{indent}{prefix}{render_expr(expr)}{suffix}"
    if _fits(flat):
        return [flat]
    if isinstance(expr, Starred):
        return format_expr(indent, f"{prefix}*", expr.value, suffix)
    if isinstance(expr, Repeat):
        opening, closing = ("(", ")") if expr.generator else ("[", "]")
        return [f"{indent}{prefix}{opening}", *_repeat_body(indent + INDENT, expr), f"{indent}{closing}{suffix}"]
    chain = _call_chain(expr)
    if chain:
        call = next((c for c in chain if _fits(f"{indent}{prefix}{_callee(c)}(")), chain[-1])
        return _split_at(indent, prefix, expr, call, suffix)
    if isinstance(expr, (ListOf, list, tuple)) and len(expr.items if isinstance(expr, ListOf) else expr) > 0:
        items = expr.items if isinstance(expr, ListOf) else expr
        opening, closing = ("(", ")") if isinstance(expr, tuple) else ("[", "]")
        body = _format_items(indent + INDENT, [("", i) for i in items], collection=True)
        return [f"{indent}{prefix}{opening}", *body, f"{indent}{closing}{suffix}"]
    return [flat]


def _format_items(indent: str, items: list[tuple[str, Any]], *, collection: bool) -> list[str]:
    """Call arguments (hugged on one line when they fit) or collection items (always one per line)."""
    if not collection:
        hugged = indent + ", ".join(f"{k}{render_expr(v)}" for k, v in items)
        if _fits(hugged):
            return [hugged]
        if len(items) == 1:
            return format_expr(indent, items[0][0], items[0][1], "")
    lines: list[str] = []
    for key, value in items:
        lines += format_expr(indent, key, value, ",")
    return lines


def _repeat_body(indent: str, expr: Repeat) -> list[str]:
    """The inside of a comprehension split over lines: its item, then its ``for`` clause."""
    return [*format_expr(indent, "", expr.item, ""), f"{indent}for {expr.var} in range({expr.count})"]


def _binop_chain(expr: BinOp) -> list[str]:
    """``a + b + c`` as ``["a", "+ b", "+ c"]``: the operands of a chain of one operator."""
    if isinstance(expr.left, BinOp) and expr.left.op == expr.op:
        head = _binop_chain(expr.left)
    else:
        head = [_operand(expr.left)]
    return [*head, f"{expr.op} {_operand(expr.right)}"]


def _call_chain(expr: Any) -> list[Call | Method]:
    """The calls with arguments in ``a.f(x).g(y)``, the last one first: where the line may split."""
    chain: list[Call | Method] = []
    while isinstance(expr, (Call, Method)):
        if expr.args or expr.kwargs:
            chain.append(expr)
        expr = expr.obj if isinstance(expr, Method) else None
    return chain


def _split_at(indent: str, prefix: str, value: Any, call: Call | Method, suffix: str = "") -> list[str]:
    """Split ``value`` at the parentheses of ``call``, one of the calls in its chain (a prefix of it)."""
    rest = render_expr(value)[len(render_expr(call)) :]
    if isinstance(call, Call) and sole_generator(call):
        body = _repeat_body(indent + INDENT, call.args[0])
    else:
        body = _format_items(indent + INDENT, _arguments(call), collection=False)
    return [f"{indent}{prefix}{_callee(call)}(", *body, f"{indent}){rest}{suffix}"]


def render_statement(indent: str, targets: str, value: Any, comment: str = "") -> list[str]:
    """``targets = value``, split as ruff format splits it; a trailing comment is dropped if it does not fit.

    In ruff's order of preference: split at the parentheses of a call in the value (the last one
    whose opening line fits); wrap the value in parentheses; split a tuple of targets one per line.
    """
    text = render_expr(value)
    prefix = f"{targets} = "
    line = f"{indent}{prefix}{text}"
    if comment and _fits(f"{line}  {comment}"):
        return [f"{line}  {comment}"]
    if _fits(line):
        return [line]
    chain = _call_chain(value)
    for call in chain:
        if _fits(f"{indent}{prefix}{_callee(call)}("):
            return _split_at(indent, prefix, value, call)
    inner = indent + INDENT
    if _fits(f"{indent}{prefix}("):
        if _fits(f"{inner}{text}"):
            return [f"{indent}{prefix}(", f"{inner}{text}", f"{indent})"]
        if any(_fits(f"{inner}{_callee(call)}(") for call in chain):
            return [f"{indent}{prefix}(", *format_expr(inner, "", value, ""), f"{indent})"]
        if isinstance(value, BinOp):
            return [f"{indent}{prefix}(", *(f"{inner}{part}" for part in _binop_chain(value)), f"{indent})"]
    if ", " in targets:
        return [f"{indent}(", *(f"{inner}{t}," for t in targets.split(", ")), *render_statement(indent, ")", value)]
    if chain:
        return _split_at(indent, prefix, value, chain[-1])
    if isinstance(value, BinOp):
        return [f"{indent}{prefix}(", *(f"{inner}{part}" for part in _binop_chain(value)), f"{indent})"]
    return [line]


_NUMBERED_MEMBER = re.compile(r"self\.(\d+)(.*)")


def _member_statement(indent: str, target: str, value: Any) -> list[str]:
    """``self.<member> = value``; a numbered member of the module itself is added with ``add_module``
    (``self.0`` is no Python), and what sits inside it is reached through ``getattr``."""
    numbered = _NUMBERED_MEMBER.fullmatch(target)
    if numbered is None:
        return render_statement(indent, target, value)
    number, rest = numbered.groups()
    if not rest:
        return format_expr(indent, f'self.add_module("{number}", ', value, ")")
    return render_statement(indent, f'getattr(self, "{number}"){rest}', value)


def shape_comment(t: Any) -> str:
    if not isinstance(t, TensorType) or t.dims is None or t.layout == "scalar":
        return ""
    sizes = ", ".join("?" if d is None else str(d) for d in t.dims)
    return f"# (B, {sizes})" if sizes else "# (B,)"


# ---------------------------------------------------------------------------------------------
# One nn.Module class from an analysis


@dataclass(frozen=True)
class Signature:
    """A forward() that reads named values rather than Inputs: a recipe stage's ``(outputs, targets)``."""

    arguments: list[str]  # as written, with annotations
    names: list[str]  # the argument names, claimed in the class's namespace
    values: dict[tuple[str, int], str]  # (node, output index) -> the expression that reads it
    keys: list[str]  # the returned dict's keys, one per analysis output
    total: str | None = None  # a first key holding the sum of the others (the loss)


def return_dict(indent: str, items: list[str]) -> list[str]:
    """``return {<items>}``, one item per line when it does not fit (as ruff format splits a dict display)."""
    line = f"{indent}return {{{', '.join(items)}}}"
    if _fits(line):
        return [line]
    return [f"{indent}return {{", *(f"{indent}{INDENT}{item}," for item in items), f"{indent}}}"]


def _returned_items(keys: list[str], values: list[str], total: str | None) -> list[str]:
    """``"a": a`` for each returned value, after ``"loss": a + b`` when ``total`` names their sum."""
    items = [f"{json.dumps(k)}: {v}" for k, v in zip(keys, values)]
    return [f"{json.dumps(total)}: {' + '.join(values)}", *items] if total is not None else items


@dataclass(frozen=True)
class CompositeClass:
    """How a user composite block's class is called: its name, params and the inputs whose size it takes."""

    name: str
    params: tuple[Param, ...]
    input_sizes: tuple[int, ...]  # ports, by position


@dataclass
class ClassSource:
    lines: list[str]
    uses: set[str] = field(default_factory=set)  # block classes referenced
    input_sizes: set[str] = field(default_factory=set)  # of the input size symbols, those the class takes
    arg_names: dict[str, str] = field(default_factory=dict)  # Input node id -> forward() argument
    imports: set[tuple[str, str]] = field(default_factory=set)  # (module, name) the node types asked for


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
    """Where each node's submodule sits (``self.<name>``, or a module path such as ``features.0.1``).

    These are the ``state_dict`` prefixes, shared with the interpreter. Nodes with a ``path`` keep it;
    the others get a name from their id that no path's first segment has taken.
    """
    names = names or Namespace()
    paths = {
        node_id: info.node.path
        for node_id in analysis.order
        if (info := analysis.info[node_id]).node.path is not None and not info.is_input
    }
    for path in paths.values():
        names.claim(path.split(".")[0])
    return {
        node_id: paths.get(node_id) or names.name(("node", node_id), node_id)
        for node_id in analysis.order
        if not analysis.info[node_id].is_input
    }


def _emit_node(
    analysis: Analysis,
    info: NodeInfo,
    attr: str,
    inputs: list[Ref],
    outputs: tuple[str, ...],
    composites: dict[str, CompositeClass],
    source: ClassSource,
    new_temp: Callable[[str], str] = lambda hint: hint,
) -> tuple[Any, tuple[Assign, ...]]:
    """A node's constructor (or None) and forward statements; the block class it uses is noted in ``source``."""
    if info.composite is not None:
        source.uses.add(info.composite.name)
        return _composite_call(info, analysis, composites[info.composite.name], attr, inputs, outputs)
    code = info.spec.emit(emit_context(analysis, info, attr, inputs, outputs, new_temp))  # type: ignore[union-attr]
    source.imports.update(code.imports)
    if info.spec.block_class is not None:  # type: ignore[union-attr]
        source.uses.add(info.spec.type)  # type: ignore[union-attr]
    return code.init, code.body


def _leaves(
    analysis: Analysis, attr: dict[str, str], composites: dict[str, CompositeClass], source: ClassSource
) -> dict[str, Leaf]:
    """Each node's constructor, and whether it may sit in a chain (block classes noted as used).

    Rendered before the forward statements because paths may gather a chain into one call; without
    paths the forward pass collects the constructors itself, so nodes are not emitted twice.
    """
    leaves: dict[str, Leaf] = {}
    for node_id in analysis.order:
        info = analysis.info[node_id]
        if info.is_input or info.node.disabled:
            continue
        placeholders = [Ref(f"in{k}") for k in range(len(info.inputs))]
        outputs = tuple(f"out{k}" for k in range(info.num_outputs))
        init, body = _emit_node(analysis, info, attr[node_id], placeholders, outputs, composites, source)
        if init is None:
            continue
        plain_call = Assign(outputs, Call(SelfAttr(attr[node_id]), tuple(placeholders)))
        leaves[node_id] = Leaf(
            node_id, init, chainable=len(outputs) == 1 and len(placeholders) == 1 and body == (plain_call,)
        )
    return leaves


def _module_tree(analysis: Analysis, attr: dict[str, str], leaves: dict[str, Leaf]) -> Tree:
    """The containers the node paths describe."""
    sources = {n: [(e.source, e.output or 0) for e in analysis.info[n].inputs] for n in analysis.order}
    readers: dict[str, int] = {}
    for node_id in analysis.order:
        info = analysis.info[node_id]
        for edge in info.inputs[:1] if info.node.disabled else info.inputs:
            if not edge.output:
                readers[edge.source] = readers.get(edge.source, 0) + 1
    for output in analysis.outputs:
        readers[output] = readers.get(output, 0) + 1
    paths = {n: tuple(attr[n].split(".")) for n in leaves}
    return build_tree(paths, leaves, sources, readers)


def _forward_order(analysis: Analysis, tree: Tree) -> list[str]:
    """The analysis order with each chain a container calls moved together, just before its last node."""
    skipped = tree.skipped()
    order: list[str] = []
    for node_id in analysis.order:
        if node_id in skipped:
            continue
        if node_id in tree.calls:
            order.extend(tree.calls[node_id][1][:-1])
        order.append(node_id)
    return order


def render_class(
    name: str,
    analysis: Analysis,
    *,
    doc: list[str] | Callable[[dict[str, str]], list[str]],
    init_params: list[str],
    composites: dict[str, CompositeClass],
    input_symbols: tuple[str, ...] = (),
    prelude: tuple[str, ...] = (),
    signature: Signature | None = None,
    epilogue: list[str] | None = None,
    methods: list[str] | None = None,
) -> ClassSource:
    """Source lines of ``class <name>(nn.Module)`` for a body analysed concretely or symbolically.

    ``signature`` replaces the forward arguments taken from the Inputs (a recipe stage reads the model's
    outputs and the targets) and what it returns."""
    names = Namespace()
    attr = attribute_names(analysis, names)
    source = ClassSource([])
    with_paths = any(analysis.info[n].node.path is not None for n in analysis.order)
    leaves = _leaves(analysis, attr, composites, source) if with_paths else {}
    tree = _module_tree(analysis, attr, leaves) if with_paths else Tree(Container(), {})
    skipped = tree.skipped()
    forward_lines: list[str] = []
    state = _Forward(analysis, names, attr)
    # Locals named after the node: its attribute, or its module path with `_` (`features_0`).
    local = {n: a if "." not in a else names.name(("local", n), a.replace(".", "_")) for n, a in attr.items()}

    inputs = analysis.inputs
    if signature is not None:
        state.var.update(signature.values)
        for argument in signature.names:
            names.claim(argument)
    elif len(inputs) == 1:
        state.var[(inputs[0], 0)] = "x"
    else:  # an input called x keeps its name (U-Net's `forward(self, x, skip)`)
        for input_id in inputs:
            state.var[(input_id, 0)] = "x" if input_id == "x" else names.name(("node", input_id), input_id)

    order = _forward_order(analysis, tree)
    position = {node_id: i for i, node_id in enumerate(order)}
    consumers: dict[str, list[int]] = {n: [] for n in order}
    for node_id in order:
        for edge in analysis.info[node_id].inputs:
            consumers.setdefault(edge.source, []).append(position[node_id])
    end = len(order)
    for output in analysis.outputs:
        consumers.setdefault(output, []).append(end)
    # Outputs of multi-output nodes that something reads; the others are unpacked into `_`.
    read = {(o, port or 0) for o, port in analysis.output_refs}
    for node_id in order:
        node_inputs = analysis.info[node_id].inputs
        for edge in node_inputs[:1] if analysis.info[node_id].node.disabled else node_inputs:
            read.add((edge.source, edge.output or 0))
    # Positions of the nodes still to read the value now held in `x` (disabled nodes alias it).
    x_readers = [p for i in inputs if state.var[(i, 0)] == "x" for p in consumers[i]]

    for node_id in order:
        info = analysis.info[node_id]
        if info.is_input or node_id in skipped:
            continue
        i = position[node_id]
        if info.node.disabled:
            state.var[(node_id, 0)] = state.input_expr(info, 0)
            if state.var[(node_id, 0)] == "x":
                x_readers += consumers[node_id]
            forward_lines.append(f"{INDENT * 2}# {safe_text(info.id, 60)} is disabled (ablation): identity")
            continue
        outs = info.num_outputs
        chains = signature is None  # a stage's values keep their names: they are what it reports
        if chains and outs == 1 and consumers[node_id] == [i + 1] and all(p <= i for p in x_readers):
            out_names: tuple[str, ...] = ("x",)
            x_readers = [i + 1]
        elif outs == 1:
            out_names = (local[node_id],)
        else:
            out_names = tuple(
                names.fresh(f"{local[node_id]}_{k}") if (node_id, k) in read else "_" for k in range(outs)
            )
        for k, out_name in enumerate(out_names):
            state.var[(node_id, k)] = out_name
        comment = "" if _symbolic(info.out) else shape_comment(info.out)
        if node_id in tree.calls:  # the last of a chain: one call of the nn.Sequential that holds it
            container, chain = tree.calls[node_id]
            first = analysis.info[chain[0]]
            value = Call(SelfAttr(container), (Ref(state.input_expr(first, 0)),))
            forward_lines.extend(render_statement(INDENT * 2, ", ".join(out_names), value, comment))
            continue
        input_refs = [Ref(state.input_expr(info, k)) for k in range(len(info.inputs))]
        init, body = _emit_node(analysis, info, attr[node_id], input_refs, out_names, composites, source, names.fresh)
        if not with_paths and init is not None:
            leaves[node_id] = Leaf(node_id, init, chainable=False)
        for k, stmt in enumerate(body):
            is_last = k == len(body) - 1
            forward_lines.extend(
                render_statement(INDENT * 2, ", ".join(stmt.targets), stmt.value, comment if is_last else "")
            )

    if not with_paths:  # every constructor sits at the top level, under its node's name
        tree = _module_tree(analysis, attr, leaves)
    init_lines: list[str] = []
    first_use = {node_id: i for i, node_id in enumerate(analysis.order)}
    for target, value in init_statements(tree, first_use):
        init_lines.extend(_member_statement(INDENT * 2, target, value))
        source.input_sizes.update(s for s in input_symbols if _mentions(value, s))

    returns = [state.var[(o, port or 0)] for o, port in analysis.output_refs]
    keys = signature.keys if signature is not None else analysis.output_names
    if keys is not None:
        total = signature.total if signature is not None else None
        forward_lines.extend(return_dict(INDENT * 2, _returned_items(keys, returns, total)))
    else:
        forward_lines.append(f"{INDENT * 2}return {', '.join(returns)}")

    arg_names = ["x"] if len(inputs) == 1 else [state.var[(i, 0)] for i in inputs]
    source.arg_names = dict(zip(inputs, arg_names))
    if callable(doc):
        doc = doc(source.arg_names)
    lines = [f"class {name}(nn.Module):"]
    lines.append(f'{INDENT}"""{doc[0]}')
    if len(doc) > 1:
        lines.extend(f"{INDENT}{d}" if d else "" for d in doc[1:])
        lines.append(f'{INDENT}"""')
    else:
        lines[-1] += '"""'
    lines.append("")
    source.input_sizes.update(s for s in input_symbols if any(_mentions(line, s) for line in prelude))
    params = [*(f"{s}: int" for s in input_symbols if s in source.input_sizes), *init_params]
    if params or prelude or init_lines or epilogue or signature is None:  # a stage may hold no module at all
        lines.extend(wrap_call(INDENT, "def __init__", ["self", *params], " -> None:"))
        lines.append(f"{INDENT * 2}super().__init__()")
        lines.extend(prelude)
        lines.extend(init_lines)
        lines.extend(epilogue or [])
        lines.append("")
    if methods:
        lines.extend([*methods[1:], ""])  # they start with the blank line that separates them
    if keys is not None:
        annotation = "dict[str, torch.Tensor]"
    else:
        annotation = "torch.Tensor" if len(returns) == 1 else "tuple[torch.Tensor, ...]"
    arguments = signature.arguments if signature is not None else [f"{a}: torch.Tensor" for a in arg_names]
    lines.extend(wrap_call(INDENT, "def forward", ["self", *arguments], f" -> {annotation}:"))
    lines.extend(forward_lines)
    source.lines = lines
    return source


def _symbolic(t: Any) -> bool:
    return isinstance(t, TensorType) and t.dims is not None and any(isinstance(d, Sym) for d in t.dims)


def _mentions(expr: Any, symbol: str) -> bool:
    import re

    return re.search(rf"\b{symbol}\b", expr if isinstance(expr, str) else render_expr(expr)) is not None


def _composite_call(
    info: NodeInfo, analysis: Analysis, block: CompositeClass, attr: str, inputs: list[Any], outputs: tuple[str, ...]
) -> tuple[Call, tuple[Assign, ...]]:
    """``self.blk = MyBlock(64, c=128)`` and ``x = self.blk(x)`` for a user composite instance.

    The input sizes the class takes come first, in port order (``Up(128, 64, out_channels=64)``), and
    a block with several outputs is unpacked (``up, _ = self.up(x, skip)``).

    Integer parameters (sizes, counts, strides: what shapes follow from) are spelled out at every call,
    so ``GroupedBottleneck(64, planes=64, groups=32, width=4)`` shows its width and output size even
    where they equal the class's defaults; a float, bool or choice only where it differs from the
    default in the class's signature (the block's declared default).
    """
    args = [analysis.edge_type(info.inputs[port]).features for port in block.input_sizes]  # type: ignore[union-attr]
    kwargs = tuple(
        (param.name, value)
        for param in block.params
        for value in [info.params.get(param.name)]
        if param.required or param.kind == "int" or not (value == param.default and type(value) is type(param.default))
    )
    return Call(block.name, tuple(args), kwargs), (Assign(outputs, Call(SelfAttr(attr), tuple(inputs))),)


# ---------------------------------------------------------------------------------------------
# Files


@dataclass
class Rendered:
    model_class: str
    blocks: list[list[str]]  # block class sources, in dependency order
    model: list[str]  # the model class
    uses_blocks: list[str]  # block classes the model class itself refers to
    input_shapes: dict[str, tuple[int, ...] | None]
    arg_names: dict[str, str]
    input_dtypes: dict[str, tuple[str, int | None]]
    output: TensorType | None
    lazy: bool
    source_hash: str = ""  # of the graph document, computed once for every file's header
    output_count: int = 1  # several: the model returns a tuple (or a dict, with named outputs)
    imports: dict[str, str] = field(default_factory=dict)  # name -> module: `from module import name`
    recipe: RecipeSource | None = None  # loss, metrics, optimizer: what train.py and runs use
    named_outputs: bool = False  # forward() returns a dict


def header(graph: Graph, what: str, source_hash: str | None = None) -> list[str]:
    name = safe_text(graph.name or "untitled", 80)
    return [
        f"# {what}",
        f'# Generated by TorchCanvas codegen {ENGINE_VERSION} from graph "{name}".',
        f"# Source graph sha256: {source_hash or graph_hash(graph.document)}",
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
        self.source_hash = graph_hash(graph.document)  # here, so that validate() reports what generate() would
        if self.model_class in graph.composites or self.model_class in BLOCK_CLASSES:
            self.model_class += "Model"  # a block class of the same name sits in the same file
        self.composites: dict[str, CompositeClass] = {}
        self.block_sources: dict[str, list[str]] = {}
        self.order: list[str] = []  # block classes in dependency order
        self.imports: set[tuple[str, str]] = set()  # (module, name) the classes import (custom modules)

    def add_builtin(self, type_name: str, node_id: str | None = None) -> None:
        if type_name in self.block_sources:
            return
        # Helper classes a block requires (MBConv's SqueezeExcitation) have no node spec of their own.
        spec = NODE_SPECS.get(type_name)
        for dependency in spec.requires if spec is not None else ():
            if dependency in self.graph.composites:  # two classes of one name in blocks.py
                raise GraphError(
                    [
                        Diagnostic(
                            "COMPOSITE",
                            f"block name {dependency} is also the helper class that the built-in {type_name} "
                            f"uses in generated code; rename the block {dependency}",
                            node=node_id,
                            path=self.graph.composites[dependency].body.path or None,
                        )
                    ]
                )
            self.add_builtin(dependency)
        block_class = spec.block_class if spec is not None else BLOCK_CLASSES[type_name]
        source = textwrap.dedent(inspect.getsource(block_class)).rstrip().splitlines()  # type: ignore[arg-type]
        self.block_sources[type_name] = source
        self.order.append(type_name)

    def add_composite(self, definition: CompositeDef, instances: list[tuple[Analysis, NodeInfo]]) -> None:
        name = definition.name
        if name in self.block_sources:
            return
        _check_composite_names(definition, set(self.graph.composites))
        ports = definition.body.inputs
        input_types: list[TensorType] = []
        symbols: list[str] = []
        for index, port in enumerate(ports):
            signatures = {_input_signature(a.edge_type(i.inputs[index])) for a, i in instances}
            if (None, None) in signatures:  # one use of unknown rank: a class that sizes itself lazily serves all
                signatures = {(None, None)}
            if len(signatures) != 1:
                where = f" `{port}`" if len(ports) > 1 else "s"
                raise GraphError(
                    [Diagnostic("COMPOSITE", f"block {name} is used with input{where} of different ranks or layouts")]
                )
            rank, layout = signatures.pop()
            if rank is None:  # only ever fed tensors of unknown rank: the class sizes itself lazily
                input_type = TensorType(None)
            else:
                dims: list[Any] = [None] * (rank - 1)
                input_type = TensorType(tuple(dims), layout)
            symbol = size_name(index, port, reads_features(input_type))
            if rank is not None:
                dims[input_type.feature_index] = Sym(symbol)
                input_type = TensorType(tuple(dims), layout)
            input_types.append(input_type)
            symbols.append(symbol)
        scope = Scope(self.graph.composites, self.limits)
        body = analyze_composite(definition, scope, tuple(input_types), None)
        if not body.ok:
            raise GraphError([Diagnostic(d.code, f"in block {name}: {d.message}", node=d.node) for d in body.errors])
        self.collect(body)
        params = composite_params(definition)
        computed = default_order(definition)[0]
        required = [f"{p.name}: {_ANNOTATIONS[p.kind]}" for p in params if p.required]
        optional = [
            f"{p.name}: int | None = None"
            if p.default is None
            else f"{p.name}: {_ANNOTATIONS[p.kind]} = {render_expr(p.default)}"
            for p in params
            if not p.required
        ]
        prelude: list[str] = []
        for rule in computed:  # torchvision's `if norm_layer is None: norm_layer = ...`
            for used in sorted(rule.uses & set(size_names(definition)) - set(symbols)):
                port = ports[size_names(definition)[used]]  # fed only tensors of unknown rank
                raise GraphError(
                    [
                        Diagnostic(
                            "NEEDS_SHAPE",
                            f"block {name}: the default of `{rule.name}` reads `{used}`, the size of its input "
                            f"`{port}`, which cannot be inferred without input shapes: set `shape` on the Input node",
                            node=instances[0][1].id,
                        )
                    ]
                )
            prelude.append(f"{INDENT * 2}if {rule.name} is None:")
            prelude.extend(render_statement(INDENT * 3, rule.name, rule.expr))
        doc = [safe_text(definition.doc or f"{name}: a composite block designed in TorchCanvas.")]
        rendered = render_class(
            name,
            body,
            doc=doc,
            init_params=[*required, *optional],
            composites=self.composites,
            input_symbols=tuple(symbols),
            prelude=tuple(prelude),
        )
        # The class takes these input sizes: every instance must know them.
        for index, (port, symbol) in enumerate(zip(ports, symbols)):
            if symbol not in rendered.input_sizes:
                continue
            for analysis, info in instances:
                in_type = analysis.edge_type(info.inputs[index])
                if in_type is None or in_type.features is None:
                    what = f"input `{port}`'s" if len(ports) > 1 else "input's"
                    raise GraphError(
                        [
                            Diagnostic(
                                "NEEDS_SHAPE",
                                f"block {name} needs its {what} {symbol.split('_')[-1]}, which cannot be "
                                "inferred without input shapes: set `shape` on the Input node",
                                node=info.id,
                            )
                        ]
                    )
        self.imports |= rendered.imports
        sizes = tuple(index for index, symbol in enumerate(symbols) if symbol in rendered.input_sizes)
        self.composites[name] = CompositeClass(name, params, sizes)
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
                self.add_builtin(info.spec.type, node_id)
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
        output = analysis.info[analysis.outputs[0]].out if len(analysis.output_refs) == 1 else None
        from .recipe_render import has_recipe, model_epilogue, render_recipe, train_override

        attr = attribute_names(analysis)
        model = render_class(
            self.model_class,
            analysis,
            doc=self.model_doc,
            init_params=[],
            composites=self.composites,
            epilogue=model_epilogue(analysis, attr),
            methods=train_override(analysis, attr, self.model_class),
        )
        recipe = render_recipe(analysis, self.model_class) if has_recipe(analysis) else None
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
            [name for name in self.order if name in model.uses],  # what model.py imports from blocks.py
            shapes,
            model.arg_names,
            dtypes,
            output if isinstance(output, TensorType) else None,
            lazy,
            self.source_hash,
            len(analysis.output_refs),
            self.imported_names(model.imports),
            recipe,
            analysis.output_names is not None,
        )

    def imported_names(self, model_imports: set[tuple[str, str]]) -> dict[str, str]:
        """Each imported name with its module; a name that two modules, a block or the model class share is
        an error (the files could not tell them apart)."""
        taken = {self.model_class: "the model class", **{name: f"the block {name}" for name in self.order}}
        names: dict[str, str] = {}
        for module, name in sorted(self.imports | model_imports):
            clash = taken.get(name) or (f"`{names[name]}.{name}`" if name in names else None)
            if clash:
                raise GraphError(
                    [
                        Diagnostic(
                            "CUSTOM_MODULE",
                            f"custom module `{module}.{name}` has the name of {clash}; the generated code cannot "
                            "import both: rename the graph or the block, or import the class through another name",
                        )
                    ]
                )
            names[name] = module
        return names

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

    def model_doc(self, arg_names: dict[str, str]) -> list[str]:
        title = safe_text(self.graph.name or self.model_class, 80)
        doc = [f"{title}, designed in TorchCanvas."]
        description = self.graph.metadata.get("description")
        if isinstance(description, str) and description.strip():
            text = " ".join(description.split())
            if len(text) > 300:
                text = text[:300].rsplit(" ", 1)[0] + " ..."
            doc += ["", *textwrap.wrap(safe_text(text, 400), 80, break_long_words=False, break_on_hyphens=False)]
        info = self.analysis.info
        ins = [f"``{arg_names[i]}`` {_describe(info[i].out)}" for i in self.analysis.inputs]
        outs = [
            f"``{safe_text(name, 40)}`` {_describe(info[n].output(p))}"
            for name, (n, p) in zip(self.analysis.output_labels, self.analysis.output_refs)
        ]
        doc += ["", "Inputs: " + "; ".join(ins) + ".", "Outputs: " + "; ".join(outs) + "."]
        if self.analysis.params_total is not None:
            doc.append(f"Parameters: {self.analysis.params_total:,}.")
        return doc


_ANNOTATIONS = {"int": "int", "float": "float", "bool": "bool", "choice": "str"}

# Names generated modules define or import at top level, and names a class body calls: a user block
# class or constructor parameter of the same name would shadow them (or not even parse).
MODULE_NAMES = frozenset(
    {"F", "nn", "torch", "OrderedDict", "INPUT_SHAPES", "build_model", "example_inputs", "main", "parse_shape"}
)
_BODY_NAMES = frozenset({"self", "super", "nn", "torch", "F", "in_channels", "in_features"})


def _check_composite_names(definition: CompositeDef, block_names: set[str]) -> None:
    """A block's class name and parameter names become Python names: refuse those that would break the file.

    Parameters are the constructor's local names, which the class body reads beside ``self``, ``super``,
    ``nn``, ``torch`` and the block classes it builds (``block_names``: the graph's own blocks); a name
    starting with ``__`` is mangled inside a class (``__c`` becomes ``_Blk__c``, so ``Blk(__c=1)`` fails)
    or, as ``__class__``, hides the cell ``super()`` needs. Other builtins and ``nn.Module`` attributes
    (``input``, ``training``) are harmless there: the body never reads them.
    """
    import builtins
    import keyword

    name = definition.name
    problems = []
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or hasattr(builtins, name) or name in MODULE_NAMES:
        problems.append(f"block name `{name}` is a Python keyword or a name generated code relies on; rename the block")
    for param in definition.params:
        pname = param.get("name")
        if not isinstance(pname, str):
            continue
        if pname.startswith("__"):
            problems.append(
                f"block {name}: parameter name `{pname}` starts with two underscores, which Python reserves or "
                "mangles inside a class; rename it"
            )
        elif keyword.iskeyword(pname) or pname in _BODY_NAMES or pname in BLOCK_CLASSES or pname in block_names:
            problems.append(f"block {name}: parameter name `{pname}` is reserved in generated code; rename it")
    if problems:
        raise GraphError([Diagnostic("COMPOSITE", message, path=definition.body.path or None) for message in problems])


def _input_signature(t: TensorType | None) -> tuple[int | None, str | None]:
    if t is None or t.rank is None:
        return (None, None)
    return (t.rank, t.layout)


def _describe(t: Any) -> str:
    if not isinstance(t, TensorType) or t.dims is None:
        return "(shape inferred at run time)"
    return shape_comment(t)[2:]
