"""The datasets API: list the datasets you may see, upload one (multipart), read, delete, preview, check.

Permissions are the graphs' (``graphs.permissions.dataset_access``): datasets you may not see answer 404,
writing needs a login (401), deleting needs to be the owner or a team admin (403 otherwise). Uploads are
capped by ``TORCHCANVAS_DATASET_MAX_BYTES`` (not the general body cap) and validated before anything is
stored; a refusal is 400 with one sentence naming the row, column or file.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from graphs.api import ERRORS, ID, NUMBER, ActionSerializers, Pages, QuerySerializer
from graphs.permissions import visible_datasets, visible_graphs
from graphs.serializers import VISIBILITIES, StrictSerializer, TeamSlugField
from torchcanvas_site.api import CappedJSONParser, RequestTooLarge, content_length
from torchcanvas_site.bodylimit import MULTIPART_ALLOWANCE, body_limit_message
from training import dataset_service
from training.datasets import KINDS, DatasetError, csv_preview, sample_png
from training.models import Dataset


class DatasetSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    team = serializers.CharField(source="team.slug", allow_null=True, default=None)
    kind = serializers.ChoiceField(choices=KINDS, read_only=True)
    visibility = serializers.ChoiceField(choices=VISIBILITIES, read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True, help_text="The preview page.")
    facts = serializers.JSONField(
        help_text="What validation found: samples, input_shape (without batch), dtype, task "
        "(classification|regression), classes [{name, count}] (index = position), columns, input_columns, "
        "target_column (CSV), size_bytes."
    )

    class Meta:
        model = Dataset
        fields = ["id", "name", "kind", "owner", "team", "visibility", "builtin", "facts", "created_at", "url"]


class DatasetDetailSerializer(DatasetSerializer):
    rows = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="CSV: the first rows, as text (other kinds: empty).",
    )
    samples = serializers.ListField(
        child=serializers.CharField(), help_text="Images: URLs of a few samples as PNG (other kinds: empty)."
    )

    class Meta(DatasetSerializer.Meta):
        fields = [*DatasetSerializer.Meta.fields, "rows", "samples"]


class DatasetUploadSerializer(StrictSerializer):
    file = serializers.FileField(help_text="The dataset file: .csv, .npz (x and y), or .zip of class folders.")
    kind = serializers.ChoiceField(choices=KINDS, help_text="csv, arrays (NPZ) or images (ZIP).")
    name = serializers.CharField(max_length=120, required=False, help_text="Default: the file's name.")
    input_columns = serializers.CharField(
        max_length=100_000,
        required=False,
        help_text="CSV: comma-separated input column names (default: all but the target).",
    )
    target_column = serializers.CharField(
        max_length=200, required=False, help_text="CSV: the target column's name (default: the last column)."
    )
    team = TeamSlugField()
    visibility = serializers.ChoiceField(choices=VISIBILITIES, default="private")


class CheckQuery(QuerySerializer):
    graph = serializers.IntegerField(min_value=1, help_text="The graph (id).")
    version = serializers.IntegerField(required=False, min_value=1, help_text="Its version number (default: head).")


class CheckDrawingSerializer(StrictSerializer):
    document = serializers.DictField(help_text="The graph document (JSON v0.2), as drawn: saved or not.")


class CheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    diagnostic = serializers.JSONField(
        allow_null=True,
        help_text="code DATASET, message, node, and suggestion {action: set_param, node, param, value}: the fix.",
    )


class DatasetMultiPartParser(MultiPartParser):
    """Dataset uploads, refused from their ``Content-Length`` when over the dataset cap."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.TORCHCANVAS_DATASETS["max_upload_bytes"]
        declared = content_length((parser_context or {}).get("request"))
        if declared is not None and declared > limit + MULTIPART_ALLOWANCE:
            raise RequestTooLarge(body_limit_message(declared, limit))
        return super().parse(stream, media_type, parser_context)


def preview(dataset: Dataset) -> dict:
    """The first CSV rows, or the URLs of a few image samples, for the detail answer and the page."""
    rows, samples = [], []
    if dataset.kind == "csv":
        with dataset.open() as stream:
            rows = csv_preview(stream)
    elif dataset.kind == "images":
        samples = [reverse("api-dataset-sample", args=[dataset.pk, i]) for i in dataset.facts.get("preview", [])]
    return {"rows": rows, "samples": samples}


@extend_schema_view(
    list=extend_schema(summary="Datasets you may see (yours, your teams', the built-in ones)"),
    retrieve=extend_schema(summary="One dataset: its facts and a preview", responses={200: DatasetDetailSerializer}),
    destroy=extend_schema(summary="Delete a dataset (its owner or a team admin)", responses={204: None, **ERRORS}),
)
class DatasetViewSet(
    ActionSerializers,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsAuthenticatedOrReadOnly]
    pagination_class = Pages
    serializer_class = DatasetSerializer
    serializer_classes = {
        "create": DatasetUploadSerializer,
        "retrieve": DatasetDetailSerializer,
        "check": CheckDrawingSerializer,
    }
    lookup_value_regex = ID
    parser_classes = [DatasetMultiPartParser]  # uploads; the check's body is JSON (its own parser)

    def get_queryset(self):
        return visible_datasets(self.request.user).select_related("owner", "team")

    def retrieve(self, request, *args, **kwargs):
        dataset = self.get_object()
        body = {**DatasetSerializer(dataset).data, **preview(dataset)}
        return Response(body)

    @extend_schema(
        summary="Upload a dataset (multipart)",
        description="Validated before it is stored; a refusal is 400 naming the row, column or file at fault. "
        "413 past TORCHCANVAS_DATASET_MAX_BYTES.",
        request={"multipart/form-data": DatasetUploadSerializer},
        responses={201: DatasetSerializer, **ERRORS, 413: OpenApiResponse(description="The upload is too large.")},
    )
    def create(self, request, *args, **kwargs):
        data = self.validated_body()
        columns = [name.strip() for name in data.get("input_columns", "").split(",") if name.strip()]
        dataset = dataset_service.create_dataset(
            request.user,
            data["file"],
            kind=data["kind"],
            name=data.get("name", ""),
            input_columns=columns,
            target_column=data.get("target_column"),
            team=data.get("team"),
            visibility=data["visibility"],
        )
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        dataset_service.delete_dataset(self.request.user, instance)

    @extend_schema(
        summary="One image sample as PNG, at the dataset's size",
        responses={(200, "image/png"): OpenApiTypes.BINARY, 404: ERRORS[404]},
    )
    @action(detail=True, methods=["get"], url_path=rf"samples/(?P<index>{NUMBER})\.png")
    def sample(self, request, pk=None, index=None):
        dataset = self.get_object()
        if dataset.kind != "images":
            return Response({"detail": "Only image datasets have image samples."}, status=status.HTTP_404_NOT_FOUND)
        try:
            with dataset.open() as stream:
                png = sample_png(stream, dataset.facts, int(index))
        except DatasetError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_404_NOT_FOUND)
        return HttpResponse(png, content_type="image/png")

    @extend_schema(
        methods=["GET"],
        summary="Does a graph version's Input take this dataset's samples?",
        description="`diagnostic` is null when it does; otherwise it says why, and its `suggestion` is the fix "
        "(set the Input's shape to the dataset's).",
        parameters=[CheckQuery],
        request=None,
        responses={200: CheckSerializer, 400: ERRORS[400], 404: ERRORS[404]},
    )
    @extend_schema(
        methods=["POST"],
        summary="Does a drawing's Input take this dataset's samples? (unsaved edits)",
        description="The GET check for a document sent in the body (the canvas's current drawing, saved or "
        "not). The document is checked like one being saved: the body and size caps apply, and what cannot "
        "be parsed as a graph answers 400 with the engine's diagnostics. Nothing is stored.",
        request=CheckDrawingSerializer,
        responses={200: CheckSerializer, **ERRORS},
    )
    @action(detail=True, methods=["get", "post"], parser_classes=[CappedJSONParser])
    def check(self, request, pk=None):
        dataset = self.get_object()
        if request.method == "POST":
            problem = dataset_service.check_drawing(dataset, self.validated_body()["document"])
            return Response({"ok": problem is None, "diagnostic": problem})
        query = CheckQuery.parse(request)
        graph = get_object_or_404(visible_graphs(request.user).select_related("head"), pk=query["graph"])
        version = graph.head if "version" not in query else get_object_or_404(graph.versions, number=query["version"])
        if version is None:
            return Response({"detail": "This graph has no saved version."}, status=status.HTTP_400_BAD_REQUEST)
        problem = dataset_service.check_document(dataset, version.document)
        return Response({"ok": problem is None, "diagnostic": problem})
