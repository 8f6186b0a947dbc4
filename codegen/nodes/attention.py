"""Attention layers over sequences (B, T, H): multi-head attention, Transformer encoder and decoder layers."""

from __future__ import annotations

from typing import Any

from ..diagnostics import insert_node
from ..dims import add, is_known, same
from ..ir import Assign, Attr, call, kw_unless, method
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


def _feed_forward_macs(ctx: CostCtx) -> int | None:
    """The two feed-forward layers of a Transformer layer, over the T steps of its first input (2·T·E·F)."""
    return known_product(2, ctx.size(0, 0), ctx.size(0, 1), ctx.params["dim_feedforward"])


def encoder_layer_macs(ctx: CostCtx) -> int | None:
    """Self-attention plus the two feed-forward layers (2·T·E·F)."""
    attention, feed_forward = attention_macs(ctx), _feed_forward_macs(ctx)
    return None if attention is None or feed_forward is None else attention + feed_forward


def decoder_layer_macs(ctx: CostCtx) -> int | None:
    """Self-attention over the T target steps, cross-attention to the S memory steps, feed-forward.

    Cross-attention projects the queries from the target and the keys and values from the memory
    (T·E² + 2·S·E²), scores T × S pairs and sums the values (2·T·S·E), then projects out (T·E²).
    """
    time, embed, memory = ctx.size(0, 0), ctx.size(0, 1), ctx.size(1, 0)
    cross = known_product(2, embed, embed, add(time, memory)), known_product(2, time, memory, embed)
    parts = (attention_macs(ctx), *cross, _feed_forward_macs(ctx))
    return None if None in parts else sum(parts)  # type: ignore[arg-type]


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


_infer_decoder_tgt = _infer_attention("TransformerDecoderLayer", "nhead")


def _infer_decoder_layer(ctx: InferCtx) -> TensorType:
    tgt = _infer_decoder_tgt(ctx)
    memory = sequence_input(ctx, "TransformerDecoderLayer's memory", index=1)
    width, memory_width = tgt.size(-1), memory.size(-1)
    if same(width, memory_width) is False:
        raise ctx.fail(
            "SHAPE",
            f"TransformerDecoderLayer attends from `{ctx.sources[0]}` {tgt.describe()} (tgt) to `{ctx.sources[1]}` "
            f"{memory.describe()} (memory): their last axes must both be d_model, but are {width} and "
            f"{memory_width}; add a Linear to {width} features on the memory",
            insert_node("Linear", ctx.edge(1), {"out_features": width}) if is_known(width) else None,
            edge_index=1,
        )
    return tgt


def _causal_mask(x: Any) -> Any:
    """PyTorch's square subsequent mask for the sequence ``x`` (B, T, E): -inf above the diagonal, on x's device."""
    return call(
        "nn.Transformer.generate_square_subsequent_mask",
        method(x, "size", 1),
        device=Attr(x, "device"),
        dtype=Attr(x, "dtype"),
    )


def _emit_transformer_layer(cls: str, mask: str, is_causal: str):
    """``nn.<cls>(d_model, nhead, ...)`` with the keywords that differ from PyTorch's defaults; batch first.

    A causal layer is called with the square subsequent mask of its (first) input as ``mask``, and the
    ``is_causal`` hint that lets attention use its causal kernel; PyTorch requires the mask with the hint.
    """

    def emit(ctx: EmitCtx) -> NodeCode:
        p = ctx.params
        init = call(
            f"nn.{cls}",
            ctx.in_types[0].size(-1),
            p["nhead"],
            dim_feedforward=kw_unless(p["dim_feedforward"], 2048),
            dropout=kw_unless(p["dropout"], 0.1),
            activation=kw_unless(p["activation"], "relu"),
            layer_norm_eps=kw_unless(p["layer_norm_eps"], 1e-5),
            batch_first=True,
            norm_first=kw_unless(p["norm_first"], False),
            bias=kw_unless(p["bias"], True),
        )
        if not p["causal"]:
            return apply_module(ctx, init)
        name = ctx.temp("mask")
        body = (
            Assign((name.name,), _causal_mask(ctx.x)),
            ctx.assign(call(ctx.module, *ctx.inputs, **{mask: name, is_causal: True})),
        )
        return NodeCode(init, body)

    return emit


# nn.TransformerEncoderLayer's and nn.TransformerDecoderLayer's settings, defaults included (d_model is the input's).
_TRANSFORMER_LAYER_PARAMS = (
    Int("nhead", default=8, min=1, max=1024, doc="Attention heads."),
    Int("dim_feedforward", default=2048, min=1, max=1_000_000, doc="Hidden size of the feed-forward part."),
    Float("dropout", default=0.1, min=0.0, max=1.0, max_exclusive=True, doc="Dropout rate."),
    Choice("activation", default="relu", choices=("relu", "gelu"), doc="Feed-forward activation."),
    Float("layer_norm_eps", default=1e-5, min=0.0, max=1.0, doc="Added to the variance in the LayerNorms."),
    Bool("norm_first", default=False, doc="Pre-norm (LayerNorm before attention) instead of post-norm."),
    Bool("bias", default=True, doc="Learn the biases of the linear layers and LayerNorms."),
    Bool(
        "causal",
        default=False,
        doc="Mask the self-attention so that step t attends only to steps up to t (decoder-only, GPT-style).",
    ),
)


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
        "Self-attention plus feed-forward with residuals and LayerNorm (Vaswani et al., 2017), over (B, T, E); "
        "`causal` masks the attention to earlier steps (a GPT-style decoder-only stack).",
        _infer_attention("TransformerEncoderLayer", "nhead"),
        _emit_transformer_layer("TransformerEncoderLayer", "src_mask", "is_causal"),
        params=_TRANSFORMER_LAYER_PARAMS,
        summary=("nhead", "dim_feedforward"),
        macs=encoder_layer_macs,
    ),
    NodeSpec(
        "TransformerDecoderLayer",
        "attention",
        "Self-attention over tgt (B, T, E), attention to memory (B, S, E), then feed-forward, with residuals and "
        "LayerNorm (Vaswani et al., 2017); `causal` masks the self-attention over tgt.",
        _infer_decoder_layer,
        _emit_transformer_layer("TransformerDecoderLayer", "tgt_mask", "tgt_is_causal"),
        params=_TRANSFORMER_LAYER_PARAMS,
        ports=("tgt", "memory"),
        summary=("nhead", "dim_feedforward"),
        macs=decoder_layer_macs,
    ),
)
