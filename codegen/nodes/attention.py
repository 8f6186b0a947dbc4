"""Attention layers over sequences (B, T, H)."""

from __future__ import annotations

from ..ir import Assign, call, kw_unless
from ..params import Bool, Choice, Float, Int
from ..spec import CostCtx, EmitCtx, InferCtx, NodeCode, NodeSpec, apply_module, known_product, register
from ..tensor import TensorType
from ._common import check_divisible
from .recurrent import sequence_input

_DROPOUT = Float("dropout", default=0.0, min=0.0, max=1.0, max_exclusive=True, doc="Dropout on attention weights.")


def _infer_attention(name: str, heads: str):
    def infer(ctx: InferCtx) -> TensorType:
        x = sequence_input(ctx, name)
        embed = x.dims[-1] if x.dims else None
        check_divisible(
            ctx, embed, ctx.params[heads], f"embedding size {embed} is not divisible by {heads}={ctx.params[heads]}"
        )
        return x

    return infer


def attention_macs(ctx: CostCtx) -> int | None:
    """Q, K, V and output projections (4·T·E²) plus the scores Q·Kᵀ and their weighted sum of V (2·T²·E)."""
    time, embed = ctx.size(0, 0), ctx.size(0, 1)
    projections, scores = known_product(4, time, embed, embed), known_product(2, time, time, embed)
    return None if projections is None or scores is None else projections + scores


def encoder_layer_macs(ctx: CostCtx) -> int | None:
    """Self-attention plus the two feed-forward layers (2·T·E·F)."""
    attention = attention_macs(ctx)
    feed_forward = known_product(2, ctx.size(0, 0), ctx.size(0, 1), ctx.params["dim_feedforward"])
    return None if attention is None or feed_forward is None else attention + feed_forward


def emit_mha(ctx: EmitCtx) -> NodeCode:
    p = ctx.params
    init = call(
        "nn.MultiheadAttention",
        ctx.in_types[0].size(-1),
        p["num_heads"],
        dropout=kw_unless(p["dropout"], 0.0),
        bias=kw_unless(p["bias"], True),
        batch_first=True,
    )
    x = ctx.x
    return NodeCode(init, (Assign((ctx.out, "_"), call(ctx.module, x, x, x, need_weights=False)),))


def emit_encoder_layer(ctx: EmitCtx) -> NodeCode:
    p = ctx.params
    init = call(
        "nn.TransformerEncoderLayer",
        ctx.in_types[0].size(-1),
        p["nhead"],
        dim_feedforward=kw_unless(p["dim_feedforward"], 2048),
        dropout=kw_unless(p["dropout"], 0.1),
        activation=kw_unless(p["activation"], "relu"),
        batch_first=True,
        norm_first=kw_unless(p["norm_first"], False),
    )
    return apply_module(ctx, init)


register(
    NodeSpec(
        "MultiheadAttention",
        "attention",
        "Multi-head self-attention over (B, T, E); E must divide by num_heads.",
        _infer_attention("MultiheadAttention", "num_heads"),
        emit_mha,
        params=(
            Int("num_heads", default=8, min=1, max=1024, doc="Parallel attention heads."),
            _DROPOUT,
            Bool("bias", default=True, doc="Learn projection biases."),
        ),
        aliases=("SelfAttention",),
        summary=("num_heads",),
        macs=attention_macs,
    ),
    NodeSpec(
        "TransformerEncoderLayer",
        "attention",
        "Self-attention plus feed-forward with residuals and LayerNorm (Vaswani et al., 2017), over (B, T, E).",
        _infer_attention("TransformerEncoderLayer", "nhead"),
        emit_encoder_layer,
        params=(
            Int("nhead", default=8, min=1, max=1024, doc="Attention heads."),
            Int("dim_feedforward", default=2048, min=1, max=1_000_000, doc="Hidden size of the feed-forward part."),
            Float("dropout", default=0.1, min=0.0, max=1.0, max_exclusive=True, doc="Dropout rate."),
            Choice("activation", default="relu", choices=("relu", "gelu"), doc="Feed-forward activation."),
            Bool("norm_first", default=False, doc="Pre-norm (LayerNorm before attention) instead of post-norm."),
        ),
        summary=("nhead", "dim_feedforward"),
        macs=encoder_layer_macs,
    ),
)
