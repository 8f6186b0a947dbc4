"""The plain training loop of a smoke run: graph document in, metrics out. No Django, no broker.

:func:`train` re-validates the document, generates its package into a temporary folder, imports it
under a unique module name (removed from ``sys.modules`` afterwards), builds the model with
``build_model()`` and trains it on random batches from ``example_inputs()``: targets are derived from
the outputs (cross-entropy over class scores, MSE or L1 otherwise), the optimizer and precision come
from the :class:`~training.config.RunConfig`. It reports progress through a callback (at most about
ten times a second, always the first and last step), checks ``should_cancel`` and the time limit
between steps, and turns every way a run can go wrong into :class:`RunFailed` with one sentence:
"CUDA out of memory at batch 256: try 64", "loss became NaN at step 12",
"graph no longer validates: …".

The task (:mod:`training.tasks`) wraps it with the database and the events; tests call it directly.
Where the loop meets ``torch.cuda`` is one small seam, :class:`CudaBackend`, so that the GPU paths
(mixed precision, the gradient scaler, peak memory, out-of-memory recovery) run on a CPU in tests.
"""

from __future__ import annotations

import gc
import importlib.util
import math
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import codegen
from training.config import Caps, RunConfig

# Progress callbacks come at most this often (plus the first and the last step).
PROGRESS_INTERVAL_S = 0.1
# The loss curve kept in the final metrics has at most this many points (evenly spaced, last included).
MAX_CURVE_POINTS = 1000
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class RunFailed(Exception):
    """A run that cannot go on, with the sentence its user will read."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RunCancelled(Exception):
    """``should_cancel`` answered yes; ``steps`` steps were done."""

    def __init__(self, steps: int):
        super().__init__(f"cancelled after {steps} steps")
        self.steps = steps


@dataclass(frozen=True)
class Started:
    """What is known once the model is built, before the first step."""

    device: str  # "cpu", "cuda:0 (NVIDIA H100 80GB HBM3)"
    torch_version: str
    params_total: int
    precision: str  # what the run really uses: mixed precision needs CUDA
    total_steps: int


@dataclass(frozen=True)
class Progress:
    step: int
    total: int
    epoch: int
    loss: float
    samples_per_s: float  # since the previous report
    elapsed_s: float  # since training started
    step_time_ms: float  # the mean over the steps since the previous report
    grad_norm: float | None  # None when not finite (an fp16 step the scaler skipped)
    memory_bytes: int | None  # peak so far: CUDA allocations, or the process's resident memory

    def payload(self) -> dict[str, Any]:
        """The WebSocket ``progress`` message, without its ``type``."""
        return {
            "step": self.step,
            "total": self.total,
            "epoch": self.epoch,
            "loss": self.loss,
            "samples_per_s": round(self.samples_per_s, 2),
            "elapsed_s": round(self.elapsed_s, 3),
            "step_time_ms": round(self.step_time_ms, 3),
            "grad_norm": self.grad_norm,
            "memory_bytes": self.memory_bytes,
        }


@dataclass(frozen=True)
class GraphFacts:
    """What validation says about a document, as far as running it is concerned."""

    errors: list[str]
    inputs: dict[str, Any]  # input id → inferred shape with the batch axis ("B", 9, 256), None if open
    outputs: dict[str, Any]
    params_total: int | None
    activation_bytes: int | None  # estimated at batch 1, fp32

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
        outputs={name: inferred.get(name) for name in document.get("outputs", [])},
        params_total=validation.params_total,
        activation_bytes=validation.analysis.memory_bytes,
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
    if config.loss == "cross_entropy":
        for name, shape in facts.outputs.items():
            if isinstance(shape, list) and shape and not isinstance(shape[0], list):
                if len(shape) < 2 or (isinstance(shape[1], int) and shape[1] < 2):
                    return _no_classes(name, shape)
    return None


def _no_classes(name: str, shape: Any) -> str:
    shown = "(" + ", ".join(str(size) for size in shape) + ")"
    return f"Cross-entropy needs class scores (B, classes, …) but output {name} is {shown}: choose mse or l1."


# --- where the loop meets the device ------------------------------------------------------------


class CpuBackend:
    """Training on the CPU: fp32, peak memory as the process's peak resident set size."""

    is_cuda = False
    memory_kind = "rss"
    out_of_memory = "Out of memory on the CPU"

    def __init__(self) -> None:
        self.device = torch.device("cpu")

    def label(self) -> str:
        return "cpu"

    def prepare(self) -> None:
        _reset_peak_rss()

    def autocast(self, dtype: torch.dtype) -> AbstractContextManager:
        return nullcontext()

    def grad_scaler(self) -> torch.amp.GradScaler | None:
        return None

    def supports_bf16(self) -> bool:
        return True

    def peak_memory(self) -> int | None:
        return _peak_rss()

    def free_memory(self) -> None:
        gc.collect()

    def is_oom(self, exc: BaseException) -> bool:
        text = str(exc)
        return isinstance(exc, MemoryError) or "can't allocate memory" in text or "out of memory" in text.lower()


class CudaBackend:
    """Training on a CUDA GPU. Tests subclass it to walk the GPU paths on a CPU (see the module doc)."""

    is_cuda = True
    memory_kind = "cuda"
    out_of_memory = "CUDA out of memory"
    _fraction_set: set[int] = set()  # per process: torch applies the fraction to the caching allocator

    def __init__(self, index: int = 0, memory_fraction: float | None = None) -> None:
        self.index = index
        self.memory_fraction = memory_fraction
        self.device = torch.device("cuda", index)

    def available(self) -> bool:
        return torch.cuda.is_available()

    def label(self) -> str:
        return f"cuda:{self.index} ({torch.cuda.get_device_name(self.index)})"

    def prepare(self) -> None:
        if self.memory_fraction is not None and self.index not in CudaBackend._fraction_set:
            torch.cuda.set_per_process_memory_fraction(self.memory_fraction, self.index)
            CudaBackend._fraction_set.add(self.index)
        torch.cuda.reset_peak_memory_stats(self.device)

    def autocast(self, dtype: torch.dtype) -> AbstractContextManager:
        return torch.autocast("cuda", dtype=dtype)

    def grad_scaler(self) -> torch.amp.GradScaler | None:
        return torch.amp.GradScaler("cuda")

    def supports_bf16(self) -> bool:
        return torch.cuda.is_bf16_supported()

    def peak_memory(self) -> int | None:
        return int(torch.cuda.max_memory_allocated(self.device))

    def free_memory(self) -> None:
        """Give cached blocks back, so that the next run on this worker starts from an empty GPU."""
        gc.collect()
        torch.cuda.empty_cache()

    def is_oom(self, exc: BaseException) -> bool:
        return isinstance(exc, torch.OutOfMemoryError) or "CUDA out of memory" in str(exc)


Backend = CpuBackend | CudaBackend


def select_backend(device: str, cuda: CudaBackend | None = None) -> Backend:
    """``cpu``; ``cuda`` (a clear failure without a GPU); ``auto``: CUDA when this process has a GPU."""
    if device == "cpu":
        return CpuBackend()
    cuda = cuda or CudaBackend()
    if cuda.available():
        return cuda
    if device == "cuda":
        raise RunFailed(
            "This run asks for a CUDA GPU, but this worker has none: choose device auto or cpu, "
            "or start a GPU worker (celery -A torchcanvas_site worker -Q gpu)."
        )
    return CpuBackend()


def _reset_peak_rss() -> None:
    """Start the process's peak-RSS counter afresh (Linux: ``echo 5 > /proc/self/clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass  # not Linux, or not allowed: the peak is then the process's, not the run's


def _peak_rss() -> int | None:
    """The process's peak resident set size in bytes, from ``/proc`` (no psutil needed)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
    except (ImportError, OSError):
        return None


# --- the generated package ----------------------------------------------------------------------


@contextmanager
def generated_package(
    document: Any, input_shapes: Mapping[str, tuple[int, ...]] | None = None, limits: codegen.Limits | None = None
) -> Iterator[ModuleType]:
    """Generate the document's package into a temporary folder and import it under a unique name.

    The generated code is what runs, not an interpreter: the same files a user downloads. The module and
    its submodules leave ``sys.modules`` (and the folder the disk) when the block ends.
    """
    name = f"torchcanvas_run_{uuid.uuid4().hex[:12]}"
    shapes = {key: list(value) for key, value in input_shapes.items()} if input_shapes else None
    try:
        files = codegen.generate(
            document, name=name, layout="package", with_train=False, input_shapes=shapes, limits=limits
        )
    except codegen.GraphError as exc:
        problem = exc.diagnostics[0].message if exc.diagnostics else str(exc)
        raise RunFailed(f"graph no longer validates: {problem}") from exc
    with tempfile.TemporaryDirectory(prefix="torchcanvas-run-") as folder:
        root = Path(folder)
        for path, text in files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        package_dir = root / name
        spec = importlib.util.spec_from_file_location(
            name, package_dir / "__init__.py", submodule_search_locations=[str(package_dir)]
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
            yield module
        finally:
            for key in [key for key in sys.modules if key == name or key.startswith(f"{name}.")]:
                del sys.modules[key]


# --- losses and targets -------------------------------------------------------------------------


def loss_for(output: torch.Tensor, choice: str, name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The loss of one output against fresh random targets shaped by it.

    ``auto``: cross-entropy for (B, classes) scores, MSE for every other output. Cross-entropy draws
    class indices (its class count is the output's second axis: the last Linear's ``out_features``);
    MSE and L1 draw targets from a standard normal.
    """
    if not output.is_floating_point():
        raise RunFailed(f"Output {name} holds {output.dtype} values, not floats: there is nothing to train against.")
    if choice == "auto":
        choice = "cross_entropy" if output.dim() == 2 and output.shape[1] > 1 else "mse"
    if choice == "cross_entropy":
        if output.dim() < 2 or output.shape[1] < 2:
            raise RunFailed(_no_classes(name, ["B", *output.shape[1:]]))
        classes = output.shape[1]

        def cross_entropy(out: torch.Tensor) -> torch.Tensor:
            target = torch.randint(0, classes, (out.shape[0], *out.shape[2:]), device=out.device)
            return F.cross_entropy(out.float(), target)

        return cross_entropy
    loss = F.mse_loss if choice == "mse" else F.l1_loss
    return lambda out: loss(out.float(), torch.randn(out.shape, device=out.device))


def make_optimizer(name: str, parameters: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr)
    return torch.optim.AdamW(parameters, lr=lr)


def _total_norm(parameters: list[nn.Parameter]) -> torch.Tensor:
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.nn.utils.get_total_norm(grads)


# --- the loop -----------------------------------------------------------------------------------


@dataclass
class _Tracker:
    """Step times and losses, and when the last progress report went out."""

    batch_size: int
    started: float
    losses: list[float] = field(default_factory=list)
    step_times: list[float] = field(default_factory=list)
    reported_at: float = -math.inf
    reported_step: int = 0
    skipped_steps: int = 0
    grad_norm: float | None = None
    epoch: int = 1

    def record(self, seconds: float, loss: float, grad_norm: float | None, epoch: int) -> None:
        self.step_times.append(seconds)
        self.losses.append(loss)
        self.grad_norm = grad_norm
        self.epoch = epoch

    def due(self, step: int, total: int, now: float) -> bool:
        return step == 1 or step == total or now - self.reported_at >= PROGRESS_INTERVAL_S

    def progress(self, total: int, now: float, backend: Backend) -> Progress:
        """The report of the last step, with rates over the steps since the previous report."""
        window = self.step_times[self.reported_step :]
        return Progress(
            step=len(self.losses),
            total=total,
            epoch=self.epoch,
            loss=self.losses[-1],
            samples_per_s=len(window) * self.batch_size / max(sum(window), 1e-9),
            elapsed_s=now - self.started,
            step_time_ms=1000 * sum(window) / len(window),
            grad_norm=self.grad_norm,
            memory_bytes=backend.peak_memory(),
        )

    def reported(self, now: float) -> None:
        self.reported_at = now
        self.reported_step = len(self.losses)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _describe(value: float) -> str:
    return "NaN" if math.isnan(value) else "inf" if value > 0 else "-inf"


@dataclass
class _Context:
    """One call of :func:`train`: what every part of the loop needs."""

    config: RunConfig
    caps: Caps
    backend: Backend
    precision: str
    deadline: float
    clock: Callable[[], float]
    passthrough: tuple[type[BaseException], ...]
    on_start: Callable[[Started], None] | None
    on_progress: Callable[[Progress], None] | None
    should_cancel: Callable[[], bool] | None

    def reraise(self, exc: Exception) -> bool:
        """Exceptions that are not the model's failures: ours, the caller's, and out-of-memory."""
        return isinstance(exc, (RunFailed, RunCancelled, *self.passthrough)) or self.backend.is_oom(exc)


def train(
    document: Any,
    config: RunConfig,
    *,
    caps: Caps | None = None,
    limits: codegen.Limits | None = None,
    on_start: Callable[[Started], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    cuda: CudaBackend | None = None,
    clock: Callable[[], float] = time.perf_counter,
    passthrough: tuple[type[BaseException], ...] = (),
) -> dict[str, Any]:
    """Train ``document``'s model for ``config.total_steps`` steps; return the final metrics.

    Raises :class:`RunFailed` (with the user's sentence) or :class:`RunCancelled`. Exceptions of the
    ``passthrough`` types (a worker's soft time limit) propagate untouched.
    """
    caps = caps or Caps()
    deadline = clock() + config.time_limit_s
    facts = inspect_graph(document, config.input_shapes, limits)
    if facts.errors:
        more = f" (and {len(facts.errors) - 1} more)" if len(facts.errors) > 1 else ""
        raise RunFailed(f"graph no longer validates: {facts.errors[0]}{more}")
    problem = preflight_problem(facts, config, caps)
    if problem:
        raise RunFailed(problem)
    backend = select_backend(config.device, cuda)
    precision = config.precision if backend.is_cuda else "fp32"
    if precision == "bf16" and not backend.supports_bf16():
        raise RunFailed("This GPU does not support bf16: choose fp16 or fp32.")
    context = _Context(
        config, caps, backend, precision, deadline, clock, passthrough, on_start, on_progress, should_cancel
    )

    out_of_memory = False
    try:
        with generated_package(document, config.input_shapes, limits) as package:
            torch.manual_seed(config.seed)
            backend.prepare()
            try:
                return _train_package(package, list(facts.outputs), context)
            except Exception as exc:
                if not backend.is_oom(exc) or isinstance(exc, (RunFailed, RunCancelled, *passthrough)):
                    raise
                out_of_memory = True  # handled below, once no frame holds the run's tensors any more
    finally:
        if backend.is_cuda:
            backend.free_memory()  # so the worker takes its next run with an empty cache
    assert out_of_memory
    backend.free_memory()
    advice = (
        f"try {max(1, config.batch_size // 4)}"
        if config.batch_size > 1
        else "the model does not fit in this device's memory"
    )
    raise RunFailed(f"{backend.out_of_memory} at batch {config.batch_size}: {advice}")


def _train_package(package: ModuleType, output_names: list[str], run: _Context) -> dict[str, Any]:
    config, backend = run.config, run.backend
    try:
        model = package.build_model().to(backend.device)
    except Exception as exc:
        if run.reraise(exc):
            raise
        raise RunFailed(f"Building the model failed: {describe_exception(exc)}") from exc
    parameters = [p for p in model.parameters() if p.requires_grad]
    params_total = sum(p.numel() for p in model.parameters())
    if not parameters:
        raise RunFailed("This model has no trainable parameters: there is nothing to train.")
    if params_total > run.caps.max_params:
        raise RunFailed(f"This model has {params_total:,} parameters; runs are limited to {run.caps.max_params:,}.")
    model.train()
    optimizer = make_optimizer(config.optimizer, parameters, config.lr)
    scaler = backend.grad_scaler() if run.precision == "fp16" else None
    dtype = _DTYPES.get(run.precision)
    total = config.total_steps
    if run.on_start is not None:
        run.on_start(Started(backend.label(), torch.__version__, params_total, run.precision, total))

    loss_fns: list[Callable[[torch.Tensor], torch.Tensor]] | None = None
    tracker = _Tracker(config.batch_size, run.clock())
    step = 0
    try:
        for epoch in range(1, config.epochs + 1):
            for _ in range(config.steps):
                if run.should_cancel is not None and run.should_cancel():
                    raise RunCancelled(step)
                if run.clock() > run.deadline:
                    raise RunFailed(f"Time limit of {config.time_limit_s} s reached after {step} of {total} steps.")
                step += 1
                begin = run.clock()
                try:
                    inputs = [
                        t.to(backend.device, non_blocking=True) for t in package.example_inputs(config.batch_size)
                    ]
                    with backend.autocast(dtype) if dtype is not None else nullcontext():
                        outputs = model(*inputs)
                    outputs = tuple(outputs) if isinstance(outputs, tuple | list) else (outputs,)
                    if loss_fns is None:
                        names = (
                            output_names
                            if len(output_names) == len(outputs)
                            else [f"#{i}" for i in range(len(outputs))]
                        )
                        loss_fns = [loss_for(out, config.loss, name) for out, name in zip(outputs, names)]
                    loss = sum(fn(out) for fn, out in zip(loss_fns, outputs))
                    optimizer.zero_grad(set_to_none=True)
                    if scaler is not None:
                        scaler.scale(loss).backward()
                        scaler.unscale_(optimizer)
                    else:
                        loss.backward()
                    # Both numbers in one device-to-host copy: the only synchronisation of a step.
                    norm = _total_norm(parameters).float().to(loss.device)
                    loss_value, norm_value = torch.stack([loss.detach().float(), norm]).tolist()
                    if not math.isfinite(loss_value):
                        raise RunFailed(f"loss became {_describe(loss_value)} at step {step}")
                    if scaler is not None:
                        scale = scaler.get_scale()
                        scaler.step(optimizer)  # skips the update when the gradients overflowed
                        scaler.update()
                        tracker.skipped_steps += int(scaler.get_scale() < scale)
                    elif not math.isfinite(norm_value):
                        raise RunFailed(f"gradient norm became {_describe(norm_value)} at step {step}")
                    else:
                        optimizer.step()
                except Exception as exc:
                    if run.reraise(exc):
                        raise
                    raise RunFailed(_step_failure(exc, step, config.batch_size)) from exc
                now = run.clock()
                tracker.record(now - begin, loss_value, _finite(norm_value), epoch)
                if run.on_progress is not None and tracker.due(step, total, now):
                    run.on_progress(tracker.progress(total, now, backend))
                    tracker.reported(run.clock())
    except (RunFailed, RunCancelled):
        # The last completed step may not have been reported yet (throttling): the user sees where it stopped.
        if run.on_progress is not None and 0 < tracker.reported_step < len(tracker.losses):
            run.on_progress(tracker.progress(total, run.clock(), backend))
        raise
    return _metrics(tracker, config, backend, run.precision, params_total, run.clock())


def _metrics(
    tracker: _Tracker,
    config: RunConfig,
    backend: Backend,
    precision: str,
    params_total: int,
    now: float,
) -> dict[str, Any]:
    times = tracker.step_times
    steady = times[1:] or times  # the first step pays for warm-up (allocations, kernel selection)
    losses = tracker.losses
    stride = max(1, math.ceil(len(losses) / MAX_CURVE_POINTS))
    curve = [[i + 1, losses[i]] for i in range(0, len(losses), stride)]
    if curve[-1][0] != len(losses):
        curve.append([len(losses), losses[-1]])
    return {
        "loss": losses[-1],
        "first_loss": losses[0],
        "min_loss": min(losses),
        "steps": len(losses),
        "samples": len(losses) * config.batch_size,
        "samples_per_s": round(len(steady) * config.batch_size / max(sum(steady), 1e-9), 2),
        "step_time_ms": round(1000 * statistics.median(steady), 3),
        "first_step_ms": round(1000 * times[0], 3),
        "elapsed_s": round(now - tracker.started, 3),
        "grad_norm": tracker.grad_norm,
        "peak_memory_bytes": backend.peak_memory(),
        "memory_kind": backend.memory_kind,
        "params_total": params_total,
        "precision": precision,
        "skipped_steps": tracker.skipped_steps,
        "loss_curve": curve,
    }


def describe_exception(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text[:300] + ("…" if len(text) > 300 else "")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _step_failure(exc: Exception, step: int, batch_size: int) -> str:
    if isinstance(exc, ValueError) and "Expected more than 1 value per channel" in str(exc):
        return (
            f"Batch normalisation needs more than one value per channel while training, and gets one at batch "
            f"{batch_size}: use a batch size of 2 or more."
        )
    return f"Training failed at step {step}: {describe_exception(exc)}"


__all__ = [
    "CpuBackend",
    "CudaBackend",
    "GraphFacts",
    "Progress",
    "RunCancelled",
    "RunFailed",
    "Started",
    "estimate_memory_bytes",
    "generated_package",
    "inspect_graph",
    "preflight_problem",
    "select_backend",
    "train",
]
