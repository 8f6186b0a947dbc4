"""Graph inputs."""

from __future__ import annotations

from ..params import Choice, Int, IntList
from ..spec import InferCtx, NodeSpec, register
from ..tensor import SEQUENCE, TensorType, tensor


def shape_param(min_length: int, doc: str) -> IntList:
    """The optional ``shape`` (sizes without the batch axis) of an Input or a Target."""
    return IntList(
        "shape", default=None, optional=True, min=1, max=1_000_000, min_length=min_length, max_length=4, doc=doc
    )


def infer_input(ctx: InferCtx) -> TensorType:
    shape = ctx.params["shape"]
    dtype = ctx.params["dtype"]
    if shape is None:
        if ctx.params["layout"] != "auto":  # a stated layout fixes the rank even without sizes
            return tensor(None, None, layout=ctx.params["layout"], dtype=dtype)
        return TensorType(None, dtype=dtype)
    layout = SEQUENCE if ctx.params["layout"] == "BTH" or (dtype == "int64" and len(shape) == 1) else None
    return tensor(*shape, layout=layout, dtype=dtype)


def emit_input(ctx):  # pragma: no cover - inputs become forward() arguments, never statements
    raise AssertionError("Input nodes are rendered as forward() arguments")


register(
    NodeSpec(
        "Input",
        "io",
        "A model input. `shape` excludes the batch axis, e.g. [9, 256] for (B, C, T) or [3, 224, 224].",
        infer_input,
        emit_input,
        params=(
            shape_param(1, "Sizes without the batch axis; leave empty to infer layers lazily."),
            Choice(
                "dtype", default="float32", choices=("float32", "int64"), doc="float32 features or int64 token ids."
            ),
            Choice(
                "layout",
                default="auto",
                choices=("auto", "BCT", "BTH"),
                doc="For rank-3 inputs: channels-first (B, C, T) or sequence (B, T, H).",
            ),
            Int(
                "vocab_size",
                default=None,
                optional=True,
                min=1,
                max=10_000_000,
                doc="For int64 inputs: token ids are drawn from [0, vocab_size) in smoke runs.",
            ),
        ),
        ports=(),
        summary=("shape",),
    )
)
