"""Resampling and padding of spatial tensors."""

from __future__ import annotations

import math

from ..dims import is_known
from ..ir import call, kw_unless
from ..params import Bool, Choice, Float, Int, Ints, as_tuple
from ..spec import EmitCtx, InferCtx, NodeCode, NodeSpec, apply_module, register
from ..tensor import TensorType
from ._common import check_divisible

_MODE_RANKS = {"nearest": (3, 4, 5), "linear": (3,), "bilinear": (4,), "bicubic": (4,), "trilinear": (5,)}


def infer_upsample(ctx: InferCtx) -> TensorType:
    mode = ctx.params["mode"]
    x = ctx.input(0, ranks=_MODE_RANKS[mode])
    if not x.rank_known:
        return x
    scale = ctx.params["scale_factor"]
    spatial = tuple(math.floor(d * scale) if is_known(d) else None for d in x.dims[1:])
    if 0 in spatial:
        size = next(d for d, s in zip(x.dims[1:], spatial) if s == 0)
        raise ctx.fail("IMPOSSIBLE_OUTPUT", f"scale_factor {scale} shrinks a size of {size} to 0 at `{ctx.node}`")
    return x.with_dims((x.dims[0], *spatial))


def emit_upsample(ctx: EmitCtx) -> NodeCode:
    p = ctx.params
    scale = int(p["scale_factor"]) if float(p["scale_factor"]).is_integer() else p["scale_factor"]
    align = p["align_corners"] if p["mode"] in ("linear", "bilinear", "bicubic", "trilinear") else None
    init = call(
        "nn.Upsample", scale_factor=scale, mode=kw_unless(p["mode"], "nearest"), align_corners=kw_unless(align, None)
    )
    return apply_module(ctx, init)


def infer_pixel_shuffle(ctx: InferCtx) -> TensorType:
    x = ctx.input(0, ranks=(4,))
    r = ctx.params["upscale_factor"]
    check_divisible(ctx, x.features, r * r, f"{x.features} channels are not divisible by upscale_factor² = {r * r}")
    if not x.rank_known:
        return x
    c, h, w = x.dims
    return x.with_dims(
        (c // (r * r) if c is not None else None, h * r if is_known(h) else None, w * r if is_known(w) else None)
    )


def emit_pixel_shuffle(ctx: EmitCtx) -> NodeCode:
    return apply_module(ctx, call("nn.PixelShuffle", ctx.params["upscale_factor"]))


def infer_zero_pad(ctx: InferCtx) -> TensorType:
    x = ctx.input(0, ranks=(4, 3))
    if not x.rank_known:
        return x
    left, right, top, bottom = as_tuple(ctx.params["padding"], 4)
    c, h, w = x.dims if x.rank == 4 else (None, *x.dims)
    dims = (h + top + bottom if is_known(h) else None, w + left + right if is_known(w) else None)
    return x.with_dims((c, *dims) if x.rank == 4 else dims)


def emit_zero_pad(ctx: EmitCtx) -> NodeCode:
    return apply_module(ctx, call("nn.ZeroPad2d", ctx.params["padding"]))


register(
    NodeSpec(
        "Upsample",
        "sampling",
        "Upsamples spatial axes by `scale_factor` (nearest, linear, bilinear, …).",
        infer_upsample,
        emit_upsample,
        params=(
            Float("scale_factor", default=2.0, min=0.01, max=64.0, doc="Multiplier for each spatial size."),
            Choice("mode", default="nearest", choices=tuple(_MODE_RANKS), doc="Interpolation."),
            Bool("align_corners", default=False, doc="Align corner pixels (interpolating modes)."),
        ),
        summary=("scale_factor", "mode"),
    ),
    NodeSpec(
        "PixelShuffle",
        "sampling",
        "(B, C·r², H, W) → (B, C, H·r, W·r) (sub-pixel convolution).",
        infer_pixel_shuffle,
        emit_pixel_shuffle,
        params=(Int("upscale_factor", default=2, min=1, max=64, doc="Upscaling factor r."),),
        summary=("upscale_factor",),
    ),
    NodeSpec(
        "ZeroPad2d",
        "sampling",
        "Pads (B, C, H, W) with zeros: an int, or [left, right, top, bottom].",
        infer_zero_pad,
        emit_zero_pad,
        params=(Ints("padding", default=1, length=4, min=0, max=100_000, doc="Padding per side."),),
        summary=("padding",),
    ),
)
