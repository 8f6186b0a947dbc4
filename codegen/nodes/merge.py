"""Merging several tensors (Concat, Stack, Add, Sub, Mul, Div, FiLM) and splitting one into several (Split, Chunk)."""

from __future__ import annotations

from functools import reduce

from ..blocks.library import FiLM
from ..diagnostics import insert_node
from ..dims import Dim, add, floordiv, is_known, same
from ..ir import BinOp, ListOf, call
from ..params import Int, IntList
from ..spec import CostCtx, EmitCtx, InferCtx, NodeCode, NodeSpec, apply_module, functional, known_product, register
from ..tensor import UNKNOWN, TensorType, shape_text
from ._common import require_features


def _known_rank_inputs(ctx: InferCtx) -> list[tuple[int, TensorType]]:
    types = [(i, ctx.input(i)) for i in range(len(ctx.inputs))]
    ranked = [(i, t) for i, t in types if t.rank_known]
    ranks = {t.rank for _, t in ranked}
    if len(ranks) > 1:
        shown = ", ".join(f"{ctx.sources[i]}: {t.describe()}" for i, t in ranked)
        raise ctx.fail("MERGE", f"inputs must have equal rank; got {shown}")
    return ranked


def infer_concat(ctx: InferCtx) -> TensorType:
    ranked = _known_rank_inputs(ctx)
    if not ranked:
        return ctx.inputs[0]
    first = ranked[0][1]
    dim = ctx.params["dim"]
    index = dim + first.rank if dim < 0 else dim
    if not 1 <= index < first.rank:
        raise ctx.fail("PARAM_RANGE", f"dim={dim} is not a non-batch axis of {first.describe()}")
    axis = index - 1
    for i, t in ranked[1:]:
        for a, (p, q) in enumerate(zip(first.dims, t.dims)):
            if a != axis and same(p, q) is False:
                raise ctx.fail(
                    "MERGE",
                    f"Concat along dim {dim} needs equal sizes on every other axis; "
                    f"axis {a + 1} is {p} from `{ctx.sources[ranked[0][0]]}` but {q} from `{ctx.sources[i]}`",
                    edge_index=i,
                )
    if len(ranked) < len(ctx.inputs):
        total: Dim = None
    else:
        total = reduce(add, (t.dims[axis] for _, t in ranked))
    dims = tuple(total if a == axis else _merge_dim(t.dims[a] for _, t in ranked) for a in range(len(first.dims)))
    return first.with_dims(dims)


def _merge_dim(values) -> Dim:
    """The known value among equal-size axes (they were checked not to differ)."""
    values = list(values)
    return next((v for v in values if is_known(v)), values[0])


def emit_concat(ctx: EmitCtx) -> NodeCode:
    return functional(ctx, call("torch.cat", ListOf(tuple(ctx.inputs)), dim=ctx.params["dim"]))


def _infer_elementwise(name: str):
    """PyTorch broadcasting: axes are aligned from the last, and on each axis the sizes are equal or 1.

    Every tensor of a graph has its batch axis first, so inputs of different ranks never broadcast as
    meant: the shorter one's batch axis would meet a data axis of the longer one ((B, C) against
    (B, C, H, W) pairs (B, C) with (H, W)). That is a MERGE error suggesting the reshape that lines the
    axes up. The result has the layout of the input of highest rank, the first one among equals.
    """

    def infer(ctx: InferCtx) -> TensorType:
        ranked = [(i, t) for i, t in ((i, ctx.input(i)) for i in range(len(ctx.inputs))) if t.rank_known]
        if not ranked:
            return ctx.inputs[0]
        base_index, base = max(ranked, key=lambda pair: pair[1].rank)
        for i, t in ranked:
            if t.rank < base.rank:
                raise _rank_mismatch(ctx, name, (i, t), (base_index, base))
        dims = list(base.dims)
        givers = [base_index] * len(dims)  # which input each size comes from, for the messages
        for i, t in ranked:
            for a, q in enumerate(t.dims):
                p = dims[a]
                if (p == 1 or q == 1) and same(p, q) is not True:
                    if p == 1:  # a size-1 axis takes the other size, known or not
                        dims[a], givers[a] = q, i
                elif same(p, q) is not False:
                    dims[a] = _merge_dim((p, q))
                else:
                    other = ctx.inputs[givers[a]]
                    raise ctx.fail(
                        "MERGE",
                        f"{name} needs each axis equal or 1 in one input (PyTorch broadcasting): axis {a + 1} is "
                        f"{p} from `{ctx.sources[givers[a]]}` {other.describe()} but {q} from `{ctx.sources[i]}` "
                        f"{t.describe()}",
                        edge_index=i,
                    )
        if len(ranked) < len(ctx.inputs):
            dims = [None if d == 1 else d for d in dims]  # an input of unknown shape may broadcast them
        return base.with_dims(tuple(dims))

    return infer


def _rank_mismatch(ctx: InferCtx, name: str, short: tuple[int, TensorType], long: tuple[int, TensorType]):
    """The MERGE error for inputs of different ranks, with the reshape of the shorter one that fits."""
    (i, s), (j, t) = short, long
    met = shape_text(t.dims[len(t.dims) - len(s.dims) - 1 :])
    padded = [*s.dims, *(1,) * (t.rank - s.rank)]
    message = (
        f"{name} aligns shapes from the last axis, as PyTorch broadcasting does: `{ctx.sources[i]}` "
        f"{s.describe()} against `{ctx.sources[j]}` {t.describe()} puts {shape_text(['B', *s.dims])} on {met}, "
        f"its batch axis on a data axis; reshape `{ctx.sources[i]}` to {shape_text(['B', *padded])} "
        "(or Unsqueeze it) so that its axes meet the leading ones"
    )
    suggestion = insert_node("Reshape", ctx.edge(i), {"shape": padded}) if is_known(*s.dims) else None
    return ctx.fail("MERGE", message, suggestion, edge_index=i)


def infer_stack(ctx: InferCtx) -> TensorType:
    ranked = _known_rank_inputs(ctx)
    if not ranked:
        return UNKNOWN
    first_index, first = ranked[0]
    dim = ctx.params["dim"]
    index = dim + first.rank + 1 if dim < 0 else dim  # an axis of the result, one rank more
    if not 1 <= index <= first.rank:
        raise ctx.fail(
            "PARAM_RANGE",
            f"dim={dim} is not a non-batch axis of the stacked result (rank {first.rank + 1}); "
            f"use 1 to {first.rank} or -1 to {-first.rank}",
        )
    for i, t in ranked[1:]:
        for a, (p, q) in enumerate(zip(first.dims, t.dims)):
            if same(p, q) is False:
                raise ctx.fail(
                    "MERGE",
                    f"Stack needs inputs of equal shape: axis {a + 1} is {p} from `{ctx.sources[first_index]}` "
                    f"{first.describe()} but {q} from `{ctx.sources[i]}` {t.describe()}",
                    edge_index=i,
                )
    dims = [_merge_dim(t.dims[a] for _, t in ranked) for a in range(len(first.dims))]
    dims.insert(index - 1, len(ctx.inputs))
    return first.with_dims(tuple(dims))


def emit_stack(ctx: EmitCtx) -> NodeCode:
    return functional(ctx, call("torch.stack", ListOf(tuple(ctx.inputs)), dim=ctx.params["dim"]))


def infer_film(ctx: InferCtx) -> TensorType:
    feature = ctx.input(0, ranks=(2, 3, 4, 5), channels_first=True)
    conditioner = ctx.input(1)
    if conditioner.rank_known and conditioner.rank != 2:
        raise ctx.fail(
            "RANK",
            f"FiLM's conditioner is a vector per sample (B, F), but `{ctx.sources[1]}` gives "
            f"{conditioner.describe()}; Flatten it or pool it to (B, F) first",
            edge_index=1,
        )
    require_features(ctx, feature, "FiLM's channel count C")
    require_features(ctx, conditioner, "the size F of FiLM's conditioner")
    return feature


def emit_film(ctx: EmitCtx) -> NodeCode:
    return apply_module(ctx, call(FiLM.__name__, ctx.in_features(0), ctx.in_features(1)))


def film_macs(ctx: CostCtx) -> int | None:
    """The two Linear layers from the conditioner (F) to a scale and a shift per channel (C)."""
    return known_product(2, ctx.size(1, -1), ctx.size(0, 0))


def _emit_binary(op: str):
    def emit(ctx: EmitCtx) -> NodeCode:
        return functional(ctx, reduce(lambda left, right: BinOp(op, left, right), ctx.inputs))

    return emit


def infer_chunk(ctx: InferCtx) -> tuple[TensorType, ...]:
    x = ctx.input(0)
    chunks, dim = ctx.params["chunks"], ctx.params["dim"]
    if not x.rank_known:
        return (x,) * chunks
    index = dim + x.rank if dim < 0 else dim
    if not 1 <= index < x.rank:
        raise ctx.fail("PARAM_RANGE", f"dim={dim} is not a non-batch axis of {x.describe()}")
    size = x.dims[index - 1]
    # A symbolic size (a block class's `in_channels`) gives pieces of `size // chunks`: each use of the
    # block is also analysed with its concrete sizes, where an indivisible one is the SHAPE error below.
    if size is None:
        raise ctx.fail(
            "NEEDS_SHAPE",
            f"Chunk needs the size of axis {dim} to know how many pieces it makes: set `shape` on the Input node",
        )
    if is_known(size) and size % chunks:
        raise ctx.fail(
            "SHAPE",
            f"axis {dim} of size {size} does not split into {chunks} equal chunks: make it a multiple of "
            f"{chunks} or use Split with explicit sizes",
        )
    piece = x.with_dims(tuple(floordiv(size, chunks) if a == index - 1 else d for a, d in enumerate(x.dims)))
    return (piece,) * chunks


def emit_chunk(ctx: EmitCtx) -> NodeCode:
    return functional(ctx, call("torch.chunk", ctx.x, ctx.params["chunks"], dim=ctx.params["dim"]))


def infer_split(ctx: InferCtx) -> tuple[TensorType, ...]:
    x = ctx.input(0)
    sections, dim = ctx.params["sections"], ctx.params["dim"]
    if not x.rank_known:
        return (x,) * len(sections)
    index = dim + x.rank if dim < 0 else dim
    if not 1 <= index < x.rank:
        raise ctx.fail("PARAM_RANGE", f"dim={dim} is not a non-batch axis of {x.describe()}")
    size = x.dims[index - 1]
    if is_known(size) and sum(sections) != size:
        raise ctx.fail("SHAPE", f"sections {list(sections)} add up to {sum(sections)}, but axis {dim} has size {size}")
    return tuple(x.with_dims(tuple(s if a == index - 1 else d for a, d in enumerate(x.dims))) for s in sections)


def emit_split(ctx: EmitCtx) -> NodeCode:
    return functional(ctx, call("torch.split", ctx.x, list(ctx.params["sections"]), dim=ctx.params["dim"]))


_MERGE_DIM = Int("dim", default=1, min=-5, max=5, doc="Axis to concatenate along (1 = channels).")

register(
    NodeSpec(
        "Concat",
        "merge",
        "Concatenates inputs along `dim`; every other axis must match.",
        infer_concat,
        emit_concat,
        params=(_MERGE_DIM,),
        variadic=True,
        min_inputs=2,
        aliases=("Cat",),
        summary=("dim",),
    ),
    NodeSpec(
        "Stack",
        "merge",
        "Stacks inputs of equal shape along a new axis `dim`: n × (B, ...) → (B, n, ...) at dim 1.",
        infer_stack,
        emit_stack,
        params=(Int("dim", default=1, min=-6, max=5, doc="Where the new axis goes (1: right after the batch)."),),
        variadic=True,
        min_inputs=2,
        summary=("dim",),
    ),
    NodeSpec(
        "Add",
        "merge",
        "Element-wise sum (residual connections); axes of size 1 broadcast, as in PyTorch.",
        _infer_elementwise("Add"),
        _emit_binary("+"),
        variadic=True,
        min_inputs=2,
        aliases=("Sum",),
    ),
    NodeSpec(
        "Mul",
        "merge",
        "Element-wise product; axes of size 1 broadcast, as in PyTorch (gating, squeeze-and-excitation scaling).",
        _infer_elementwise("Mul"),
        _emit_binary("*"),
        variadic=True,
        min_inputs=2,
        aliases=("Multiply",),
    ),
    NodeSpec(
        "Sub",
        "merge",
        "Element-wise difference `x1 - x2`; axes of size 1 broadcast, as in PyTorch.",
        _infer_elementwise("Sub"),
        _emit_binary("-"),
        ports=("x1", "x2"),
        aliases=("Subtract",),
    ),
    NodeSpec(
        "Div",
        "merge",
        "Element-wise quotient `x1 / x2`; axes of size 1 broadcast, as in PyTorch.",
        _infer_elementwise("Div"),
        _emit_binary("/"),
        ports=("x1", "x2"),
        aliases=("Divide",),
    ),
    NodeSpec(
        "FiLM",
        "merge",
        "Feature-wise linear modulation: scale(z) * feature + shift(z), one scale and shift per channel of a "
        "(B, C, ...) feature from a (B, F) conditioner z, through two Linear(F, C) (TorchArc's FiLMMerge).",
        infer_film,
        emit_film,
        ports=("feature", "conditioner"),
        aliases=("FiLMMerge",),
        block_class=FiLM,
        macs=film_macs,
    ),
    NodeSpec(
        "Chunk",
        "merge",
        "Splits into `chunks` equal pieces along `dim`; connect from `node:0`, `node:1`, ….",
        infer_chunk,
        emit_chunk,
        params=(
            Int("chunks", default=2, min=2, max=64, doc="Number of equal pieces."),
            Int("dim", default=1, min=-5, max=5, doc="Axis to split."),
        ),
        outputs=lambda p: p["chunks"] if isinstance(p.get("chunks"), int) else 2,
        summary=("chunks", "dim"),
    ),
    NodeSpec(
        "Split",
        "merge",
        "Splits along `dim` into pieces of the given sizes; connect from `node:0`, `node:1`, ….",
        infer_split,
        emit_split,
        params=(
            IntList("sections", min=1, max=1_000_000, min_length=2, max_length=64, doc="Size of each piece."),
            Int("dim", default=1, min=-5, max=5, doc="Axis to split."),
        ),
        outputs=lambda p: len(p["sections"]) if isinstance(p.get("sections"), tuple) else 2,
        summary=("sections", "dim"),
    ),
)
