"""Element-wise activations, softmax and dropout: shape-preserving layers."""

from __future__ import annotations

from collections.abc import Callable

from ..diagnostics import set_param
from ..dims import is_known
from ..params import Choice, Float, Int
from ..spec import InferCtx, NodeSpec, register
from ..tensor import TensorType
from ._common import passthrough, simple_module


def _activation(
    name: str,
    doc: str,
    params: tuple = (),
    aliases: tuple[str, ...] = (),
    category: str = "activation",
    infer: Callable[[InferCtx], TensorType] = passthrough,
    **defaults,
) -> NodeSpec:
    """An element-wise layer ``nn.<name>(**params)``; ``infer`` adds checks across params or against the input."""
    return NodeSpec(
        name,
        category,
        doc,
        infer,
        simple_module(name, **defaults),
        params=params,
        aliases=aliases,
        summary=tuple(p.name for p in params),
    )


def _infer_softmax(ctx: InferCtx) -> TensorType:
    x = ctx.input(0)
    dim = ctx.params["dim"]
    if x.rank_known and not -x.rank <= dim < x.rank:
        raise ctx.fail("PARAM_RANGE", f"dim {dim} is out of range for {x.describe()}")
    return x


def _infer_hardtanh(ctx: InferCtx) -> TensorType:
    low, high = ctx.params["min_val"], ctx.params["max_val"]
    if isinstance(low, float) and isinstance(high, float) and high <= low:
        raise ctx.fail(
            "PARAM_RANGE",
            f"max_val ({high}) must be greater than min_val ({low}); "
            + ("swap them" if high < low else "raise max_val"),
        )
    return ctx.input(0)


def _infer_prelu(ctx: InferCtx) -> TensorType:
    """nn.PReLU learns one slope, or one per channel on axis 1 (it reads axis 1 whatever the layout)."""
    x = ctx.input(0)
    count = ctx.params["num_parameters"]
    if count == 1 or not x.rank_known:
        return x
    if x.rank < 2:
        raise ctx.fail(
            "PARAM_RANGE",
            f"num_parameters {count} needs a channel axis, got {x.describe()}; use 1",
            set_param(ctx.node, "num_parameters", 1),
        )
    channels = x.dims[0]
    if is_known(channels, count) and channels != count:
        raise ctx.fail(
            "PARAM_RANGE",
            f"num_parameters must be 1 or the {channels} channels on axis 1 of {x.describe()}, got {count}; "
            f"use {channels}",
            set_param(ctx.node, "num_parameters", channels),
        )
    return x


def _infer_softplus(ctx: InferCtx) -> TensorType:
    if ctx.params["beta"] == 0:  # a symbolic beta compares unequal
        raise ctx.fail(
            "PARAM_RANGE",
            "beta must not be 0 (softplus divides by beta); use 1 for the standard softplus",
            set_param(ctx.node, "beta", 1.0),
        )
    return ctx.input(0)


def _infer_dropout2d(ctx: InferCtx) -> TensorType:
    return ctx.input(0, ranks=(4, 3))


_P = Float("p", default=0.5, min=0.0, max=1.0, max_exclusive=True, doc="Probability of zeroing an element.")
_DIM = Int("dim", default=-1, min=-5, max=4, doc="Axis the probabilities sum to one over.")

register(
    _activation("ReLU", "max(0, x).", aliases=("Relu",)),
    _activation(
        "LeakyReLU",
        "max(0, x) + negative_slope · min(0, x).",
        (Float("negative_slope", default=0.01, min=0.0, max=1.0, doc="Slope for x < 0."),),
        negative_slope=0.01,
    ),
    _activation(
        "GELU",
        "Gaussian error linear unit.",
        (Choice("approximate", default="none", choices=("none", "tanh"), doc="Exact or tanh approximation."),),
        approximate="none",
    ),
    _activation("SiLU", "x · sigmoid(x) (swish).", aliases=("Swish",)),
    _activation(
        "ELU",
        "Exponential linear unit.",
        (Float("alpha", default=1.0, min=0.0, doc="Saturation value for x < 0."),),
        alpha=1.0,
    ),
    _activation(
        "Mish",
        "x · tanh(softplus(x)).",
    ),
    _activation("Hardswish", "Piecewise-linear swish (MobileNetV3)."),
    _activation("ReLU6", "min(max(0, x), 6) (MobileNetV2)."),
    _activation("Hardsigmoid", "Piecewise-linear sigmoid: relu6(x + 3) / 6 (MobileNetV3's squeeze-excitation gate)."),
    _activation(
        "Hardtanh",
        "x clamped to [min_val, max_val].",
        (
            Float("min_val", default=-1.0, doc="Lower end of the linear region."),
            Float("max_val", default=1.0, doc="Upper end of the linear region; greater than min_val."),
        ),
        infer=_infer_hardtanh,
        min_val=-1.0,
        max_val=1.0,
    ),
    _activation(
        "PReLU",
        "max(0, x) + a · min(0, x) with a learned slope a: one, or one per channel (axis 1).",
        (
            Int("num_parameters", default=1, min=1, max=1_000_000, doc="Learned slopes: 1, or the input's channels."),
            Float("init", default=0.25, doc="Initial value of the slopes."),
        ),
        infer=_infer_prelu,
        num_parameters=1,
        init=0.25,
    ),
    _activation(
        "Softplus",
        "1/beta · log(1 + exp(beta · x)), linear where beta · x > threshold.",
        (
            Float("beta", default=1.0, doc="Sharpness; not 0."),
            Float("threshold", default=20.0, doc="Above this value of beta · x the output is x."),
        ),
        infer=_infer_softplus,
        beta=1.0,
        threshold=20.0,
    ),
    _activation("Sigmoid", "1 / (1 + exp(-x))."),
    _activation("Tanh", "Hyperbolic tangent."),
    _activation("Identity", "Passes its input through unchanged.", category="reshape"),
    NodeSpec(
        "Softmax",
        "activation",
        "Normalises values along `dim` into probabilities.",
        _infer_softmax,
        simple_module("Softmax", dim=None),
        params=(_DIM,),
        summary=("dim",),
    ),
    NodeSpec(
        "LogSoftmax",
        "activation",
        "log(softmax(x)) along `dim`, numerically stable.",
        _infer_softmax,
        simple_module("LogSoftmax", dim=None),
        params=(_DIM,),
        summary=("dim",),
    ),
    _activation("Dropout", "Zeroes elements with probability p during training.", (_P,), category="dropout", p=0.5),
    NodeSpec(
        "Dropout2d",
        "dropout",
        "Zeroes whole channels of (B, C, H, W) with probability p during training.",
        _infer_dropout2d,
        simple_module("Dropout2d", p=0.5),
        params=(_P,),
        summary=("p",),
    ),
)
