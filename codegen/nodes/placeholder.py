"""A placeholder for a part of an imported module that has no node type (``python -m codegen import
--placeholders``): it keeps the part's output shape, so the rest of the graph validates around it, and it
is always an error, so no code is generated until it is replaced."""

from __future__ import annotations

from ..diagnostics import ShapeError
from ..ir import call
from ..params import Choice, IntList, Text
from ..spec import EmitCtx, InferCtx, NodeCode, NodeSpec, functional, register
from ..tensor import TensorType, tensor


def infer_not_imported(ctx: InferCtx) -> TensorType:
    source = ctx.params["source"]
    where = f" at {source}" if source else ""
    ctx.errors.append(
        ShapeError(
            "NOT_IMPORTED",
            f"{ctx.params['op']}{where} was not imported: {ctx.params['reason']}; replace this placeholder "
            "with nodes that compute it",
        )
    )
    layout = None if ctx.params["layout"] == "auto" else ctx.params["layout"]
    return tensor(*ctx.params["shape"], layout=layout, dtype=ctx.params["dtype"])


def emit_not_imported(ctx: EmitCtx) -> NodeCode:
    # Never rendered: the node always carries an error and generation refuses graphs with errors. The
    # analysis still asks every node for its constructor (there is none).
    return functional(ctx, call("NotImplementedError", ctx.params["op"]))


register(
    NodeSpec(
        "NotImported",
        "imported",
        "A part of an imported PyTorch module that has no node type: what it was, where, and the shape of "
        "what it gave. Replace it with nodes that compute the same; until then no code is generated.",
        infer_not_imported,
        emit_not_imported,
        params=(
            Text("op", doc="What the code did there (a function, a method, a module)."),
            Text("reason", doc="Why no node type does it."),
            Text("source", default="", doc="The source line it came from (file:line `code`)."),
            IntList("shape", min=1, max=1_000_000, max_length=4, doc="The output's sizes without the batch axis."),
            Choice("dtype", default="float32", choices=("float32", "int64"), doc="The output's element type."),
            Choice("layout", default="auto", choices=("auto", "BCT", "BTH"), doc="For rank-3 outputs."),
        ),
        variadic=True,
        summary=("op",),
        palette=False,
    )
)
