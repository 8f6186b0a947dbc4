"""The pages of run sets: start an ablation matrix or a sweep from a version, and a set's table and curves.

The set page's table sorts on the server (``?sort=loss``, ``?sort=-loss``: links in the column heads, no
script needed); while any run is queued or running, htmx reloads the table every few seconds.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST

from graphs.permissions import visible_datasets
from torchcanvas_site.htmx import go
from training import dispatch
from training.access import may_cancel, visible_sets
from training.forms import DocumentRecipe, RunConfigForm, open_inputs
from training.listing import curves, run_rows
from training.models import ACTIVE, SetKind
from training.run_sets import SWEEPABLE, cancel_set, node_params, queue_set, variant_label
from training.views import _graph_version

POLL_S = 3
# (key, heading, format of the metric filter); the val_* columns only show when a run reported them.
COLUMNS = (
    ("variant", "Variant", "text"),
    ("status", "Status", "text"),
    ("loss", "Final loss", "float"),
    ("val_loss", "Val loss", "float"),
    ("val_accuracy", "Val accuracy", "float"),
    ("params", "Parameters", "count"),
    ("step_time_ms", "Step time", "ms"),
    ("samples_per_s", "Samples / s", "rate"),
)
OPTIONAL_COLUMNS = ("val_loss", "val_accuracy")


class RunSetForm(RunConfigForm):
    """A run form (the shared config, the set's name and tags) plus what varies: nodes, or a field's values."""

    kind = forms.ChoiceField(
        choices=SetKind.choices, initial=SetKind.ABLATION, widget=forms.RadioSelect, label="What to queue"
    )
    nodes = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Disable, one run each",
        help_text="Each run trains the version with one of these disabled (it passes its input through).",
    )
    baseline = forms.BooleanField(required=False, initial=True, label="Also a baseline run (nothing disabled)")
    param = forms.ChoiceField(required=False, label="What varies")
    values = forms.CharField(
        required=False,
        max_length=500,
        label="Values",
        help_text="Comma-separated, one run each: 0.1, 0.01, 0.001 or adam, sgd (a node parameter: 0.1, 0.3, 0.5)",
        widget=forms.TextInput(attrs={"placeholder": "0.1, 0.01, 0.001"}),
    )

    declared_axis = ("kind", "nodes", "baseline", "param", "values")

    def __init__(self, *args, document: dict[str, Any], **kwargs):
        super().__init__(*args, open_inputs=open_inputs(document), recipe=DocumentRecipe.of(document), **kwargs)
        self.more_fields = [name for name in self.more_fields if name not in self.declared_axis]
        self.fields["name"].help_text = "Optional; default: the kind, graph and version. Each run adds its variant."
        self.fields["param"].choices = [
            ("Run config", [(name, name) for name in SWEEPABLE]),
            ("Node parameters", [(name, name) for name in node_params(document)]),
        ]
        self.fields["nodes"].choices = [
            (node["id"], f"{node['id']} ({node.get('type', '?')})")
            for node in document.get("nodes", [])
            if isinstance(node, dict) and node.get("type") != "Input" and not node.get("disabled")
        ]

    def clean_values(self) -> list[int | float | str]:
        return [_value(part.strip()) for part in self.cleaned_data["values"].split(",") if part.strip()]


def _value(text: str) -> int | float | str:
    """``"3"`` → 3, ``"1e-3"`` → 0.001, ``"adam"`` → ``"adam"``: a typed value, as JSON would give it."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


@require_http_methods(["GET", "POST"])
def run_set_new(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    graph, version = _graph_version(request, pk, number)
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    form = RunSetForm(
        request.POST or None, caps=dispatch.caps(), document=version.document, datasets=visible_datasets(request.user)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run_set = queue_set(
                version,
                request.user,
                data["kind"],
                nodes=data["nodes"],
                baseline=data["baseline"],
                param=data["param"],
                values=data["values"],
                config=form.config(),
                name=data["name"],
                tags=data["tags"],
            )
        except dispatch.RunRefused as exc:
            form.add_error(None, exc.message)
        else:
            return redirect(run_set)
    context = {"graph": graph, "version": version, "form": form, "caps": dispatch.caps()}
    return TemplateResponse(request, "training/run_set_new.html", context)


def _run_set(request: HttpRequest, pk: int):
    run_set = visible_sets(request.user).select_related("version__graph", "user").filter(pk=pk).first()
    if run_set is None:
        raise Http404("There is no set of runs here, or its graph is not shared with you.")
    return run_set


@login_required
@require_POST
def run_set_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run_set = _run_set(request, pk)
    cancelled = cancel_set(run_set, request.user)  # 403 with its sentence for someone who may only look
    if cancelled:
        messages.success(request, f"Cancelling {cancelled} run{'s' if cancelled != 1 else ''} of {run_set.name}.")
    else:
        messages.info(request, f"Every run of {run_set.name} has already finished.")
    return go(request, run_set)


@login_required
def run_set_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run_set = _run_set(request, pk)
    runs = run_rows(run_set.runs.order_by("pk"))
    rows = [_row(run) for run in runs]
    labels = [row["label"] for row in rows]  # the curves keep the queue's order, as the chart's colours do
    shown = [c for c in COLUMNS if c[0] not in OPTIONAL_COLUMNS or any(r["values"][c[0]] is not None for r in rows)]
    for row in rows:
        row["cells"] = [{"key": key, "fmt": fmt, "value": row["values"][key]} for key, _, fmt in shown]
    sort = request.GET.get("sort", "")
    key = sort.removeprefix("-")
    if key in {c[0] for c in shown}:
        rows = _sorted(rows, key, descending=sort.startswith("-"))
    else:
        sort = key = ""
    context = {
        "run_set": run_set,
        "graph": run_set.version.graph,
        "version": run_set.version,
        "columns": [_heading(column, sort) for column in shown],
        "rows": rows,
        "sort": sort,
        "active": any(run.status in ACTIVE for run in runs),
        "can_cancel": may_cancel(request.user, run_set),
        "poll_s": POLL_S,
    }
    if request.htmx and request.htmx.target == "run-set-table":
        response = TemplateResponse(request, "training/_run_set_table.html", context)
        if not context["active"]:
            response["HX-Refresh"] = "true"  # the last run ended: load the page again, its curves complete
    else:
        context["curves"] = curves(runs, labels)
        response = TemplateResponse(request, "training/run_set_detail.html", context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _row(run) -> dict:
    metrics = run.metrics or {}
    label = variant_label(run.variant)
    values = {
        "variant": label,
        "status": run.get_status_display(),
        "params": run.params_total if run.params_total is not None else metrics.get("params_total"),
        **{key: metrics.get(key) for key in ("loss", "val_loss", "val_accuracy", "step_time_ms", "samples_per_s")},
    }
    return {"run": run, "label": label, "values": values}


def _sorted(rows: list[dict], key: str, *, descending: bool) -> list[dict]:
    """Rows by ``key``, the runs without a value last either way (then in the order they were queued)."""
    known = [row for row in rows if row["values"][key] is not None]
    unknown = [row for row in rows if row["values"][key] is None]
    known.sort(key=lambda row: (_order(row["values"][key]), row["run"].pk), reverse=descending)
    return known + unknown


def _order(value: Any) -> tuple:
    """Numbers by size, anything else as text after them (metrics are JSON: a column might mix kinds)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))


def _heading(column: tuple[str, str, str], sort: str) -> dict:
    key, label, fmt = column
    state = "ascending" if sort == key else "descending" if sort == f"-{key}" else "none"
    # A click sorts ascending, a second click on the same column descending.
    return {"key": key, "label": label, "fmt": fmt, "aria_sort": state, "next": f"-{key}" if sort == key else key}
