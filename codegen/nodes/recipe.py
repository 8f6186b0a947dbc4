"""The training recipe's nodes: targets, losses and metrics (see codegen/recipe.py for how they render).

A ``Target`` is what a loss or metric compares a model output with: class indices ``(B,)`` or values
shaped like the output. Loss and metric nodes read a model output (port ``input``) and a target (port
``target``) and give one number for the batch; they feed nothing. Every metric is a mean over the batch's
samples, so a mean over batches weighted by their sizes is the metric of the whole set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..dims import same
from ..ir import BinOp, Item, Method, call, method
from ..params import Choice, Float, Int
from ..spec import EmitCtx, InferCtx, NodeCode, NodeSpec, functional, register
from ..tensor import SCALAR, TensorType, tensor
from .io import shape_param

PORTS = ("input", "target")


def infer_target(ctx: InferCtx) -> TensorType:
    """Class indices (B,) by default; float values without a shape take the shape of what they are compared with."""
    shape, dtype = ctx.params["shape"], ctx.params["dtype"]
    if shape is None and dtype == "float32":
        return TensorType(None, dtype=dtype)
    return tensor(*(shape or ()), dtype=dtype)


def emit_target(ctx):  # pragma: no cover - targets become arguments of the loss and metrics, never statements
    raise AssertionError("Target nodes are rendered as arguments")


def _pair(ctx: InferCtx, what: str) -> tuple[TensorType, TensorType]:
    prediction = ctx.input(0, dtype=None)
    target = ctx.input(1, dtype=None)
    if not prediction.rank_known:
        raise ctx.fail("NEEDS_SHAPE", f"{what} needs the rank of `{ctx.sources[0]}`: give the model's Input a shape")
    return prediction, target


def _same_shape(ctx: InferCtx, prediction: TensorType, target: TensorType, what: str) -> None:
    if not target.rank_known:
        return
    if target.rank != prediction.rank or any(same(p, q) is False for p, q in zip(prediction.dims, target.dims)):
        raise ctx.fail(
            "SHAPE",
            f"{what} compares values of equal shape: `{ctx.sources[0]}` gives {prediction.describe()}, "
            f"target `{ctx.sources[1]}` gives {target.describe()}",
            edge_index=1,
        )


def _float_prediction(ctx: InferCtx, prediction: TensorType, what: str) -> None:
    if prediction.dtype != "float32":
        raise ctx.fail(
            "DTYPE",
            f"{what} needs float scores from `{ctx.sources[0]}`, which gives integers "
            "(connect the scores before an ArgMax)",
            edge_index=0,
        )


def _class_target(ctx: InferCtx, prediction: TensorType, target: TensorType, what: str) -> None:
    """Scores (B, C, …) against class indices (B, …) of int64, or against probabilities shaped as the scores."""
    if prediction.rank < 2:
        raise ctx.fail("RANK", f"{what} needs class scores (B, classes, …), got {prediction.describe()}", edge_index=0)
    if not target.rank_known:
        return
    if target.dtype == "int64":
        wanted = prediction.dims[1:]  # the scores' axes past the classes
        if target.rank != prediction.rank - 1 or any(same(p, q) is False for p, q in zip(wanted, target.dims)):
            shown = ", ".join(["B", *(str(d) for d in wanted)])
            raise ctx.fail(
                "SHAPE",
                f"{what} takes class indices ({shown}) for scores {prediction.describe()}; "
                f"target `{ctx.sources[1]}` gives {target.describe()}{_classes_last(prediction, target)}",
                edge_index=1,
            )
        return
    _same_shape(ctx, prediction, target, what)


def _classes_last(prediction: TensorType, target: TensorType) -> str:
    """The Permute that fits scores with their classes on the last axis (a language model's (B, T, vocab)) to
    class indices of the other axes; empty where the target does not read them that way."""
    dims = prediction.dims
    if prediction.rank < 3 or target.rank != prediction.rank - 1:
        return ""
    if any(same(p, q) is False for p, q in zip(dims[:-1], target.dims)):
        return ""
    order = [0, len(dims), *range(1, len(dims))]
    shown = ", ".join(["B", str(dims[-1]), *(str(d) for d in dims[:-1])])
    return (
        f"; its classes are on the last axis: permute the scores to ({shown}) first, "
        f"with a Permute {order} in this node's stage"
    )


def _loss_rule(kind: str, what: str) -> Callable[[InferCtx], TensorType]:
    def infer(ctx: InferCtx) -> TensorType:
        prediction, target = _pair(ctx, what)
        _float_prediction(ctx, prediction, what)
        if kind in ("cross_entropy", "nll"):
            _class_target(ctx, prediction, target, what)
        else:
            if target.dtype != "float32":
                raise ctx.fail("DTYPE", f"{what} needs a float target, `{ctx.sources[1]}` gives int64", edge_index=1)
            _same_shape(ctx, prediction, target, what)
        return SCALAR

    return infer


def _weighted(ctx: EmitCtx, value: Any) -> NodeCode:
    weight = ctx.params["weight"]
    return functional(ctx, value if weight == 1 else BinOp("*", value, weight))


def _loss_emit(fn: str, *names: str) -> Callable[[EmitCtx], NodeCode]:
    def emit(ctx: EmitCtx) -> NodeCode:
        kwargs = {name: ctx.params[name] for name in names if ctx.params[name] != _DEFAULTS[name]}
        return _weighted(ctx, call(fn, ctx.inputs[0], ctx.inputs[1], **kwargs))

    return emit


_DEFAULTS: dict[str, Any] = {"label_smoothing": 0.0, "beta": 1.0, "delta": 1.0, "reduction": "mean"}
WEIGHT = Float("weight", default=1.0, min=0.0, max=1e6, doc="Factor of this term in the total loss.")


def _loss(type_name: str, kind: str, fn: str, doc: str, extra: tuple = (), names: tuple[str, ...] = ()) -> NodeSpec:
    return NodeSpec(
        type_name,
        "loss",
        doc,
        _loss_rule(kind, type_name),
        _loss_emit(fn, *names),
        params=(WEIGHT, *extra),
        ports=PORTS,
        summary=("weight", *names),
    )


def _metric_rule(kind: str, what: str) -> Callable[[InferCtx], TensorType]:
    def infer(ctx: InferCtx) -> TensorType:
        prediction, target = _pair(ctx, what)
        if kind in ("accuracy", "top_k"):
            if target.rank_known and target.dtype != "int64":
                raise ctx.fail(
                    "DTYPE",
                    f"{what} compares with class indices (int64); `{ctx.sources[1]}` gives floats",
                    edge_index=1,
                )
            if prediction.dtype == "int64" and kind == "accuracy":  # predicted classes, e.g. after ArgMax
                _same_shape(ctx, prediction, target, what)
                return SCALAR
            _float_prediction(ctx, prediction, what)
            _class_target(ctx, prediction, target, what)
            classes = prediction.dims[0]
            if kind == "top_k" and type(classes) is int and ctx.params["k"] > classes:
                raise ctx.fail("PARAM_RANGE", f"k={ctx.params['k']} is more than the {classes} classes")
            return SCALAR
        _float_prediction(ctx, prediction, what)
        _same_shape(ctx, prediction, target, what)
        return SCALAR

    return infer


def emit_accuracy(ctx: EmitCtx) -> NodeCode:
    prediction, target = ctx.inputs
    if ctx.in_types[0].dtype != "int64":
        prediction = method(prediction, "argmax", 1)
    hits = Method(BinOp("==", prediction, target), "float")
    return functional(ctx, method(hits, "mean"))


def emit_top_k(ctx: EmitCtx) -> NodeCode:
    prediction, target = ctx.inputs
    top = Item(method(prediction, "topk", ctx.params["k"], 1), 1)  # the indices of the k highest scores
    hits = method(BinOp("==", top, method(target, "unsqueeze", 1)), "any", 1)
    return functional(ctx, method(Method(hits, "float"), "mean"))


def emit_mae(ctx: EmitCtx) -> NodeCode:
    return functional(ctx, call("F.l1_loss", ctx.inputs[0], ctx.inputs[1]))


def emit_mse(ctx: EmitCtx) -> NodeCode:
    return functional(ctx, call("F.mse_loss", ctx.inputs[0], ctx.inputs[1]))


def _metric(type_name: str, kind: str, emit: Callable[[EmitCtx], NodeCode], doc: str, extra: tuple = ()) -> NodeSpec:
    return NodeSpec(
        type_name,
        "metric",
        doc,
        _metric_rule(kind, type_name),
        emit,
        params=extra,
        ports=PORTS,
        summary=tuple(p.name for p in extra),
    )


register(
    NodeSpec(
        "Target",
        "io",
        "What the loss and metrics compare the model's outputs with (not a model input). `shape` excludes the "
        "batch axis: empty for class indices (B,), or the output's sizes.",
        infer_target,
        emit_target,
        params=(
            shape_param(0, "Sizes without the batch axis; empty for one class index per sample."),
            Choice(
                "dtype", default="int64", choices=("int64", "float32"), doc="int64 class indices or float32 values."
            ),
            Int(
                "num_classes",
                default=None,
                optional=True,
                min=2,
                max=10_000_000,
                doc="For int64 targets: random targets in smoke runs are drawn from [0, num_classes).",
            ),
        ),
        ports=(),
        summary=("shape", "dtype"),
    ),
    _loss(
        "CrossEntropyLoss",
        "cross_entropy",
        "F.cross_entropy",
        "Cross-entropy of class scores (B, C, …) against class indices (B, …) or probabilities.",
        (Float("label_smoothing", default=0.0, min=0.0, max=1.0, doc="Share of the target spread over all classes."),),
        ("label_smoothing",),
    ),
    _loss(
        "NLLLoss", "nll", "F.nll_loss", "Negative log-likelihood of log-probabilities (B, C, …) against class indices."
    ),
    _loss("MSELoss", "mse", "F.mse_loss", "Mean squared error between the output and a target of the same shape."),
    _loss("L1Loss", "l1", "F.l1_loss", "Mean absolute error between the output and a target of the same shape."),
    _loss(
        "SmoothL1Loss",
        "smooth_l1",
        "F.smooth_l1_loss",
        "Smooth L1: quadratic below `beta`, linear above.",
        (Float("beta", default=1.0, min=0.0, doc="Where the loss turns from quadratic to linear."),),
        ("beta",),
    ),
    _loss(
        "HuberLoss",
        "huber",
        "F.huber_loss",
        "Huber loss: quadratic below `delta`, linear above.",
        (Float("delta", default=1.0, min=0.0, max_exclusive=False, doc="Where the loss turns linear."),),
        ("delta",),
    ),
    _loss(
        "BCEWithLogitsLoss",
        "bce",
        "F.binary_cross_entropy_with_logits",
        "Binary cross-entropy of logits against 0/1 (or soft) float targets of the same shape.",
    ),
    _metric(
        "Accuracy",
        "accuracy",
        emit_accuracy,
        "Share of samples whose highest score (or predicted class) is the target class.",
    ),
    _metric(
        "TopKAccuracy",
        "top_k",
        emit_top_k,
        "Share of samples whose target class is among the k highest scores.",
        (Int("k", default=5, min=1, max=1000, doc="How many of the highest scores count."),),
    ),
    _metric("MeanAbsoluteError", "mae", emit_mae, "Mean absolute difference between output and target."),
    _metric("MeanSquaredError", "mse", emit_mse, "Mean squared difference between output and target."),
)
