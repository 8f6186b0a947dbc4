"""Learned tensors applied to the input: ViT's class token and position embedding, ConvNeXt's layer scale.

Each node owns one ``nn.Parameter`` whose shape follows from the input, registered under the node's
name, so a node called ``class_token`` gives the ``class_token`` state_dict key torchvision uses. The
token read-out that ViT's head needs (``x[:, 0]``) sits here too.
"""

from __future__ import annotations

from ..diagnostics import insert_node
from ..dims import Dim, add, is_known, same
from ..ir import BinOp, Item, ListOf, Slice, call, method
from ..params import Choice, Float, Int
from ..spec import EmitCtx, InferCtx, NodeCode, NodeSpec, functional, register
from ..tensor import SEQUENCE, TensorType, tensor
from ._common import require_features

INITS = ("zeros", "ones", "normal", "trunc_normal", "constant")


def init_params(init: str, std: float = 0.02, value: float = 1.0) -> tuple[Choice, Float, Float]:
    """The init choices every learned tensor offers, with the default its model uses."""
    return (
        Choice(
            "init",
            default=init,
            choices=INITS,
            doc="Initial values: zeros, ones, normal(0, std), trunc_normal(0, std) or constant(value).",
        ),
        Float("std", default=std, min=1e-6, max=10.0, doc="Standard deviation for normal and trunc_normal."),
        Float("value", default=value, min=-1e6, max=1e6, doc="The fill value for constant."),
    )


def parameter(ctx: EmitCtx, *shape: Dim):
    """``nn.Parameter(...)`` of ``shape``, initialised as torchvision writes it."""
    init, std, value = ctx.params["init"], ctx.params["std"], ctx.params["value"]
    if init in ("zeros", "ones"):
        data = call(f"torch.{init}", *shape)
    elif init == "normal":
        data = method(call("torch.empty", *shape), "normal_", std=std)
    elif init == "trunc_normal":
        data = call("nn.init.trunc_normal_", call("torch.empty", *shape), std=std)
    else:
        data = call("torch.full", tuple(shape), value)
    return call("nn.Parameter", data)


def _tokens(ctx: InferCtx) -> TensorType:
    """The (B, N, D) token sequence these nodes read; a channels-first (B, C, T) one is refused."""
    x = ctx.input(0, ranks=(3,))
    if ctx.inputs[0].rank_known and x.layout != SEQUENCE:
        raise ctx.fail(
            "LAYOUT",
            f"expects tokens (B, N, D) but receives {x.describe()}; insert Permute_BCT_to_BTH",
            insert_node("Permute_BCT_to_BTH", ctx.edge(0)),
            edge_index=0,
        )
    return TensorType(x.dims, SEQUENCE, x.dtype)  # rank unknown: a token sequence from here on


def _sized_tokens(ctx: InferCtx) -> TensorType:
    x = _tokens(ctx)
    require_features(ctx, x, "the embedding width D")
    return x


def infer_class_token(ctx: InferCtx) -> TensorType:
    x = _sized_tokens(ctx)
    length, width = x.dims
    return x.with_dims((add(length, 1), width))


def emit_class_token(ctx: EmitCtx) -> NodeCode:
    token = method(ctx.module, "expand", method(ctx.x, "size", 0), -1, -1)
    cat = call("torch.cat", ListOf((token, ctx.x)), dim=1)
    return NodeCode(parameter(ctx, 1, 1, ctx.in_features()), (ctx.assign(cat),))


def infer_position_embedding(ctx: InferCtx) -> TensorType:
    x = _sized_tokens(ctx)
    length, width = x.dims
    stated = ctx.params["length"]
    if stated is None and not is_known(length):
        raise ctx.fail(
            "NEEDS_SHAPE",
            "needs the sequence length N for its (1, N, D) table: set `shape` on the Input node, "
            "or `length` (inside a block, a parameter such as $seq_length)",
        )
    if stated is not None and same(stated, length) is False:
        raise ctx.fail(
            "PARAM_RANGE",
            f"length={stated} but the input has {length} tokens; set length to {length} or leave it empty",
        )
    return x.with_dims((length if stated is None else stated, width))


def emit_position_embedding(ctx: EmitCtx) -> NodeCode:
    length, width = ctx.out_type.dims
    return NodeCode(parameter(ctx, 1, length, width), (ctx.assign(BinOp("+", ctx.x, ctx.module)),))


def infer_layer_scale(ctx: InferCtx) -> TensorType:
    x = ctx.input(0, ranks=(2, 3, 4, 5))
    require_features(ctx, x, "the channel count")
    return x


def emit_layer_scale(ctx: EmitCtx) -> NodeCode:
    x = ctx.in_types[0]
    # One value per channel, broadcast over the axes after it: (C, 1, 1) for BCHW, (D,) for tokens.
    trailing = 0 if len(x.dims) == 1 or x.layout == SEQUENCE else len(x.dims) - 1
    shape = (ctx.in_features(), *(1,) * trailing)
    return NodeCode(parameter(ctx, *shape), (ctx.assign(BinOp("*", ctx.module, ctx.x)),))


def infer_select_token(ctx: InferCtx) -> TensorType:
    x = _tokens(ctx)
    index = ctx.params["index"]
    length, width = x.dims
    if is_known(length) and index >= length:
        raise ctx.fail(
            "PARAM_RANGE",
            f"index={index} is past the last of the {length} tokens of {x.describe()}; use an index below {length}",
        )
    return tensor(width, dtype=x.dtype)


def emit_select_token(ctx: EmitCtx) -> NodeCode:
    return functional(ctx, Item(ctx.x, (Slice(), ctx.params["index"])))


register(
    NodeSpec(
        "ClassToken",
        "embedding",
        "Prepends a learned (1, 1, D) token, expanded over the batch, to (B, N, D) tokens: (B, N + 1, D) (ViT).",
        infer_class_token,
        emit_class_token,
        params=init_params("zeros"),
        summary=("init",),
    ),
    NodeSpec(
        "PositionEmbedding",
        "embedding",
        "Adds a learned (1, N, D) table to (B, N, D) tokens (ViT's pos_embedding, normal with std 0.02).",
        infer_position_embedding,
        emit_position_embedding,
        params=(
            Int(
                "length",
                default=None,
                optional=True,
                min=1,
                max=1_000_000,
                doc="Sequence length N; empty: the input's. Inside a block, e.g. $seq_length.",
            ),
            *init_params("normal"),
        ),
        summary=("init", "std"),
    ),
    NodeSpec(
        "LayerScale",
        "embedding",
        "Multiplies by a learned per-channel vector: (C, 1, 1) for (B, C, H, W), (D,) for tokens (ConvNeXt).",
        infer_layer_scale,
        emit_layer_scale,
        params=init_params("constant", value=1e-6),
        summary=("init", "value"),
    ),
    NodeSpec(
        "SelectToken",
        "reshape",
        "Takes one token of (B, N, D): x[:, index] gives (B, D) (ViT reads the class token, index 0).",
        infer_select_token,
        emit_select_token,
        params=(Int("index", default=0, min=0, max=1_000_000, doc="Which token to keep (0: the class token)."),),
        summary=("index",),
    ),
)
