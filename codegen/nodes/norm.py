"""Normalisation layers."""

from __future__ import annotations

from ..blocks.library import LayerNorm2d
from ..dims import floordiv, product
from ..ir import call, kw_unless
from ..params import Bool, Float, Int
from ..spec import EmitCtx, InferCtx, NodeCode, NodeSpec, apply_module, functional, register
from ..tensor import TensorType
from ._common import check_divisible, require_features, sized_module

_EPS = Float("eps", default=1e-5, min=0.0, max=1.0, doc="Added to the variance for numerical stability.")
_MOMENTUM = Float("momentum", default=0.1, min=0.0, max=1.0, doc="Running statistics update rate.")
_AFFINE = Bool("affine", default=True, doc="Learn a per-channel scale and shift.")


def _infer_channel_norm(ranks: tuple[int, ...]):
    def infer(ctx: InferCtx) -> TensorType:
        return ctx.input(0, ranks=ranks, channels_first=True)

    return infer


def _emit_batchnorm(nd: int):
    def emit(ctx: EmitCtx) -> NodeCode:
        p = ctx.params
        return sized_module(
            ctx,
            f"BatchNorm{nd}d",
            ctx.in_features(),
            lazy=f"LazyBatchNorm{nd}d",
            eps=kw_unless(p["eps"], 1e-5),
            momentum=kw_unless(p["momentum"], 0.1),
            affine=kw_unless(p["affine"], True),
        )

    return emit


def _emit_instancenorm(nd: int):
    def emit(ctx: EmitCtx) -> NodeCode:
        p = ctx.params
        return sized_module(
            ctx,
            f"InstanceNorm{nd}d",
            ctx.in_features(),
            lazy=f"LazyInstanceNorm{nd}d",
            eps=kw_unless(p["eps"], 1e-5),
            affine=kw_unless(p["affine"], False),
        )

    return emit


def infer_layernorm(ctx: InferCtx) -> TensorType:
    x = ctx.input(0)
    if not x.rank_known or x.dims[-1] is None:
        raise ctx.fail(
            "NEEDS_SHAPE",
            "cannot infer LayerNorm's normalized size without input shapes: set `shape` on the Input node",
        )
    if x.rank == 4 and x.layout is None:
        ctx.warn(
            "LAYOUT",
            f"LayerNorm normalises the last axis of {x.describe()}, i.e. the width; "
            "LayerNorm2d normalises the channels at each position, as ConvNeXt does",
            {"action": "set_type", "node": ctx.node, "type": "LayerNorm2d"},
            edge_index=0,
        )
    return x


def emit_layernorm(ctx: EmitCtx) -> NodeCode:
    p = ctx.params
    size = ctx.in_types[0].size(-1)
    init = call(
        "nn.LayerNorm", size, eps=kw_unless(p["eps"], 1e-5), elementwise_affine=kw_unless(p["elementwise_affine"], True)
    )
    return apply_module(ctx, init)


def infer_layernorm2d(ctx: InferCtx) -> TensorType:
    x = ctx.input(0, ranks=(4,), channels_first=True)
    require_features(ctx, x, "LayerNorm2d's channel count")
    return x


def emit_layernorm2d(ctx: EmitCtx) -> NodeCode:
    """ConvNeXt's LayerNorm2d: a module class (``nn.LayerNorm(C)`` applied channels last), as torchvision's."""
    return apply_module(ctx, call(LayerNorm2d.__name__, ctx.in_features(), eps=kw_unless(ctx.params["eps"], 1e-5)))


def infer_normalize(ctx: InferCtx) -> TensorType:
    x = ctx.input(0)
    dim = ctx.params["dim"]
    if x.rank_known and not 1 <= (dim + x.rank if dim < 0 else dim) < x.rank:
        raise ctx.fail("PARAM_RANGE", f"dim={dim} is not a non-batch axis of {x.describe()}")
    return x


def emit_normalize(ctx: EmitCtx) -> NodeCode:
    p = ctx.params
    kwargs = {"p": kw_unless(p["p"], 2.0), "dim": kw_unless(p["dim"], 1), "eps": kw_unless(p["eps"], 1e-12)}
    return functional(ctx, call("F.normalize", ctx.x, **kwargs))


def infer_groupnorm(ctx: InferCtx) -> TensorType:
    x = ctx.input(0, ranks=(3, 4, 5), channels_first=True)
    require_features(ctx, x, "GroupNorm's channel count")
    groups = ctx.params["num_groups"]
    check_divisible(ctx, x.features, groups, f"{x.features} channels cannot be split into {groups} groups")
    per_group = product((floordiv(x.features, groups), *x.dims[1:])) if x.dims else None
    if per_group == 1:
        raise ctx.fail("SHAPE", f"each of the {groups} groups would normalise a single value; use fewer groups")
    return x


def emit_groupnorm(ctx: EmitCtx) -> NodeCode:
    p = ctx.params
    init = call(
        "nn.GroupNorm",
        p["num_groups"],
        ctx.in_features(),
        eps=kw_unless(p["eps"], 1e-5),
        affine=kw_unless(p["affine"], True),
    )
    return apply_module(ctx, init)


def emit_lrn(ctx: EmitCtx) -> NodeCode:
    p = ctx.params
    init = call(
        "nn.LocalResponseNorm",
        p["size"],
        alpha=kw_unless(p["alpha"], 1e-4),
        beta=kw_unless(p["beta"], 0.75),
        k=kw_unless(p["k"], 1.0),
    )
    return apply_module(ctx, init)


register(
    NodeSpec(
        "BatchNorm1d",
        "norm",
        "Batch normalisation over (B, C) or (B, C, T).",
        _infer_channel_norm((2, 3)),
        _emit_batchnorm(1),
        params=(_EPS, _MOMENTUM, _AFFINE),
    ),
    NodeSpec(
        "BatchNorm2d",
        "norm",
        "Batch normalisation over (B, C, H, W).",
        _infer_channel_norm((4,)),
        _emit_batchnorm(2),
        params=(_EPS, _MOMENTUM, _AFFINE),
        aliases=("BN",),
    ),
    NodeSpec(
        "LayerNorm",
        "norm",
        "Layer normalisation over the last axis.",
        infer_layernorm,
        emit_layernorm,
        params=(_EPS, Bool("elementwise_affine", default=True, doc="Learn a scale and shift.")),
    ),
    NodeSpec(
        "LayerNorm2d",
        "norm",
        "Layer normalisation over the channels of (B, C, H, W) at each position (ConvNeXt).",
        infer_layernorm2d,
        emit_layernorm2d,
        params=(_EPS,),
        block_class=LayerNorm2d,
    ),
    NodeSpec(
        "Normalize",
        "norm",
        "Divides by the p-norm along `dim`, `F.normalize` (unit vectors: embeddings, cosine similarity).",
        infer_normalize,
        emit_normalize,
        params=(
            Float(
                "p",
                default=2.0,
                min=0.01,
                max=100.0,
                doc="The norm's exponent (2: Euclidean, 1: sum of absolute values).",
            ),
            Int("dim", default=1, min=-5, max=5, doc="The axis normalised (1: channels or features)."),
            Float("eps", default=1e-12, min=0.0, max=1.0, doc="Lower bound of the norm, against division by 0."),
        ),
        summary=("p", "dim"),
    ),
    NodeSpec(
        "GroupNorm",
        "norm",
        "Group normalisation: channels split into groups, each normalised.",
        infer_groupnorm,
        emit_groupnorm,
        params=(Int("num_groups", default=32, min=1, max=100_000, doc="Channel groups."), _EPS, _AFFINE),
        summary=("num_groups",),
    ),
    NodeSpec(
        "InstanceNorm1d",
        "norm",
        "Instance normalisation over (B, C, T).",
        _infer_channel_norm((3,)),
        _emit_instancenorm(1),
        params=(_EPS, Bool("affine", default=False, doc="Learn a per-channel scale and shift.")),
    ),
    NodeSpec(
        "InstanceNorm2d",
        "norm",
        "Instance normalisation over (B, C, H, W).",
        _infer_channel_norm((4,)),
        _emit_instancenorm(2),
        params=(_EPS, Bool("affine", default=False, doc="Learn a per-channel scale and shift.")),
    ),
    NodeSpec(
        "LocalResponseNorm",
        "norm",
        "Local response normalisation across neighbouring channels (AlexNet).",
        _infer_channel_norm((3, 4, 5)),
        emit_lrn,
        params=(
            Int("size", default=5, min=1, max=10_000, doc="Neighbouring channels."),
            Float("alpha", default=1e-4, min=0.0, doc="Scale."),
            Float("beta", default=0.75, min=0.0, doc="Exponent."),
            Float("k", default=1.0, min=0.0, doc="Additive constant."),
        ),
        aliases=("LRN",),
        summary=("size",),
    ),
)
