"""A graph's model as a file another runtime loads, proven to compute what the graph's PyTorch code computes.

Three formats: ONNX (``torch.onnx.export`` with the dynamo exporter, checked by ``onnx.checker`` and run by
onnxruntime), a ``torch.export`` ExportedProgram (``.pt2``) and TorchScript (``torch.jit.script``, else
``torch.jit.trace`` with a warning). Each is built from the graph's generated package (the code a user
downloads) in eval mode with a fixed seed, exported with a dynamic batch axis, reloaded from the file it
wrote, and run on inputs of another batch size than the export saw; the largest difference from the eager
model must stay within the format's tolerance, or the export fails.

:func:`export_problems` says what stops an export before anything is built (graph errors, node types a
format cannot express); :func:`export_model` does the work and returns an :class:`ExportResult`; every way
it can go wrong is an :class:`ExportFailed` with one sentence.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .analysis import Analysis
from .api import load_graph, validate
from .diagnostics import Diagnostic, GraphError
from .loader import generated_package
from .nodes.custom import CustomModuleMissing
from .schema import Graph, Limits
from .tensor import TensorType

FORMATS = ("onnx", "pt2", "torchscript")
SUFFIXES = {"onnx": ".onnx", "pt2": ".pt2", "torchscript": ".pt"}
TOLERANCES = {"onnx": 1e-4, "pt2": 1e-5, "torchscript": 1e-5}
FORMAT_NAMES = {"onnx": "ONNX", "pt2": "torch.export", "torchscript": "TorchScript"}

# ONNX opsets that come out as asked and check: the dynamo exporter writes 18 natively; below it the version
# converter fails on common ops and silently leaves the model at 18, and far above it (26) an up-converted
# transformer no longer checks. Every opset in the range was exported, checked and run with onnxruntime 1.32
# (SE-ResNet, the transformer classifier, Swin-T and U-Net templates).
DEFAULT_OPSET = 18
MIN_OPSET, MAX_OPSET = 18, 23

EXPORT_BATCH, CHECK_BATCH = 2, 3  # the check runs another batch size than the export saw: the batch axis is dynamic
SEED = 0

# Why a node cannot be exported: its coerced params and input types in, a reason or None out.
Rule = Callable[[Mapping[str, Any], Sequence[TensorType | None]], str | None]


def _sizes(value: Any, rank: int) -> list[Any]:
    """A pooling parameter (an int, or one value per spatial axis) as one value per axis."""
    return list(value) if isinstance(value, list | tuple) else [value] * rank


def _spatial(types: Sequence[TensorType | None], rank: int) -> list[Any] | None:
    """The input's last ``rank`` sizes, when its type is known."""
    first = types[0] if types else None
    if first is None or first.dims is None or len(first.dims) < rank:
        return None
    return list(first.dims[-rank:])


def _adaptive_max_pool(rank: int) -> Rule:
    def rule(params: Mapping[str, Any], types: Sequence[TensorType | None]) -> str | None:
        sizes = _spatial(types, rank)
        targets = _sizes(params.get("output_size"), rank)
        if sizes is None or not any(
            isinstance(size, int) and isinstance(target, int) and size % target for size, target in zip(sizes, targets)
        ):
            return None
        return (
            "ONNX has no adaptive max pooling; it maps to MaxPool only where the output size divides the input "
            f"size (here {'x'.join(map(str, targets))} from {'x'.join(map(str, sizes))})"
        )

    return rule


def _ceil_mode_pool(rank: int) -> Rule:
    """PyTorch drops a last window that would start in the right padding; ONNX's shape rule keeps it."""

    def rule(params: Mapping[str, Any], types: Sequence[TensorType | None]) -> str | None:
        sizes = _spatial(types, rank)
        if not params.get("ceil_mode") or sizes is None:
            return None
        kernels = _sizes(params.get("kernel_size"), rank)
        strides = _sizes(params.get("stride") or params.get("kernel_size"), rank)
        paddings = _sizes(params.get("padding") or 0, rank)
        for size, kernel, stride, padding in zip(sizes, kernels, strides, paddings):
            if not all(isinstance(v, int) for v in (size, kernel, stride, padding)):
                continue
            windows = -(-(size + 2 * padding - kernel) // stride) + 1
            if (windows - 1) * stride >= size + padding:
                return (
                    "with ceil_mode its last window starts in the padding, which PyTorch drops and ONNX's pooling "
                    "keeps, so the output sizes would differ (turn ceil_mode off or change the padding)"
                )
        return None

    return rule


# Node types a format cannot express (in general, or with some params), found by exporting a one-node graph
# of every type, and variants of their params, with torch 2.13 and onnxscript 0.7; torch.export and
# TorchScript (scripted or traced) took every type. tests/codegen/test_exports.py proves that each rule's
# cases still fail and that the other types still export.
UNSUPPORTED: dict[str, dict[str, Rule]] = {
    "onnx": {
        "AdaptiveMaxPool1d": _adaptive_max_pool(1),
        "AdaptiveMaxPool2d": _adaptive_max_pool(2),
        "MaxPool1d": _ceil_mode_pool(1),
        "MaxPool2d": _ceil_mode_pool(2),
        "AvgPool1d": _ceil_mode_pool(1),
        "AvgPool2d": _ceil_mode_pool(2),
    },
    "pt2": {},
    "torchscript": {},
}

ProgressCallback = Callable[[str, float], None]


class ExportFailed(Exception):
    """An export that could not be made or did not match the eager model; ``str()`` is one sentence.

    ``diagnostics`` holds the graph's problems when those stopped it (see :func:`export_problems`).
    """

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = ()):
        self.diagnostics = list(diagnostics)
        super().__init__(message)


@dataclass
class ExportResult:
    """A written export and the proof that it matches: the largest difference from the eager model."""

    format: str
    path: Path
    size_bytes: int
    max_abs_diff: float
    tolerance: float
    method: str  # "dynamo" (ONNX), "export" (.pt2), "script" or "trace" (TorchScript)
    opset: int | None
    torch_version: str
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe; the file by name only (where it lies is the caller's business)."""
        return {
            "format": self.format,
            "file_name": self.path.name,
            "size_bytes": self.size_bytes,
            "max_abs_diff": self.max_abs_diff,
            "tolerance": self.tolerance,
            "method": self.method,
            "opset": self.opset,
            "torch_version": self.torch_version,
            "warnings": list(self.warnings),
        }


def check_format(fmt: str) -> None:
    """Raise :class:`ExportFailed` unless ``fmt`` is one of :data:`FORMATS`."""
    if fmt not in FORMATS:
        raise ExportFailed(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")


def check_opset(fmt: str, opset: int | None) -> int | None:
    """The opset an ONNX export uses (the default when ``None``); other formats take none."""
    if fmt != "onnx":
        if opset is not None:
            raise ExportFailed(f"an opset applies to ONNX exports only, not to {FORMAT_NAMES[fmt]}")
        return None
    if opset is None:
        return DEFAULT_OPSET
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ExportFailed(f"ONNX opset must be an integer from {MIN_OPSET} to {MAX_OPSET}, got {opset!r}")
    return opset


def export_problems(
    document: Graph | dict[str, Any] | str | bytes,
    fmt: str,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    limits: Limits | None = None,
) -> list[Diagnostic]:
    """What stops ``document`` from being exported as ``fmt``, before anything is built.

    The graph's errors (validation with ``input_shapes``), inputs left without a size, and every node whose
    type ``fmt`` cannot express (``EXPORT_UNSUPPORTED``, naming the node). Empty when the export can start.
    An unknown ``fmt`` raises :class:`ExportFailed`.
    """
    check_format(fmt)
    shapes = {name: list(sizes) for name, sizes in input_shapes.items()} if input_shapes else None
    validation = validate(document, input_shapes=shapes, limits=limits)
    if not validation.ok:
        return validation.errors
    inputs = load_graph(document, limits=limits).body.inputs
    problems = [
        Diagnostic(
            "NEEDS_SHAPE",
            f"Input {name} has no shape: set it on the Input node or give its sizes to export the model",
            node=name,
        )
        for name, shape in validation.shapes().items()
        if name in inputs and not _fixed(shape)
    ]
    problems += _unsupported_nodes(validation.analysis, fmt)
    return problems


def _unsupported_nodes(analysis: Analysis, fmt: str, instance: str | None = None) -> list[Diagnostic]:
    """Nodes ``fmt`` cannot express, inside user blocks too (named by the instance that holds them)."""
    problems = []
    for info in analysis.info.values():
        if not info.live or info.node.disabled:
            continue
        if info.inner is not None:
            problems += _unsupported_nodes(info.inner, fmt, instance or info.id)
            continue
        rule = UNSUPPORTED[fmt].get(info.type_name)
        reason = rule(info.params, analysis.input_types(info.id)) if rule else None
        if reason:
            where = f"{info.id} ({info.type_name}) in block {instance}" if instance else f"{info.id} ({info.type_name})"
            problems.append(
                Diagnostic(
                    "EXPORT_UNSUPPORTED",
                    f"{where} cannot be exported to {FORMAT_NAMES[fmt]}: {reason}",
                    node=instance or info.id,
                )
            )
    return problems


def _fixed(shape: Any) -> bool:
    return isinstance(shape, list) and all(isinstance(size, int) for size in shape[1:])


def export_model(
    document: Graph | dict[str, Any] | str | bytes,
    fmt: str,
    out_path: str | Path,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    opset: int | None = None,
    limits: Limits | None = None,
    title: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> ExportResult:
    """Export ``document``'s model as ``fmt`` to ``out_path``, reload it and prove it matches the eager model.

    ``input_shapes`` gives input sizes without the batch axis (by input id) where the graph leaves them open
    or to export at another size; ``opset`` is ONNX's (default :data:`DEFAULT_OPSET`). ``on_progress`` hears
    ``(stage, fraction)`` at each stage. Raises :class:`ExportFailed`.
    """
    check_format(fmt)
    opset = check_opset(fmt, opset)
    report = on_progress or (lambda stage, fraction: None)
    problems = export_problems(document, fmt, input_shapes=input_shapes, limits=limits)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ExportFailed(f"the graph cannot be exported: {problems[0].message}{more}", problems)
    out = Path(out_path)
    import torch

    report("building the model", 0.0)
    try:
        diff, method, notes = _export_and_compare(document, fmt, out, input_shapes, opset, limits, title, report)
    except BaseException:
        if out.is_file():  # a file that was not proven is not left behind as if it were
            out.unlink()
        raise
    report("done", 1.0)
    return ExportResult(
        format=fmt,
        path=out,
        size_bytes=out.stat().st_size,
        max_abs_diff=diff,
        tolerance=TOLERANCES[fmt],
        method=method,
        opset=opset,
        torch_version=torch.__version__,
        warnings=notes,
    )


def _export_and_compare(
    document: Any,
    fmt: str,
    out: Path,
    input_shapes: Mapping[str, Sequence[int]] | None,
    opset: int | None,
    limits: Limits | None,
    title: str | None,
    report: ProgressCallback,
) -> tuple[float, str, list[str]]:
    """Build the model, export it to ``out``, reload it and compare: the largest difference, method, warnings."""
    import torch

    try:
        package_context = generated_package(document, input_shapes, limits, title, prefix="torchcanvas_export")
        with package_context as package, torch.no_grad():
            try:
                with torch.random.fork_rng():  # the caller's (a worker's) random state stays as it was
                    torch.manual_seed(SEED)
                    model = package.build_model().eval()
                export_inputs = _inputs(package, EXPORT_BATCH)
                check_inputs = _inputs(package, CHECK_BATCH)
                expected = _flatten(model(*check_inputs))
            except Exception as exc:
                raise ExportFailed(f"the PyTorch model could not be built and run: {_reason(exc)}") from exc
            report("exporting", 0.2)
            graph = load_graph(document, limits=limits)
            run, method, notes = _EXPORTERS[fmt](model, export_inputs, out, graph, opset, report)
            report("comparing", 0.8)
            actual = run(check_inputs)
    except GraphError as exc:  # validated before; only a document changed since gets here
        raise ExportFailed(f"the graph cannot be exported: {exc.diagnostics[0].message}", exc.diagnostics) from exc
    except CustomModuleMissing as exc:
        raise ExportFailed(str(exc)) from exc
    diff = _max_abs_diff(expected, actual, fmt)
    tolerance = TOLERANCES[fmt]
    if not diff <= tolerance:
        raise ExportFailed(
            f"the {FORMAT_NAMES[fmt]} export does not match the PyTorch model: the largest difference at batch "
            f"{CHECK_BATCH} is {diff:.3g}, above the tolerance of {tolerance:g}"
        )
    return diff, method, notes


def _inputs(package: Any, batch: int) -> tuple[Any, ...]:
    """The package's own example inputs at ``batch``, drawn from a fixed seed."""
    import torch

    with torch.random.fork_rng():
        torch.manual_seed(SEED + batch)
        return tuple(package.example_inputs(batch))


def _flatten(output: Any) -> list[Any]:
    """A model's outputs as a flat list of tensors (a single tensor, a tuple, tuples of tuples, a dict of
    named outputs in its order, as the exporters flatten it)."""
    if isinstance(output, dict):
        return [tensor for item in output.values() for tensor in _flatten(item)]
    if isinstance(output, list | tuple):
        return [tensor for item in output for tensor in _flatten(item)]
    return [output]


def _max_abs_diff(expected: list[Any], actual: list[Any], fmt: str) -> float:
    import torch

    if len(expected) != len(actual):
        raise ExportFailed(
            f"the {FORMAT_NAMES[fmt]} export gives {len(actual)} outputs where the model gives {len(expected)}"
        )
    diff = 0.0
    for want, got in zip(expected, actual):
        got = torch.as_tensor(got)
        if tuple(got.shape) != tuple(want.shape):
            raise ExportFailed(
                f"the {FORMAT_NAMES[fmt]} export gives an output of shape {tuple(got.shape)} at batch "
                f"{CHECK_BATCH} where the model gives {tuple(want.shape)}"
            )
        if want.numel():
            gap = (want.double() - got.double()).abs().max().item()
            diff = max(diff, gap if not math.isnan(gap) else math.inf)
    return diff


def _names(graph: Graph, model: Any, count: int) -> tuple[list[str], list[str]]:
    """ONNX input and output names: the graph's input and output ids, made unique.

    An ONNX graph names each value once, and the exporter names the weights after their ``state_dict``
    keys: an output called ``class_token`` beside a ClassToken node's weight of that name would be a second
    definition, so it becomes ``class_token_1``.
    """
    inputs = list(graph.body.inputs)
    listed = graph.body.output_names or [ref.replace(":", "_") for ref in graph.body.outputs]
    outputs = listed if len(listed) == count else [f"output_{i}" for i in range(count)]
    taken = {*inputs, *(name for name, _ in model.named_parameters()), *(name for name, _ in model.named_buffers())}
    unique = []
    for name in outputs:
        candidate, n = name, 1
        while candidate in taken:
            candidate, n = f"{name}_{n}", n + 1
        taken.add(candidate)
        unique.append(candidate)
    return inputs, unique


def _dynamic_batch(inputs: tuple[Any, ...]) -> tuple[dict[int, Any], ...]:
    import torch

    batch = torch.export.Dim("batch", min=1)
    return tuple({0: batch} for _ in inputs)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_OP_OVERLOAD = re.compile(r"<OpOverload\(op='([\w.]+)', overload='(\w+)'\)>")


def _sentence(fmt: str, exc: BaseException) -> str:
    return f"the {FORMAT_NAMES[fmt]} exporter failed: {_reason(exc)}"


def _reason(exc: BaseException) -> str:
    """An exception as ``Type: first line`` of its root cause, not the traceback text it may carry.

    The ONNX exporter wraps the reason (``No ONNX function found for aten.…``) in two layers of advice.
    """
    root, seen = exc, {id(exc)}
    while (cause := root.__cause__ or root.__context__) is not None and id(cause) not in seen:
        seen.add(id(cause))
        root = cause
    text = _OP_OVERLOAD.sub(r"\1.\2", _ANSI.sub("", str(root)))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = lines[0].rstrip(":") if lines else type(root).__name__
    if len(reason) > 300:
        reason = reason[:297] + "..."
    return f"{type(root).__name__}: {reason}"


Runner = Callable[[tuple[Any, ...]], list[Any]]
ExportOutcome = tuple[Runner, str, list[str]]


def _export_onnx(model, inputs, out: Path, graph: Graph, opset, report: ProgressCallback) -> ExportOutcome:
    import onnx
    import onnxruntime
    import torch

    input_names, output_names = _names(graph, model, len(_flatten(model(*inputs))))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on its own internals
            torch.onnx.export(
                model,
                inputs,
                str(out),
                dynamo=True,
                opset_version=opset,
                input_names=input_names,
                output_names=output_names,
                dynamic_shapes=_dynamic_batch(inputs),
                external_data=False,  # one self-contained file (the protobuf limit is 2 GB)
                verbose=False,
            )
    except Exception as exc:
        raise ExportFailed(_sentence("onnx", exc)) from exc
    report("checking", 0.6)
    try:
        onnx.checker.check_model(str(out), full_check=True)
        session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ExportFailed(f"the ONNX file does not check: {_reason(exc)}") from exc
    feed_names = [i.name for i in session.get_inputs()]

    def run(check_inputs):
        feed = {name: tensor.numpy() for name, tensor in zip(feed_names, check_inputs)}
        return [torch.from_numpy(array) for array in session.run(None, feed)]

    return run, "dynamo", []


def _export_pt2(model, inputs, out: Path, graph: Graph, opset, report: ProgressCallback) -> ExportOutcome:
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.export(model, inputs, dynamic_shapes=_dynamic_batch(inputs))
            torch.export.save(program, out)
    except Exception as exc:
        raise ExportFailed(_sentence("pt2", exc)) from exc
    report("checking", 0.6)
    try:
        loaded = torch.export.load(out).module()
    except Exception as exc:
        raise ExportFailed(f"the saved program does not load: {_reason(exc)}") from exc
    return (lambda check_inputs: _flatten(loaded(*check_inputs))), "export", []


def _export_torchscript(model, inputs, out: Path, graph: Graph, opset, report: ProgressCallback) -> ExportOutcome:
    import torch

    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notes; the trace's own caveat is ours below
        try:
            compiled, method = torch.jit.script(model), "script"
        except Exception as exc:
            notes.append(
                f"torch.jit.script could not compile the model ({_reason(exc)}); it was traced instead, so the file "
                f"replays the operations run on a batch of {EXPORT_BATCH} and ignores any branch on tensor values"
            )
            try:
                compiled, method = torch.jit.trace(model, inputs, check_trace=False), "trace"
            except Exception as trace_exc:
                raise ExportFailed(_sentence("torchscript", trace_exc)) from trace_exc
        try:
            torch.jit.save(compiled, str(out))
        except Exception as exc:
            raise ExportFailed(_sentence("torchscript", exc)) from exc
        report("checking", 0.6)
        loaded = torch.jit.load(str(out))
    return (lambda check_inputs: _flatten(loaded(*check_inputs))), method, notes


_EXPORTERS = {"onnx": _export_onnx, "pt2": _export_pt2, "torchscript": _export_torchscript}
