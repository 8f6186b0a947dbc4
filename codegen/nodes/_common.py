"""Helpers shared by the shape and render rules of several node types."""

from __future__ import annotations

from typing import Any

from ..dims import Dim, is_known
from ..ir import DEFAULT, call, kw_unless
from ..spec import EmitCtx, InferCtx, NodeCode, apply_module
from ..tensor import TensorType


def window_out(
    ctx: InferCtx,
    size: Dim,
    kernel: Any,
    stride: Any,
    padding: Any,
    dilation: Any = 1,
    ceil_mode: bool = False,
    axis_name: str = "input",
) -> Dim:
    """Output length of a convolution or pooling window along one axis (PyTorch's formula)."""
    if not is_known(size, kernel, stride, dilation) or not isinstance(padding, int):
        return None
    effective = dilation * (kernel - 1) + 1
    padded = size + 2 * padding
    numerator = padded - effective
    out = (-(-numerator // stride) if ceil_mode else numerator // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    # With ceil_mode a last window may overhang the padded end, so compare the count, not the sizes.
    if out < 1:
        raise ctx.fail(
            "IMPOSSIBLE_OUTPUT",
            f"kernel {effective} is larger than the padded {axis_name} {padded} at `{ctx.node}`",
        )
    return out


def spatial_names(nd: int) -> tuple[str, ...]:
    return {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}[nd]


def require_features(ctx: InferCtx, t: TensorType, what: str) -> None:
    """Raise NEEDS_SHAPE when a layer without a Lazy variant cannot know its input size."""
    if not t.rank_known or t.features is None:
        raise ctx.fail("NEEDS_SHAPE", f"cannot infer {what} without input shapes: set `shape` on the Input node")


def check_divisible(ctx: InferCtx, value: Dim, by: Any, message: str) -> None:
    if is_known(value, by) and value % by:
        raise ctx.fail("SHAPE", message)


def sized_module(ctx: EmitCtx, cls: str, size: Dim, *args: Any, lazy: str | None = None, **kwargs: Any) -> NodeCode:
    """``nn.<cls>(size, *args)`` or, when the size is unknown, ``nn.<lazy>(*args)``."""
    if size is None:
        assert lazy is not None, f"{cls} without a size reached rendering"
        return apply_module(ctx, call(f"nn.{lazy}", *args, **kwargs))
    return apply_module(ctx, call(f"nn.{cls}", size, *args, **kwargs))


def simple_module(cls: str, **defaults: Any):
    """Render rule for a module whose constructor takes params as keywords (defaults omitted)."""

    def emit(ctx: EmitCtx) -> NodeCode:
        kwargs = {name: kw_unless(ctx.params[name], default) for name, default in defaults.items()}
        return apply_module(ctx, call(f"nn.{cls}", **kwargs))

    return emit


def passthrough(ctx: InferCtx) -> TensorType:
    return ctx.input(0)


__all__ = ["DEFAULT", "window_out", "sized_module", "simple_module", "passthrough", "require_features"]
