"""Ablation matrices and sweeps: runs of one version queued together as a :class:`~training.models.RunSet`.

- **ablation**: a baseline run (nothing disabled, unless left out) and one run per chosen node or block,
  with that node disabled (``nodes[].disabled``: it passes its first input through);
- **sweep**: one run per value of one config field (``lr``, ``batch_size``, ``optimizer``, …), the rest of
  the config shared; or of one node's parameter (``drop.p``: that node's ``params.p``).

Each variant goes through the dispatcher's own checks (:func:`training.dispatch.check_run`): a variant that
breaks the graph or the caps refuses the whole set, naming it. Quotas apply to the set as a whole: runs per
set, steps per set, and sets queued or running per user (a set's runs do not count against the per-user
allowance of single runs, nor single runs against sets). Nothing is queued unless everything passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from codegen.spec import lookup
from graphs.models import GraphVersion
from training import labels
from training.access import may_cancel
from training.config import RunConfig
from training.dispatch import (
    RunRefused,
    cancel_run,
    caps,
    check_access,
    check_run,
    clean_labels,
    create_run,
    lock_user,
)
from training.models import ACTIVE, RunSet, SetKind, variant_document

# Config fields a sweep may vary (the others are not worth a set: device, time limit, input shapes).
SWEEPABLE = ("lr", "batch_size", "steps", "epochs", "optimizer", "seed", "loss", "data", "precision")
# What a request may list before the set caps are even looked at (the caps say the rest, in a sentence).
MAX_LISTED = 100
MAX_VALUE = 40  # characters of one swept value


def variant_label(variant: dict[str, Any]) -> str:
    """``baseline``, ``without conv2`` or ``lr = 0.01``: a variant as a table row or a curve names it."""
    if not variant:
        return "baseline"
    if variant.get("disable"):
        return "without " + ", ".join(variant["disable"])
    if variant.get("params"):
        return ", ".join(
            f"{node}.{name} = {value}" for node, params in variant["params"].items() for name, value in params.items()
        )
    return ", ".join(f"{key} = {value}" for key, value in variant.items())


def ablation_variants(document: dict[str, Any], nodes: Any, *, baseline: bool = True) -> list[dict[str, Any]]:
    """``[{}, {"disable": ["conv"]}, …]``: the baseline (if asked) and one variant per node id of ``nodes``."""
    if not isinstance(nodes, list | tuple) or not nodes:
        raise RunRefused("Choose the nodes to disable, one run each.")
    if len(nodes) > MAX_LISTED:
        raise RunRefused(f"{len(nodes)} nodes are listed; a set has at most {caps().max_set_runs} runs.")
    known = {node.get("id"): node for node in document.get("nodes", []) if isinstance(node, dict)}
    seen: set[str] = set()
    for node_id in nodes:
        if not isinstance(node_id, str) or node_id not in known:
            raise RunRefused(f"There is no node {_short(node_id)} in this version: choose among its nodes' ids.")
        if node_id in seen:
            raise RunRefused(f"{node_id} is listed twice: give each node once.")
        if known[node_id].get("type") == "Input":
            raise RunRefused(f"{node_id} is an Input: it cannot be disabled.")
        if known[node_id].get("disabled"):
            raise RunRefused(f"{node_id} is already disabled in this version: every run would skip it.")
        seen.add(node_id)
    return ([{}] if baseline else []) + [{"disable": [node_id]} for node_id in nodes]


def sweep_variants(document: dict[str, Any], param: Any, values: Any) -> list[dict[str, Any]]:
    """One variant per value: ``[{"lr": 0.1}, …]`` for a config field, ``[{"params": {"drop": {"p": 0.1}}}, …]``
    for a node's parameter (``param`` is then ``"<node id>.<parameter>"``)."""
    node_param = _node_param(document, param) if param not in SWEEPABLE else None
    if not isinstance(values, list | tuple) or len(values) < 2:
        raise RunRefused(f"Give at least two values of {param} to sweep over.")
    if len(values) > MAX_LISTED:
        raise RunRefused(f"{len(values)} values are listed; a set has at most {caps().max_set_runs} runs.")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float | str) or len(str(value)) > MAX_VALUE:
            raise RunRefused(f"Each value of {param} is a number or a word, such as 0.01 or adam; got {_short(value)}.")
    if node_param is None:
        return [{param: value} for value in values]
    node_id, name = node_param
    return [{"params": {node_id: {name: value}}} for value in values]


def node_params(document: dict[str, Any]) -> list[str]:
    """``["conv.out_channels", "drop.p", …]``: the parameters a sweep may vary, of the nodes that are not Inputs."""
    found = []
    for node in document.get("nodes", []):
        spec = lookup(node.get("type", "")) if isinstance(node, dict) and node.get("type") != "Input" else None
        if spec is not None:
            found += [f"{node['id']}.{p.name}" for p in spec.params]
    return found


def _node_param(document: dict[str, Any], param: Any) -> tuple[str, str]:
    if not isinstance(param, str) or param not in node_params(document):
        raise RunRefused(
            f"A sweep varies one of {', '.join(SWEEPABLE)}, or a node's parameter as <node id>.<parameter> such "
            f"as drop.p; got {_short(param)}, which this version does not have."
        )
    node_id, _, name = param.rpartition(".")
    return node_id, name


def queue_set(
    version: GraphVersion,
    user,
    kind: str,
    *,
    nodes: Sequence[str] = (),
    baseline: bool = True,
    param: str = "",
    values: Sequence[Any] = (),
    config: Any = None,
    name: Any = "",
    tags: Any = (),
) -> RunSet:
    """Queue an ablation matrix (``nodes``) or a sweep (``param`` over ``values``) of ``version`` for ``user``,
    all of it or nothing: :class:`RunRefused` (400, or 429 for too many sets at once) says why not."""
    check_access(version, user)
    if config is not None and not isinstance(config, dict):
        raise RunRefused('config: expected an object such as {"steps": 30, "batch_size": 8}.')
    if kind == SetKind.ABLATION:
        variants = ablation_variants(version.document, nodes, baseline=baseline)
        axis = "disable one of " + ", ".join(nodes)
    elif kind == SetKind.SWEEP:
        variants = sweep_variants(version.document, param, values)
        axis = f"{param} over " + ", ".join(str(value) for value in values)
    else:
        raise RunRefused(f"kind must be {SetKind.ABLATION} or {SetKind.SWEEP} (got {_short(kind)}).")
    limits = caps()
    if len(variants) > limits.max_set_runs:
        raise RunRefused(f"This set has {len(variants)} runs; a set may have at most {limits.max_set_runs}.")
    checked = [_check_variant(version, user, config, variant) for variant in variants]
    if kind == SetKind.SWEEP:
        if param in SWEEPABLE:  # the values as the runs use them: "Adam" is adam, 1e-2 is 0.01
            variants = [{param: getattr(parsed, param)} for parsed in checked]
        _refuse_repeats(param, [variant_value(variant) for variant in variants])
    steps = sum(parsed.total_steps for parsed in checked)
    if steps > limits.max_set_steps:
        raise RunRefused(
            f"This set's runs train {steps} steps together; a set may train at most {limits.max_set_steps}: "
            "fewer runs or fewer steps per run."
        )
    set_name, tags = clean_labels(name, tags)
    set_name = set_name or f"{SetKind(kind).label} of {version.graph.name} v{version.number}"
    with transaction.atomic():
        lock_user(user)
        active = RunSet.objects.filter(user=user, runs__status__in=ACTIVE).distinct().count()
        if active >= limits.max_active_sets:
            raise RunRefused(
                f"You already have {active} set{'s' if active != 1 else ''} of runs queued or running, the most "
                "allowed: wait for it to finish, or cancel its runs.",
                status_code=429,
            )
        run_set = RunSet.objects.create(
            version=version, user=user, kind=kind, name=set_name, axis=axis[: RunSet._meta.get_field("axis").max_length]
        )
        for variant, parsed in zip(variants, checked, strict=True):
            run_name = f"{set_name} · {variant_label(variant)}"[: labels.MAX_NAME]
            create_run(version, user, parsed, name=run_name, tags=tags, run_set=run_set, variant=variant)
    return run_set


def cancel_set(run_set: RunSet, user) -> int:
    """Cancel every run of ``run_set`` still queued or running (as :func:`~training.dispatch.cancel_run` does
    one); how many. The person who queued the set, or an admin of its graph, may."""
    if not may_cancel(user, run_set):
        raise PermissionDenied("Only the person who queued this set, or an admin of its graph, can cancel it.")
    runs = list(run_set.runs.filter(status__in=ACTIVE).select_related("version__graph"))
    for run in runs:
        cancel_run(run, user)
    return len(runs)


def variant_value(variant: dict[str, Any]) -> Any:
    """The swept value of a sweep's variant (a config field's, or a node parameter's)."""
    if "params" in variant:
        (params,) = variant["params"].values()
        (value,) = params.values()
        return value
    (value,) = variant.values()
    return value


def _check_variant(version: GraphVersion, user, config: dict | None, variant: dict[str, Any]) -> RunConfig:
    if "disable" in variant or "params" in variant:
        document = variant_document(version.document, variant)
        what = f"Disabling {variant['disable'][0]}" if "disable" in variant else variant_label(variant)
        return check_run(version, config, user, document=document, broken=f"{what} breaks the graph")
    return check_run(version, {**(config or {}), **variant}, user)


def _refuse_repeats(param: str, values: list[Any]) -> None:
    for index, value in enumerate(values):
        if value in values[:index]:  # equal, not only the same spelling: 5 and 5.0 are one value
            raise RunRefused(f"{param} = {value} is listed twice: give each value once.")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"
