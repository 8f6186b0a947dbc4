"""Runs as the pages show them: the latest progress of each in the same query, step totals, the caps."""

from __future__ import annotations

import math

from django.db.models import JSONField, OuterRef, QuerySet, Subquery

from training.models import Run, RunEvent


def total_steps(config: dict) -> int | None:
    """Steps × epochs of a stored config, or ``None`` if it does not say."""
    steps, epochs = config.get("steps"), config.get("epochs", 1)
    return steps * epochs if isinstance(steps, int) and isinstance(epochs, int) else None


def with_progress(runs: QuerySet[Run]) -> QuerySet[Run]:
    """Annotate each run with the payload of its latest progress event (``latest``), in the same query."""
    latest = RunEvent.objects.filter(run=OuterRef("pk"), kind="progress").order_by("-seq").values("payload")[:1]
    return runs.annotate(latest=Subquery(latest, output_field=JSONField()))


def run_rows(runs: QuerySet[Run], limit: int | None = None) -> list[Run]:
    """Runs ready for a list: graph, version and author loaded, latest progress attached."""
    rows = with_progress(runs.select_related("version", "version__graph", "user"))
    return list(rows[:limit] if limit is not None else rows)


def _point(step, loss) -> list[float] | None:
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (step, loss))
    return [step, loss] if numbers else None


def loss_curve(run: Run) -> list[list[float]]:
    """``[[step, loss], …]``: the finished run's curve (every step, thinned when long), else its progress events
    (throttled, so fewer points)."""
    curve = (run.metrics or {}).get("loss_curve")
    if isinstance(curve, list) and curve:
        points = [_point(*p) for p in curve if isinstance(p, list | tuple) and len(p) == 2]
    else:
        payloads = (
            RunEvent.objects.filter(run_id=run.pk, kind="progress").order_by("seq").values_list("payload", flat=True)
        )
        points = [_point(p.get("step"), p.get("loss")) for p in payloads if isinstance(p, dict)]
    return [p for p in points if p is not None]


def curves(runs: list[Run], labels: list[str]) -> list[dict]:
    """The series of an overlaid loss chart (``[data-compare-chart]`` reads them from ``json_script``
    "run-curves"): one per run, named by ``labels``."""
    return [
        {"id": run.pk, "label": label, "points": loss_curve(run), "val_points": run.metrics.get("val_curve") or []}
        for run, label in zip(runs, labels, strict=True)
    ]
