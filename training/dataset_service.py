"""Creating, checking and deleting datasets: the one place pages and the API go through.

Parsing lives in :mod:`training.datasets` (no Django); this module adds the caps from settings, the
permission checks (``graphs.permissions.dataset_access``, the same rules as graphs) and storage.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.utils.text import get_valid_filename

import codegen
from graphs.models import Team, Visibility
from graphs.permissions import dataset_access, team_access
from graphs.services import ServiceError, check_json, engine_limits, require
from training.datasets import DatasetError, Limits, input_shape_problem, parse_upload
from training.models import Dataset

SUFFIX = {"csv": ".csv", "arrays": ".npz", "images": ".zip"}


def dataset_limits() -> Limits:
    caps = settings.TORCHCANVAS_DATASETS
    return Limits(
        max_upload_bytes=caps["max_upload_bytes"],
        max_uncompressed_bytes=caps["max_uncompressed_bytes"],
        max_files=caps["max_files"],
        max_columns=caps["max_columns"],
        max_classes=caps["max_classes"],
        max_image_side=caps["max_image_side"],
    )


def create_dataset(
    user,
    upload,
    *,
    kind: str,
    name: str = "",
    input_columns: list[str] | None = None,
    target_column: str | None = None,
    team: Team | None = None,
    visibility: str = Visibility.PRIVATE,
) -> Dataset:
    """Validate ``upload`` (a file object) and store it as a new dataset; ``ServiceError`` says what is wrong."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied("Log in first.")
    if team is not None:
        require(team_access(user, team), "edit", "team", "add datasets to it (editors and admins can)")
    if visibility == Visibility.TEAM and team is None:
        raise ServiceError("visibility: a team dataset needs a team.")
    upload.seek(0)
    try:
        facts = parse_upload(
            kind, upload, dataset_limits(), input_columns=input_columns or None, target_column=target_column or None
        )
    except DatasetError as exc:
        raise ServiceError(str(exc)) from None
    upload.seek(0)
    original = getattr(upload, "name", "") or "dataset"
    dataset = Dataset(
        owner=user,
        team=team,
        visibility=visibility,
        name=(name or original.rsplit("/", 1)[-1])[:120],
        kind=kind,
        facts=facts,
    )
    stem = get_valid_filename(original.rsplit(".", 1)[0])[:60] or "dataset"
    dataset.file.save(stem + SUFFIX[kind], ContentFile(upload.read()), save=False)
    dataset.save()
    return dataset


def delete_dataset(user, dataset: Dataset) -> None:
    require(dataset_access(user, dataset), "admin", "dataset", "delete it")
    if dataset.file:
        dataset.file.delete(save=False)
    dataset.delete()


def check_document(dataset: Dataset, document: dict) -> dict | None:
    """The diagnostic (as a dict) when the document's Input does not take the dataset's samples, else None."""
    problem = input_shape_problem(document, dataset.facts)
    return problem.to_dict() if problem is not None else None


def check_drawing(dataset: Dataset, document: Any) -> dict | None:
    """:func:`check_document` for a document sent by a client (an unsaved drawing): checked like one being
    saved (JSON, size caps, parsing) first, so what cannot be a graph is a ``ServiceError`` or
    ``codegen.GraphError`` (400), never a crash."""
    if not isinstance(document, dict):
        raise ServiceError("document: expected a graph document (a JSON object with nodes, edges, inputs, outputs).")
    check_json(document)
    codegen.load_graph(document, limits=engine_limits())
    return check_document(dataset, document)
