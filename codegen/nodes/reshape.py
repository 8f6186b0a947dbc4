"""Layout changes: flatten, reshape, permute, transpose, squeeze, unsqueeze, channel shuffle."""

from __future__ import annotations

from ..diagnostics import set_param
from ..dims import is_known, product
from ..ir import call, method
from ..params import Int, IntList
from ..spec import EmitCtx, InferCtx, NodeCode, NodeSpec, functional, register
from ..tensor import CHANNELS_FIRST, SEQUENCE, TensorType, permuted_layout
from ._common import simple_module


def _axis(ctx: InferCtx, x: TensorType, dim: int, name: str = "dim", extra: int = 0) -> int:
    """Validate a non-batch axis against ``x``'s rank (``extra`` allows one past the end)."""
    rank = x.rank + extra
    index = dim + rank if dim < 0 else dim
    if not 1 <= index < rank:
        raise ctx.fail("PARAM_RANGE", f"{name}={dim} is not a non-batch axis of {x.describe()}")
    return index


def infer_flatten(ctx: InferCtx) -> TensorType:
    x = ctx.input(0)
    if not x.rank_known:  # only flattening everything past the batch axis gives a known rank
        return x.with_dims((None,)) if (ctx.params["start_dim"], ctx.params["end_dim"]) == (1, -1) else x
    start = _axis(ctx, x, ctx.params["start_dim"], "start_dim")
    end = _axis(ctx, x, ctx.params["end_dim"], "end_dim")
    if end < start:
        raise ctx.fail("PARAM_RANGE", "end_dim must not come before start_dim")
    dims = x.dims
    merged = product(dims[start - 1 : end])
    return x.with_dims((*dims[: start - 1], merged, *dims[end:]))


def emit_flatten(ctx: EmitCtx) -> NodeCode:
    start, end = ctx.params["start_dim"], ctx.params["end_dim"]
    args = (start,) if end == -1 else (start, end)
    return functional(ctx, call("torch.flatten", ctx.x, *args))


def infer_reshape(ctx: InferCtx) -> TensorType:
    x = ctx.input(0)
    shape = ctx.params["shape"]
    if shape.count(-1) > 1:
        raise ctx.fail("PARAM_RANGE", "shape may contain -1 at most once")
    if any(s == 0 or s < -1 for s in shape):
        raise ctx.fail("PARAM_RANGE", "shape entries must be positive, or -1 once")
    total = x.numel()
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if total is not None:
        if -1 in shape:
            if total % known:
                raise ctx.fail("SHAPE", f"cannot reshape {x.describe()} ({total} values per sample) into {list(shape)}")
            shape = tuple(total // known if s == -1 else s for s in shape)
        elif known != total:
            raise ctx.fail("SHAPE", f"cannot reshape {x.describe()} ({total} values per sample) into {list(shape)}")
    dims = tuple(None if s == -1 else s for s in shape)
    return TensorType(dims, CHANNELS_FIRST if len(dims) == 2 else None)


def emit_reshape(ctx: EmitCtx) -> NodeCode:
    return functional(ctx, method(ctx.x, "reshape", method(ctx.x, "size", 0), *ctx.params["shape"]))


def infer_permute(ctx: InferCtx) -> TensorType:
    x = ctx.input(0)
    dims = ctx.params["dims"]
    if sorted(dims) != list(range(len(dims))):
        raise ctx.fail("PARAM_RANGE", f"dims {list(dims)} is not a permutation of 0..{len(dims) - 1}")
    if dims[0] != 0:
        raise ctx.fail("PARAM_RANGE", "dims must keep the batch axis first (start with 0)")
    if x.rank_known and x.rank != len(dims):
        raise ctx.fail("RANK", f"dims {list(dims)} needs rank {len(dims)}, got {x.describe()}", edge_index=0)
    sizes = (None,) * (len(dims) - 1) if not x.rank_known else x.dims
    out = tuple(sizes[d - 1] for d in dims[1:])
    if len(dims) == 3:
        layout = x.layout if tuple(dims) == (0, 1, 2) else _flip(x.layout)
    else:
        layout = permuted_layout(x, tuple(dims))
    return x.with_dims(out, layout)


def _flip(layout: str | None) -> str:
    return SEQUENCE if layout != SEQUENCE else CHANNELS_FIRST


def emit_permute(ctx: EmitCtx) -> NodeCode:
    return functional(ctx, method(ctx.x, "permute", *ctx.params["dims"]))


def _swap_bct(to_sequence: bool):
    want, give = (CHANNELS_FIRST, SEQUENCE) if to_sequence else (SEQUENCE, CHANNELS_FIRST)

    def infer(ctx: InferCtx) -> TensorType:
        x = ctx.input(0, ranks=(3,))
        if x.dims and x.layout != want and ctx.inputs[0].rank_known:
            ctx.warn("LAYOUT", f"expects a {want} tensor but receives {x.describe()}; this swaps it to {want}")
        dims = x.dims or (None, None)
        return TensorType((dims[1], dims[0]), give, x.dtype)

    return infer


def emit_swap(ctx: EmitCtx) -> NodeCode:
    return functional(ctx, method(ctx.x, "permute", 0, 2, 1))


def infer_transpose(ctx: InferCtx) -> TensorType:
    x = ctx.input(0)
    if not x.rank_known:
        return x
    a = _axis(ctx, x, ctx.params["dim0"], "dim0")
    b = _axis(ctx, x, ctx.params["dim1"], "dim1")
    order = list(range(x.rank))
    order[a], order[b] = order[b], order[a]
    dims = tuple(x.dims[d - 1] for d in order[1:])
    layout = _flip(x.layout) if x.rank == 3 and a != b else permuted_layout(x, tuple(order))
    return x.with_dims(dims, layout)


def emit_transpose(ctx: EmitCtx) -> NodeCode:
    return functional(ctx, method(ctx.x, "transpose", ctx.params["dim0"], ctx.params["dim1"]))


def infer_squeeze(ctx: InferCtx) -> TensorType:
    x = ctx.input(0)
    if not x.rank_known:
        return x
    index = _axis(ctx, x, ctx.params["dim"])
    size = x.dims[index - 1]
    if is_known(size) and size != 1:
        raise ctx.fail("SHAPE", f"axis {ctx.params['dim']} has size {size}; only size-1 axes can be squeezed")
    dims = x.dims[: index - 1] + x.dims[index:]
    return TensorType(dims, CHANNELS_FIRST if len(dims) == 2 else None, x.dtype)


def emit_squeeze(ctx: EmitCtx) -> NodeCode:
    return functional(ctx, method(ctx.x, "squeeze", ctx.params["dim"]))


def infer_unsqueeze(ctx: InferCtx) -> TensorType:
    x = ctx.input(0)
    if not x.rank_known:
        return x
    index = _axis(ctx, x, ctx.params["dim"], extra=1)
    dims = x.dims[: index - 1] + (1,) + x.dims[index - 1 :]
    return TensorType(dims, CHANNELS_FIRST if len(dims) == 2 else None, x.dtype)


def emit_unsqueeze(ctx: EmitCtx) -> NodeCode:
    return functional(ctx, method(ctx.x, "unsqueeze", ctx.params["dim"]))


def infer_channel_shuffle(ctx: InferCtx) -> TensorType:
    x = ctx.input(0, ranks=(3, 4, 5), channels_first=True)
    groups, channels = ctx.params["groups"], x.features
    if is_known(channels, groups) and channels % groups:
        fits = max(g for g in range(1, groups + 1) if channels % g == 0)
        raise ctx.fail(
            "SHAPE",
            f"{channels} channels cannot be split into {groups} groups; use a divisor of {channels}, such as {fits}",
            set_param(ctx.node, "groups", fits),
        )
    return x


register(
    NodeSpec(
        "Flatten",
        "reshape",
        "Flattens axes start_dim..end_dim into one: (B, C, H, W) → (B, C·H·W).",
        infer_flatten,
        emit_flatten,
        params=(
            Int("start_dim", default=1, min=-5, max=5, doc="First axis to flatten (not the batch)."),
            Int("end_dim", default=-1, min=-5, max=5, doc="Last axis to flatten."),
        ),
    ),
    NodeSpec(
        "Reshape",
        "reshape",
        "Reshapes each sample to `shape` (batch axis kept; one -1 may be inferred).",
        infer_reshape,
        emit_reshape,
        params=(
            IntList(
                "shape", min=-1, max=1_000_000, min_length=1, max_length=5, doc="Target sizes without the batch axis."
            ),
        ),
        aliases=("View",),
        summary=("shape",),
    ),
    NodeSpec(
        "Permute",
        "reshape",
        "Reorders axes; `dims` includes the batch axis, which stays first.",
        infer_permute,
        emit_permute,
        params=(
            IntList("dims", min=0, max=5, min_length=2, max_length=6, doc="New order of the axes, e.g. [0, 2, 1]."),
        ),
        summary=("dims",),
    ),
    NodeSpec(
        "Permute_BCT_to_BTH",
        "reshape",
        "(B, C, T) → (B, T, H): channels-first to sequence layout, before an RNN.",
        _swap_bct(True),
        emit_swap,
    ),
    NodeSpec(
        "Permute_BTH_to_BCT",
        "reshape",
        "(B, T, H) → (B, C, T): sequence to channels-first layout, before a Conv1d.",
        _swap_bct(False),
        emit_swap,
    ),
    NodeSpec(
        "Transpose",
        "reshape",
        "Swaps two non-batch axes.",
        infer_transpose,
        emit_transpose,
        params=(
            Int("dim0", default=1, min=-5, max=5, doc="First axis."),
            Int("dim1", default=2, min=-5, max=5, doc="Second axis."),
        ),
        summary=("dim0", "dim1"),
    ),
    NodeSpec(
        "Squeeze",
        "reshape",
        "Removes a size-1 axis.",
        infer_squeeze,
        emit_squeeze,
        params=(Int("dim", default=-1, min=-5, max=5, doc="Axis to remove."),),
        summary=("dim",),
    ),
    NodeSpec(
        "Unsqueeze",
        "reshape",
        "Inserts a size-1 axis.",
        infer_unsqueeze,
        emit_unsqueeze,
        params=(Int("dim", default=-1, min=-6, max=5, doc="Position of the new axis."),),
        summary=("dim",),
    ),
    NodeSpec(
        "ChannelShuffle",
        "reshape",
        "Splits the channels into groups and interleaves them (ShuffleNet): (B, g·n, …) → (B, n·g, …).",
        infer_channel_shuffle,
        simple_module("ChannelShuffle", groups=None),
        params=(Int("groups", default=2, min=1, max=100_000, doc="Channel groups; must divide the channels."),),
        summary=("groups",),
    ),
)
