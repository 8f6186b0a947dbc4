"""The run sets API: queue an ablation matrix or a sweep of a graph version, list and read sets.

A set is visible to whoever may see its graph (:mod:`training.access`), like its runs; anything else
answers 404. Refusals are one sentence: 400 (a variant that breaks the graph, caps of a run or of the set)
or 429 (too many sets queued or running).
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from graphs.api import ERRORS, ID, ActionSerializers, Pages
from graphs.permissions import visible_graphs
from graphs.serializers import ErrorSerializer
from training.access import visible_sets
from training.api import _runs, _version
from training.models import SetKind
from training.run_sets import SWEEPABLE, cancel_set, queue_set
from training.serializers import RunCreateSerializer, RunSerializer


class RunSetCreateSerializer(RunCreateSerializer):
    kind = serializers.ChoiceField(choices=SetKind.choices, help_text="ablation: disable nodes; sweep: vary a field.")
    nodes = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text="ablation: the ids of the nodes (or blocks) to disable, one run each.",
    )
    baseline = serializers.BooleanField(
        required=False, default=True, help_text="ablation: also a run with nothing disabled (default true)."
    )
    param = serializers.CharField(
        required=False,
        max_length=300,
        help_text=f"sweep: the config field to vary, one of {', '.join(SWEEPABLE)}; or a node's parameter as "
        '"<node id>.<parameter>", e.g. "drop.p".',
    )
    values = serializers.ListField(
        child=serializers.JSONField(), required=False, help_text="sweep: its values, one run each, e.g. [0.1, 0.01]."
    )


class RunSetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=SetKind.choices)
    axis = serializers.CharField(help_text='What varies, in words: "disable one of conv, relu" or "lr over 0.1, 0.01".')
    graph = serializers.SerializerMethodField()
    version = serializers.IntegerField(source="version.number")
    user = serializers.CharField(source="user.username")
    created_at = serializers.DateTimeField()
    url = serializers.CharField(source="get_absolute_url", help_text="The set's page: its table and curves.")
    runs = RunSerializer(many=True, help_text="One per variant, in the order they were queued.")

    def get_graph(self, run_set) -> dict:
        return {"id": run_set.version.graph_id, "name": run_set.version.graph.name}


@extend_schema_view(
    list=extend_schema(summary="Ablation matrices and sweeps you may see (on graphs you may see)"),
    retrieve=extend_schema(summary="One set of runs, with its runs"),
    create=extend_schema(
        summary="Queue an ablation matrix or a sweep of a graph version",
        description="ablation: a baseline run (unless `baseline` is false) and one run per node of `nodes`, with "
        "that node disabled. sweep: one run per value of `param`. `config` is shared by every run. Every run is "
        "checked first; nothing is queued unless all pass and the set keeps to the set caps.",
        responses={
            201: RunSetSerializer,
            404: ERRORS[404],
            429: OpenApiResponse(ErrorSerializer, description="You have as many sets queued or running as allowed."),
        },
    ),
)
class RunSetViewSet(ActionSerializers, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]
    pagination_class = Pages
    serializer_class = RunSetSerializer
    serializer_classes = {"create": RunSetCreateSerializer}
    lookup_value_regex = ID

    def get_queryset(self):
        return _sets(self.request.user)

    def create(self, request, *args, **kwargs):
        data = self.validated_body()
        graph = get_object_or_404(visible_graphs(request.user).select_related("head"), pk=data["graph"])
        version = _version(graph, data.get("version"))
        run_set = queue_set(
            version,
            request.user,
            data["kind"],
            nodes=data.get("nodes", ()),
            baseline=data["baseline"],
            param=data.get("param", ""),
            values=data.get("values", ()),
            config=data.get("config"),
            name=data.get("name", ""),
            tags=data.get("tags", []),
        )
        return self._response(run_set, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Cancel a set's unfinished runs",
        description="Its queued runs are cancelled at once, its running ones after their current step. The person "
        "who queued the set, and the graph's admins, may cancel it; finished runs stay as they are.",
        request=None,
        responses={200: RunSetSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run_set = self.get_object()
        cancel_set(run_set, request.user)  # 403 with its sentence for someone who may only look
        return self._response(run_set)

    def _response(self, run_set, code=status.HTTP_200_OK) -> Response:
        fresh = _sets(self.request.user).get(pk=run_set.pk)
        return Response(RunSetSerializer(fresh, context=self.get_serializer_context()).data, status=code)


def _sets(user):
    runs = _runs(user).order_by("pk")
    return visible_sets(user).select_related("version__graph", "user").prefetch_related(Prefetch("runs", runs))
