"""Pooling: windowed, adaptive and global."""

from __future__ import annotations

from ..dims import Dim, is_known
from ..ir import call, kw_unless, method
from ..params import Bool, Ints, as_tuple
from ..spec import EmitCtx, InferCtx, NodeCode, NodeSpec, apply_module, functional, register
from ..tensor import SEQUENCE, TensorType
from ._common import spatial_names, window_out


def _infer_window(nd: int):
    def infer(ctx: InferCtx) -> TensorType:
        x = ctx.input(0, ranks=(nd + 2,))
        p = ctx.params
        kernel = as_tuple(p["kernel_size"], nd)
        stride = as_tuple(p["stride"] if p["stride"] is not None else p["kernel_size"], nd)
        padding = as_tuple(p["padding"], nd)
        for k, pad in zip(kernel, padding):
            if is_known(k, pad) and pad * 2 > k:
                raise ctx.fail("PARAM_RANGE", f"padding {pad} must be at most half the kernel size {k}")
        sizes: list[Dim] = []
        for axis in range(nd):
            size = x.dims[axis + 1] if x.dims else None
            sizes.append(
                window_out(
                    ctx,
                    size,
                    kernel[axis],
                    stride[axis],
                    padding[axis],
                    ceil_mode=p["ceil_mode"],
                    axis_name=f"input {spatial_names(nd)[axis]}",
                )
            )
        return x.with_dims((x.dims[0] if x.dims else None, *sizes))

    return infer


def _emit_window(cls: str):
    def emit(ctx: EmitCtx) -> NodeCode:
        p = ctx.params
        kwargs = {
            "stride": kw_unless(p["stride"], None),
            "padding": kw_unless(p["padding"], 0),
            "ceil_mode": kw_unless(p["ceil_mode"], False),
        }
        return apply_module(ctx, call(f"nn.{cls}", p["kernel_size"], **kwargs))

    return emit


def _window_params(nd: int) -> tuple:
    return (
        Ints("kernel_size", default=2, length=nd, min=1, max=10_000, doc="Window size."),
        Ints(
            "stride",
            default=None,
            optional=True,
            length=nd,
            min=1,
            max=10_000,
            doc="Step; defaults to the kernel size.",
        ),
        Ints("padding", default=0, length=nd, min=0, max=10_000, doc="Implicit padding per side."),
        Bool("ceil_mode", default=False, doc="Round the output size up instead of down."),
    )


def _infer_adaptive(nd: int):
    def infer(ctx: InferCtx) -> TensorType:
        x = ctx.input(0, ranks=(nd + 2,))
        out = as_tuple(ctx.params["output_size"], nd)
        return x.with_dims((x.dims[0] if x.dims else None, *out))

    return infer


def _emit_adaptive(cls: str):
    def emit(ctx: EmitCtx) -> NodeCode:
        return apply_module(ctx, call(f"nn.{cls}", ctx.params["output_size"]))

    return emit


def infer_global(ctx: InferCtx) -> TensorType:
    x = ctx.input(0, ranks=(3, 4, 5))
    if not x.rank_known:
        return x.with_dims((None,))
    if x.layout == SEQUENCE:
        return x.with_dims((x.dims[-1],))
    return x.with_dims((x.dims[0],))


def emit_global(ctx: EmitCtx) -> NodeCode:
    t = ctx.in_types[0]
    if not t.rank_known:
        return functional(ctx, method(method(ctx.x, "flatten", 2), "mean", dim=2))
    if t.layout == SEQUENCE:
        return functional(ctx, method(ctx.x, "mean", dim=1))
    axes = tuple(range(2, t.rank))
    return functional(ctx, method(ctx.x, "mean", dim=axes[0] if len(axes) == 1 else axes))


def _pool_spec(kind: str, nd: int) -> NodeSpec:
    cls = f"{kind}Pool{nd}d"
    return NodeSpec(
        cls,
        "pool",
        f"{'Max' if kind == 'Max' else 'Average'} over sliding windows.",
        _infer_window(nd),
        _emit_window(cls),
        params=_window_params(nd),
        summary=("kernel_size", "stride"),
    )


def _adaptive_spec(kind: str, nd: int) -> NodeSpec:
    cls = f"Adaptive{kind}Pool{nd}d"
    return NodeSpec(
        cls,
        "pool",
        f"{'Max' if kind == 'Max' else 'Average'} pooling to a fixed output size.",
        _infer_adaptive(nd),
        _emit_adaptive(cls),
        params=(Ints("output_size", default=1, length=nd, min=1, max=100_000, doc="Output size per spatial axis."),),
        summary=("output_size",),
    )


register(
    _pool_spec("Max", 1),
    _pool_spec("Max", 2),
    _pool_spec("Avg", 1),
    _pool_spec("Avg", 2),
    _adaptive_spec("Avg", 1),
    _adaptive_spec("Avg", 2),
    _adaptive_spec("Max", 1),
    _adaptive_spec("Max", 2),
    NodeSpec(
        "GlobalAvgPool",
        "pool",
        "Mean over every spatial axis: (B, C, …) → (B, C); over time for sequences (B, T, H) → (B, H).",
        infer_global,
        emit_global,
        aliases=("GAP",),
    ),
)
