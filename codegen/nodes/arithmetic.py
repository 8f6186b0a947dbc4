"""Arithmetic beyond element-wise merges: a tensor with a constant or a learned scalar, matrix products,
a constant tensor and the index of a maximum."""

from __future__ import annotations

from dataclasses import replace

from ..dims import Dim, same
from ..ir import BinOp, call, kw_unless, method
from ..params import Bool, Choice, Float, Int, IntList
from ..spec import CostCtx, EmitCtx, InferCtx, NodeCode, NodeSpec, functional, known_product, register
from ..tensor import TensorType, tensor
from ._common import passthrough
from .merge import _merge_dim

# op name -> Python operator; `value` on the right, as in `x = x * 0.125`.
_SCALAR_OPS = {"mul": "*", "add": "+", "sub": "-", "div": "/"}


def infer_scalar(ctx: InferCtx) -> TensorType:
    if ctx.params["op"] == "div" and ctx.params["value"] == 0:
        raise ctx.fail("PARAM_RANGE", "dividing by 0 makes every value inf or nan; use a non-zero `value`")
    return ctx.input(0)


def emit_scalar(ctx: EmitCtx) -> NodeCode:
    return functional(ctx, BinOp(_SCALAR_OPS[ctx.params["op"]], ctx.x, ctx.params["value"]))


def infer_matmul(ctx: InferCtx) -> TensorType:
    a, b = ctx.input(0), ctx.input(1)
    if not (a.rank_known and b.rank_known):
        known = a if a.rank_known else b  # the other must have the same rank
        return known.with_dims((None,) * len(known.dims)) if known.rank_known else known
    for index, t in enumerate((a, b)):
        if t.rank < 3:
            raise ctx.fail(
                "RANK",
                f"MatMul multiplies the last two axes of each input, so it needs rank ≥ 3; "
                f"`{ctx.sources[index]}` gives {t.describe()}",
                edge_index=index,
            )
    if a.rank != b.rank:  # torch.matmul would align the batch axis of one with a data axis of the other
        raise ctx.fail(
            "RANK",
            f"MatMul needs inputs of equal rank: `{ctx.sources[0]}` gives {a.describe()}, "
            f"`{ctx.sources[1]}` gives {b.describe()}; Unsqueeze the shorter one",
            edge_index=1,
        )
    inner_a, inner_b = a.dims[-1], b.dims[-2]
    if same(inner_a, inner_b) is False:
        raise ctx.fail(
            "SHAPE",
            f"MatMul needs the last axis of `{ctx.sources[0]}` ({inner_a}) to equal the second-to-last axis of "
            f"`{ctx.sources[1]}` ({inner_b}): {a.describe()} @ {b.describe()}; Transpose one of them",
            edge_index=1,
        )
    leading: list[Dim] = []
    for axis, (p, q) in enumerate(zip(a.dims[:-2], b.dims[:-2])):
        if (p == 1 or q == 1) and same(p, q) is not True:
            leading.append(q if p == 1 else p)
        elif same(p, q) is not False:
            leading.append(_merge_dim((p, q)))
        else:
            raise ctx.fail(
                "SHAPE",
                f"MatMul broadcasts axis {axis + 1}, which must be equal or 1: {p} from `{ctx.sources[0]}`, "
                f"{q} from `{ctx.sources[1]}`",
                edge_index=1,
            )
    return a.with_dims((*leading, a.dims[-2], b.dims[-1]))


def matmul_macs(ctx: CostCtx) -> int | None:
    """One product per inner index (the last axis of ``x1``) for every output value."""
    return known_product(ctx.out.numel(), ctx.size(0, -1))  # type: ignore[union-attr]


def emit_matmul(ctx: EmitCtx) -> NodeCode:
    return functional(ctx, call("torch.matmul", *ctx.inputs))


def emit_scale(ctx: EmitCtx) -> NodeCode:
    """A scalar ``nn.Parameter`` named after the node (its state_dict key), frozen unless learnable."""
    scale = call(
        "nn.Parameter",
        call("torch.tensor", ctx.params["value"]),
        requires_grad=kw_unless(ctx.params["learnable"], True),
    )
    return NodeCode(scale, (ctx.assign(BinOp("*", ctx.x, ctx.module)),))


def infer_constant(ctx: InferCtx) -> TensorType:
    ctx.input(0)  # read for its batch size and device only; float32, so the constant is too
    return tensor(*ctx.params["shape"])


def emit_constant(ctx: EmitCtx) -> NodeCode:
    size = (method(ctx.x, "size", 0), *ctx.params["shape"])
    return functional(ctx, method(ctx.x, "new_full", size, ctx.params["value"]))


def infer_argmax(ctx: InferCtx) -> TensorType:
    x = ctx.input(0)
    if not x.rank_known:
        return replace(x, dtype="int64")
    dim = ctx.params["dim"]
    index = dim + x.rank if dim < 0 else dim
    if not 1 <= index < x.rank:
        raise ctx.fail("PARAM_RANGE", f"dim={dim} is not a non-batch axis of {x.describe()}")
    dims = list(x.dims)
    if ctx.params["keepdim"]:
        dims[index - 1] = 1
    else:
        del dims[index - 1]
    return replace(x.with_dims(tuple(dims)), dtype="int64")


def emit_argmax(ctx: EmitCtx) -> NodeCode:
    keepdim = kw_unless(ctx.params["keepdim"], False)
    return functional(ctx, call("torch.argmax", ctx.x, dim=ctx.params["dim"], keepdim=keepdim))


register(
    NodeSpec(
        "Scalar",
        "math",
        "A tensor and a constant: `x * value`, `x + value`, `x - value` or `x / value` (e.g. attention's ×1/√d).",
        infer_scalar,
        emit_scalar,
        params=(
            Choice("op", default="mul", choices=tuple(_SCALAR_OPS), doc="mul, add, sub or div."),
            Float("value", default=1.0, doc="The constant."),
        ),
        aliases=("Scale",),  # what documents saved before LearnedScale existed call it
        summary=("op", "value"),
    ),
    NodeSpec(
        "LearnedScale",
        "math",
        "Multiplies by a scalar held as a parameter, `x * self.<id>`, learned unless `learnable` is off "
        "(frozen, still in the state_dict); a fixed constant is Scalar.",
        passthrough,
        emit_scale,
        params=(
            Float("value", default=1.0, min=-1e6, max=1e6, doc="The initial value."),
            Bool("learnable", default=True, doc="Train the factor; off: frozen at its value."),
        ),
        summary=("value", "learnable"),
    ),
    NodeSpec(
        "Constant",
        "math",
        "A tensor of one value, (B, *shape), float32; its input gives only the batch size and device.",
        infer_constant,
        emit_constant,
        params=(
            Float("value", default=0.0, min=-1e6, max=1e6, doc="The value of every element."),
            IntList("shape", min=1, max=1_000_000, min_length=1, max_length=4, doc="Sizes without the batch axis."),
        ),
        aliases=("Full",),
        summary=("value", "shape"),
    ),
    NodeSpec(
        "ArgMax",
        "math",
        "Index of the largest value along `dim`, `torch.argmax`: int64, e.g. for an Embedding.",
        infer_argmax,
        emit_argmax,
        params=(
            Int("dim", default=-1, min=-5, max=5, doc="The axis searched."),
            Bool("keepdim", default=False, doc="Keep that axis, with size 1."),
        ),
        summary=("dim",),
    ),
    NodeSpec(
        "MatMul",
        "math",
        "Matrix product of the last two axes, `torch.matmul(x1, x2)`; the axes before them broadcast.",
        infer_matmul,
        emit_matmul,
        ports=("x1", "x2"),
        macs=matmul_macs,
    ),
)
