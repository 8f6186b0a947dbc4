"""Regularisation layers whose code is a small class carried in the generated ``blocks.py``."""

from __future__ import annotations

from ..blocks.library import StochasticDepth
from ..ir import call
from ..params import Choice, Float
from ..spec import EmitCtx, NodeCode, NodeSpec, apply_module, register
from ._common import passthrough


def emit_stochastic_depth(ctx: EmitCtx) -> NodeCode:
    # Both arguments always, as torchvision writes ``StochasticDepth(p, "row")``: the class has no defaults.
    return apply_module(ctx, call(StochasticDepth.__name__, ctx.params["p"], ctx.params["mode"]))


register(
    NodeSpec(
        "StochasticDepth",
        "dropout",
        "Drop path: in training, zeroes a sample's input (row) or the batch's (batch) with probability p and "
        "scales survivors by 1 / (1 - p); identity in eval. As torchvision.ops.StochasticDepth.",
        passthrough,
        emit_stochastic_depth,
        params=(
            Float("p", default=0.1, min=0.0, max=1.0, doc="Probability of dropping the input."),
            Choice(
                "mode",
                default="row",
                choices=("row", "batch"),
                doc="row: one draw per sample; batch: one draw for the whole batch.",
            ),
        ),
        aliases=("DropPath",),
        summary=("p", "mode"),
        block_class=StochasticDepth,
    ),
)
