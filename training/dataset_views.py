"""The dataset pages: the list with the upload form, a dataset's preview, its image samples, delete.

Like the graph pages: look the dataset up among those the user may see (404 otherwise), call the service,
render. A refused upload shows the service's sentence above the form, never a 500.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from graphs.forms import TeamPlacementMixin
from graphs.permissions import dataset_access, visible_datasets
from graphs.services import ServiceError
from training import dataset_service
from training.datasets import BUILTINS, DatasetError, csv_preview, sample_png
from training.models import Dataset, DatasetKind


class DatasetUploadForm(TeamPlacementMixin):
    file = forms.FileField(label="File", help_text=".csv, .npz (arrays x and y) or .zip of class folders of images")
    kind = forms.ChoiceField(choices=DatasetKind.choices, initial=DatasetKind.CSV)
    name = forms.CharField(required=False, max_length=120, help_text="Leave empty to use the file's name.")
    input_columns = forms.CharField(
        required=False, max_length=100_000, help_text="CSV: comma-separated names; empty: every column but the target."
    )
    target_column = forms.CharField(required=False, max_length=200, help_text="CSV: empty: the last column.")

    field_order = ["file", "kind", "name", "input_columns", "target_column", "visibility", "team"]
    placed = "dataset"


def _dataset(request: HttpRequest, pk: int) -> Dataset:
    dataset = visible_datasets(request.user).select_related("owner", "team").filter(pk=pk).first()
    if dataset is None:
        raise Http404("There is no dataset here, or it is not shared with you.")
    return dataset


def dataset_list(request: HttpRequest) -> HttpResponse:
    form = None
    if request.user.is_authenticated:
        form = DatasetUploadForm(request.POST or None, request.FILES or None, user=request.user)
    elif request.method == "POST":
        return redirect_to_login(request.get_full_path())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            dataset = dataset_service.create_dataset(
                request.user,
                data["file"],
                kind=data["kind"],
                name=data["name"],
                input_columns=[name.strip() for name in data["input_columns"].split(",") if name.strip()],
                target_column=data["target_column"].strip() or None,
                team=data.get("team"),
                visibility=data["visibility"],
            )
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Uploaded “{dataset.name}”: {dataset.facts['samples']} samples.")
            return redirect(dataset)
    datasets = visible_datasets(request.user).select_related("owner", "team")
    context = {
        "datasets": datasets,
        "form": form,
        "descriptions": {slug: spec[2] for slug, spec in BUILTINS.items()},
        "max_bytes": settings.TORCHCANVAS_DATASETS["max_upload_bytes"],
    }
    return TemplateResponse(request, "training/dataset_list.html", context, status=400 if form and form.errors else 200)


def dataset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = _dataset(request, pk)
    facts = dataset.facts
    rows = []
    if dataset.kind == "csv":
        with dataset.open() as stream:
            rows = csv_preview(stream)
    top = max((item["count"] for item in facts.get("classes", [])), default=0)
    context = {
        "dataset": dataset,
        "facts": facts,
        "access": dataset_access(request.user, dataset),
        "rows": rows,
        "classes": facts.get("classes", []),
        "top": top,
        "description": BUILTINS[dataset.builtin][2] if dataset.builtin in BUILTINS else "",
    }
    return TemplateResponse(request, "training/dataset_detail.html", context)


def dataset_sample(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    dataset = _dataset(request, pk)
    if dataset.kind != "images":
        raise Http404("Only image datasets have image samples.")
    try:
        with dataset.open() as stream:
            png = sample_png(stream, dataset.facts, index)
    except DatasetError as exc:
        raise Http404(str(exc)) from None
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"  # a stored dataset never changes
    return response


@require_POST
def dataset_delete(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = _dataset(request, pk)
    dataset_service.delete_dataset(request.user, dataset)  # 403 for someone who may only look
    messages.success(request, f"Deleted “{dataset.name}”.")
    return redirect("dataset-list")
