"""A run's configuration: its fields, their defaults, and the caps every run must respect.

Plain Python (no Django): the dispatcher checks a config with :func:`parse_config` before queueing, the
worker checks it again before training (the caps may have changed in between), and the runner reads
the resulting :class:`RunConfig`. Every refusal is one sentence naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from codegen.fit import STOP_METRICS
from codegen.smoke import DATA_MODES, LOSSES, OPTIMIZERS, PRECISIONS

# The choices are the training loop's own; a config adds no device index (the worker picks its GPU).
DEVICES = ("auto", "cpu", "cuda")

MAX_INPUT_RANK = 8
MAX_DIM_SIZE = 2**31 - 1
MAX_SEED = 2**31 - 1
MAX_LR = 10.0

# What a config may leave out, and what a run then uses: small enough for a CPU, right for every template.
DEFAULTS: dict[str, Any] = {
    "batch_size": 8,
    "steps": 30,  # per epoch
    "epochs": 1,
    "optimizer": "adam",
    "lr": 1e-3,
    "loss": "auto",  # cross-entropy for (B, classes) logits, MSE for any other output
    "device": "auto",  # CUDA when the worker has it
    "precision": "fp32",  # bf16/fp16: mixed precision, on CUDA only
    # fixed: one batch trained on at every step, so the loss visibly falls when the model can learn;
    # random: a fresh batch per step (throughput; the loss stays at chance level).
    "data": "fixed",
    "seed": 0,
}
# Training on a dataset: which one, the share held out for validation, early stopping. With a dataset,
# "steps" is not chosen: the dispatcher sets it to one pass over the training split (codegen.fit.steps_per_epoch).
DATASET_DEFAULTS: dict[str, Any] = {"val_fraction": 0.2, "early_stop_metric": "val_loss", "early_stop_patience": 0}
MAX_VAL_FRACTION = 0.5
OPTIONAL = ("time_limit_s", "input_shapes", "dataset", *DATASET_DEFAULTS, "init_from_run")
FIELDS = (*DEFAULTS, *OPTIONAL)


class ConfigError(ValueError):
    """A config that cannot run, with one sentence saying why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Caps:
    """Limits on one run (and on a user's runs), from ``settings.TORCHCANVAS_RUNS``."""

    max_steps: int = 1000  # steps × epochs
    max_batch_size: int = 512
    max_params: int = 200_000_000  # VGG-16 has 138 M
    max_memory_bytes: int = 24 * 2**30  # estimated: weights, gradients, optimizer state, activations
    time_limit_s: int = 900  # the longest (and default) wall time of a run's training
    max_concurrent: int = 2  # queued + running runs per user, outside sets
    max_set_runs: int = 8  # runs in one ablation matrix or sweep
    max_set_steps: int = 4000  # steps × epochs of a set's runs together
    max_active_sets: int = 1  # sets with runs queued or running, per user

    @classmethod
    def from_settings(cls, values: Mapping[str, Any]) -> Caps:
        return cls(**{name: values[name] for name in cls.__dataclass_fields__ if name in values})


@dataclass(frozen=True)
class RunConfig:
    batch_size: int = DEFAULTS["batch_size"]
    steps: int = DEFAULTS["steps"]
    epochs: int = DEFAULTS["epochs"]
    optimizer: str = DEFAULTS["optimizer"]
    lr: float = DEFAULTS["lr"]
    loss: str = DEFAULTS["loss"]
    device: str = DEFAULTS["device"]
    precision: str = DEFAULTS["precision"]
    data: str = DEFAULTS["data"]
    seed: int = DEFAULTS["seed"]
    time_limit_s: int = Caps.time_limit_s
    # Sizes of inputs without the batch axis, overriding (or supplying) the graph's own: {"inp": (9, 256)}.
    input_shapes: dict[str, tuple[int, ...]] | None = field(default=None)
    dataset: int | None = None  # a Dataset's id: train on it (else on generated batches)
    val_fraction: float = DATASET_DEFAULTS["val_fraction"]  # 0: no validation split
    early_stop_metric: str = DATASET_DEFAULTS["early_stop_metric"]
    early_stop_patience: int = DATASET_DEFAULTS["early_stop_patience"]  # epochs without improvement; 0: never
    init_from_run: int | None = None  # start from the weights of this run

    @property
    def total_steps(self) -> int:
        return self.steps * self.epochs

    def to_dict(self) -> dict[str, Any]:
        """The stored form (``Run.config``): every field that applies explicit, so a run records what it used."""
        data = asdict(self)
        if self.input_shapes is None:
            del data["input_shapes"]
        else:
            data["input_shapes"] = {name: list(shape) for name, shape in self.input_shapes.items()}
        if self.dataset is None:
            for name in ("dataset", *DATASET_DEFAULTS):
                del data[name]
        else:
            del data["data"]  # generated batches: not what this run trains on
        if self.init_from_run is None:
            del data["init_from_run"]
        return data


def parse_config(data: Any, caps: Caps | None = None) -> RunConfig:
    """A checked :class:`RunConfig` from JSON-like ``data`` (missing fields take :data:`DEFAULTS`)."""
    caps = caps or Caps()
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError('config: expected an object such as {"steps": 30, "batch_size": 8}.')
    unknown = sorted(str(key) for key in data if key not in FIELDS)
    if unknown:
        raise ConfigError(f"Unknown config field(s): {', '.join(unknown)}. Allowed: {', '.join(FIELDS)}.")
    value = {**DEFAULTS, **{key: data[key] for key in FIELDS if data.get(key) is not None}}

    batch_size = _integer(value["batch_size"], "batch_size", 1, caps.max_batch_size)
    steps = _integer(value["steps"], "steps", 1, caps.max_steps)
    epochs = _integer(value["epochs"], "epochs", 1, caps.max_steps)
    if steps * epochs > caps.max_steps and data.get("dataset") is None:  # with a dataset: checked once steps are known
        raise ConfigError(f"steps × epochs is {steps * epochs}; the limit is {caps.max_steps} steps per run.")
    return RunConfig(
        batch_size=batch_size,
        steps=steps,
        epochs=epochs,
        optimizer=_choice(value, "optimizer", OPTIMIZERS),
        lr=_learning_rate(value["lr"]),
        loss=_choice(value, "loss", LOSSES),
        device=_choice(value, "device", DEVICES),
        precision=_choice(value, "precision", PRECISIONS),
        data=_choice(value, "data", DATA_MODES),
        seed=_integer(value["seed"], "seed", 0, MAX_SEED),
        time_limit_s=_integer(value.get("time_limit_s", caps.time_limit_s), "time_limit_s", 1, caps.time_limit_s),
        input_shapes=_input_shapes(value.get("input_shapes")),
        dataset=_optional_id(value.get("dataset"), "dataset"),
        val_fraction=_fraction(value.get("val_fraction", DATASET_DEFAULTS["val_fraction"])),
        early_stop_metric=_choice(
            {"early_stop_metric": value.get("early_stop_metric", DATASET_DEFAULTS["early_stop_metric"])},
            "early_stop_metric",
            tuple(STOP_METRICS),
        ),
        early_stop_patience=_integer(
            value.get("early_stop_patience", DATASET_DEFAULTS["early_stop_patience"]), "early_stop_patience", 0, 1000
        ),
        init_from_run=_optional_id(value.get("init_from_run"), "init_from_run"),
    )


def _integer(number: Any, name: str, low: int, high: int) -> int:
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if isinstance(number, bool) or not isinstance(number, int):
        raise ConfigError(f"{name}: expected a whole number, got {number!r}.")
    if not low <= number <= high:
        raise ConfigError(f"{name} must be between {low} and {high} (got {number}).")
    return number


def _optional_id(number: Any, name: str) -> int | None:
    return None if number is None else _integer(number, name, 1, 2**63 - 1)


def _fraction(number: Any) -> float:
    if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
        raise ConfigError(f"val_fraction: expected a number such as 0.2, got {number!r}.")
    if not 0 <= number <= MAX_VAL_FRACTION:
        raise ConfigError(f"val_fraction must be between 0 and {MAX_VAL_FRACTION} (got {number!r}).")
    return float(number)


def _choice(value: Mapping[str, Any], name: str, choices: tuple[str, ...]) -> str:
    choice = value[name]
    if not isinstance(choice, str) or choice.lower() not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)} (got {choice!r}).")
    return choice.lower()


def _learning_rate(lr: Any) -> float:
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr):
        raise ConfigError(f"lr: expected a number, got {lr!r}.")
    if not 0 < lr <= MAX_LR:
        raise ConfigError(f"lr must be above 0 and at most {MAX_LR:g} (got {lr!r}).")
    return float(lr)


def _input_shapes(shapes: Any) -> dict[str, tuple[int, ...]] | None:
    if shapes is None:
        return None
    if not isinstance(shapes, Mapping) or not shapes:
        raise ConfigError('input_shapes: expected an object such as {"inp": [9, 256]} (sizes without the batch).')
    result = {}
    for name, shape in shapes.items():
        if (
            not isinstance(shape, list | tuple)
            or not 1 <= len(shape) <= MAX_INPUT_RANK
            or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= MAX_DIM_SIZE for s in shape)
        ):
            raise ConfigError(
                f"input_shapes.{name}: expected 1 to {MAX_INPUT_RANK} positive sizes without the batch, "
                f"such as [3, 32, 32]; got {shape!r}."
            )
        result[str(name)] = tuple(shape)
    return result
