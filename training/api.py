"""The runs API: queue a run of a graph version, list and read runs, cancel one, read its events.

A run is visible to whoever may see its graph (:mod:`training.access`); anything else answers 404 like
a run that does not exist. Refusals to queue are one sentence: 400 (config, caps, a version with
errors) or 429 (too many runs queued or running).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from codegen.checkpoint import WEIGHT_FORMATS
from graphs.api import ERRORS, ID, ActionSerializers, Pages, QuerySerializer
from graphs.engine_views import JSONOnlyNegotiation
from graphs.models import Graph
from graphs.permissions import visible_graphs
from graphs.serializers import ErrorSerializer
from graphs.services import clean_tags
from training import labels
from training.access import may_cancel, visible_runs
from training.checkpoints import NoWeights, weights_download
from training.dispatch import RunRefused, cancel_run, pause_run, queue_run, resume_run, stop_run
from training.listing import with_progress
from training.models import Status
from training.serializers import RunCreateSerializer, RunEventPageSerializer, RunLabelsSerializer, RunSerializer

EVENTS_PAGE = 200
MAX_EVENTS_PAGE = 1000


class RunFilters(QuerySerializer):
    graph = serializers.IntegerField(required=False, min_value=1, help_text="Only runs of this graph (id).")
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="Only runs of this version number (with `graph`)."
    )
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    mine = serializers.BooleanField(required=False, help_text="Only the runs you queued.")
    q = serializers.CharField(required=False, max_length=120, help_text="Search in run names (case-insensitive).")
    tag = serializers.CharField(required=False, max_length=40, help_text="Only runs with this tag.")


class WeightsQuery(QuerySerializer):
    format = serializers.ChoiceField(
        choices=WEIGHT_FORMATS, required=False, default="safetensors", help_text="safetensors (default) or pt."
    )


class EventQuery(QuerySerializer):
    after = serializers.IntegerField(
        required=False, min_value=0, default=0, help_text="Only events after this sequence number (default 0)."
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_EVENTS_PAGE,
        default=EVENTS_PAGE,
        help_text=f"At most this many (default {EVENTS_PAGE}, up to {MAX_EVENTS_PAGE}).",
    )


@extend_schema_view(
    list=extend_schema(
        summary="Runs you may see (on graphs you may see)",
        parameters=[RunFilters],
        responses={200: RunSerializer(many=True), 400: ERRORS[400]},
    ),
    retrieve=extend_schema(summary="One run"),
    create=extend_schema(
        summary="Queue a smoke training of a graph version",
        responses={
            201: RunSerializer,
            404: ERRORS[404],
            429: OpenApiResponse(ErrorSerializer, description="You have as many runs queued or running as allowed."),
        },
    ),
)
class RunViewSet(ActionSerializers, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]
    pagination_class = Pages
    serializer_class = RunSerializer
    serializer_classes = {"create": RunCreateSerializer, "partial_update": RunLabelsSerializer}
    lookup_value_regex = ID

    def get_queryset(self):
        runs = _runs(self.request.user)
        if self.action != "list":
            return runs
        filters = RunFilters.parse(self.request)
        if "graph" in filters:
            runs = runs.filter(version__graph_id=filters["graph"])
        if "version" in filters:
            runs = runs.filter(version__number=filters["version"])
        if "status" in filters:
            runs = runs.filter(status=filters["status"])
        if filters.get("mine"):
            runs = runs.filter(user=self.request.user)
        if filters.get("q", "").strip():
            runs = runs.filter(name__icontains=filters["q"].strip())
        if filters.get("tag", "").strip():
            runs = runs.filter(tags__name=filters["tag"].strip().lower())
        return runs

    def _response(self, run, code=status.HTTP_200_OK) -> Response:
        fresh = _runs(self.request.user).get(pk=run.pk)
        return Response(RunSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    def create(self, request, *args, **kwargs):
        data = self.validated_body()
        graph = get_object_or_404(visible_graphs(request.user).select_related("head"), pk=data["graph"])
        version = _version(graph, data.get("version"))
        run = queue_run(version, request.user, data.get("config"), name=data.get("name", ""), tags=data.get("tags", []))
        return self._response(run, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rename or retag a run",
        description="Give `name` (blank: the default name), `tags` (replacing the run's tags), or both. The "
        "person who queued the run, and the graph's admins, may edit it.",
        request=RunLabelsSerializer,
        responses={200: RunSerializer, 400: ERRORS[400], 403: ERRORS[403], 404: ERRORS[404]},
    )
    def partial_update(self, request, pk=None):
        run = self.get_object()
        if not may_cancel(request.user, run):
            raise PermissionDenied("Only the person who queued this run, or an admin of its graph, can edit it.")
        data = self.validated_body()
        name = labels.clean_name(data["name"]) if "name" in data else None
        tags = clean_tags(data["tags"]) if "tags" in data else None
        labels.set_labels(run, name=name, tags=tags)
        return self._response(run)

    @extend_schema(
        summary="Cancel a run",
        description="A queued run is cancelled at once; a running one stops after its current step (its status "
        "turns `cancelled` then). The person who queued it, and the graph's admins, may cancel it.",
        request=None,
        responses={
            200: RunSerializer,
            409: OpenApiResponse(ErrorSerializer, description="The run has already finished."),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = self.get_object()
        if run.terminal and may_cancel(request.user, run):
            return Response(
                {"detail": f"Run {run.pk} has already {run.status}: there is nothing to cancel."},
                status=status.HTTP_409_CONFLICT,
            )
        cancel_run(run, request.user)  # 403 with its sentence for someone who may only look
        return self._response(run)

    def _control(self, request, act) -> Response:
        run = self.get_object()
        return self._response(act(run, request.user))  # RunRefused: 409/429 with its sentence

    @extend_schema(
        summary="Pause a running run",
        description="It saves a checkpoint after its current step and turns `paused`; resume it later, on any "
        "worker. The person who queued it, and the graph's admins, may pause it.",
        request=None,
        responses={200: RunSerializer, 409: OpenApiResponse(ErrorSerializer, description="The run is not running.")},
    )
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._control(request, pause_run)

    @extend_schema(
        summary="Resume a paused run",
        description="Queues it again: the first free worker continues from its checkpoint. It takes one of your "
        "concurrent runs.",
        request=None,
        responses={
            200: RunSerializer,
            409: OpenApiResponse(ErrorSerializer, description="The run is not paused."),
            429: OpenApiResponse(ErrorSerializer, description="You have as many runs queued or running as allowed."),
        },
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._control(request, resume_run)

    @extend_schema(
        summary="Stop a run early, keeping its results",
        description="A running run finishes after its current step, validates what it has and succeeds with "
        '`metrics.stopped = "user"`; a paused one is resumed only to finish so; a queued one is cancelled.',
        request=None,
        responses={200: RunSerializer, 409: OpenApiResponse(ErrorSerializer, description="The run has finished.")},
    )
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        return self._control(request, stop_run)

    @extend_schema(
        summary="A run's trained weights (its model's state_dict)",
        description="Saved when a run on a dataset pauses or finishes. Load them into the version's generated "
        "package: `model.load_state_dict(safetensors.torch.load_file(path))`.",
        parameters=[WeightsQuery],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(description="The file."),
            404: ERRORS[404],
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="weights",
        url_name="weights",
        renderer_classes=[JSONRenderer],
        content_negotiation_class=JSONOnlyNegotiation,  # ?format= names the download, not a renderer
    )
    def weights(self, request, pk=None):
        run = self.get_object()
        try:
            return weights_download(run, WeightsQuery.parse(request)["format"])
        except NoWeights as exc:
            raise NotFound(exc.message) from None

    @extend_schema(
        summary="A run's events, in order (what its WebSocket sends)",
        parameters=[EventQuery],
        responses={200: RunEventPageSerializer, 400: ERRORS[400]},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def events(self, request, pk=None):
        run = self.get_object()
        query = EventQuery.parse(request)
        events = list(run.events.filter(seq__gt=query["after"]).order_by("seq")[: query["limit"] + 1])
        more = len(events) > query["limit"]
        events = events[: query["limit"]]
        next_url = None
        if more:
            next_url = request.build_absolute_uri(f"{request.path}?after={events[-1].seq}&limit={query['limit']}")
        return Response({"results": [event.message() for event in events], "next": next_url})


def _runs(user):
    return with_progress(visible_runs(user).select_related("version__graph", "user").prefetch_related("tags"))


def _version(graph: Graph, number: int | None):
    if number is None:
        if graph.head is None:
            raise RunRefused("This graph has no saved version to run.")
        return graph.head
    return get_object_or_404(graph.versions, number=number)
