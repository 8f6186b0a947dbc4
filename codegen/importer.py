"""Import a PyTorch ``nn.Module`` into a graph document v0.2: code in, editable graph out.

The module is traced with ``torch.fx``; modules the registry knows (``nn.Conv2d``, the built-in block
classes, …) stay leaves, every other submodule is traced through, so its layers land in the graph with
their module path (``layer1.0.conv1``) and the generated code loads the original ``state_dict`` by name.
Each fx node maps to one registry node through the rule tables in :mod:`codegen.importer_rules`.
Whatever has no node says so with an ``IMPORT`` diagnostic naming the op, the module path and the
source line; nothing but the module handed in is ever run (on meta tensors to learn shapes, or where
that fails once for real, on random inputs).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import linecache
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from .api import validate
from .diagnostics import Diagnostic, GraphError
from .importer_composites import fold
from .importer_rules import (
    FUNCTIONS,
    METHODS,
    NAMED_FUNCTIONS,
    Batch,
    Fixed,
    Learned,
    Unsupported,
    clean_params,
    module_rule,
)
from .importer_shapes import propagate_meta
from .schema import OUTPUT_NAME
from .spec import NODE_SPECS
from .tensor import CHANNELS_FIRST, SEQUENCE

_TORCH_DIR = re.compile(r"[\\/](torch|importlib)[\\/]")


class _ShapeProp(ShapeProp):
    """fx's shape propagation, remembering the node it runs so that a failure can name it."""

    current: fx.Node

    def run_node(self, n: fx.Node) -> Any:
        self.current = n
        return super().run_node(n)


class ImportTracer(fx.Tracer):
    """Keeps the modules the rule table knows as leaves (built-in blocks included); traces through the rest.

    Each node remembers the line of the user's code that made it (``node.meta["source"]``), for diagnostics.
    fx's own ``record_stack_traces`` formats the whole stack at every node, which doubled the tracing time.
    """

    def __init__(self) -> None:
        super().__init__()
        self.proxy_buffer_attributes = True  # a buffer cut by a size (table[: x.shape[1]]) is traced, not run

    def create_node(self, *args: Any, **kwargs: Any) -> fx.Node:
        node = super().create_node(*args, **kwargs)
        node.meta["source"] = _user_frame(sys._getframe(1))
        return node

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if module_rule(m) is not None:
            return True
        # Other torch.nn layers stay leaves too, so that an unknown one is named, not traced into.
        return super().is_leaf_module(m, module_qualified_name)


def fail(message: str, path: str | None = None) -> GraphError:
    return GraphError([Diagnostic("IMPORT", message, path=path)])


_TORCH_FILES: dict[str, bool] = {}


def _in_torch(filename: str) -> bool:
    found = _TORCH_FILES.get(filename)
    if found is None:
        found = _TORCH_FILES[filename] = bool(_TORCH_DIR.search(filename))
    return found


def _user_frame(frame: Any) -> tuple[str, int] | None:
    """(file, line) of the innermost frame outside torch, if a ``forward`` runs there or around it."""
    while frame is not None and _in_torch(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return None
    found = (frame.f_code.co_filename, frame.f_lineno)
    # As fx's stack traces, which start at the outermost forward(): a placeholder has no line of its own.
    while frame is not None and frame.f_code.co_name != "forward":
        frame = frame.f_back
    return found if frame is not None else None


def _node_line(node: fx.Node) -> str | None:
    """``file.py:12 `code``` of the user's line that made ``node``."""
    source = node.meta.get("source")
    if source is None:
        return None
    file, line = source
    return f"{file}:{line} `{linecache.getline(file, line).strip()}`"


def _source_line(stack: str | None) -> str | None:
    """``file.py:12 `code``` for the innermost frame of ``stack`` outside torch itself."""
    if not stack:
        return None
    frames = re.findall(r'File "([^"]+)", line (\d+), in [^\n]*\n\s*([^\n]*)', stack)
    frames = [f for f in frames if not _TORCH_DIR.search(f[0])]  # torch's own frames say nothing to the user
    if not frames:
        return None
    file, line, code = frames[-1]
    return f"{file}:{line} `{code.strip()}`"


def _traceback_line(exc: BaseException) -> str | None:
    return _source_line("".join(traceback.format_tb(exc.__traceback__)))


@dataclass
class Builder:
    """The graph under construction and what each fx node became."""

    shapes: dict[str, list[int]]
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[list[str]] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    output_names: list[str] | None = None  # forward() returns a dict with these keys
    values: dict[fx.Node, Any] = field(default_factory=dict)
    used_paths: set[str] = field(default_factory=set)
    origin: dict[str, fx.Node] = field(default_factory=dict)  # graph node id -> the fx node it came from
    mean_axes: dict[str, list[int]] = field(default_factory=dict)  # GlobalAvgPool id -> the axes averaged
    order: dict[fx.Node, int] = field(default_factory=dict)  # position of each fx node in forward order

    def node_named(self, node_id: str) -> dict[str, Any] | None:
        return next((n for n in reversed(self.nodes) if n["id"] == node_id), None)

    def add(self, fx_node: fx.Node, node_type: str, params: dict[str, Any], inputs: list[str], path: str | None = None):
        node_id = fx_node.name
        node: dict[str, Any] = {"id": node_id, "type": node_type, "params": clean_params(node_type, params)}
        if path is not None:
            node["path"] = path
        self.nodes.append(node)
        # The same tensor twice (x * x, cat([a, b, b])): ports or positions tell the edges apart, on every
        # edge of the node, since unlabelled edges would take the positions first.
        labelled = len(set(inputs)) < len(inputs)
        spec = NODE_SPECS[node_type]
        for index, source in enumerate(inputs):
            port = str(index) if spec.variadic else spec.ports[index]
            self.edges.append([source, node_id, port] if labelled else [source, node_id])
        self.origin[node_id] = fx_node
        return node_id


class Context:
    """What a rule sees: the fx node, its inputs as graph references, shapes, and the builder."""

    def __init__(self, builder: Builder, node: fx.Node, module: nn.Module | None = None) -> None:
        self.builder = builder
        self.node = node
        self.module = module

    def value(self, arg: Any) -> Any:
        if isinstance(arg, fx.Node):
            return self.builder.values[arg]
        if isinstance(arg, (list, tuple)):
            return type(arg)(self.value(a) for a in arg)
        return arg

    def tensor(self, arg: Any) -> str:
        """The graph reference (``id`` or ``id:k``) an argument holds; anything else is unsupported."""
        value = self.value(arg)
        if isinstance(value, Learned):
            raise Unsupported(
                f"parameter `{value.path}` is used other than as a class token (torch.cat([p.expand(B, -1, -1), x], "
                "dim=1)), a position embedding (x + p) or a layer scale (p * x)"
            )
        if isinstance(value, Fixed):
            raise Unsupported(
                f"buffer `{value.path}` is used other than as the sinusoid table of a positional encoding "
                "(x + table[: x.shape[1]]); no node holds other fixed tensors"
            )
        if not isinstance(value, str):
            raise Unsupported(f"an argument that is not a tensor ({type(value).__name__}) where a tensor is needed")
        return value

    def is_tensor(self, arg: Any) -> bool:
        return isinstance(arg, fx.Node) and isinstance(self.builder.values.get(arg), str)

    def is_batch(self, arg: Any) -> bool:
        return isinstance(arg, fx.Node) and isinstance(self.builder.values.get(arg), Batch)

    def shape(self, arg: Any) -> tuple[int, ...]:
        meta = arg.meta.get("tensor_meta") if isinstance(arg, fx.Node) else None
        if meta is None or not hasattr(meta, "shape"):
            raise Unsupported("a value whose shape could not be recorded")
        return tuple(meta.shape)

    def rank(self, arg: Any) -> int:
        return len(self.shape(arg))

    def emit(self, node_type: str, params: dict[str, Any], inputs: list[str], path: str | None = None) -> str:
        return self.builder.add(self.node, node_type, params, inputs, path)


def _module_path(node: fx.Node) -> str | None:
    if node.op == "call_module":
        return str(node.target)
    stack = node.meta.get("nn_module_stack")
    if stack:
        path = list(stack.values())[-1]
        return path[0] if isinstance(path, tuple) else str(path)
    return None


def _describe(node: fx.Node) -> str:
    if node.op == "call_module":
        return f"module `{node.target}`"
    if node.op == "call_method":
        return f"method `.{node.target}()`"
    if node.op == "get_attr":
        return f"parameter `{node.target}`"
    if node.op == "call_function":
        name = getattr(node.target, "__name__", str(node.target))
        module = getattr(node.target, "__module__", "") or ""
        if module.startswith("torch.nn.functional"):
            name = f"F.{name}"
        elif module == "_operator":
            name = f"operator.{name}"
        elif module.startswith("torch"):
            name = f"torch.{name}"
        return f"function `{name}`"
    return f"`{node.op} {node.target}`"


def _diagnostic(node: fx.Node, message: str) -> Diagnostic:
    path = _module_path(node)
    where = [f"in `{path}`"] if path else []
    line = _node_line(node)
    if line:
        where.append(f"at {line}")
    text = f"cannot import {_describe(node)}: {message}"
    if where:
        text += " (" + ", ".join(where) + ")"
    return Diagnostic("IMPORT", text, node=node.name, path=path)


def _inplace_safe(ctx: Context, arg: Any) -> None:
    """An in-place op on a value read again later would change what those reads see: refuse it."""
    if not isinstance(arg, fx.Node):
        return
    node, order = ctx.node, ctx.builder.order
    later = [user for user in arg.users if user is not node and order[user] > order[node]]
    if later:
        raise Unsupported(
            f"it changes `{arg.name}` in place, which `{later[0].name}` reads afterwards; "
            "write the operation out of place"
        )


def _call_module(ctx: Context) -> Any:
    node, module = ctx.node, ctx.module
    rule = module_rule(module)
    if rule is None:
        raise Unsupported(f"no node type for `{type(module).__module__}.{type(module).__name__}`")
    if getattr(module, "inplace", False) and node.args:
        _inplace_safe(ctx, node.args[0])
    path: str | None = str(node.target)
    if path in ctx.builder.used_paths:
        if any(True for _ in module.parameters()) or any(True for _ in module.buffers()):
            raise Unsupported("the module is called more than once (shared weights); the graph has one node per call")
        path = None  # a second call of a stateless module: the first call holds its name
    else:
        ctx.builder.used_paths.add(path)
    return rule(ctx, path if rule.keeps_path else None)


def _call(ctx: Context) -> Any:
    node = ctx.node
    if node.op == "call_module":
        return _call_module(ctx)
    if node.op == "call_function":
        target = node.target
        name = f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', '')}"
        rule = FUNCTIONS.get(target) or NAMED_FUNCTIONS.get(name)
    else:
        rule = METHODS.get(node.target)
    if rule is None:
        raise Unsupported("no node type does this")
    if rule.inplace and node.args:
        _inplace_safe(ctx, node.args[0])
    return rule(ctx)


def _propagate(module: nn.Module, graph: fx.Graph, inputs: list[torch.Tensor], shapes: dict[str, list[int]]) -> None:
    """Record every node's shape by running ``graph`` on ``inputs``; a failure names the node and its line."""
    propagation = _ShapeProp(fx.GraphModule(module, graph))
    try:
        # ShapeProp prints the traceback of a failing node itself; the diagnostic below says it in one line.
        with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):
            propagation.propagate(*inputs)
    except Exception as exc:  # ShapeProp wraps the error the user's code raised: report that one
        while exc.__cause__ is not None:
            exc = exc.__cause__
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GraphError(
            [_diagnostic(propagation.current, f"it fails on inputs of shapes {shapes}: {reason}")]
        ) from None


def _example_inputs(
    graph: fx.Graph, shapes: dict[str, list[int]], vocab: dict[str, int], device: str = "cpu"
) -> list[torch.Tensor]:
    tensors = []
    for node in graph.nodes:
        if node.op != "placeholder":
            continue
        if node.name not in shapes:
            raise fail(
                f"input `{node.name}` needs a shape (sizes without the batch axis): give input_shapes "
                "(--input-shape on the command line)"
            )
        size = (2, *shapes[node.name])
        if device == "meta":
            tensors.append(torch.empty(size, dtype=torch.int64 if node.name in vocab else None, device="meta"))
        elif node.name in vocab:
            tensors.append(torch.randint(0, vocab[node.name], size))
        else:
            tensors.append(torch.randn(size))
    return tensors


def _token_inputs(graph: fx.Graph, root: nn.Module) -> dict[str, int]:
    """Inputs read straight by an ``nn.Embedding`` are int64 token ids below its vocabulary size."""
    vocab: dict[str, int] = {}
    for node in graph.nodes:
        if node.op != "placeholder":
            continue
        for user in node.users:
            if user.op == "call_module" and isinstance(root.get_submodule(str(user.target)), nn.Embedding):
                vocab[node.name] = root.get_submodule(str(user.target)).num_embeddings
    return vocab


def _shapes_from_first_layer(graph: fx.Graph, root: nn.Module) -> dict[str, list[int]]:
    """Input sizes where the first layer fixes them: an input read only by ``nn.Linear`` layers is (B, in_features)."""
    shapes = {}
    for node in graph.nodes:
        if node.op != "placeholder" or not node.users:
            continue
        users = [root.get_submodule(str(u.target)) if u.op == "call_module" else None for u in node.users]
        sizes = {m.in_features for m in users if isinstance(m, nn.Linear)}
        if len(sizes) == 1 and all(isinstance(m, nn.Linear) for m in users):
            shapes[node.name] = [sizes.pop()]
    return shapes


def _normalise_shapes(graph: fx.Graph, root: nn.Module, input_shapes: Any) -> dict[str, list[int]]:
    names = [n.name for n in graph.nodes if n.op == "placeholder"]
    if input_shapes is None:
        return _shapes_from_first_layer(graph, root)
    if isinstance(input_shapes, dict):
        unknown = sorted(set(input_shapes) - set(names))
        if unknown:
            raise fail(f"input_shapes names {unknown}, but forward() takes {names}")
        return {k: [int(s) for s in v] for k, v in input_shapes.items()}
    if len(names) != 1:
        raise fail(f"forward() takes {len(names)} inputs {names}: give input_shapes as {{name: sizes}}")
    return {names[0]: [int(s) for s in input_shapes]}


_LOADED: list[str] = []


def load_generated(
    path: str | Path, input_shapes: dict[str, list[int]] | None = None
) -> tuple[nn.Module, dict[str, list[int]], str]:
    """A package TorchCanvas generated (maybe edited since): its ``build_model()``, input shapes and class name.

    ``input_shapes`` adds to (or overrides) the package's ``INPUT_SHAPES``; lazy packages need it.
    The package is imported under a private name from ``path`` (the folder holding ``__init__.py``).
    """
    folder = Path(path)
    init = folder / "__init__.py"
    if not init.is_file():
        raise fail(f"{folder} is not a generated package: it has no __init__.py")
    # A fresh private name each time: two packages of one name never mix, and the classes stay importable
    # (inspect reads their source through sys.modules to recognise built-in blocks).
    name = f"_torchcanvas_import_{len(_LOADED)}_{folder.name}"
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(folder)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    _LOADED.append(name)
    try:
        spec.loader.exec_module(package)
    except Exception as exc:
        line = _traceback_line(exc)
        raise fail(f"importing {folder} failed{f' at {line}' if line else ''}: {exc}") from None
    missing = [attr for attr in ("build_model", "INPUT_SHAPES") if not hasattr(package, attr)]
    if missing:
        raise fail(f"{folder} lacks {', '.join(missing)}: is it a package TorchCanvas generated?")
    shapes = {k: list(v) for k, v in {**package.INPUT_SHAPES, **(input_shapes or {})}.items() if v is not None}
    open_inputs = sorted(set(package.INPUT_SHAPES) - set(shapes))
    if open_inputs:
        raise fail(f"the package leaves the shape of input(s) {open_inputs} open: give them (--input-shape NAME=SIZES)")
    try:
        model = package.build_model({k: tuple(v) for k, v in shapes.items()})
    except Exception as exc:
        line = _traceback_line(exc)
        raise fail(f"build_model() of {folder} failed{f' at {line}' if line else ''}: {exc}") from None
    return model, shapes, type(model).__name__


def trace(module: nn.Module) -> fx.GraphModule:
    """``module`` traced with :class:`ImportTracer`; a construct fx cannot trace is an ``IMPORT`` error."""
    return fx.GraphModule(module, _trace(module), type(module).__name__)


def _trace(module: nn.Module) -> fx.Graph:
    """The graph of :func:`trace`, without the GraphModule (whose code generation the importer never uses):
    its targets are paths in ``module`` itself."""
    tracer = ImportTracer()
    try:
        graph = tracer.trace(module)
    except Exception as exc:  # fx raises TraceError, TypeError, AttributeError, … from the user's forward
        line = _traceback_line(exc)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "control flow" in reason:
            reason = "a Python `if`/`while` (or bool()) on a tensor value: the graph would depend on the data"
        where = f" at {line}" if line else ""
        raise fail(f"cannot trace `{type(module).__name__}`{where}: {reason}") from None
    return graph


def from_module(
    module: nn.Module,
    input_shapes: dict[str, list[int]] | list[int] | None = None,
    *,
    name: str | None = None,
    placeholders: bool = False,
) -> dict[str, Any]:
    """A graph document v0.2 computing what ``module`` computes (in eval mode), with its state_dict keys.

    ``input_shapes``: sizes without the batch axis, ``[3, 224, 224]`` for a single input or ``{name:
    sizes}`` by forward() argument name. Raises :class:`GraphError` with ``IMPORT`` diagnostics for what
    has no node; with ``placeholders``, a part that has none but gives one tensor from tensors of the
    graph becomes a ``NotImported`` node instead (an error in the graph until it is replaced).
    """
    was_training = module.training
    module.eval()
    try:
        graph = _trace(module)
        shapes = _normalise_shapes(graph, module, input_shapes)
        vocab = _token_inputs(graph, module)
        inputs = _example_inputs(graph, shapes, vocab, device="meta")
        if not propagate_meta(module, graph, inputs):  # an op without a meta kernel, or a real failure
            _propagate(module, graph, _example_inputs(graph, shapes, vocab), shapes)  # tells which
        builder = Builder(shapes, order={n: i for i, n in enumerate(graph.nodes)})
        problems: list[Diagnostic] = []
        failed: set[fx.Node] = set()
        for node in graph.nodes:
            if any(source in failed for source in node.all_input_nodes):
                failed.add(node)  # reported where it started; its consequences add nothing
                continue
            try:
                _convert(builder, module, node, vocab)
            except Unsupported as exc:
                if placeholders and _placeholder(builder, node, str(exc)):
                    continue
                failed.add(node)
                problems.append(_diagnostic(node, str(exc)))
        if problems:
            raise GraphError(problems)
        _check_weights_used(module, builder.used_paths)
    finally:
        module.train(was_training)
    title = name or type(module).__name__
    document = {
        "version": "0.2",
        "metadata": {"name": title, "description": f"Imported from `{type(module).__module__}.{title}`."},
        "nodes": builder.nodes,
        "edges": builder.edges,
        "inputs": builder.inputs,
        "outputs": builder.outputs,
    }
    resolved = _resolve_layouts(document, builder)
    if builder.output_names is not None:
        resolved["outputs"] = dict(zip(builder.output_names, resolved["outputs"]))
    return resolved


def _placeholder(builder: Builder, node: fx.Node, reason: str) -> bool:
    """A ``NotImported`` node where ``node`` was, when it gives one tensor from tensors the graph has."""
    meta = node.meta.get("tensor_meta")
    sizes = list(getattr(meta, "shape", ()))[1:]
    sources = [builder.values[n] for n in node.all_input_nodes if isinstance(builder.values.get(n), str)]
    if not hasattr(meta, "shape") or not sources or len(sizes) > 4 or not all(sizes):
        return False
    params: dict[str, Any] = {"op": _describe(node), "reason": _clipped(reason), "shape": sizes}
    line = _node_line(node)
    if line:  # the graph may be shared: a file under the working folder is named relative to it
        params["source"] = _clipped(line.removeprefix(str(Path.cwd()) + os.sep))
    if meta.dtype == torch.int64:
        params["dtype"] = "int64"
    if node.op == "call_module":  # its weights wait for the nodes that replace it
        builder.used_paths.add(str(node.target))
    builder.values[node] = builder.add(node, "NotImported", params, list(dict.fromkeys(sources)))
    return True


def _clipped(text: str, limit: int = 500) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_weights_used(module: nn.Module, used: set[str]) -> None:
    """Weights no call reads (GoogLeNet's training-only aux heads) would make a strict load fail: refuse them."""
    # A key is used when a node holds it or a module above it (a learned tensor's node holds the key itself).
    held: dict[str, bool] = {}

    def is_held(path: str) -> bool:
        if path not in held:
            parent = path.rpartition(".")[0]
            held[path] = path in used or (bool(parent) and is_held(parent))
        return held[path]

    keys = [k for k in module.state_dict(keep_vars=True) if not is_held(k)]
    unused = sorted({key.rsplit(".", 1)[0] for key in keys})
    if unused:
        shown = ", ".join(f"`{path}`" for path in unused[:5]) + (
            f" and {len(unused) - 5} more" if len(unused) > 5 else ""
        )
        raise fail(
            f"{shown} hold weights that forward() never uses in eval mode, so the graph has no node for them and "
            "the generated model could not load this state_dict strictly; remove them from the model first"
        )


def _convert(builder: Builder, root: nn.Module, node: fx.Node, vocab: dict[str, int]) -> None:
    if node.op == "placeholder":
        params: dict[str, Any] = {"shape": builder.shapes.get(node.name)}
        if node.name in vocab:
            params.update(dtype="int64", vocab_size=vocab[node.name])
        builder.values[node] = builder.add(node, "Input", params, [])
        builder.inputs.append(node.name)
    elif node.op == "output":
        _outputs(builder, node)
    elif node.op == "get_attr":
        target = str(node.target)
        if _is_parameter(root, target):
            builder.values[node] = Learned(target, root.get_parameter(target))
        elif isinstance(value := _attribute(root, target), torch.Tensor):  # a buffer, or a tensor attribute
            builder.values[node] = Fixed(target, value)
        else:
            raise Unsupported("an attribute read directly in forward() that is no parameter or tensor")
    else:
        _fold_numbers(builder, node)
        module = root.get_submodule(str(node.target)) if node.op == "call_module" else None
        builder.values[node] = _call(Context(builder, node, module))


def _fold_numbers(builder: Builder, node: fx.Node) -> None:
    """Arguments that are sizes computed earlier (``c // groups``) become the numbers they are."""

    def number(value: Any) -> bool:
        if isinstance(value, tuple):
            return all(number(v) for v in value)
        return isinstance(value, (int, float, bool))

    if not any(number(builder.values.get(source)) for source in node.all_input_nodes):
        return  # the usual case: nothing to fold, and rewriting the arguments would cost a graph update

    def fold(arg: Any) -> Any:
        value = builder.values.get(arg) if isinstance(arg, fx.Node) else None
        return value if value is not None and number(value) else arg

    node.args = fx.node.map_aggregate(node.args, fold)
    node.kwargs = fx.node.map_aggregate(node.kwargs, fold)


def _attribute(root: nn.Module, target: str) -> Any:
    value: Any = root
    for name in target.split("."):
        value = getattr(value, name, None)
    return value


def _is_parameter(root: nn.Module, target: str) -> bool:
    try:
        root.get_parameter(target)
    except AttributeError:
        return False
    return True


def _outputs(builder: Builder, node: fx.Node) -> None:
    result = node.args[0]
    if isinstance(result, dict):  # forward() returns named outputs: the graph's outputs are named the same
        if not all(isinstance(k, str) and OUTPUT_NAME.fullmatch(k) for k in result):
            shown = ", ".join(repr(k) for k in result)
            raise Unsupported(
                f"a dict of outputs whose keys ({shown}) are not all output names (letters, digits, _ . / -)"
            )
        builder.output_names = list(result)
    values = list(result.values()) if isinstance(result, dict) else result
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    ctx = Context(builder, node)
    for value in values:
        builder.outputs.append(ctx.tensor(value))  # one output of a Split/Chunk by its port: ``split:1``


@dataclass(frozen=True)
class _Named:
    name: str


def _resolve_layouts(document: dict[str, Any], builder: Builder) -> dict[str, Any]:
    """Fix what only the engine's layout inference can tell, then require the graph to validate.

    ``x.permute(0, 2, 1)`` on (B, C, T) is ``Permute_BCT_to_BTH`` (before an RNN) and on (B, T, H)
    ``Permute_BTH_to_BCT``; the code is the same, the graph reads better and infers layouts right.
    """
    _fuse_layernorm2d(document)
    # Validation is most of an import's time past tracing: the graph is validated again only where it changed,
    # and a graph without (B, C, T)/(B, T, H) questions is validated only once it is folded, which is the graph
    # returned (should that fail, the flat graph is validated below and its diagnostics name the fx nodes).
    questions = _layout_questions(document, builder)
    if not questions:
        folded = fold(document, builder.origin)
        if folded is not None and not _blocking(validate(folded)):
            return folded
    result = validate(document)
    conflicts = _conflicts(result, builder)
    for node in document["nodes"]:
        # A rank-3 input is read as (B, C, T) unless stated; one that sequence layers read is (B, T, H).
        if node["type"] == "Input" and len(node["params"].get("shape") or ()) == 2 and conflicts:
            node["params"]["layout"] = "BTH"
            retried = validate(document)
            fewer = _conflicts(retried, builder)
            if fewer < conflicts:
                result, conflicts = retried, fewer
            else:
                del node["params"]["layout"]
    analysis = result.analysis
    renamed = False
    for node in document["nodes"]:
        if node["type"] == "Permute" and node["params"].get("dims") == [0, 2, 1] and node["id"] in analysis.info:
            edge = analysis.info[node["id"]].inputs[0]
            layout = getattr(analysis.edge_type(edge), "layout", None)
            if layout in (CHANNELS_FIRST, SEQUENCE):
                node["type"] = "Permute_BCT_to_BTH" if layout == CHANNELS_FIRST else "Permute_BTH_to_BCT"
                node["params"] = {}
                renamed = True
    if renamed:
        result = validate(document)
    for node_id, axes in builder.mean_axes.items():
        if axes == [1] and not _sequence(result, node_id):
            raise GraphError(
                [_diagnostic(builder.origin[node_id], "a mean over axis 1 of a tensor that is not (B, T, H)")]
            )
    errors = _blocking(result)
    if errors:
        raise GraphError([_explain(d, builder) for d in errors])
    if not questions:  # folded above: there was nothing to fold, or the engine refused the blocks
        return document
    folded = fold(document, builder.origin)
    # Folding only regroups nodes; should the engine refuse a block it made, the flat graph stands.
    return folded if folded is not None and not _blocking(validate(folded)) else document


def _layout_questions(document: dict[str, Any], builder: Builder) -> bool:
    """Whether the flat graph's analysis must decide layouts: a rank-3 input, a ``permute(0, 2, 1)``, a mean
    over axis 1."""
    for node in document["nodes"]:
        params = node["params"]
        if node["type"] == "Input" and len(params.get("shape") or ()) == 2:
            return True
        if node["type"] == "Permute" and params.get("dims") == [0, 2, 1]:
            return True
    return bool(builder.mean_axes)


def _blocking(result: Any) -> list[Diagnostic]:
    """The errors that stop an import: all but the placeholders it made on purpose."""
    return [d for d in result.diagnostics if d.severity == "error" and d.code != "NOT_IMPORTED"]


def _fuse_layernorm2d(document: dict[str, Any]) -> None:
    """``norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)`` is the code of one ``LayerNorm2d`` (ConvNeXt's)."""
    nodes = {n["id"]: n for n in document["nodes"]}
    readers: dict[str, list[list[str]]] = {node_id: [] for node_id in nodes}
    for edge in document["edges"]:
        readers[edge[0].split(":")[0]].append(edge)

    def only_reader(node_id: str, node_type: str, dims: list[int] | None = None) -> dict[str, Any] | None:
        found = readers[node_id]
        if len(found) != 1 or node_id in document["outputs"]:
            return None
        node = nodes[found[0][1]]
        if node["type"] != node_type or (dims is not None and node["params"].get("dims") != dims):
            return None
        return node

    for first in list(document["nodes"]):
        if first["type"] != "Permute" or first["params"].get("dims") != [0, 2, 3, 1]:
            continue
        norm = only_reader(first["id"], "LayerNorm")
        last = norm and only_reader(norm["id"], "Permute", [0, 3, 1, 2])
        if last is None or norm["params"].get("elementwise_affine") is False:
            continue
        norm["type"], norm["params"] = "LayerNorm2d", {"eps": norm["params"]["eps"]}
        source = next(e[0] for e in document["edges"] if e[1] == first["id"])
        document["nodes"] = [n for n in document["nodes"] if n["id"] not in (first["id"], last["id"])]
        edges = []
        for edge in document["edges"]:
            if edge[0] == first["id"]:
                edges.append([source, *edge[1:]])
            elif edge[0] == last["id"]:
                edges.append([norm["id"], *edge[1:]])
            elif edge[1] not in (first["id"], last["id"]):
                edges.append(edge)
        document["edges"] = edges
        document["outputs"] = [norm["id"] if o == last["id"] else o for o in document["outputs"]]
        readers[norm["id"]] = readers[last["id"]]


def _conflicts(result: Any, builder: Builder) -> int:
    """Layout errors, and means over axis 1 that GlobalAvgPool would take over axis 2 (not a sequence)."""
    errors = sum(1 for d in result.diagnostics if d.code == "LAYOUT" and d.severity == "error")
    return errors + sum(
        1 for node_id, axes in builder.mean_axes.items() if axes == [1] and not _sequence(result, node_id)
    )


def _sequence(result: Any, node_id: str) -> bool:
    info = result.analysis.info.get(node_id)
    if info is None or not info.inputs:
        return False
    return getattr(result.analysis.edge_type(info.inputs[0]), "layout", None) == SEQUENCE


def _explain(d: Diagnostic, builder: Builder) -> Diagnostic:
    origin = builder.origin.get(d.node or "")
    if origin is None or isinstance(origin, _Named):
        return Diagnostic("IMPORT", f"the imported graph does not validate: {d.message}", node=d.node)
    return _diagnostic(origin, f"the graph node it became does not validate: {d.code}: {d.message}")


__all__ = ["from_module", "load_generated", "trace", "ImportTracer"]
