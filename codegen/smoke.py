"""The smoke-training loop: a generated package in, metrics out. No Django; the one training loop of the project.

:func:`train_package` builds the model with the package's ``build_model()`` and trains it on random
batches from its ``example_inputs()``: targets are derived from the outputs (cross-entropy over class
scores, MSE or L1 otherwise), the optimizer, learning rate and precision come from :class:`SmokeSettings`.
Given a dataset (``data=``, a :class:`codegen.fit.ArrayData`) it trains on that instead, validating after
every epoch and stopping early when a metric stops improving. It reports progress through callbacks (at
most about ten times a second, always the first and last step; each epoch's metrics), asks ``control``
between steps whether to go on (cancel, pause, stop), hands out checkpoints (:mod:`codegen.checkpoint`) and
resumes from one, checks the time limit between steps, and turns every way a run can go wrong
into :class:`RunFailed` with one sentence: "CUDA out of memory at batch 256: try 64",
"loss became NaN at step 12", "Training failed at step 3: RuntimeError: …".

Two callers: ``python -m codegen.train_dummy`` (a package on disk, one line per step) and the platform's
worker (:mod:`training.runner`: a saved graph version, generated into a temporary folder). The
``train.py`` written into exported packages is the user's own standalone copy and does not import this.

Where the loop meets ``torch.cuda`` is one small seam, :class:`CudaBackend`, so that the GPU paths (mixed
precision, the gradient scaler, peak memory, out-of-memory recovery) run on a CPU in tests.
"""

from __future__ import annotations

import gc
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from . import fit
from .checkpoint import Checkpoint
from .recipe_run import PackageRecipe
from .tensor import shape_text

# Progress callbacks come at most this often (plus the first and the last step); 0 reports every step.
PROGRESS_INTERVAL_S = 0.1
# The loss curve kept in the final metrics has at most this many points (evenly spaced, last included).
MAX_CURVE_POINTS = 1000
OPTIMIZERS = ("adam", "adamw", "sgd")
LOSSES = ("auto", "cross_entropy", "mse", "l1")
PRECISIONS = ("fp32", "bf16", "fp16")
DATA_MODES = ("fixed", "random")
NO_GPU = "This run asks for a CUDA GPU, but this machine has none: choose device auto or cpu."
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class RunFailed(Exception):
    """A run that cannot go on, with the sentence its user will read."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RunCancelled(Exception):
    """``control`` answered ``cancel``; ``steps`` steps were done."""

    def __init__(self, steps: int):
        super().__init__(f"cancelled after {steps} steps")
        self.steps = steps


class RunPaused(Exception):
    """``control`` answered ``pause``: the checkpoint after ``steps`` steps went to ``on_checkpoint``."""

    def __init__(self, steps: int):
        super().__init__(f"paused after {steps} steps")
        self.steps = steps


# What ``control`` may answer between two steps (None: go on). "stop" ends the run as finished, with the
# results so far; "pause" ends this attempt with a checkpoint to resume from.
ACTIONS = ("cancel", "pause", "stop")


@dataclass(frozen=True)
class SmokeSettings:
    """How to train: what a run's config says, in the loop's terms."""

    batch_size: int = 8
    steps: int = 4  # per epoch
    epochs: int = 1
    optimizer: str = "adamw"  # one of OPTIMIZERS
    lr: float = 1e-3
    loss: str = "auto"  # one of LOSSES: auto is cross-entropy for (B, classes) scores, MSE for any other output
    precision: str = "fp32"  # bf16/fp16: mixed precision, on CUDA only (fp32 elsewhere)
    # "fixed": one batch (inputs and targets) drawn once and trained on at every step, so the loss falls when
    # gradients reach the weights; "random": a fresh batch every step (the loss stays at chance level).
    data: str = "random"
    seed: int | None = 0  # None: leave torch's random state as it is
    time_limit_s: float | None = None  # wall time of the whole call, checked between steps
    max_params: int | None = None  # refuse larger models once built
    num_classes: int | None = None  # the first output must be (B, num_classes, …) class scores
    # With a dataset: stop once this validation metric has not improved for this many epochs (0: never).
    early_stop_metric: str = "val_loss"
    early_stop_patience: int = 0
    checkpoint_interval_s: float | None = None  # with on_checkpoint: also checkpoint inside epochs, this often

    @property
    def total_steps(self) -> int:
        return self.steps * self.epochs


@dataclass(frozen=True)
class Started:
    """What is known once the model is built, before the first step."""

    device: str  # "cpu", "cuda:0 (NVIDIA H100 80GB HBM3)"
    torch_version: str
    params_total: int
    precision: str  # what the run really uses: mixed precision needs CUDA
    total_steps: int
    model_name: str = ""  # the model's class name
    resumed_from_step: int = 0  # the checkpoint's step, when resumed


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
        return torch.cuda.is_available() and self.index < torch.cuda.device_count()

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
        """Give cached blocks back, so that the next run in this process starts from an empty GPU."""
        gc.collect()
        torch.cuda.empty_cache()

    def is_oom(self, exc: BaseException) -> bool:
        return isinstance(exc, torch.OutOfMemoryError) or "CUDA out of memory" in str(exc)


Backend = CpuBackend | CudaBackend


def select_backend(device: str = "auto", cuda: CudaBackend | None = None, *, no_gpu: str = NO_GPU) -> Backend:
    """``cpu``; ``cuda`` or ``cuda:N`` (:class:`RunFailed` with ``no_gpu`` without that GPU); ``auto``: CUDA
    when this process has a GPU, else the CPU. ``cuda`` stands for the GPU backend to use (tests pass a fake)."""
    if device == "cpu":
        return CpuBackend()
    if device.startswith("cuda:") and device[5:].isdigit():
        cuda = cuda or CudaBackend(int(device[5:]))
    elif device not in ("auto", "cuda"):
        raise RunFailed(f"Unknown device {device!r}: choose auto, cpu, cuda or cuda:N.")
    cuda = cuda or CudaBackend()
    if cuda.available():
        return cuda
    if device != "auto":
        raise RunFailed(no_gpu)
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


# --- losses, targets and optimizers -------------------------------------------------------------


def no_classes_message(name: str, shape: Sequence[Any]) -> str:
    """Why cross-entropy cannot train output ``name`` of ``shape`` (batch axis included, e.g. ``["B", 1]``)."""
    return (
        f"Cross-entropy needs class scores (B, classes, …) but output {name} is {shape_text(shape)}: choose mse or l1."
    )


def loss_for(
    output: torch.Tensor, choice: str, name: str, fixed: bool = False, *, seed: int | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The loss of one output against random targets shaped by it: fresh at every call, or drawn once
    (``fixed``, or ``seed`` given: drawn from that seed, so the same targets in a resumed run).

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
            raise RunFailed(no_classes_message(name, ["B", *output.shape[1:]]))
        classes = output.shape[1]

        def draw(out: torch.Tensor) -> torch.Tensor:
            return torch.randint(0, classes, (out.shape[0], *out.shape[2:]), device=out.device)

        loss = F.cross_entropy
    elif choice in ("mse", "l1"):

        def draw(out: torch.Tensor) -> torch.Tensor:
            return torch.randn(out.shape, device=out.device)

        loss = F.mse_loss if choice == "mse" else F.l1_loss
    else:
        raise RunFailed(f"Unknown loss {choice!r}: choose one of {', '.join(LOSSES)}.")
    targets: list[torch.Tensor] = []

    def against_targets(out: torch.Tensor) -> torch.Tensor:
        if not fixed and seed is None:
            return loss(out.float(), draw(out))
        if not targets:
            with seeded(seed, out.device) if seed is not None else nullcontext():
                targets.append(draw(out))
        return loss(out.float(), targets[0])

    return against_targets


def check_classes(output: torch.Tensor, name: str, expected: int) -> None:
    """Refuse an output that is not ``(B, expected, …)`` class scores (``SmokeSettings.num_classes``)."""
    if output.is_floating_point() and output.dim() >= 2 and output.shape[1] > 1:
        if output.shape[1] != expected:
            raise RunFailed(f"Output {name} has {output.shape[1]} classes, but {expected} were expected.")
        return
    shown = shape_text(["B", *output.shape[1:]])
    raise RunFailed(f"{expected} classes were expected, but output {name} is {shown}: not (B, classes) scores.")


def make_optimizer(name: str, parameters: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(parameters, lr=lr)
    raise RunFailed(f"Unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}.")


def total_grad_norm(parameters: list[nn.Parameter]) -> torch.Tensor:
    """The 2-norm of all gradients together, on their device (no synchronisation)."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.nn.utils.get_total_norm(grads)


# --- the loop -----------------------------------------------------------------------------------


@contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Draw from torch's generators seeded with ``seed``, leaving their state as it was afterwards: a fixed
    batch is then the same batch in a run resumed elsewhere."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@dataclass
class _Tracker:
    """Step times, losses and epoch results, and when the last progress report went out."""

    batch_size: int
    started: float
    interval_s: float
    losses: list[float] = field(default_factory=list)
    step_times: list[float] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)  # EpochResult payloads
    reported_at: float = -math.inf
    reported_step: int = 0
    skipped_steps: int = 0
    grad_norm: float | None = None
    epoch: int = 1
    elapsed_before: float = 0.0  # training time of the attempts before a resume
    resumed_from: list[int] = field(default_factory=list)

    def record(self, seconds: float, loss: float, grad_norm: float | None, epoch: int) -> None:
        self.step_times.append(seconds)
        self.losses.append(loss)
        self.grad_norm = grad_norm
        self.epoch = epoch

    def elapsed(self, now: float) -> float:
        return self.elapsed_before + now - self.started

    def due(self, step: int, total: int, begin: float) -> bool:
        """Whether ``step``, starting at ``begin``, is to be reported: decided before it runs (its gradient norm
        is measured then), expecting it to last as long as the one before."""
        expected_end = begin + (self.step_times[-1] if self.step_times else 0.0)
        return step == 1 or step == total or expected_end - self.reported_at >= self.interval_s

    def progress(self, total: int, now: float, backend: Backend) -> Progress:
        """The report of the last step, with rates over the steps since the previous report."""
        window = self.step_times[self.reported_step :] or self.step_times[-1:]
        return Progress(
            step=len(self.losses),
            total=total,
            epoch=self.epoch,
            loss=self.losses[-1],
            samples_per_s=len(window) * self.batch_size / max(sum(window), 1e-9),
            elapsed_s=self.elapsed(now),
            step_time_ms=1000 * sum(window) / len(window),
            grad_norm=self.grad_norm,
            memory_bytes=backend.peak_memory(),
        )

    def reported(self, now: float) -> None:
        self.reported_at = now
        self.reported_step = len(self.losses)

    def history(self, now: float, stopper: fit.EarlyStop) -> dict[str, Any]:
        """What a checkpoint keeps of this record (plain numbers, lists and dicts)."""
        return {
            "losses": list(self.losses),
            "step_times": list(self.step_times),
            "epochs": list(self.epochs),
            "skipped_steps": self.skipped_steps,
            "grad_norm": self.grad_norm,
            "epoch": self.epoch,
            "elapsed_s": self.elapsed(now),
            "resumed_from": list(self.resumed_from),
            "early_stop": stopper.state(),
        }

    def restore(self, history: dict[str, Any], stopper: fit.EarlyStop, step: int) -> None:
        self.losses, self.step_times = list(history["losses"]), list(history["step_times"])
        self.epochs, self.skipped_steps = list(history["epochs"]), history["skipped_steps"]
        self.grad_norm, self.epoch, self.elapsed_before = history["grad_norm"], history["epoch"], history["elapsed_s"]
        self.resumed_from = [*history["resumed_from"], step]
        self.reported_step = len(self.losses)
        stopper.restore(history["early_stop"])


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _describe(value: float) -> str:
    return "NaN" if math.isnan(value) else "inf" if value > 0 else "-inf"


@dataclass
class _Context:
    """One call of :func:`train_package`: what every part of the loop needs."""

    settings: SmokeSettings
    backend: Backend
    precision: str
    deadline: float
    clock: Callable[[], float]
    passthrough: tuple[type[BaseException], ...]
    shapes: dict[str, tuple[int, ...]] | None
    output_names: list[str] | None
    progress_interval_s: float
    on_start: Callable[[Started], None] | None
    on_progress: Callable[[Progress], None] | None
    control: Callable[[], str | None] | None
    data: fit.ArrayData | None = None
    on_epoch: Callable[[fit.EpochResult], None] | None = None
    on_checkpoint: Callable[[Checkpoint], None] | None = None
    resume: Checkpoint | None = None
    initial_weights: Mapping[str, torch.Tensor] | None = None

    def reraise(self, exc: Exception) -> bool:
        """Exceptions that are not the model's failures: ours, the caller's, and out-of-memory."""
        return isinstance(exc, (RunFailed, RunCancelled, RunPaused, *self.passthrough)) or self.backend.is_oom(exc)

    def action(self) -> str | None:
        if self.control is None:
            return None
        answer = self.control()
        if answer is not None and answer not in ACTIONS:
            raise ValueError(f"control answered {answer!r}; expected None or one of {', '.join(ACTIONS)}")
        return answer


def train_package(
    package: ModuleType | Any,
    settings: SmokeSettings,
    *,
    backend: Backend | None = None,
    shapes: Mapping[str, Sequence[int]] | None = None,
    output_names: Sequence[str] | None = None,
    data: fit.ArrayData | None = None,
    on_start: Callable[[Started], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_epoch: Callable[[fit.EpochResult], None] | None = None,
    on_checkpoint: Callable[[Checkpoint], None] | None = None,
    control: Callable[[], str | None] | None = None,
    resume: Checkpoint | None = None,
    initial_weights: Mapping[str, torch.Tensor] | None = None,
    progress_interval_s: float = PROGRESS_INTERVAL_S,
    clock: Callable[[], float] = time.perf_counter,
    started_at: float | None = None,
    passthrough: tuple[type[BaseException], ...] = (),
) -> dict[str, Any]:
    """Train the model of a generated ``package`` for ``settings.epochs`` epochs; return the final metrics.

    ``package`` is anything with the generated ``build_model(shapes)`` and ``example_inputs(batch, shapes)``;
    ``shapes`` (input sizes without the batch) goes to both. ``backend`` defaults to
    ``select_backend("auto")``. ``output_names`` name the outputs in messages (``#0``, ``#1`` otherwise).

    Without ``data`` an epoch is ``settings.steps`` steps on generated batches; with it, one pass over its
    training split, then validation (``on_epoch`` gets the result). ``on_progress`` is called at most every
    ``progress_interval_s`` seconds (0: every step), always for the first and the last step, and for the
    last completed one when the run stops early. The time limit counts from ``started_at`` (a reading of
    ``clock``; default: now).

    ``control`` is asked before every step: None goes on, ``cancel`` raises :class:`RunCancelled`, ``pause``
    checkpoints and raises :class:`RunPaused`, ``stop`` ends training with the results so far. With
    ``on_checkpoint``, a checkpoint goes out after every epoch, every ``settings.checkpoint_interval_s``, on
    pause and at the end; it must be written out before the callback returns (its tensors are the live
    ones). ``resume`` continues from such a checkpoint; ``initial_weights`` (a state dict) start a new run
    from trained weights.

    Raises :class:`RunFailed` (with the user's sentence), :class:`RunCancelled` or :class:`RunPaused`.
    Exceptions of the ``passthrough`` types (a worker's soft time limit) propagate untouched.
    """
    start = clock() if started_at is None else started_at
    if settings.batch_size < 1 or settings.steps < 1 or settings.epochs < 1:
        raise RunFailed(
            f"Nothing to train: batch size, steps and epochs must be at least 1 "
            f"(got {settings.batch_size}, {settings.steps}, {settings.epochs})."
        )
    backend = backend or select_backend("auto")
    precision = settings.precision if backend.is_cuda else "fp32"
    if precision not in PRECISIONS:
        raise RunFailed(f"Unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}.")
    if settings.data not in DATA_MODES:
        raise RunFailed(f"Unknown data mode {settings.data!r}: choose one of {', '.join(DATA_MODES)}.")
    if precision == "bf16" and not backend.supports_bf16():
        raise RunFailed("This GPU does not support bf16: choose fp16 or fp32.")
    if settings.early_stop_metric not in fit.STOP_METRICS:
        raise RunFailed(
            f"Early stopping watches one of {', '.join(fit.STOP_METRICS)}, not {settings.early_stop_metric!r}."
        )
    limit = settings.time_limit_s
    context = _Context(
        settings=settings,
        backend=backend,
        precision=precision,
        deadline=math.inf if limit is None else start + limit,
        clock=clock,
        passthrough=passthrough,
        shapes={name: tuple(shape) for name, shape in shapes.items()} if shapes else None,
        output_names=list(output_names) if output_names is not None else None,
        progress_interval_s=progress_interval_s,
        on_start=on_start,
        on_progress=on_progress,
        control=control,
        data=data.to(backend.device) if data is not None else None,
        on_epoch=on_epoch,
        on_checkpoint=on_checkpoint,
        resume=resume,
        initial_weights=initial_weights,
    )

    out_of_memory = False
    try:
        if settings.seed is not None:
            torch.manual_seed(settings.seed)
        backend.prepare()
        try:
            return _train(package, context)
        except Exception as exc:
            if not backend.is_oom(exc) or isinstance(exc, (RunFailed, RunCancelled, RunPaused, *passthrough)):
                raise
            out_of_memory = True  # handled below, once no frame holds the run's tensors any more
    finally:
        if backend.is_cuda:
            backend.free_memory()  # so that the next run in this process starts with an empty cache
    assert out_of_memory
    backend.free_memory()
    batch = settings.batch_size
    advice = f"try {max(1, batch // 4)}" if batch > 1 else "the model does not fit in this device's memory"
    raise RunFailed(f"{backend.out_of_memory} at batch {batch}: {advice}")


def _build(package: Any, run: _Context) -> nn.Module:
    try:
        model = package.build_model(run.shapes) if run.shapes else package.build_model()
        model = model.to(run.backend.device)
    except Exception as exc:
        if run.reraise(exc):
            raise
        raise RunFailed(f"Building the model failed: {describe_exception(exc)}") from exc
    if run.initial_weights is not None:
        try:
            model.load_state_dict(run.initial_weights)
        except (RuntimeError, KeyError, TypeError) as exc:
            raise RunFailed(f"The starting weights do not fit this model: {describe_exception(exc)}") from exc
    return model


def _optimizer(
    recipe: PackageRecipe, model: nn.Module, parameters: list[nn.Parameter], settings: SmokeSettings
) -> tuple[torch.optim.Optimizer, Any]:
    """The document's optimizer and scheduler where it has them, else the run's optimizer (no scheduler)."""
    if recipe.build_optimizer is None:
        return make_optimizer(settings.optimizer, parameters, settings.lr), None
    try:
        optimizer = recipe.build_optimizer(model)
        return optimizer, recipe.build_scheduler(optimizer) if recipe.build_scheduler is not None else None
    except (ValueError, TypeError) as exc:
        raise RunFailed(f"The document's optimizer cannot be built: {describe_exception(exc)}") from exc


class _GeneratedBatches:
    """Smoke batches: the package's ``example_inputs`` (fresh every step, or one fixed batch) and targets:
    the document's (``example_targets``) for its loss, else drawn from each output's shape."""

    def __init__(self, package: Any, run: _Context, recipe: PackageRecipe):
        self.package, self.run, self.recipe = package, run, recipe
        self.fixed: list[torch.Tensor] = []
        self.fixed_targets: dict[str, torch.Tensor] = {}
        self.loss_fns: list[Callable[[torch.Tensor], torch.Tensor]] | None = None

    def _inputs(self) -> list[torch.Tensor]:
        run, batch_size = self.run, self.run.settings.batch_size
        if self.fixed:
            return self.fixed
        if run.settings.data == "fixed":
            with seeded(run.settings.seed or 0, run.backend.device):
                self.fixed.extend(self._draw(batch_size))
            return self.fixed
        return self._draw(batch_size)

    def _draw(self, batch_size: int) -> list[torch.Tensor]:
        run = self.run
        batch = (
            self.package.example_inputs(batch_size, run.shapes)
            if run.shapes
            else self.package.example_inputs(batch_size)
        )
        return [t.to(run.backend.device, non_blocking=True) for t in batch]

    def _targets(self) -> dict[str, torch.Tensor]:
        run, batch_size = self.run, self.run.settings.batch_size
        if run.settings.data != "fixed":
            return self.recipe.targets(batch_size, run.backend.device)
        if not self.fixed_targets:
            with seeded((run.settings.seed or 0) + 1, run.backend.device):
                self.fixed_targets = self.recipe.targets(batch_size, run.backend.device)
        return self.fixed_targets

    def loss(self, model: nn.Module, epoch: int, index: int, autocast) -> torch.Tensor:
        with autocast():
            outputs = model(*self._inputs())
            if self.recipe.loss is not None:
                return self.recipe.step_loss(outputs, self._targets(), self.run.settings.batch_size)
        if isinstance(outputs, dict):
            outputs = tuple(outputs.values())
        outputs = tuple(outputs) if isinstance(outputs, tuple | list) else (outputs,)
        if self.loss_fns is None:
            self.loss_fns = _losses(outputs, self.run)
        return sum(fn(out) for fn, out in zip(self.loss_fns, outputs))


class _DatasetBatches:
    """A dataset's batches (:class:`codegen.fit.ArrayData`), and its loss by task."""

    def __init__(self, data: fit.ArrayData, run: _Context, recipe: PackageRecipe):
        self.data, self.run, self.recipe = data, run, recipe
        self.loss_fn: Callable[..., torch.Tensor] | None = None
        self.target: str | None = None  # the document's Target that the dataset's labels fill
        if recipe.loss is not None:
            names = list(recipe.target_shapes)
            if len(names) != 1:
                raise RunFailed(
                    f"A dataset gives one label per sample, and this graph's loss reads {len(names)} Targets "
                    f"({', '.join(names)}): keep one."
                )
            (self.target,) = names

    def loss(self, model: nn.Module, epoch: int, index: int, autocast) -> torch.Tensor:
        settings = self.run.settings
        x, y = self.data.batch(epoch, index, settings.batch_size, settings.seed or 0)
        with autocast():
            if self.target is not None:
                return self.recipe.step_loss(model(x), self.recipe.label_targets(self.target, y), len(y))
            out = self._single(model(x))
        if self.loss_fn is None:
            self.loss_fn = self._criterion(out)
        return self.loss_fn(out, y)

    def evaluate(self, model: nn.Module, autocast) -> dict[str, float]:
        """Validation: the document's loss and metrics, or the loss by task with accuracy or MAE."""
        data, batch_size = self.data, self.run.settings.batch_size
        if self.target is not None:
            return self.recipe.evaluate(model, data.val_batches(batch_size), self.target, autocast)
        return fit.evaluate(model, data, self.criterion(model, autocast), batch_size, autocast)

    def criterion(self, model: nn.Module, autocast) -> Callable[..., torch.Tensor]:
        """The loss, for validation; found from one sample's output when no step ran yet in this attempt
        (a run resumed only to stop)."""
        if self.loss_fn is None:
            was_training = model.training
            model.eval()  # batch norm's running statistics stay as trained
            with torch.no_grad(), autocast():
                out = self._single(model(self.data.x[self.data.train_index[:2]]))
            model.train(was_training)
            self.loss_fn = self._criterion(out)
        return self.loss_fn

    @staticmethod
    def _single(out: Any) -> torch.Tensor:
        if isinstance(out, tuple | list):
            if len(out) != 1:
                raise RunFailed(f"This model has {len(out)} outputs, and a dataset trains one: keep one output.")
            out = out[0]
        return out

    def _criterion(self, out: torch.Tensor) -> Callable[..., torch.Tensor]:
        names = self.run.output_names
        try:
            return fit.loss_for_task(out, self.data, self.run.settings.loss, names[0] if names else "#0")
        except fit.DataProblem as exc:
            raise RunFailed(exc.message) from exc


def _train(package: Any, run: _Context) -> dict[str, Any]:
    settings, backend, data = run.settings, run.backend, run.data
    model = _build(package, run)
    parameters = [p for p in model.parameters() if p.requires_grad]
    params_total = sum(p.numel() for p in model.parameters())
    if not parameters:
        raise RunFailed("This model has no trainable parameters: there is nothing to train.")
    if settings.max_params is not None and params_total > settings.max_params:
        raise RunFailed(f"This model has {params_total:,} parameters; runs are limited to {settings.max_params:,}.")
    model.train()
    recipe = PackageRecipe(package).to(backend.device)
    optimizer, scheduler = _optimizer(recipe, model, parameters, settings)
    scaler = backend.grad_scaler() if run.precision == "fp16" else None
    dtype = _DTYPES.get(run.precision)

    def autocast() -> AbstractContextManager:
        return backend.autocast(dtype) if dtype is not None else nullcontext()

    steps = data.steps_per_epoch(settings.batch_size) if data is not None else settings.steps
    total = steps * settings.epochs
    tracker = _Tracker(settings.batch_size, run.clock(), run.progress_interval_s)
    stopper = fit.EarlyStop(settings.early_stop_metric, settings.early_stop_patience)
    step = 0
    if run.resume is not None:
        step = _restore(run.resume, model, optimizer, scaler, tracker, stopper, backend)
        if scheduler is not None and run.resume.scheduler:
            scheduler.load_state_dict(run.resume.scheduler)
    if run.on_start is not None:
        started = Started(
            backend.label(), torch.__version__, params_total, run.precision, total, type(model).__name__, step
        )
        run.on_start(started)
    batches = _DatasetBatches(data, run, recipe) if data is not None else _GeneratedBatches(package, run, recipe)
    documented: dict[str, float] = {}  # the last epoch's means of the document's metrics

    def checkpoint(reason: str, epoch: int) -> None:
        if run.on_checkpoint is None:
            return
        rng = {"cpu": torch.get_rng_state()}
        if backend.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(backend.device)
        run.on_checkpoint(
            Checkpoint(
                step=len(tracker.losses),
                epoch=epoch,
                model=model.state_dict(),
                optimizer=optimizer.state_dict(),
                scaler=scaler.state_dict() if scaler is not None else None,
                history=tracker.history(run.clock(), stopper),
                rng=rng,
                reason=reason,
                scheduler=scheduler.state_dict() if scheduler is not None else None,
            )
        )

    def validate(epoch: int) -> fit.EpochResult:
        first = (epoch - 1) * steps
        done = tracker.losses[first:]
        result: dict[str, Any] = {"train_loss": sum(done) / max(len(done), 1)}
        result.update(documented)
        if data is not None and data.val_samples and isinstance(batches, _DatasetBatches):
            try:
                result.update(batches.evaluate(model, autocast))
            except Exception as exc:
                if run.reraise(exc):
                    raise
                raise RunFailed(f"Validation failed after epoch {epoch}: {describe_exception(exc)}") from exc
        best = stopper.improved(result.get(settings.early_stop_metric), epoch)
        return fit.EpochResult.of(epoch, settings.epochs, len(tracker.losses), best, result)

    stopped: str | None = None
    last_checkpoint = run.clock()
    epoch = step // steps + 1
    try:
        for epoch in range(step // steps + 1, settings.epochs + 1):
            for index in range(step - (epoch - 1) * steps, steps):
                action = run.action()
                if action == "cancel":
                    raise RunCancelled(step)
                if action == "pause":
                    checkpoint("pause", epoch)
                    raise RunPaused(step)
                if action == "stop":
                    stopped = "user"
                    break
                if run.clock() > run.deadline:
                    raise RunFailed(f"Time limit of {settings.time_limit_s:g} s reached after {step} of {total} steps.")
                step += 1
                begin = run.clock()
                # The gradient norm is measured on the steps that are reported (the first, the last, about ten a
                # second): it costs a few percent of a small model's step. A non-finite gradient in between
                # shows as a non-finite loss at the next step.
                measured = tracker.due(step, total, begin)
                try:
                    loss = batches.loss(model, epoch, index, autocast)
                    optimizer.zero_grad(set_to_none=True)
                    if scaler is not None:
                        scaler.scale(loss).backward()
                    else:
                        loss.backward()
                    norm_value = None
                    if measured:
                        if scaler is not None:
                            scaler.unscale_(optimizer)
                        # Both numbers in one device-to-host copy: the only synchronisation of a step.
                        norm = total_grad_norm(parameters).float().to(loss.device)
                        loss_value, norm_value = torch.stack([loss.detach().float(), norm]).tolist()
                    else:
                        loss_value = loss.detach().float().item()
                    if not math.isfinite(loss_value):
                        raise RunFailed(f"loss became {_describe(loss_value)} at step {step}")
                    if scaler is not None:
                        scale = scaler.get_scale()
                        scaler.step(optimizer)  # skips the update when the gradients overflowed
                        scaler.update()
                        tracker.skipped_steps += int(scaler.get_scale() < scale)
                    elif norm_value is not None and not math.isfinite(norm_value):
                        raise RunFailed(f"gradient norm became {_describe(norm_value)} at step {step}")
                    else:
                        optimizer.step()
                except Exception as exc:
                    if run.reraise(exc):
                        raise
                    raise RunFailed(_step_failure(exc, step, settings.batch_size)) from exc
                now = run.clock()
                grad_norm = tracker.grad_norm if norm_value is None else _finite(norm_value)
                tracker.record(now - begin, loss_value, grad_norm, epoch)
                if measured:
                    if run.on_progress is not None:
                        run.on_progress(tracker.progress(total, now, backend))
                    tracker.reported(run.clock())
                interval = settings.checkpoint_interval_s
                # Not at an epoch's last step: the epoch's own checkpoint follows its validation.
                if interval is not None and index < steps - 1 and now - last_checkpoint >= interval:
                    checkpoint("interval", epoch)
                    last_checkpoint = run.clock()
            if stopped:
                break
            documented = recipe.epoch_metrics("train_") or documented
            if scheduler is not None:
                scheduler.step()
            if data is not None:
                result = validate(epoch)
                tracker.epochs.append(result.payload())
                if run.on_epoch is not None:
                    run.on_epoch(result)
                if stopper.exhausted:
                    stopped = "early_stop"
            if epoch < settings.epochs and not stopped:
                checkpoint("epoch", epoch)
                last_checkpoint = run.clock()
            if stopped:
                break
    except (RunFailed, RunCancelled, RunPaused):
        # The last completed step may not have been reported yet (throttling): the user sees where it stopped.
        if run.on_progress is not None and 0 < tracker.reported_step < len(tracker.losses):
            run.on_progress(tracker.progress(total, run.clock(), backend))
        raise
    if not tracker.losses:
        raise RunFailed("The run was stopped before its first step: there are no results.")
    if run.on_progress is not None and tracker.reported_step < len(tracker.losses):
        run.on_progress(tracker.progress(total, run.clock(), backend))
    if stopped == "user" and data is not None and len(tracker.epochs) < epoch:
        tracker.epochs.append(validate(epoch).payload())  # the partial epoch's validation: the results so far
    metrics = _metrics(tracker, settings, backend, run.precision, params_total, run.clock())
    metrics.update(documented)
    metrics.update(_fit_metrics(tracker, stopper, stopped, total if data is not None else None))
    if recipe.build_optimizer is not None:
        metrics["optimizer"] = type(optimizer).__name__
        metrics["lr"] = optimizer.param_groups[0]["lr"]
    metrics["params_trainable"] = sum(p.numel() for p in parameters)
    checkpoint("end", epoch)
    return metrics


def _restore(
    saved: Checkpoint,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    tracker: _Tracker,
    stopper: fit.EarlyStop,
    backend: Backend,
) -> int:
    """Load ``saved`` into the run's objects; returns its step (the next one is the first to train)."""
    try:
        model.load_state_dict(saved.model)
        optimizer.load_state_dict(saved.optimizer)
        if scaler is not None and saved.scaler:
            scaler.load_state_dict(saved.scaler)
        tracker.restore(saved.history, stopper, saved.step)
    except (RuntimeError, KeyError, TypeError, ValueError) as exc:
        raise RunFailed(f"The run's checkpoint does not fit its model any more: {describe_exception(exc)}") from exc
    torch.set_rng_state(saved.rng["cpu"])
    if backend.device.type == "cuda" and "cuda" in saved.rng:
        torch.cuda.set_rng_state(saved.rng["cuda"], backend.device)
    return saved.step


def _losses(outputs: tuple[torch.Tensor, ...], run: _Context) -> list[Callable[[torch.Tensor], torch.Tensor]]:
    """One loss per output, chosen from the first batch's outputs."""
    names = run.output_names
    if names is None or len(names) != len(outputs):
        names = [f"#{i}" for i in range(len(outputs))]
    if run.settings.num_classes is not None:
        check_classes(outputs[0], names[0], run.settings.num_classes)
    settings = run.settings
    seed = (settings.seed or 0) + 1 if settings.data == "fixed" else None
    return [loss_for(out, settings.loss, name, seed=seed) for out, name in zip(outputs, names)]


def _curve(values: list[float]) -> list[list[float]]:
    """``[[step, value], …]`` with at most MAX_CURVE_POINTS points, evenly spaced, the last one included."""
    stride = max(1, math.ceil(len(values) / MAX_CURVE_POINTS))
    curve = [[i + 1, values[i]] for i in range(0, len(values), stride)]
    if curve[-1][0] != len(values):
        curve.append([len(values), values[-1]])
    return curve


def _metrics(
    tracker: _Tracker,
    settings: SmokeSettings,
    backend: Backend,
    precision: str,
    params_total: int,
    now: float,
) -> dict[str, Any]:
    times = tracker.step_times
    steady = times[1:] or times  # the first step pays for warm-up (allocations, kernel selection)
    losses = tracker.losses
    return {
        "loss": losses[-1],
        "first_loss": losses[0],
        "min_loss": min(losses),
        "steps": len(losses),
        "samples": len(losses) * settings.batch_size,
        "samples_per_s": round(len(steady) * settings.batch_size / max(sum(steady), 1e-9), 2),
        "step_time_ms": round(1000 * statistics.median(steady), 3),
        "first_step_ms": round(1000 * times[0], 3),
        "elapsed_s": round(tracker.elapsed(now), 3),
        "grad_norm": tracker.grad_norm,
        "peak_memory_bytes": backend.peak_memory(),
        "memory_kind": backend.memory_kind,
        "params_total": params_total,
        "precision": precision,
        "skipped_steps": tracker.skipped_steps,
        "cpu_threads": torch.get_num_threads(),
        "loss_curve": _curve(losses),
    }


def _fit_metrics(tracker: _Tracker, stopper: fit.EarlyStop, stopped: str | None, total: int | None) -> dict[str, Any]:
    """What a dataset's epochs (``total`` steps: None without a dataset), stopping early and resuming add to
    the metrics: only what happened."""
    metrics: dict[str, Any] = {}
    if total is not None:
        metrics.update(epochs_done=len(tracker.epochs), total_steps=total)
    if stopped:
        metrics["stopped"] = stopped
    if tracker.resumed_from:
        metrics["resumed_from_step"] = tracker.resumed_from[-1]
        metrics["resumes"] = len(tracker.resumed_from)
    validated = [e for e in tracker.epochs if e.get("val_loss") is not None]
    if validated:
        last = validated[-1]
        for name in ("val_loss", "val_accuracy", "val_mae"):
            if last.get(name) is not None:
                metrics[name] = last[name]
        metrics["val_curve"] = [[e["step"], e["val_loss"]] for e in validated]
        metrics["best_epoch"] = stopper.best_epoch
        metrics["best_" + stopper.metric] = stopper.best
        metrics["history"] = tracker.epochs
    return metrics


def describe_exception(exc: BaseException) -> str:
    """``"RuntimeError: <its first line>"``, at most 300 characters of it."""
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
    "MAX_CURVE_POINTS",
    "PROGRESS_INTERVAL_S",
    "Backend",
    "CpuBackend",
    "CudaBackend",
    "Progress",
    "ACTIONS",
    "RunCancelled",
    "RunFailed",
    "RunPaused",
    "SmokeSettings",
    "Started",
    "check_classes",
    "describe_exception",
    "loss_for",
    "make_optimizer",
    "no_classes_message",
    "select_backend",
    "total_grad_norm",
    "train_package",
]
