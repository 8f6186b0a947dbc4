"""A smoke run's graph document in, metrics out: the worker's side of :mod:`codegen.smoke`. No Django, no broker.

:func:`train` re-validates the document against the run's config and caps, generates its package into a
temporary folder, imports it under a unique module name (removed from ``sys.modules`` afterwards) and
hands it to the one training loop, :func:`codegen.smoke.train_package`, with the config mapped onto
:class:`~codegen.smoke.SmokeSettings` (:func:`loop_settings`). Every way a run can go wrong ends in
:class:`RunFailed` with one sentence: "graph no longer validates: …", "CUDA out of memory at batch 256:
try 64", "loss became NaN at step 12".

The dispatcher calls :func:`inspect_graph` and :func:`preflight_problem` before queueing; the task
(:mod:`training.tasks`) wraps :func:`train` with the database, the events, cancel checks and the
heartbeat; tests call it directly. The loop's names (``RunFailed``, ``Started``, ``Progress``,
``CudaBackend``, …) are re-exported here for them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import torch

import codegen
from codegen import fit, loader, smoke
from codegen.checkpoint import Checkpoint
from codegen.nodes.custom import CustomModuleMissing
from codegen.smoke import (
    Backend,
    CpuBackend,
    CudaBackend,
    Progress,
    RunCancelled,
    RunFailed,
    RunPaused,
    SmokeSettings,
    Started,
    describe_exception,
    no_classes_message,
)
from training import datasets
from training.config import Caps, RunConfig

NO_GPU_ON_WORKER = (
    "This run asks for a CUDA GPU, but this worker has none: choose device auto or cpu, "
    "or start a GPU worker (celery -A torchcanvas_site worker -Q gpu)."
)


@dataclass(frozen=True)
class GraphFacts:
    """What validation says about a document, as far as running it is concerned."""

    errors: list[str]
    inputs: dict[str, Any]  # input id → inferred shape with the batch axis ("B", 9, 256), None if open
    outputs: dict[str, Any]
    params_total: int | None
    activation_bytes: int | None  # estimated at batch 1, fp32
    recipe: dict[str, Any] = field(default_factory=dict)  # the document's loss, metrics, targets, optimizer

    @property
    def has_loss(self) -> bool:
        """The document says what to train against: runs use its loss, not the run's choice."""
        return bool(self.recipe.get("loss"))

    @property
    def open_inputs(self) -> list[str]:
        return [
            name
            for name, shape in self.inputs.items()
            if not isinstance(shape, list) or not all(isinstance(size, int) for size in shape[1:])
        ]


def inspect_graph(
    document: Any, input_shapes: Mapping[str, tuple[int, ...]] | None = None, limits: codegen.Limits | None = None
) -> GraphFacts:
    """Validate ``document`` (with the run's input sizes) and keep what a run needs to know."""
    shapes = {name: list(shape) for name, shape in input_shapes.items()} if input_shapes else None
    validation = codegen.validate(document, input_shapes=shapes, limits=limits)
    if not validation.ok:
        return GraphFacts([d.message for d in validation.errors], {}, {}, None, None)
    inferred = validation.shapes()
    return GraphFacts(
        errors=[],
        inputs={name: inferred.get(name) for name in document.get("inputs", [])},
        outputs=validation.outputs(),
        params_total=validation.params_total,
        activation_bytes=validation.analysis.memory_bytes,
        recipe=validation.recipe(),
    )


def estimate_memory_bytes(facts: GraphFacts, config: RunConfig, batch_size: int | None = None) -> int | None:
    """Weights, gradients and optimizer state, plus activations kept for the backward pass (rough)."""
    if facts.params_total is None or facts.activation_bytes is None:
        return None
    batch = batch_size or config.batch_size
    optimizer_states = 1 if config.optimizer == "sgd" else 2  # momentum; Adam's two moments
    weights = facts.params_total * 4 * (2 + optimizer_states)
    activations = facts.activation_bytes * batch * 2  # outputs and their gradients
    if config.precision != "fp32":
        activations //= 2
    return weights + activations


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f} GiB"


def preflight_problem(facts: GraphFacts, config: RunConfig, caps: Caps) -> str | None:
    """Why this valid graph cannot run with this config under these caps (None: it can)."""
    if facts.open_inputs:
        name = facts.open_inputs[0]
        return (
            f"Input {name} has no shape: set it on the Input node (params.shape), or give its sizes without "
            f'the batch in the config, e.g. "input_shapes": {{"{name}": [3, 32, 32]}}.'
        )
    if facts.params_total is not None and facts.params_total > caps.max_params:
        return f"This model has {facts.params_total:,} parameters; runs are limited to {caps.max_params:,}."
    estimate = estimate_memory_bytes(facts, config)
    if estimate is not None and estimate > caps.max_memory_bytes:
        batch = config.batch_size
        while batch > 1 and estimate_memory_bytes(facts, config, batch) > caps.max_memory_bytes:
            batch //= 2
        fits = estimate_memory_bytes(facts, config, batch) <= caps.max_memory_bytes
        advice = f"try batch {batch}" if fits and batch < config.batch_size else "the model is too large to run here"
        return (
            f"This run needs about {_gib(estimate)} of memory at batch {config.batch_size} "
            f"(the limit is {_gib(caps.max_memory_bytes)}): {advice}."
        )
    if config.loss == "cross_entropy" and not facts.has_loss:
        for name, shape in facts.outputs.items():
            if isinstance(shape, list) and shape and not isinstance(shape[0], list):
                if len(shape) < 2 or (isinstance(shape[1], int) and shape[1] < 2):
                    return no_classes_message(name, shape)
    return None


def select_backend(device: str, cuda: CudaBackend | None = None) -> Backend:
    """``cpu``; ``cuda`` (a clear failure without a GPU); ``auto``: CUDA when this worker has a GPU."""
    return smoke.select_backend(device, cuda, no_gpu=NO_GPU_ON_WORKER)


def loop_settings(config: RunConfig, caps: Caps, checkpoint_interval_s: float | None = None) -> SmokeSettings:
    """The run's config and caps in the loop's terms."""
    return SmokeSettings(
        batch_size=config.batch_size,
        steps=config.steps,
        epochs=config.epochs,
        optimizer=config.optimizer,
        lr=config.lr,
        loss=config.loss,
        precision=config.precision,
        data=config.data,
        seed=config.seed,
        time_limit_s=config.time_limit_s,
        max_params=caps.max_params,
        early_stop_metric=config.early_stop_metric,
        early_stop_patience=config.early_stop_patience,
        checkpoint_interval_s=checkpoint_interval_s,
    )


def array_data(x: np.ndarray, y: np.ndarray, facts: dict[str, Any], config: RunConfig) -> fit.ArrayData:
    """A loaded dataset (:func:`training.datasets.load_arrays`) split as the run's config says: seeded, and
    stratified by class for classification."""
    classification = facts.get("task") == "classification"
    everything = np.arange(len(x))
    if config.val_fraction > 0 and len(x) > 1:
        train_index, val_index = datasets.split(len(x), config.val_fraction, config.seed, y if classification else None)
    else:
        train_index, val_index = everything, None
    return fit.ArrayData(
        x=torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
        y=torch.from_numpy(y.astype(np.int64) if classification else y.astype(np.float32)),
        train_index=torch.from_numpy(train_index.astype(np.int64)),
        val_index=None if val_index is None else torch.from_numpy(val_index.astype(np.int64)),
        task=facts.get("task", "regression"),
        classes=len(facts.get("classes") or []) or None,
    )


# --- the generated package ----------------------------------------------------------------------


@contextmanager
def generated_package(
    document: Any,
    input_shapes: Mapping[str, tuple[int, ...]] | None = None,
    limits: codegen.Limits | None = None,
    title: str | None = None,
) -> Iterator[ModuleType]:
    """The document's generated package, imported (:func:`codegen.loader.generated_package`).

    The generated code is what runs, not an interpreter: the same files a user downloads. A graph that no
    longer validates is a :class:`RunFailed`.
    """
    with ExitStack() as stack:
        try:
            package = stack.enter_context(
                loader.generated_package(document, input_shapes, limits, title, prefix="torchcanvas_run")
            )
        except codegen.GraphError as exc:
            problem = exc.diagnostics[0].message if exc.diagnostics else str(exc)
            raise RunFailed(f"graph no longer validates: {problem}") from exc
        except CustomModuleMissing as exc:
            raise RunFailed(str(exc)) from exc
        yield package


def train(
    document: Any,
    config: RunConfig,
    *,
    caps: Caps | None = None,
    limits: codegen.Limits | None = None,
    on_start: Callable[[Started], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_epoch: Callable[[fit.EpochResult], None] | None = None,
    on_checkpoint: Callable[[Checkpoint], None] | None = None,
    control: Callable[[], str | None] | None = None,
    data: fit.ArrayData | None = None,
    resume: Checkpoint | None = None,
    initial_weights: Mapping[str, torch.Tensor] | None = None,
    checkpoint_interval_s: float | None = None,
    cuda: CudaBackend | None = None,
    clock: Callable[[], float] = time.perf_counter,
    passthrough: tuple[type[BaseException], ...] = (),
    title: str | None = None,
) -> dict[str, Any]:
    """Train ``document``'s model as ``config`` says (on ``data`` when given); return the final metrics.

    The callbacks, ``control``, ``resume`` and ``initial_weights`` are :func:`codegen.smoke.train_package`'s.
    Raises :class:`RunFailed` (with the user's sentence), :class:`RunCancelled` or :class:`RunPaused`.
    Exceptions of the ``passthrough`` types (a worker's soft time limit) propagate untouched. The time limit
    counts from this call, validation and code generation included.
    """
    caps = caps or Caps()
    started_at = clock()
    facts = inspect_graph(document, config.input_shapes, limits)
    if facts.errors:
        more = f" (and {len(facts.errors) - 1} more)" if len(facts.errors) > 1 else ""
        raise RunFailed(f"graph no longer validates: {facts.errors[0]}{more}")
    problem = preflight_problem(facts, config, caps)
    if problem:
        raise RunFailed(problem)
    backend = select_backend(config.device, cuda)
    with generated_package(document, config.input_shapes, limits, title) as package:
        return smoke.train_package(
            package,
            loop_settings(config, caps, checkpoint_interval_s),
            backend=backend,
            output_names=list(facts.outputs),
            data=data,
            on_start=on_start,
            on_progress=on_progress,
            on_epoch=on_epoch,
            on_checkpoint=on_checkpoint,
            control=control,
            resume=resume,
            initial_weights=initial_weights,
            clock=clock,
            started_at=started_at,
            passthrough=passthrough,
        )


__all__ = [
    "CpuBackend",
    "CudaBackend",
    "GraphFacts",
    "Progress",
    "RunCancelled",
    "RunFailed",
    "RunPaused",
    "Started",
    "array_data",
    "describe_exception",
    "estimate_memory_bytes",
    "generated_package",
    "inspect_graph",
    "loop_settings",
    "preflight_problem",
    "select_backend",
    "train",
]
