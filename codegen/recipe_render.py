"""Rendering the training recipe: each node's init and freezing in the model class, the loss and metrics
stages as their own ``nn.Module`` classes, and the helpers ``train.py`` and runs call (``example_targets``,
``build_loss``, ``build_metrics``, ``build_optimizer``, ``build_scheduler``).

The model stays a plain module: its forward never sees a target. ``<Model>Loss()(outputs, targets)``
returns ``{"loss": total, <loss node>: term, ...}`` and ``<Model>Metrics()(outputs, targets)`` one mean
over the batch per metric node, so a mean over batches weighted by their sizes is the metric of a set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from .analysis import Analysis, node_init
from .diagnostics import Diagnostic, GraphError
from .ir import Call, Ref, SelfAttr, render_expr
from .render import INDENT, ClassSource, Signature, render_class, render_statement, return_dict, wrap_call

LOSS_TOTAL = "loss"


@dataclass(frozen=True)
class TargetSpec:
    """How random targets of one Target are drawn in smoke runs."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    classes: int | None  # int64 targets: drawn from [0, classes)
    binary: bool = False  # float targets of a BCE loss: 0 or 1


@dataclass
class RecipeSource:
    """The rendered recipe of one model."""

    classes: list[list[str]]  # the loss and metrics classes
    helpers: list[str]  # example_targets, build_loss, build_metrics, build_optimizer, build_scheduler
    exported: list[str]  # the names a package's __init__ exports
    loss_keys: list[str]
    metric_keys: list[str]
    targets: list[TargetSpec]


def has_recipe(analysis: Analysis) -> bool:
    measured = analysis.measured("loss") or analysis.measured("metrics")
    return bool(measured) or analysis.training.optimizer is not None


# --- the model class --------------------------------------------------------------------------------------


def _is_module(analysis: Analysis, node_id: str) -> bool:
    info = analysis.info[node_id]
    if info.composite is not None:
        return True
    init = node_init(analysis, info)
    return isinstance(init, Call) and init.fn != "nn.Parameter"


def model_epilogue(analysis: Analysis, attr: dict[str, str]) -> list[str]:
    """``__init__``'s last lines: each node's weight init, then ``requires_grad_(False)`` on frozen nodes."""
    lines: list[str] = []
    for node_id in analysis.order:
        info = analysis.info[node_id]
        if info.weight_init is not None and not info.node.disabled:
            has_bias = bool(info.params.get("bias", False))
            for init_call in info.weight_init.calls(attr[node_id], has_bias):
                lines.append(f"{INDENT * 2}{render_expr(init_call)}")
    frozen = [n for n in analysis.order if not analysis.info[n].node.trainable and analysis.info[n].param_count]
    if frozen:
        lines.append(f"{INDENT * 2}# Frozen (trainable: false): the optimizer leaves these parameters as they are.")
        lines += [f"{INDENT * 2}{render_expr(SelfAttr(attr[n]))}.requires_grad_(False)" for n in frozen]
    return lines


def train_override(analysis: Analysis, attr: dict[str, str], class_name: str) -> list[str]:
    """``train()`` that keeps frozen modules in eval mode (their batch-norm statistics stay as loaded)."""
    frozen = [n for n in analysis.order if not analysis.info[n].node.trainable and _is_module(analysis, n)]
    if not frozen:
        return []
    return [
        "",
        f'{INDENT}def train(self, mode: bool = True) -> "{class_name}":',
        f'{INDENT * 2}"""Frozen parts stay in eval mode: batch-norm statistics and dropout as at inference."""',
        f"{INDENT * 2}super().train(mode)",
        *(f"{INDENT * 2}{render_expr(SelfAttr(attr[n]))}.eval()" for n in frozen),
        f"{INDENT * 2}return self",
    ]


# --- the stages -------------------------------------------------------------------------------------------


def _output_reader(analysis: Analysis) -> dict[tuple[str, int], str]:
    """How a stage reads each model output from ``outputs``, as the model returns them."""
    read: dict[tuple[str, int], str] = {}
    names = analysis.output_names
    for index, (node, port) in enumerate(analysis.output_refs):
        key = (node, port or 0)
        if key in read:
            continue
        if names is not None:
            read[key] = f"outputs[{json.dumps(names[index])}]"
        elif len(analysis.output_refs) == 1:
            read[key] = "outputs"
        else:
            read[key] = f"outputs[{index}]"
    return read


def output_annotation(analysis: Analysis) -> str:
    if analysis.output_names is not None:
        return "dict[str, torch.Tensor]"
    return "torch.Tensor" if len(analysis.output_refs) == 1 else "tuple[torch.Tensor, ...]"


def _stage_class(analysis: Analysis, stage: str, class_name: str, doc: str) -> ClassSource:
    nodes = analysis.stages[stage]
    measures = analysis.measured(stage)
    values = dict(_output_reader(analysis))
    values.update({(t, 0): f"targets[{json.dumps(t)}]" for t in analysis.targets})
    total = None
    if stage == "loss":
        total = LOSS_TOTAL if LOSS_TOTAL not in measures else f"{LOSS_TOTAL}_total"
    signature = Signature(
        arguments=[f"outputs: {output_annotation(analysis)}", "targets: dict[str, torch.Tensor]"],
        names=["outputs", "targets"],
        values=values,
        keys=measures,
        total=total,
    )
    view = replace(
        analysis, order=nodes, inputs=[], outputs=measures, output_refs=[(m, None) for m in measures], output_names=None
    )
    return render_class(class_name, view, doc=[doc], init_params=[], composites={}, signature=signature)


def _targets(analysis: Analysis) -> list[TargetSpec]:
    specs = []
    for target in analysis.targets:
        info = analysis.info[target]
        assert info.out is not None and not isinstance(info.out, tuple)
        readers = [
            (i, analysis.edge_type(i.inputs[0]))
            for n in (*analysis.stages.get("loss", []), *analysis.stages.get("metrics", []))
            if (i := analysis.info[n]).measures and len(i.inputs) == 2 and i.inputs[1].source == target
        ]
        shape = info.out.dims
        classes = info.params.get("num_classes")
        binary = any(i.spec.type == "BCEWithLogitsLoss" for i, _ in readers)  # type: ignore[union-attr]
        for _, scores in readers:
            if scores is None or not scores.rank_known:
                continue
            if (
                info.out.dtype == "int64"
                and classes is None
                and type(scores.dims[0]) is int
                and scores.dtype != "int64"
            ):
                classes = scores.dims[0]
            if info.params.get("shape") is None and info.out.dtype == "float32":
                shape = scores.dims
        if info.out.dtype == "int64" and classes is None:
            raise _refused(target, "set `num_classes` (random targets need their range)")
        if shape is None or any(type(d) is not int for d in shape):
            raise _refused(target, "set its `shape` (random targets need their sizes)")
        specs.append(TargetSpec(target, tuple(shape), info.out.dtype, classes, binary))  # type: ignore[arg-type]
    return specs


def _refused(target: str, fix: str) -> GraphError:
    return GraphError([Diagnostic("RECIPE", f"Target `{target}`: {fix}", node=target)])


# Each stage's class (after the model's name), its docstring and the function that builds it.
_STAGES = (
    ("loss", "Loss", "The training loss of ``{model}``: its terms and their sum.", "build_loss"),
    ("metrics", "Metrics", "Metrics of ``{model}``, each a mean over the batch.", "build_metrics"),
)


def render_recipe(analysis: Analysis, model_class: str) -> RecipeSource:
    classes: list[list[str]] = []
    helpers: list[str] = []
    exported: list[str] = []
    loss_keys, metric_keys = analysis.measured("loss"), analysis.measured("metrics")
    targets = _targets(analysis) if loss_keys or metric_keys else []
    if targets:
        helpers += _example_targets(targets)
        exported.append("example_targets")
    for stage, suffix, doc, builder in _STAGES:
        if not analysis.measured(stage):
            continue
        name = f"{model_class}{suffix}"
        classes.append(_stage_class(analysis, stage, name, doc.format(model=model_class)).lines)
        helpers += [
            "",
            "",
            f"def {builder}() -> {name}:",
            f'{INDENT}"""The {stage} stage, ready to call as ``{builder}()(outputs, targets)``."""',
            f"{INDENT}return {name}()",
        ]
        exported += [name, builder]
    training = analysis.training
    if training.optimizer is not None:
        helpers += [
            "",
            "",
            "def build_optimizer(model: nn.Module) -> torch.optim.Optimizer:",
            f'{INDENT}"""The document\'s optimizer over the trainable parameters (frozen ones are left out)."""',
            f"{INDENT}parameters = [p for p in model.parameters() if p.requires_grad]",
            *render_statement(INDENT, "optimizer", training.optimizer_call(Ref("parameters"))),
            f"{INDENT}return optimizer",
            "",
            "",
            *wrap_call(
                "",
                "def build_scheduler",
                ["optimizer: torch.optim.Optimizer"],
                " -> torch.optim.lr_scheduler.LRScheduler | None:",
            ),
            f'{INDENT}"""The document\'s learning-rate scheduler, stepped once per epoch (None: a constant rate)."""',
        ]
        scheduler = training.scheduler_call(Ref("optimizer"))
        if scheduler is None:
            helpers += [f"{INDENT}del optimizer", f"{INDENT}return None"]
        else:
            helpers += render_statement(INDENT, "scheduler", scheduler) + [f"{INDENT}return scheduler"]
        exported += ["build_optimizer", "build_scheduler"]
    return RecipeSource(classes, helpers, exported, loss_keys, metric_keys, targets)


def _example_targets(targets: list[TargetSpec]) -> list[str]:
    items = []
    for t in targets:
        shape = f"(batch_size, {', '.join(str(d) for d in t.shape)})" if t.shape else "(batch_size,)"
        if t.dtype == "int64":
            value = f"torch.randint(0, {t.classes}, {shape})"
        elif t.binary:
            value = f"torch.randint(0, 2, {shape}).float()"
        else:
            value = f"torch.randn{shape}"
        items.append(f"{json.dumps(t.name)}: {value}")
    return [
        "",
        "",
        "def example_targets(batch_size: int = 2) -> dict[str, torch.Tensor]:",
        f'{INDENT}"""Random targets shaped as the loss and metrics read them (class indices, or values)."""',
        *return_dict(INDENT, items),
    ]
