"""Element-wise activations, softmax and dropout: shape-preserving layers."""

from __future__ import annotations

from ..params import Choice, Float, Int
from ..spec import InferCtx, NodeSpec, register
from ..tensor import TensorType
from ._common import passthrough, simple_module


def _activation(
    name: str, doc: str, params: tuple = (), aliases: tuple[str, ...] = (), category: str = "activation", **defaults
) -> NodeSpec:
    return NodeSpec(
        name,
        category,
        doc,
        passthrough,
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
