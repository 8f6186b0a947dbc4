"""The escape hatch: ``CustomModule``, a node that builds a user's own ``nn.Module`` class by its import path.

The engine never imports such a class to validate or render a graph: the path is checked as text against
the deployment's allow-list (``Limits.custom_modules``), the output shape is declared, and the generated
``model.py`` imports the class. Only the generated package (in a run worker or the CLI) and the reference
interpreter import it, the interpreter only when the allow-list it is given names it.
"""

from __future__ import annotations

import builtins
import importlib
from dataclasses import replace
from typing import Any

from ..diagnostics import ShapeError
from ..ir import Call, ListOf
from ..params import Choice, ClassPath, IntList, Kwargs
from ..schema import Graph, Limits
from ..spec import EmitCtx, InferCtx, NodeCode, NodeSpec, apply_module, register
from ..tensor import TensorType, tensor

TYPE = "CustomModule"
SAME = -1  # an output_shape entry: the input's size on that axis


def refusal(class_path: str) -> str:
    """The sentence for a class the allow-list does not name."""
    package = class_path.split(".")[0]
    return (
        f"custom module `{class_path}` is not allowed on this deployment: add `{class_path}` (or `{package}.*`) "
        "to TORCHCANVAS_CUSTOM_MODULES, or pass --allow-module to the CLI"
    )


def not_installed(class_path: str, reason: Any) -> str:
    """The sentence for an allowed class that cannot be imported where the model runs."""
    return f"custom module `{class_path}` is not installed on this worker: {reason}"


def split_path(class_path: str) -> tuple[str, str]:
    """``pkg.mod.Cls`` → (``pkg.mod``, ``Cls``)."""
    module, _, name = class_path.rpartition(".")
    return module, name


def name_problem(class_path: str) -> str | None:
    """Why the class's name cannot be imported into generated code (it would hide a name the code reads)."""
    from ..blocks import BLOCK_CLASSES  # late: the blocks package registers its specs after the nodes
    from ..render import MODULE_NAMES

    name = split_path(class_path)[1]
    if hasattr(builtins, name) or name in MODULE_NAMES or name in BLOCK_CLASSES:
        return (
            f"custom module `{class_path}`: its name `{name}` would hide a Python builtin or a name the generated "
            "code uses; import it through a module that gives it another name"
        )
    return None


def infer_custom(ctx: InferCtx) -> TensorType:
    class_path = ctx.params["class"]
    problem = None if ctx.limits.allows_module(class_path) else refusal(class_path)
    problem = problem or name_problem(class_path)
    if problem:
        ctx.errors.append(ShapeError("CUSTOM_MODULE", problem))
    t = ctx.input(0, dtype=None)
    dims = []
    for axis, size in enumerate(ctx.params["output_shape"]):
        if size == 0:
            raise ctx.fail("PARAM_RANGE", "output_shape: sizes are ≥ 1, or -1 for the input's size on that axis; got 0")
        if size != SAME:
            dims.append(size)
        elif t.dims is None:
            dims.append(None)  # the input's rank is unknown: so is this size
        elif axis < len(t.dims):
            dims.append(t.dims[axis])
        else:
            raise ctx.fail(
                "SHAPE",
                f"output_shape entry {axis} is -1 (the input's size on that axis), but the input "
                f"{t.describe()} has only {len(t.dims)} axes after the batch",
            )
    layout = ctx.params["layout"]
    if layout == "auto":
        layout = t.layout if t.dims is not None and len(t.dims) == len(dims) else None
    return tensor(*dims, layout=layout, dtype=ctx.params["dtype"])


def _literal(value: Any) -> Any:
    return ListOf(tuple(value)) if isinstance(value, list) else value


def emit_custom(ctx: EmitCtx) -> NodeCode:
    module, name = split_path(ctx.params["class"])
    # Keywords as given, never through ir.call(): a key may be any identifier, `fn` included.
    kwargs = tuple((key, _literal(value)) for key, value in ctx.params["kwargs"].items())
    return replace(apply_module(ctx, Call(name, (), kwargs)), imports=((module, name),))


def import_class(class_path: str, limits: Limits) -> type:
    """The class itself, for the reference interpreter: only when ``limits`` allows it.

    Raises ``PermissionError`` with :func:`refusal`'s sentence, or ``ImportError`` with
    :func:`not_installed`'s.
    """
    if not limits.allows_module(class_path):
        raise PermissionError(refusal(class_path))
    module, name = split_path(class_path)
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ImportError(not_installed(class_path, exc)) from None


def class_paths(graph: Graph) -> list[str]:
    """The class paths a graph's CustomModule nodes name (its blocks' included), read from the document."""
    bodies = [graph.body, *(definition.body for definition in graph.composites.values())]
    found = [
        node.params.get("class")
        for body in bodies
        for node in body.nodes
        if node.type == TYPE and isinstance(node.params.get("class"), str)
    ]
    return list(dict.fromkeys(found))


class CustomModuleMissing(ImportError):
    """A generated package that imports a custom module this Python cannot import (one sentence)."""


def missing_class(graph: Graph, exc: ImportError) -> CustomModuleMissing | None:
    """The sentence for ``exc``, raised while importing ``graph``'s generated code, when a custom module's
    import caused it; None for any other import error."""
    missing = exc.name or ""
    for class_path in class_paths(graph):
        module = split_path(class_path)[0]
        if missing and (module == missing or module.startswith(f"{missing}.") or missing.startswith(f"{module}.")):
            return CustomModuleMissing(not_installed(class_path, exc))
    return None


register(
    NodeSpec(
        TYPE,
        "custom",
        "Your own nn.Module: `class` is its import path (package.module.ClassName), built with `kwargs`. "
        "Runs only where that package is installed and the deployment allows it (TORCHCANVAS_CUSTOM_MODULES, "
        "or --allow-module). Declare its output: `output_shape` excludes the batch axis; -1 copies the "
        "input's size on that axis.",
        infer_custom,
        emit_custom,
        params=(
            ClassPath("class", doc="Import path of the nn.Module class: package.module.ClassName."),
            Kwargs("kwargs", default={}, doc="Constructor keyword arguments (a JSON object)."),
            IntList(
                "output_shape",
                min=SAME,
                max=1_000_000,
                min_length=1,
                max_length=4,
                doc="Output sizes without the batch axis; -1: the input's size on that axis.",
            ),
            Choice("dtype", default="float32", choices=("float32", "int64"), doc="The output's element type."),
            Choice("layout", default="auto", choices=("auto", "BCT", "BTH"), doc="For rank-3 outputs."),
        ),
        summary=("class",),
    )
)
