"""Dense layers and embeddings."""

from __future__ import annotations

from ..diagnostics import insert_node
from ..dims import same
from ..ir import call, kw_unless
from ..params import Bool, Int
from ..spec import CostCtx, EmitCtx, InferCtx, NodeCode, NodeSpec, apply_module, known_product, register
from ..tensor import CHANNELS_FIRST, SEQUENCE, TensorType
from ._common import sized_module


def infer_linear(ctx: InferCtx) -> TensorType:
    x = ctx.input(0)
    out = ctx.params["out_features"]
    if not x.rank_known:
        return x.with_dims(None)
    if x.rank >= 4 and x.channels_first:
        # An image straight from a convolution: the last axis is its width, never what is meant.
        raise ctx.fail(
            "RANK",
            f"Linear acts on the last axis, the width of {x.describe()}; flatten it first "
            f"(or Permute the channels last with dims {[0, *range(2, x.rank), 1]})",
            insert_node("Flatten", ctx.edge(0)),
            edge_index=0,
        )
    if x.rank >= 4 and x.letters is not None and x.letters[-1] != "C":
        ctx.warn(
            "LAYOUT",
            f"Linear acts on the last axis of {x.describe()}, i.e. on {x.letters[-1]}, not on the channels",
            insert_node("Permute", ctx.edge(0), {"dims": _channels_last_order(x.letters)}),
            edge_index=0,
        )
    if x.rank == 3 and x.layout == CHANNELS_FIRST:
        ctx.warn(
            "LAYOUT",
            f"Linear acts on the last axis of {x.describe()}, i.e. on time steps, not channels",
            insert_node("Permute_BCT_to_BTH", ctx.edge(0)),
            edge_index=0,
        )
    return x.with_dims((*x.dims[:-1], out))


def _channels_last_order(letters: str) -> list[int]:
    """Permute ``dims`` moving the channels to the last axis, the others kept in order."""
    channels = letters.index("C")
    return [i for i in range(len(letters)) if i != channels] + [channels]


def emit_linear(ctx: EmitCtx) -> NodeCode:
    bias = kw_unless(ctx.params["bias"], True)
    return sized_module(
        ctx, "Linear", ctx.in_types[0].size(-1), ctx.params["out_features"], lazy="LazyLinear", bias=bias
    )


def linear_macs(ctx: CostCtx) -> int | None:
    """One product per input feature for every output value."""
    return known_product(ctx.out.numel(), ctx.size(0, -1))  # type: ignore[union-attr]


def bilinear_macs(ctx: CostCtx) -> int | None:
    """``x1ᵀ A x2`` per output value: one product per pair of input features (the textbook count)."""
    return known_product(ctx.out.numel(), ctx.size(0, -1), ctx.size(1, -1))  # type: ignore[union-attr]


def infer_bilinear(ctx: InferCtx) -> TensorType:
    a, b = ctx.input(0, ranks=(2, 3)), ctx.input(1, ranks=(2, 3))
    for index, t in enumerate((a, b)):
        if not t.rank_known or t.size(-1) is None:  # there is no LazyBilinear
            raise ctx.fail("NEEDS_SHAPE", "cannot infer Bilinear input sizes without input shapes", edge_index=index)
    if (
        a.rank_known
        and b.rank_known
        and (a.rank != b.rank or any(same(p, q) is False for p, q in zip(a.dims[:-1], b.dims[:-1])))
    ):
        raise ctx.fail(
            "MERGE", f"Bilinear inputs must agree on every axis but the last: {a.describe()} vs {b.describe()}"
        )
    base = a if a.rank_known else b
    return base.with_dims(None if not base.rank_known else (*base.dims[:-1], ctx.params["out_features"]))


def emit_bilinear(ctx: EmitCtx) -> NodeCode:
    a, b = ctx.in_types
    init = call(
        "nn.Bilinear", a.size(-1), b.size(-1), ctx.params["out_features"], bias=kw_unless(ctx.params["bias"], True)
    )
    return apply_module(ctx, init)


def infer_embedding(ctx: InferCtx) -> TensorType:
    x = ctx.input(0, ranks=(2,), dtype="int64")
    return TensorType((*(x.dims or (None,)), ctx.params["embedding_dim"]), SEQUENCE)


def emit_embedding(ctx: EmitCtx) -> NodeCode:
    p = ctx.params
    init = call("nn.Embedding", p["num_embeddings"], p["embedding_dim"], padding_idx=kw_unless(p["padding_idx"], None))
    return apply_module(ctx, init)


register(
    NodeSpec(
        "Linear",
        "linear",
        "Fully connected layer on the last axis: y = x Wᵀ + b.",
        infer_linear,
        emit_linear,
        params=(
            Int("out_features", doc="Output features.", min=1, max=1_000_000),
            Bool("bias", default=True, doc="Learn an additive bias."),
        ),
        aliases=("Dense", "FC"),
        summary=("out_features",),
        macs=linear_macs,
    ),
    NodeSpec(
        "Bilinear",
        "linear",
        "Bilinear layer y = x1ᵀ A x2 + b over the last axes of two inputs.",
        infer_bilinear,
        emit_bilinear,
        params=(
            Int("out_features", doc="Output features.", min=1, max=1_000_000),
            Bool("bias", default=True, doc="Learn an additive bias."),
        ),
        ports=("x1", "x2"),
        summary=("out_features",),
        macs=bilinear_macs,
    ),
    NodeSpec(
        "Embedding",
        "embedding",
        "Lookup table mapping int64 token ids (B, T) to vectors (B, T, H).",
        infer_embedding,
        emit_embedding,
        params=(
            Int("num_embeddings", doc="Vocabulary size.", min=1, max=10_000_000),
            Int("embedding_dim", doc="Vector size.", min=1, max=1_000_000),
            Int("padding_idx", default=None, optional=True, min=0, doc="Token id whose vector stays zero."),
        ),
        summary=("num_embeddings", "embedding_dim"),
    ),
)
