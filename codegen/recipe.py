"""The training recipe a document carries beside its model: each node's weight init, and the optimizer and
learning-rate scheduler of its ``training`` block.

Values are checked here against declarations (:mod:`codegen.params`), so only checked values reach the
generated code, as keyword arguments of ``torch.nn.init``, ``torch.optim`` and ``torch.optim.lr_scheduler``
calls. Problems are ``RECIPE`` diagnostics with the JSON path of the value (``training.optimizer.lr``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .diagnostics import Diagnostic
from .ir import DEFAULT, Call, SelfAttr, call
from .params import Bool, Choice, Float, Int, Param, ParamError
from .schema import describe

NONLINEARITIES = ("relu", "leaky_relu", "tanh", "sigmoid", "linear", "selu")
_GAIN = Float("gain", default=1.0, min=0.0, max=100.0, doc="Scale of the weights.")
_KAIMING = (
    Float("a", default=0.0, min=0.0, max=100.0, doc="Negative slope of the leaky ReLU that follows."),
    Choice("mode", default="fan_in", choices=("fan_in", "fan_out")),
    Choice("nonlinearity", default="leaky_relu", choices=NONLINEARITIES),
)
# init type -> (torch.nn.init function, its keyword arguments). Every one fills the layer's `weight`.
INITS: dict[str, tuple[str, tuple[Param, ...]]] = {
    "kaiming_uniform": ("nn.init.kaiming_uniform_", _KAIMING),
    "kaiming_normal": ("nn.init.kaiming_normal_", _KAIMING),
    "xavier_uniform": ("nn.init.xavier_uniform_", (_GAIN,)),
    "xavier_normal": ("nn.init.xavier_normal_", (_GAIN,)),
    "orthogonal": ("nn.init.orthogonal_", (_GAIN,)),
    "normal": ("nn.init.normal_", (Float("mean", default=0.0, min=-1e6, max=1e6), Float("std", default=1.0, min=0.0))),
    "trunc_normal": (
        "nn.init.trunc_normal_",
        (Float("mean", default=0.0, min=-1e6, max=1e6), Float("std", default=1.0, min=0.0)),
    ),
    "uniform": ("nn.init.uniform_", (Float("a", default=0.0, min=-1e6, max=1e6), Float("b", default=1.0, min=-1e6))),
    "constant": ("nn.init.constant_", (Float("val", default=0.0, min=-1e6, max=1e6),)),
    "zeros": ("nn.init.zeros_", ()),
    "ones": ("nn.init.ones_", ()),
}
BIAS_CHOICES = ("keep", "zeros")
# Node types whose layer has a `weight` of two or more axes (what every scheme can fill), and a `bias` where
# the layer has one.
WEIGHTED = frozenset(
    {
        "Linear",
        "Bilinear",
        "Conv1d",
        "Conv2d",
        "Conv3d",
        "ConvTranspose1d",
        "ConvTranspose2d",
        "ConvTranspose3d",
        "Embedding",
    }
)


def _adam(weight_decay: float) -> tuple[Param, ...]:
    """Adam's settings (``betas`` as two numbers); AdamW differs in its default weight decay only."""
    return (
        Float("lr", default=0.001, min=0.0, max=100.0),
        Float("beta1", default=0.9, min=0.0, max=1.0, max_exclusive=True),
        Float("beta2", default=0.999, min=0.0, max=1.0, max_exclusive=True),
        Float("eps", default=1e-8, min=0.0, max=1.0),
        Float("weight_decay", default=weight_decay, min=0.0, max=10.0),
        Bool("amsgrad", default=False),
    )


OPTIMIZERS: dict[str, tuple[Param, ...]] = {
    "SGD": (
        Float("lr", default=0.01, min=0.0, max=100.0),
        Float("momentum", default=0.0, min=0.0, max=1.0),
        Float("dampening", default=0.0, min=0.0, max=1.0),
        Float("weight_decay", default=0.0, min=0.0, max=10.0),
        Bool("nesterov", default=False),
    ),
    "Adam": _adam(weight_decay=0.0),
    "AdamW": _adam(weight_decay=0.01),
    "RMSprop": (
        Float("lr", default=0.01, min=0.0, max=100.0),
        Float("alpha", default=0.99, min=0.0, max=1.0),
        Float("eps", default=1e-8, min=0.0, max=1.0),
        Float("weight_decay", default=0.0, min=0.0, max=10.0),
        Float("momentum", default=0.0, min=0.0, max=1.0),
        Bool("centered", default=False),
    ),
}
# Schedulers step once per epoch; settings without a default are torch's required arguments.
SCHEDULERS: dict[str, tuple[Param, ...]] = {
    "StepLR": (
        Int("step_size", min=1, max=1_000_000, doc="Epochs between two decays."),
        Float("gamma", default=0.1, min=0.0, max=1.0),
    ),
    "ExponentialLR": (Float("gamma", min=0.0, max=1.0, doc="Factor of the rate after every epoch."),),
    "CosineAnnealingLR": (
        Int("T_max", min=1, max=1_000_000, doc="Epochs of the half cosine."),
        Float("eta_min", default=0.0, min=0.0),
    ),
    "LinearLR": (
        Float("start_factor", default=1 / 3, min=1e-8, max=1.0),
        Float("end_factor", default=1.0, min=0.0, max=1.0),
        Int("total_iters", default=5, min=1, max=1_000_000),
    ),
}


class RecipeError(Exception):
    """A value of the recipe that does not fit; ``path`` is its JSON path."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class Init:
    """A checked weight init: the ``torch.nn.init`` function, its non-default arguments, the bias rule."""

    type: str
    kwargs: tuple[tuple[str, Any], ...]
    bias: str = "keep"

    def calls(self, module: str, has_bias: bool) -> list[Call]:
        """``nn.init.kaiming_uniform_(self.conv.weight, nonlinearity="relu")`` (and the bias's) for the layer
        at attribute path ``module``, as IR."""
        fn, _ = INITS[self.type]
        made = [call(fn, SelfAttr(f"{module}.weight"), **dict(self.kwargs))]
        if self.bias == "zeros" and has_bias:
            made.append(call("nn.init.zeros_", SelfAttr(f"{module}.bias")))
        return made


def _checked(params: tuple[Param, ...], raw: dict[str, Any], path: str, what: str) -> dict[str, Any]:
    """The values of ``raw`` against ``params`` (unknown keys refused), defaults left out."""
    names = [p.name for p in params]
    for key in raw:
        if key not in names:
            allowed = ", ".join(names) or "no settings"
            raise RecipeError(f"{path}.{key}", f"{what} has no setting `{key}` (it takes: {allowed})")
    values: dict[str, Any] = {}
    for param in params:
        if param.name not in raw:
            if param.required:
                raise RecipeError(f"{path}.{param.name}", f"{what} needs `{param.name}`{_doc(param)}")
            continue
        try:
            value = param.coerce(raw[param.name])
        except ParamError as exc:
            raise RecipeError(f"{path}.{param.name}", str(exc)) from None
        if param.required or value != param.default:
            values[param.name] = value
    return values


def _doc(param: Param) -> str:
    return f" ({param.doc.rstrip('.')})" if param.doc else ""


def _typed(raw: Any, path: str, choices: dict[str, Any], what: str) -> tuple[str, dict[str, Any]]:
    """``"name"`` or ``{"type": "name", ...settings}`` → (name, settings)."""
    if isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, dict):
        raise RecipeError(path, f"expected the {what} as a name or an object with `type`, got {describe(raw)}")
    kind = raw.get("type")
    if isinstance(kind, str) and kind.endswith("_") and kind[:-1] in choices:  # torch's spelling, `kaiming_uniform_`
        kind = kind[:-1]
    if not isinstance(kind, str) or kind not in choices:  # a dict or list is no name (nor hashable)
        raise RecipeError(f"{path}.type", f"expected one of {', '.join(choices)}, got {describe(kind)}")
    return kind, {k: v for k, v in raw.items() if k != "type"}


def check_init(raw: Any, node_type: str, path: str) -> Init:
    """A node's ``init`` checked for its type, or :class:`RecipeError`."""
    kind, settings = _typed(raw, path, INITS, "weight init")
    if node_type not in WEIGHTED:
        raise RecipeError(
            path,
            f"init fills a layer's weight; a {node_type} has none to fill (use it on {', '.join(sorted(WEIGHTED))})",
        )
    bias = settings.pop("bias", "keep")
    if bias not in BIAS_CHOICES:
        raise RecipeError(f"{path}.bias", f"expected one of {', '.join(BIAS_CHOICES)}, got {bias!r}")
    values = _checked(INITS[kind][1], settings, path, kind)
    return Init(kind, tuple(values.items()), bias)


@dataclass(frozen=True)
class Training:
    """The document's optimizer and scheduler, checked (settings that equal torch's defaults left out)."""

    optimizer: tuple[str, tuple[tuple[str, Any], ...]] | None = None
    scheduler: tuple[str, tuple[tuple[str, Any], ...]] | None = None

    def optimizer_call(self, parameters: Any) -> Call:
        assert self.optimizer is not None
        kind, values = self.optimizer
        settings = dict(values)
        lr = settings.pop("lr", dict((p.name, p.default) for p in OPTIMIZERS[kind])["lr"])
        betas = None
        if "beta1" in settings or "beta2" in settings:
            defaults = {p.name: p.default for p in OPTIMIZERS[kind]}
            betas = (settings.pop("beta1", defaults["beta1"]), settings.pop("beta2", defaults["beta2"]))
        kwargs: dict[str, Any] = {"lr": lr, "betas": betas if betas is not None else DEFAULT, **settings}
        return call(f"torch.optim.{kind}", parameters, **kwargs)

    def scheduler_call(self, optimizer: Any) -> Call | None:
        if self.scheduler is None:
            return None
        kind, values = self.scheduler
        return call(f"torch.optim.lr_scheduler.{kind}", optimizer, **dict(values))

    def describe(self) -> str | None:
        """``SGD (lr 0.05, momentum 0.9)``, for run pages."""
        if self.optimizer is None:
            return None
        kind, values = self.optimizer
        lr = dict(values).get("lr", next(p.default for p in OPTIMIZERS[kind] if p.name == "lr"))
        rest = [f"{k} {v}" for k, v in values if k != "lr"]
        return f"{kind} (lr {lr}{''.join(', ' + r for r in rest)})"


def check_training(raw: dict[str, Any]) -> tuple[Training, list[Diagnostic]]:
    """The ``training`` block checked; problems as ``RECIPE`` diagnostics (what is wrong is left out)."""
    problems: list[Diagnostic] = []
    found: dict[str, Any] = {}
    for key in raw:
        if key not in ("optimizer", "scheduler"):
            problems.append(Diagnostic("RECIPE", f"training.{key}: unknown field (allowed: optimizer, scheduler)"))
    for key, table in (("optimizer", OPTIMIZERS), ("scheduler", SCHEDULERS)):
        if raw.get(key) is None:
            continue
        try:
            kind, settings = _typed(raw[key], f"training.{key}", table, key)
            found[key] = (kind, tuple(_checked(table[kind], settings, f"training.{key}", kind).items()))
        except RecipeError as exc:
            problems.append(Diagnostic("RECIPE", str(exc), path=exc.path))
    if "scheduler" in found and "optimizer" not in found and not problems:
        problems.append(
            Diagnostic("RECIPE", "training.scheduler: a scheduler needs the document's optimizer", path="training")
        )
    return Training(found.get("optimizer"), found.get("scheduler")), problems
