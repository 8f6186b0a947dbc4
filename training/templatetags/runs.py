"""Template helpers of the run pages: status badges, metric formatting, the run panel of a version."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import filesizeformat

from graphs.templatetags.pages import compact
from training.forms import run_form
from training.listing import run_rows, total_steps
from training.models import Run, Status

register = template.Library()

STATUS_BADGES = {
    Status.QUEUED: "badge-muted",
    Status.RUNNING: "badge-accent",
    Status.PAUSED: "badge-warn",
    Status.SUCCEEDED: "badge-ok",
    Status.FAILED: "badge-error",
    Status.CANCELLED: "badge-warn",
}


@register.filter
def status_badge(status: str) -> str:
    """The badge class of a run status (``"succeeded"`` → ``"badge-ok"``)."""
    return STATUS_BADGES.get(status, "badge-muted")


def _number(value, digits: int = 4) -> str:
    if abs(value) >= 1e5 or (value != 0 and abs(value) < 1e-3):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


@register.filter
def metric(value, fmt: str = "text") -> str:
    """A metric for people: ``1536, "bytes"`` → ``"1.5 KB"``, ``12.34, "ms"`` → ``"12.3 ms"``; None → "—"."""
    if value is None or value == "":
        return "—"
    if fmt == "text" or not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    if fmt == "count":
        return compact(value)
    if fmt == "bytes":
        return filesizeformat(value)
    if fmt == "ms":
        if value >= 1000:
            return f"{value / 1000:.2f} s"
        return f"{value:.3g} ms" if value < 100 else f"{value:.0f} ms"
    if fmt == "s":
        return f"{value:.2f} s" if value < 60 else f"{int(value // 60)} min {round(value % 60)} s"
    if fmt == "rate":
        return f"{value:,.0f}/s" if value >= 100 else f"{value:.3g}/s"
    if fmt == "percent":
        return f"{100 * value:.1f} %"
    return _number(float(value))


@register.filter
def progress_of(run: Run) -> dict:
    """Step, total, percentage and loss of a run from its latest progress event (``run.latest``)."""
    latest = getattr(run, "latest", None) or {}
    total = latest.get("total") or total_steps(run.config) or 0
    step = latest.get("step") or 0
    if run.status == Status.SUCCEEDED:
        step = total or step
    loss = (run.metrics or {}).get("loss", latest.get("loss"))
    percent = int(100 * step / total) if total else 0
    return {"step": step, "total": total, "percent": max(0, min(percent, 100)), "loss": loss}


@register.inclusion_tag("training/_recent_runs.html", takes_context=True)
def recent_runs(context, limit: int = 5) -> dict:
    """The user's latest runs (a dashboard panel; nothing for a user who never ran anything)."""
    user = context.get("user")
    runs = run_rows(Run.objects.filter(user=user), limit=limit) if getattr(user, "is_authenticated", False) else []
    return {"runs": runs, "show_graph": True}


@register.inclusion_tag("training/_run_panel.html", takes_context=True)
def run_panel(context, version) -> dict:
    """The "Smoke training" panel of a version: the run form and the version's latest runs."""
    return {
        "request": context.get("request"),
        "user": context.get("user"),
        "csrf_token": context.get("csrf_token"),
        "graph": version.graph,
        "version": version,
        "form": run_form(context.get("user"), version),
        "runs": run_rows(Run.objects.filter(version=version), limit=5),
    }
