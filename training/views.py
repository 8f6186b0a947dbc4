"""The run pages: queue a run from a graph version, a run live, the runs list, compare runs.

Like the graph pages, views look the object up, ask who may see it (:mod:`training.access`, built on
:mod:`graphs.permissions`), call the dispatcher, render. A run the user may not see is a 404; the
dispatcher's refusals (caps, invalid graph) become a message next to the form, never a 500.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST

from graphs.models import Graph, GraphVersion
from graphs.permissions import graph_access
from training import dispatch, labels, monitor
from training.access import may_cancel, visible_run, visible_runs
from training.checkpoints import NoWeights, weights_download
from training.forms import CONFIG_FIELDS, DATASET_FIELDS, RunLabelsForm, run_form
from training.listing import curves, run_rows, total_steps, with_progress
from training.models import UNSENT, Run, Status

RUNS_PER_PAGE = 25
MAX_COMPARED = 8


# --- helpers ---------------------------------------------------------------------------------------


def _run(request: HttpRequest, pk: int) -> Run:
    run = visible_run(request.user, pk)
    if run is None:
        raise Http404("There is no run here, or its graph is not shared with you.")
    return run


def _graph_version(request: HttpRequest, pk: int, number: int) -> tuple[Graph, GraphVersion]:
    graph = Graph.objects.filter(pk=pk).first()
    if graph is None or not graph_access(request.user, graph):
        raise Http404("There is no graph here, or it is not shared with you.")
    return graph, get_object_or_404(GraphVersion, graph=graph, number=number)


# Metrics the table below shows by name; the graph's own metrics (train_<name>, val_<name>) follow them.
_NAMED_METRICS = {"val_loss", "val_accuracy", "val_mae", "val_curve", "train_loss"}


def _measured_keys(runs: list[Run]) -> list[str]:
    """The graph's own metrics these runs report (``train_accuracy``, ``val_top5``), in order of appearance."""
    keys: list[str] = []
    for run in runs:
        for key, value in (run.metrics or {}).items():
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if key.startswith(("train_", "val_")) and key not in _NAMED_METRICS and numeric and key not in keys:
                keys.append(key)
    return keys


def _measured_label(key: str) -> str:
    stage, _, name = key.partition("_")
    return f"{'Train' if stage == 'train' else 'Validation'} {name}"


def _metric_rows(run: Run, measured: list[str] | None = None) -> list[tuple[str, object, str]]:
    """The metrics table: (label, value, format) with ``None`` for what is not known (yet); ``measured``: the
    graph's own metrics to show (default: the run's)."""
    m = run.metrics or {}
    measured = _measured_keys([run]) if measured is None else measured
    optimizer = f"{m['optimizer']} (lr {m['lr']:g}), the graph's" if m.get("optimizer") and "lr" in m else None
    memory = {"cuda": "Peak memory (CUDA)", "rss": "Peak memory (process)"}.get(m.get("memory_kind"), "Peak memory")
    return [
        ("Worker", run.worker or None, "text"),
        ("Device", run.device or None, "text"),
        ("PyTorch", run.torch_version or None, "text"),
        ("Parameters", run.params_total if run.params_total is not None else m.get("params_total"), "count"),
        ("Samples / s", m.get("samples_per_s"), "rate"),
        ("Step time (median)", m.get("step_time_ms"), "ms"),
        ("First step", m.get("first_step_ms"), "ms"),
        (memory, m.get("peak_memory_bytes"), "bytes"),
        ("Gradient norm", m.get("grad_norm"), "float"),
        ("First loss", m.get("first_loss"), "float"),
        ("Final loss", m.get("loss"), "float"),
        ("Lowest loss", m.get("min_loss"), "float"),
        ("Validation loss", m.get("val_loss"), "float"),
        ("Validation accuracy", m.get("val_accuracy"), "percent"),
        ("Validation MAE", m.get("val_mae"), "float"),
        ("Best epoch", m.get("best_epoch"), "count"),
        ("Epochs done", m.get("epochs_done"), "count"),
        ("Stopped", STOPPED.get(m.get("stopped")), "text"),
        ("Resumed from step", m.get("resumed_from_step"), "count"),
        ("Training time", m.get("elapsed_s"), "s"),
        ("Optimizer", optimizer, "text"),
        ("Trainable parameters", m.get("params_trainable"), "count"),
        *((_measured_label(key), m.get(key), "float") for key in measured),
    ]


STOPPED = {"user": "early, when asked", "early_stop": "early: no more improvement"}


def _config_rows(run: Run) -> list[tuple[str, object]]:
    """The config as the run's page lists it; a dataset by its name."""
    names = [*CONFIG_FIELDS, *(name for name in DATASET_FIELDS if name in run.config)]
    rows = [(name, run.config.get(name, "—")) for name in names if name in run.config or name in CONFIG_FIELDS]
    if run.dataset is not None:
        rows = [(name, run.dataset.name if name == "dataset" else value) for name, value in rows]
    return rows


def _summary_context(request: HttpRequest, run: Run) -> dict:
    return {
        "run": run,
        "graph": run.version.graph,
        "version": run.version,
        "metric_rows": _metric_rows(run),
        "config_rows": _config_rows(run),
        "can_cancel": not run.terminal and may_cancel(request.user, run),
        "can_pause": run.status == Status.RUNNING and may_cancel(request.user, run),
        "can_resume": run.status == Status.PAUSED and may_cancel(request.user, run),
    }


# --- queue a run -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def run_new(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """The run form of one version: a full page, or the version page's panel when htmx posts it."""
    graph, version = _graph_version(request, pk, number)
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    start_from = request.GET.get("from_run", "")
    initial = {"init_from_run": int(start_from)} if start_from.isdigit() else None
    form = run_form(request.user, version, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            run = dispatch.queue_run(
                version, request.user, form.config(), name=form.cleaned_data["name"], tags=form.cleaned_data["tags"]
            )
        except dispatch.RunRefused as exc:
            form.add_error(None, exc.message)
        else:
            url = run.get_absolute_url()
            run.refresh_from_db(fields=["status", "dispatched_at"])
            if run.unsent:  # the broker is away: say so on the run's page, whichever way it was queued
                messages.warning(request, f"Run {run.pk} of {graph.name} v{version.number}: {UNSENT}")
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            if not run.unsent:
                messages.success(request, f"Queued run {run.pk} of {graph.name} v{version.number}.")
            return redirect(url)
    context = {
        "graph": graph,
        "version": version,
        "form": form,
        "runs": run_rows(Run.objects.filter(version=version), limit=5),
    }
    template = "training/_run_panel.html" if request.htmx else "training/run_new.html"
    response = TemplateResponse(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- one run ---------------------------------------------------------------------------------------


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    context = _summary_context(request, run)
    if request.htmx and request.htmx.target == "run-summary":
        response = TemplateResponse(request, "training/_run_summary.html", context)
    else:
        context.update(
            access=graph_access(request.user, run.version.graph),
            events_url=reverse("api-run-events", args=[run.pk]),
            ws_path=f"/ws/runs/{run.pk}/",
            total=total_steps(run.config),
            **_labels_context(request, run),
            report=monitor.report_of_run(run),
            interval_s=monitor.report_interval(),
        )
        response = TemplateResponse(request, "training/run_detail.html", context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _labels_context(request: HttpRequest, run: Run, form: RunLabelsForm | None = None) -> dict:
    editable = may_cancel(request.user, run)
    if form is None and editable:
        form = RunLabelsForm(initial={"name": run.name, "tags": ", ".join(labels.tag_names(run))})
    return {"run": run, "tags": labels.tag_names(run), "label_form": form, "can_edit_labels": editable}


@login_required
@require_POST
def run_labels(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename or retag a run from its page (htmx swaps the heading's labels in place)."""
    run = _run(request, pk)
    if not may_cancel(request.user, run):
        raise PermissionDenied("Only the person who queued this run, or an admin of its graph, can edit it.")
    form = RunLabelsForm(request.POST)
    if form.is_valid():
        labels.set_labels(run, name=form.cleaned_data["name"], tags=form.cleaned_data["tags"])
        form = None
    if request.htmx:
        return TemplateResponse(request, "training/_run_labels.html", _labels_context(request, run, form))
    if form is not None:
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
    return redirect(run)


@login_required
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    if not may_cancel(request.user, run):
        raise PermissionDenied("Only the person who queued this run, or an admin of its graph, can cancel it.")
    if run.terminal:
        messages.info(request, f"Run {run.pk} has already {run.get_status_display().lower()}.")
    else:
        run = dispatch.cancel_run(run, request.user)
    if request.htmx:
        return TemplateResponse(request, "training/_run_summary.html", _summary_context(request, run))
    if run.terminal:
        messages.success(request, f"Run {run.pk} is {run.get_status_display().lower()}.")
    else:
        messages.success(request, f"Cancelling run {run.pk}: it stops after the current step.")
    return redirect(run)


def _control(request: HttpRequest, pk: int, act, done: str) -> HttpResponse:
    """Pause, resume or stop a run from its page (htmx swaps the summary; a refusal is said there)."""
    run = _run(request, pk)
    try:
        run = act(run, request.user)
    except dispatch.RunRefused as exc:
        messages.error(request, exc.message)
        run.refresh_from_db()
    else:
        messages.success(request, done.format(run=run))
    if request.htmx:
        return TemplateResponse(request, "training/_run_summary.html", _summary_context(request, run))
    return redirect(run)


@login_required
@require_POST
def run_pause(request: HttpRequest, pk: int) -> HttpResponse:
    return _control(
        request, pk, dispatch.pause_run, "Pausing run {run.pk}: it saves a checkpoint after its current step."
    )


@login_required
@require_POST
def run_resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _control(
        request, pk, dispatch.resume_run, "Run {run.pk} is queued again: the first free worker continues it."
    )


@login_required
@require_POST
def run_stop(request: HttpRequest, pk: int) -> HttpResponse:
    return _control(request, pk, dispatch.stop_run, "Stopping run {run.pk}: it finishes with its results so far.")


@login_required
def run_weights(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """A run's trained weights (its model's ``state_dict``) as safetensors or ``.pt``."""
    try:
        return weights_download(_run(request, pk), fmt)
    except NoWeights as exc:
        raise Http404(exc.message) from None


# --- the worker monitor ----------------------------------------------------------------------------


@login_required
def worker_list(request: HttpRequest) -> HttpResponse:
    """Workers online, their figures and runs, the queue lengths; ``workers_live.js`` keeps it current."""
    context = {"snapshot": monitor.snapshot(request.user), "ttl_s": monitor.report_ttl()}
    return TemplateResponse(request, "training/worker_list.html", context)


@login_required
def run_worker(request: HttpRequest, pk: int) -> HttpResponse:
    """The figures of the worker executing a run (the run page polls this fragment while the run is active)."""
    run = _run(request, pk)
    context = {"run": run, "report": monitor.report_of_run(run), "interval_s": monitor.report_interval()}
    return TemplateResponse(request, "training/_run_worker.html", context)


# --- lists -----------------------------------------------------------------------------------------


@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    runs = visible_runs(request.user)
    scope = request.GET.get("scope", "")
    if scope == "mine":
        runs = runs.filter(user=request.user)
    graph = None
    graph_id = request.GET.get("graph", "")
    if graph_id.isdigit():
        graph = Graph.objects.filter(pk=int(graph_id)).first()
        if graph is None or not graph_access(request.user, graph):
            raise Http404("There is no graph here, or it is not shared with you.")
        runs = runs.filter(version__graph=graph)
    status = request.GET.get("status", "")
    if status in dict(Run._meta.get_field("status").choices):
        runs = runs.filter(status=status)
    query = request.GET.get("q", "").strip()[:120]
    if query:
        runs = runs.filter(name__icontains=query)
    tag = request.GET.get("tag", "").strip().lower()[:40]
    if tag:
        runs = runs.filter(tags__name=tag)
    rows = with_progress(runs.select_related("version", "version__graph", "user").prefetch_related("tags"))
    page = Paginator(rows, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "scope": scope,
        "graph": graph,
        "status": status,
        "statuses": Run._meta.get_field("status").choices,
        "query": query,
        "tag": tag,
        "filtered": bool(scope or graph or status or query or tag),
    }
    template = "training/_run_rows.html" if request.htmx and request.htmx.target == "run-rows" else None
    response = TemplateResponse(request, template or "training/run_list.html", context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _ids(request: HttpRequest) -> list[int]:
    ids: list[int] = []
    for value in request.GET.getlist("ids"):
        for part in value.split(","):
            part = part.strip()
            if part.isdigit() and int(part) not in ids:
                ids.append(int(part))
    return ids


@login_required
def run_compare(request: HttpRequest) -> HttpResponse:
    ids = _ids(request)[:MAX_COMPARED]
    found = {run.pk: run for run in run_rows(visible_runs(request.user).filter(pk__in=ids))}
    if len(found) != len(ids):
        raise Http404("One of these runs does not exist, or its graph is not shared with you.")
    runs = [found[i] for i in ids]
    # One row per config key and per metric, one column per run; rows whose values differ are marked.
    config_rows = []
    used = [name for name in DATASET_FIELDS if any(name in run.config for run in runs)]
    for name in (*CONFIG_FIELDS, *used):
        values = [run.config.get(name) for run in runs]
        config_rows.append((name, values, len({json.dumps(v) for v in values}) > 1))
    measured = _measured_keys(runs)
    tables = [_metric_rows(run, measured)[1:] for run in runs]  # all but the worker's host name
    metric_rows = [
        (label, fmt, [table[i][1] for table in tables]) for i, (label, _, fmt) in enumerate(tables[0] if runs else [])
    ]
    graphs = {run.version.graph_id for run in runs}
    numbers = sorted({run.version.number for run in runs})
    diff_url = None
    if len(graphs) == 1 and len(numbers) > 1:
        diff_url = f"{reverse('graph-diff', args=[runs[0].version.graph_id])}?from={numbers[0]}&to={numbers[-1]}"
    context = {
        "runs": runs,
        "config_rows": config_rows,
        "metric_rows": metric_rows,
        "curves": curves(runs, [f"#{run.pk} · {run.version.graph.name} v{run.version.number}" for run in runs]),
        "diff_url": diff_url,
        "max_compared": MAX_COMPARED,
    }
    return TemplateResponse(request, "training/run_compare.html", context)
