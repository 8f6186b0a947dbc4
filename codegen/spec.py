"""Node type declarations (``NodeSpec``) and the registry every other part reads: ``NODE_SPECS``.

A node type is declared once: category, parameters, input ports, shape rule, render rule and
palette metadata. The shape rule (``infer``) maps input tensor types to output types and raises
:class:`~codegen.diagnostics.ShapeError` for what cannot work; the render rule (``emit``) describes
the submodule constructor and the forward computation in :mod:`codegen.ir` terms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .diagnostics import ShapeError, insert_node
from .dims import Dim
from .ir import Assign, Call, Ref, SelfAttr
from .params import Param
from .schema import Limits
from .tensor import AXIS_LETTERS, SEQUENCE, UNKNOWN, TensorType, channels_first_order, unknown_of_rank

RANK_NAMES = {2: "(B, F)", 3: "(B, C, T)", 4: "(B, C, H, W)", 5: "(B, C, D, H, W)"}


@dataclass
class InferCtx:
    """What a shape rule sees: the node, its checked params and its input types in port order."""

    node: str
    params: dict[str, Any]
    inputs: list[TensorType]
    sources: list[str] = field(default_factory=list)  # the node each input comes from
    warnings: list[ShapeError] = field(default_factory=list)
    errors: list[ShapeError] = field(default_factory=list)  # reported while the output type still stands
    limits: Limits = field(default_factory=Limits)  # the deployment's policy (which custom modules it allows)

    def input(
        self,
        index: int = 0,
        *,
        ranks: tuple[int, ...] | None = None,
        dtype: str | None = "float32",
        channels_first: bool = False,
    ) -> TensorType:
        """Input ``index``, checked against the accepted ``ranks``; unknown rank assumes the first.

        ``channels_first``: the layer reads channels on axis 1, so a (B, T, H) sequence is refused with a
        suggestion to permute it (PyTorch would read T as the channels and fail, or silently mix time steps).
        An image whose axes a Permute reordered (``BHWC``) is refused the same way by every layer that
        states its ranks: those layers read (B, C, H, W).
        """
        t = self.inputs[index]
        if dtype is not None and t.dtype != dtype:
            what = "integer token ids" if t.dtype == "int64" else "floating-point values"
            raise ShapeError(
                "DTYPE", f"receives {what}; it needs {dtype} (add an Embedding first for tokens)", edge_index=index
            )
        if ranks is None:
            return t
        if not t.rank_known:
            return unknown_of_rank(ranks[0]) if len(ranks) == 1 else t
        if t.rank not in ranks:
            wanted = " or ".join(f"rank {r} {RANK_NAMES.get(r, '')}".rstrip() for r in ranks)
            raise ShapeError("RANK", f"expects {wanted}, got {t.describe()}", edge_index=index)
        if channels_first and t.rank == 3 and t.layout == SEQUENCE:
            raise ShapeError(
                "LAYOUT",
                f"expects channels first (B, C, T) but receives {t.describe()}; insert Permute_BTH_to_BCT",
                insert_node("Permute_BTH_to_BCT", self.edge(index)),
                edge_index=index,
            )
        if t.rank in AXIS_LETTERS and not t.channels_first:  # every rank-4/5 layer reads images channels first
            dims = channels_first_order(t)
            raise ShapeError(
                "LAYOUT",
                f"expects channels first {RANK_NAMES[t.rank]} but receives {t.describe()}; "
                f"insert a Permute with dims {dims}",
                insert_node("Permute", self.edge(index), {"dims": dims}),
                edge_index=index,
            )
        return t

    def fail(
        self, code: str, message: str, suggestion: dict[str, Any] | None = None, edge_index: int | None = None
    ) -> ShapeError:
        return ShapeError(code, message, suggestion, edge_index)

    def warn(
        self, code: str, message: str, suggestion: dict[str, Any] | None = None, edge_index: int | None = None
    ) -> None:
        self.warnings.append(ShapeError(code, message, suggestion, edge_index))

    def edge(self, index: int = 0) -> tuple[str, str]:
        return (self.sources[index], self.node) if index < len(self.sources) else ("", self.node)


@dataclass
class EmitCtx:
    """What a render rule sees: names already chosen, checked params and inferred types."""

    name: str  # the submodule attribute (``self.<name>``)
    params: dict[str, Any]
    in_types: list[TensorType]
    out_type: TensorType | tuple[TensorType, ...]
    inputs: list[Any]  # expressions for the inputs, in port order
    outputs: tuple[str, ...]  # variable names to assign, one per output
    new_temp: Callable[[str], str]

    @property
    def module(self) -> SelfAttr:
        return SelfAttr(self.name)

    @property
    def x(self) -> Any:
        return self.inputs[0]

    @property
    def out(self) -> str:
        return self.outputs[0]

    def in_features(self, index: int = 0) -> Dim:
        return self.in_types[index].features

    def temp(self, hint: str) -> Ref:
        return Ref(self.new_temp(hint))

    def assign(self, value: Any) -> Assign:
        return Assign(self.outputs, value)


@dataclass(frozen=True)
class CostCtx:
    """What a cost rule sees: checked params, input types in port order and the inferred output type(s)."""

    params: dict[str, Any]
    inputs: list[TensorType]
    out: TensorType | tuple[TensorType, ...]

    def size(self, index: int, dim: int) -> int | None:
        """Input ``index``'s size on axis ``dim`` (batch excluded, negative from the end); None when unknown."""
        t = self.inputs[index]
        if not t.rank_known or not -len(t.dims) <= dim < len(t.dims):  # type: ignore[arg-type]
            return None
        size = t.dims[dim]  # type: ignore[index]
        return size if type(size) is int else None


def known_product(*factors: Any) -> int | None:
    """The product of sizes, or None when one of them is unknown (None or symbolic)."""
    total = 1
    for factor in factors:
        if type(factor) is not int:
            return None
        total *= factor
    return total


@dataclass(frozen=True)
class NodeCode:
    """A node's contribution: an optional submodule constructor, forward statements, and the
    ``from module import name`` imports they need beyond torch (a CustomModule's class)."""

    init: Call | None
    body: tuple[Assign, ...]
    imports: tuple[tuple[str, str], ...] = ()


def apply_module(ctx: EmitCtx, init: Call) -> NodeCode:
    """The common case: ``self.name = init`` and ``out = self.name(*inputs)``."""
    return NodeCode(init, (ctx.assign(Call(ctx.module, tuple(ctx.inputs))),))


def functional(ctx: EmitCtx, value: Any) -> NodeCode:
    """A node without a submodule: ``out = value``."""
    return NodeCode(None, (ctx.assign(value),))


@dataclass(frozen=True)
class NodeSpec:
    type: str
    category: str
    doc: str
    infer: Callable[[InferCtx], TensorType | tuple[TensorType, ...]]
    emit: Callable[[EmitCtx], NodeCode]
    params: tuple[Param, ...] = ()
    ports: tuple[str, ...] = ("x",)
    variadic: bool = False  # any number (≥ min_inputs) of inputs, in edge order
    min_inputs: int = 1
    outputs: Callable[[dict[str, Any]], int] | int = 1
    aliases: tuple[str, ...] = ()
    summary: tuple[str, ...] = ()  # params shown on the node face in the canvas
    color: str = ""
    paper: str = ""  # citation, for composite blocks
    composite: bool = False
    block_class: type | None = None  # built-in block: the nn.Module class whose source is emitted
    requires: tuple[str, ...] = ()  # other block classes that class's source refers to
    palette: bool = True  # offered in the canvas's palette (an import placeholder is not something to add)
    # Multiply-accumulates per sample of the node's matmul/conv-like work (see codegen.summary); None: none.
    macs: Callable[[CostCtx], int | None] | None = None

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def num_outputs(self, params: dict[str, Any]) -> int:
        return self.outputs(params) if callable(self.outputs) else self.outputs

    @property
    def arity(self) -> tuple[int, int | None]:
        """(minimum, maximum) number of incoming edges; ``None`` for no maximum."""
        if self.type == "Input":
            return (0, 0)
        if self.variadic:
            return (self.min_inputs, None)
        return (len(self.ports), len(self.ports))

    def to_json(self) -> dict[str, Any]:
        outputs = self.outputs if isinstance(self.outputs, int) else "param"
        data = {
            "type": self.type,
            "category": self.category,
            "doc": self.doc,
            "params": [p.schema() for p in self.params],
            "ports": list(self.ports),
            "variadic": self.variadic,
            "min_inputs": self.arity[0],
            "max_inputs": self.arity[1],
            "outputs": outputs,
            "aliases": list(self.aliases),
            "summary": list(self.summary),
            "color": self.color or CATEGORY_COLORS.get(self.category, "#64748b"),
            "composite": self.composite,
        }
        if self.paper:
            data["paper"] = self.paper
        if not self.palette:
            data["palette"] = False
        return data


CATEGORY_COLORS = {
    "io": "#0ea5e9",
    "linear": "#6366f1",
    "conv": "#8b5cf6",
    "norm": "#14b8a6",
    "activation": "#f59e0b",
    "dropout": "#94a3b8",
    "pool": "#22c55e",
    "reshape": "#64748b",
    "merge": "#ef4444",
    "math": "#e11d48",
    "recurrent": "#ec4899",
    "attention": "#d946ef",
    "sampling": "#84cc16",
    "embedding": "#0891b2",
    "block": "#f97316",
    "imported": "#6b7280",
    "loss": "#dc2626",
    "metric": "#0d9488",
    "custom": "#a16207",
}

NODE_SPECS: dict[str, NodeSpec] = {}
ALIASES: dict[str, str] = {}


def register(*specs: NodeSpec) -> None:
    for spec in specs:
        assert spec.type not in NODE_SPECS and spec.type not in ALIASES, spec.type
        NODE_SPECS[spec.type] = spec
        for alias in spec.aliases:
            assert alias not in NODE_SPECS and alias not in ALIASES, alias
            ALIASES[alias] = spec.type


def lookup(node_type: str) -> NodeSpec | None:
    """The spec for a type name or one of its aliases (``Conv`` → ``Conv2d``)."""
    return NODE_SPECS.get(node_type) or NODE_SPECS.get(ALIASES.get(node_type, ""))


__all__ = [
    "UNKNOWN",
    "CostCtx",
    "InferCtx",
    "EmitCtx",
    "known_product",
    "NodeCode",
    "NodeSpec",
    "NODE_SPECS",
    "register",
    "lookup",
]
