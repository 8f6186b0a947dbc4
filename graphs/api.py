"""The platform API: graphs and their versions, teams and invitations, composite block libraries.

Views stay thin: they parse input with the action's serializer (``serializer_classes``, which the schema
reads too), call :mod:`graphs.services`, and render the result; what the services refuse becomes its answer
(400, 409) in ``torchcanvas_site.api.exception_handler``. Every queryset starts from
:mod:`graphs.permissions` (``visible_graphs``, ``visible_composites``, the user's teams), so an object the
user may not see answers 404 exactly like one that does not exist; one they may see but not change answers
403 (from the services).
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from codegen.document import syntax_of
from codegen.templates import list_templates
from graphs import artifacts, exports, services, version_diff
from graphs.engine_views import JSONOnlyNegotiation
from graphs.models import CompositeVersion, Graph, GraphVersion, Invitation, Membership
from graphs.permissions import visible_composites, visible_graphs, visible_teams
from graphs.serializers import (
    ArtifactRequestSerializer,
    ArtifactSerializer,
    BuiltinBlockSerializer,
    CompositeBlockSerializer,
    CompositeVersionCreatedSerializer,
    CompositeVersionDetailSerializer,
    CompositeVersionSerializer,
    ConflictSerializer,
    DiffSerializer,
    ErrorSerializer,
    ForkSerializer,
    FromTemplateSerializer,
    GraphCreateSerializer,
    GraphErrorSerializer,
    GraphSerializer,
    GraphUpdateSerializer,
    ImportSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    MemberSerializer,
    ModelSummarySerializer,
    PublishSerializer,
    RestoreSerializer,
    RoleSerializer,
    TeamCreateSerializer,
    TeamSerializer,
    TemplateSerializer,
    VersionCreatedSerializer,
    VersionCreateSerializer,
    VersionDetailSerializer,
    VersionSerializer,
)
from torchcanvas_site.api import BODY_PARSERS, CappedJSONParser, RequestTooLarge, body_limit_message, content_length
from torchcanvas_site.throttling import LoginFailureThrottle, ScopedThrottle
from training.dispatch import send_export

ID = r"[0-9]{1,18}"
# The route of a built export's file for API clients (the page's needs a session).
API_DOWNLOAD = "api-graph-artifact-download"
NUMBER = r"[0-9]{1,9}"
SLUG = r"[-a-zA-Z0-9_]{1,80}"
USERNAME = r"[\w.@+-]{1,150}"

ERRORS = {
    400: OpenApiResponse(GraphErrorSerializer, description="Bad input; `detail` says why."),
    401: OpenApiResponse(ErrorSerializer, description="Not logged in, or the token is wrong or revoked."),
    403: OpenApiResponse(ErrorSerializer, description="You may see this but not change it."),
    404: OpenApiResponse(ErrorSerializer, description="No such object, or not one you may see."),
}


class CappedMultiPartParser(MultiPartParser):
    """Multipart uploads (graph files), refused from their ``Content-Length`` when over the body cap."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.TORCHCANVAS_LIMITS["max_body_bytes"]
        declared = content_length((parser_context or {}).get("request"))
        if declared is not None and declared > limit:
            raise RequestTooLarge(body_limit_message(declared, limit))
        return super().parse(stream, media_type, parser_context)


def my_teams(user):
    """The user's teams, each with ``member_count`` and the user's ``role``."""
    mine = Membership.objects.filter(user=user)
    return (
        visible_teams(user)
        .annotate(
            member_count=Count("memberships"),
            role=Subquery(mine.filter(team=OuterRef("pk")).values("role")[:1]),
        )
        .order_by("name", "pk")
    )


class Pages(PageNumberPagination):
    """``?page=N`` (20 per page; ``?page_size=`` up to 100)."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class PlatformSchema(AutoSchema):
    """The schema of a platform viewset: each operation also lists the errors every such operation can answer.

    401 everywhere (no login, or a wrong or revoked token), 400 with a request body, 404 on an object's path
    and 403 for changing it; what an operation declares itself wins.
    """

    def _get_response_bodies(self, direction="response"):
        # drf-spectacular's own step (0.30): it has no public hook that adds to the responses an operation declares.
        bodies = super()._get_response_bodies(direction)
        shared = [401]
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            shared.append(400)
        if "{" in self.path:
            shared += [404] if self.method == "GET" else [403, 404]
        for code in shared:
            if str(code) not in bodies:
                bodies[str(code)] = self._get_response_for_code(ERRORS[code], str(code), direction=direction)
        return bodies


# A viewset mixin: `serializer_classes` names the serializer of each action's request body, which
# `validated_body()` checks and drf-spectacular reads for the request schema (one declaration, so the two
# cannot drift apart); other actions use `serializer_class`. A comment, not a docstring: drf-spectacular
# would show a docstring as the description of every operation of the views that use it. Their schema also
# lists the errors every operation shares (PlatformSchema).
class ActionSerializers:
    schema = PlatformSchema()
    serializer_classes: dict[str, type[serializers.Serializer]] = {}

    def get_serializer_class(self):
        return self.serializer_classes.get(self.action, self.serializer_class)

    def validated_body(self) -> dict[str, Any]:
        serializer = self.get_serializer(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class QuerySerializer(serializers.Serializer):
    """Query parameters, checked like a body (a 400 naming the parameter); ``parameters=[cls]`` documents them."""

    @classmethod
    def parse(cls, request) -> dict[str, Any]:
        # A plain dict, as a body would be: a QueryDict makes DRF treat `?q=` as absent instead of blank.
        query = cls(data=request.query_params.dict(), context={"request": request})
        query.is_valid(raise_exception=True)
        return query.validated_data


class CompositeFilters(QuerySerializer):
    q = serializers.CharField(required=False, max_length=64, help_text="Search in names.")
    team = serializers.CharField(required=False, max_length=80, help_text="Only this team's library (slug).")


class GraphFilters(QuerySerializer):
    q = serializers.CharField(required=False, max_length=120, help_text="Search in names (case-insensitive).")
    tag = serializers.CharField(required=False, max_length=40, help_text="Only graphs with this tag.")
    owner = serializers.CharField(required=False, max_length=150, help_text="Only graphs of this user (username).")
    team = serializers.CharField(required=False, max_length=80, help_text="Only graphs of this team (slug).")
    visibility = serializers.ChoiceField(choices=["private", "team", "public"], required=False)


# --- graphs -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Graphs you may see",
        parameters=[GraphFilters],
        responses={200: GraphSerializer(many=True), 400: ERRORS[400]},
    ),
    retrieve=extend_schema(summary="One graph"),
    create=extend_schema(summary="Create a graph (and its version 1)", responses={201: GraphSerializer}),
    partial_update=extend_schema(
        summary="Rename, describe, tag (editors); change visibility or team (owner, team admins)",
        responses={200: GraphSerializer},
    ),
    destroy=extend_schema(summary="Delete a graph and its history", responses={204: None, 400: ERRORS[400]}),
)
class GraphViewSet(ActionSerializers, viewsets.ModelViewSet):
    permission_classes = [IsAuthenticatedOrReadOnly]
    parser_classes = BODY_PARSERS  # a graph document may come as YAML
    pagination_class = Pages
    serializer_class = GraphSerializer
    serializer_classes = {
        "create": GraphCreateSerializer,
        "partial_update": GraphUpdateSerializer,
        "versions": VersionCreateSerializer,
        "fork": ForkSerializer,
        "restore": RestoreSerializer,
        "import_": ImportSerializer,
        "from_template": FromTemplateSerializer,
    }
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = ID

    def get_queryset(self):
        graphs = visible_graphs(self.request.user).select_related("owner", "team", "head__author", "forked_from__graph")
        graphs = graphs.prefetch_related("tags")
        if self.action != "list":
            return graphs
        filters = GraphFilters.parse(self.request)
        if "q" in filters:
            graphs = graphs.filter(name__icontains=filters["q"])
        if "tag" in filters:
            graphs = graphs.filter(tags__name=filters["tag"].strip().lower())
        if "owner" in filters:
            graphs = graphs.filter(owner__username=filters["owner"])
        if "team" in filters:
            graphs = graphs.filter(team__slug=filters["team"])
        if "visibility" in filters:
            graphs = graphs.filter(visibility=filters["visibility"])
        return graphs

    def create(self, request, *args, **kwargs):
        data = self.validated_body()
        graph = services.create_graph(
            request.user,
            name=data["name"],
            document=data.get("document", services.EMPTY_DOCUMENT),
            description=data["description"],
            tags=data["tags"],
            team=data.get("team"),
            visibility=data["visibility"],
            message=data["message"],
        )
        return self._graph_response(graph, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        graph = self.get_object()
        services.update_graph(graph, request.user, **self.validated_body())
        return self._graph_response(graph)

    def destroy(self, request, *args, **kwargs):
        services.delete_graph(self.get_object(), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _graph_response(self, graph, code=status.HTTP_200_OK) -> Response:
        fresh = (
            Graph.objects.filter(pk=graph.pk)
            .select_related("owner", "team", "head__author", "forked_from__graph")
            .prefetch_related("tags")
        )
        return Response(GraphSerializer(fresh.get(), context=self.get_serializer_context()).data, status=code)

    # versions

    def _version(self, graph, number) -> GraphVersion:
        return get_object_or_404(graph.versions.select_related("author", "parent"), number=int(number))

    @extend_schema(
        methods=["GET"],
        summary="A graph's history, newest first (paginated)",
        responses={200: VersionSerializer(many=True)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Save a new version",
        description="`base` is the version the edit started from. When the head has moved since, nothing is "
        "saved and the answer is 409 with the head and the diff from `base` to it. A document identical to the "
        "head creates nothing (200, `created: false`).",
        responses={
            201: VersionCreatedSerializer,
            200: VersionCreatedSerializer,
            409: OpenApiResponse(ConflictSerializer, description="The base version is stale."),
        },
    )
    @action(detail=True, methods=["get", "post"], pagination_class=Pages)
    def versions(self, request, pk=None):
        graph = self.get_object()
        if request.method == "POST":
            data = self.validated_body()
            version, created = services.save_version(
                graph, request.user, data["document"], base=data["base"], message=data["message"]
            )
            body = {**VersionSerializer(version).data, "created": created}
            return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
        versions = graph.versions.select_related("author", "parent").order_by("-number")
        page = self.paginate_queryset(versions)
        return self.get_paginated_response(VersionSerializer(page, many=True).data)

    @extend_schema(summary="One version, with its document", responses={200: VersionDetailSerializer})
    @action(detail=True, methods=["get"], url_path=rf"versions/(?P<number>{NUMBER})", pagination_class=None)
    def version(self, request, pk=None, number=None):
        return Response(VersionDetailSerializer(self._version(self.get_object(), number)).data)

    @extend_schema(
        summary="A version's model summary: output shapes, parameters, FLOPs/MACs and activation memory per node",
        description="FLOPs and MACs at batch 1 (FLOPs = 2 × MACs, as torch's FlopCounterMode counts them); "
        "activation memory in fp32 bytes per sample. `md` and `csv` are downloads named like the other exports.",
        parameters=[OpenApiParameter("format", str, enum=["json", "md", "csv"], description="Default: json.")],
        responses={
            (200, "application/json"): ModelSummarySerializer,
            (200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR, description="<name>_v<n>.md"),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="<name>_v<n>.csv"),
            400: OpenApiResponse(GraphErrorSerializer, description="The version has errors; nothing to count."),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=rf"versions/(?P<number>{NUMBER})/summary",
        renderer_classes=[JSONRenderer],
        content_negotiation_class=JSONOnlyNegotiation,  # ?format= names the download, not a renderer
        pagination_class=None,
    )
    def summary(self, request, pk=None, number=None):
        graph = self.get_object()
        version = self._version(graph, number)
        kind = request.query_params.get("format", "json")
        if kind not in ("json", "md", "csv"):
            raise ValidationError({"format": ["Expected json, md or csv."]})
        if kind == "json":
            return Response(exports.summary(version.document, graph.name).to_dict())
        return exports.build_download(version, graph.name, kind).response()

    @extend_schema(
        summary="Download a version: graph JSON or YAML, one .py file, a ZIP package, or a diagram (Mermaid, SVG, PNG)",
        description="ONNX, torch.export and TorchScript are built on a worker: see the version's artifacts.",
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=["json", "yaml", "py", "zip", "mermaid", "svg", "png", "md", "csv"],
                description="Default: json. md and csv: the model summary (as .../summary/ gives it).",
            ),
            OpenApiParameter("with_train", bool, description="Add the smoke-training script (zip)."),
            OpenApiParameter("expand_blocks", bool, description="Draw each block's own nodes in a frame (svg, png)."),
        ],
        responses={
            (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="The graph document."),
            (200, "application/yaml"): OpenApiResponse(OpenApiTypes.STR, description="<name>_v<n>.yaml: the document."),
            (200, "text/x-python"): OpenApiResponse(OpenApiTypes.STR, description="<name>_v<n>.py"),
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="<name>_v<n>.zip"),
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR, description="<name>_v<n>.mmd: the architecture as a Mermaid flowchart, with shapes."
            ),
            (200, "image/svg+xml"): OpenApiResponse(OpenApiTypes.STR, description="<name>_v<n>.svg: the architecture."),
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="<name>_v<n>.png: the architecture."),
            400: OpenApiResponse(GraphErrorSerializer, description="The version has errors; nothing to generate."),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=rf"versions/(?P<number>{NUMBER})/export",
        renderer_classes=[JSONRenderer],
        content_negotiation_class=JSONOnlyNegotiation,  # ?format= names the download, not a renderer
        pagination_class=None,
    )
    def export(self, request, pk=None, number=None):
        graph = self.get_object()
        version = self._version(graph, number)
        kind = request.query_params.get("format", "json")
        if kind in artifacts.FORMATS:
            raise ValidationError(
                {"format": [f'{kind} is built on a worker: POST {{"format": "{kind}"}} to this version\'s artifacts/.']}
            )
        if kind not in exports.FORMATS:
            raise ValidationError({"format": [f"Expected {exports.format_list()}."]})
        options = exports.Options(
            with_train=_flag(request, "with_train"), expand_blocks=_flag(request, "expand_blocks")
        )
        return exports.build_download(version, graph.name, kind, options).response()

    @extend_schema(
        methods=["GET"],
        summary="A version's built exports (ONNX, torch.export, TorchScript) and their builds' state",
        responses={200: ArtifactSerializer(many=True)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Build an export of a version on a worker",
        description="The export is built on a worker, reloaded and compared with the eager model; follow it here "
        "(or live on /ws/versions/<version id>/artifacts/) until `status` is `ready`, then fetch `download_url`. "
        "An artifact that exists (queued, building or ready) is returned as it is (200); a new one, or one "
        "rebuilt because it failed or its file went missing, answers 202.",
        request=ArtifactRequestSerializer,
        responses={202: ArtifactSerializer, 200: ArtifactSerializer, 400: ERRORS[400], 401: ERRORS[401]},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path=rf"versions/(?P<number>{NUMBER})/artifacts",
        pagination_class=None,
    )
    def artifacts(self, request, pk=None, number=None):
        graph = self.get_object()
        version = self._version(graph, number)
        if request.method == "POST":
            body = ArtifactRequestSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            try:
                artifact, send = artifacts.request_artifact(
                    version, request.user, body.validated_data["format"], body.validated_data.get("opset")
                )
            except artifacts.ArtifactRefused as exc:
                raise ValidationError({"format": [exc.message]}) from None
            if send:
                transaction.on_commit(lambda: send_export(artifact.pk))
            code = status.HTTP_202_ACCEPTED if send else status.HTTP_200_OK
            return Response(artifacts.artifact_json(artifact, API_DOWNLOAD), status=code)
        rows = version.artifacts.select_related("version").order_by("format", "opset")
        return Response([artifacts.artifact_json(artifact, API_DOWNLOAD) for artifact in rows])

    @extend_schema(
        summary="Download a built export",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="<name>_v<n>.onnx|pt2|pt"
            ),
            404: ERRORS[404],
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=rf"versions/(?P<number>{NUMBER})/artifacts/(?P<artifact_id>{ID})/download",
        renderer_classes=[JSONRenderer],
        content_negotiation_class=JSONOnlyNegotiation,
        pagination_class=None,
    )
    def artifact_download(self, request, pk=None, number=None, artifact_id=None):
        version = self._version(self.get_object(), number)
        artifact = get_object_or_404(version.artifacts.select_related("version__graph"), pk=int(artifact_id))
        stream = artifacts.open_file(artifact)
        if stream is None:
            return Response(
                {"detail": "This export is not built (any more): POST to artifacts to build it."}, status=404
            )
        return FileResponse(stream, as_attachment=True, filename=artifacts.download_filename(artifact))

    @extend_schema(
        summary="What changed between two versions",
        parameters=[
            OpenApiParameter("from", int, required=True, description="Version number (older side)."),
            OpenApiParameter("to", int, required=True, description="Version number (newer side)."),
            OpenApiParameter(
                "source",
                bool,
                description="Also diff the generated source (anonymous callers: graphs up to "
                "TORCHCANVAS_ANON_SOURCE_DIFF_MAX_NODES nodes, else 401).",
            ),
        ],
        responses={200: DiffSerializer, 400: ERRORS[400]},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def diff(self, request, pk=None):
        graph = self.get_object()
        numbers = {}
        for key in ("from", "to"):
            raw = request.query_params.get(key, "")
            if not re.fullmatch(NUMBER, raw):
                raise ValidationError({key: ["Expected a version number."]})
            numbers[key] = int(raw)
        versions = {v.number: v for v in graph.versions.filter(number__in=numbers.values())}
        for number in numbers.values():
            if number not in versions:
                return Response({"detail": f"Version {number} does not exist."}, status=status.HTTP_404_NOT_FOUND)
        old, new = versions[numbers["from"]], versions[numbers["to"]]
        with_source = request.query_params.get("source", "").lower() in ("1", "true", "yes")
        refusal = with_source and version_diff.source_diff_refusal(request.user, old, new)
        if refusal:
            raise NotAuthenticated(refusal)
        body = {"from_version": old.number, "to_version": new.number, "diff": version_diff.structural_diff(old, new)}
        if with_source:
            body["source_diff"] = version_diff.generated_source_diff(old, new)
        return Response(body)

    @extend_schema(
        summary="Copy a version (the head by default) into a new graph of yours",
        responses={201: GraphSerializer},
    )
    @action(detail=True, methods=["post"])
    def fork(self, request, pk=None):
        graph = self.get_object()
        data = self.validated_body()
        fork = services.fork_graph(
            graph,
            request.user,
            version=data.get("version"),
            name=data.get("name"),
            team=data.get("team"),
            visibility=data["visibility"],
        )
        return self._graph_response(fork, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Make an old version the head again (as a new version)",
        description="A version whose content the head already has creates nothing (200, `created: false`, "
        "the head), also when a simultaneous restore made it the head a moment before.",
        responses={201: VersionCreatedSerializer, 200: VersionCreatedSerializer},
    )
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        graph = self.get_object()
        data = self.validated_body()
        version, created = services.restore_version(graph, request.user, data["version"], message=data["message"])
        body = {**VersionSerializer(version).data, "created": created}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        summary="Import a graph file (JSON or YAML) as a new graph",
        description="Send the file as a multipart upload (`file`; a .yaml/.yml name or a YAML type reads it as "
        "YAML), or its content as `document` in a JSON or YAML body.",
        responses={201: GraphSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[*BODY_PARSERS, CappedMultiPartParser],
    )
    def import_(self, request):
        data = self.validated_body()
        syntax = None
        if "file" in data:
            upload = data["file"]
            raw = upload.read(settings.TORCHCANVAS_LIMITS["max_body_bytes"] + 1)
            syntax = syntax_of(upload.name, upload.content_type)
        else:
            raw = data["document"]
        graph = services.import_graph(
            request.user,
            raw,
            name=data.get("name"),
            team=data.get("team"),
            visibility=data["visibility"],
            syntax=syntax,
        )
        return self._graph_response(graph, status.HTTP_201_CREATED)

    @extend_schema(summary="A new graph from a built-in template", responses={201: GraphSerializer})
    @action(detail=False, methods=["post"], url_path="from-template")
    def from_template(self, request):
        data = self.validated_body()
        graph = services.graph_from_template(
            request.user, data["template"], name=data.get("name"), team=data.get("team"), visibility=data["visibility"]
        )
        return self._graph_response(graph, status.HTTP_201_CREATED)


def _flag(request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


class TemplateListView(APIView):
    """The engine's built-in templates (open to everyone)."""

    permission_classes = [AllowAny]

    @extend_schema(operation_id="templates_list", summary="Built-in templates", responses=TemplateSerializer(many=True))
    def get(self, request):
        return Response(TemplateSerializer(list_templates(), many=True).data)


# --- teams --------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Your teams", responses=TeamSerializer(many=True)),
    retrieve=extend_schema(summary="One of your teams"),
    create=extend_schema(summary="Create a team (you become its admin)", responses={201: TeamSerializer}),
)
class TeamViewSet(ActionSerializers, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]
    pagination_class = Pages
    serializer_class = TeamSerializer
    serializer_classes = {
        "create": TeamCreateSerializer,
        "member": RoleSerializer,
        "invitations": InvitationCreateSerializer,
    }
    lookup_field = "slug"
    lookup_value_regex = SLUG

    def get_queryset(self):
        return my_teams(self.request.user)

    def create(self, request, *args, **kwargs):
        team = services.create_team(request.user, self.validated_body()["name"])
        return Response(TeamSerializer(self.get_queryset().get(pk=team.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Members and their roles", responses={200: MemberSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def members(self, request, slug=None):
        team = self.get_object()
        memberships = team.memberships.select_related("user").order_by("user__username")
        return Response(MemberSerializer(memberships, many=True).data)

    def _member(self, team, username):
        return get_object_or_404(team.memberships.select_related("user"), user__username=username).user

    @extend_schema(
        methods=["PATCH"],
        summary="Change a member's role (admins; the last admin stays admin)",
        responses={200: MemberSerializer},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Remove a member (admins), or yourself",
        request=None,
        responses={204: None, 400: ERRORS[400]},
    )
    @action(detail=True, methods=["patch", "delete"], url_path=rf"members/(?P<username>{USERNAME})")
    def member(self, request, slug=None, username=None):
        team = self.get_object()
        member = self._member(team, username)
        if request.method == "DELETE":
            services.remove_member(team, request.user, member)
            return Response(status=status.HTTP_204_NO_CONTENT)
        membership = services.set_role(team, request.user, member, self.validated_body()["role"])
        return Response(MemberSerializer(membership).data)

    @extend_schema(summary="Leave the team (not its last admin)", request=None, responses={204: None, 400: ERRORS[400]})
    @action(detail=True, methods=["post"])
    def leave(self, request, slug=None):
        services.leave_team(self.get_object(), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        summary="The team's invitations (admins)",
        responses={200: InvitationSerializer(many=True), 400: ERRORS[400], 403: ERRORS[403]},
    )
    @extend_schema(
        methods=["POST"],
        summary="Create an invitation link (admins)",
        responses={201: InvitationSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def invitations(self, request, slug=None):
        team = self.get_object()
        if request.method == "POST":
            invitation = services.invite(team, request.user, self.validated_body()["role"])
            return Response(
                InvitationSerializer(invitation, context={"request": request}).data, status=status.HTTP_201_CREATED
            )
        if team.role != "admin":
            services.require(services.team_access(request.user, team), "admin", "team", "see its invitations")
        invitations = team.invitations.select_related("team", "created_by", "accepted_by")
        return Response(InvitationSerializer(invitations, many=True, context={"request": request}).data)

    @extend_schema(summary="Revoke an invitation (admins)", request=None, responses={204: None, 400: ERRORS[400]})
    @action(detail=True, methods=["delete"], url_path=rf"invitations/(?P<invitation_id>{ID})")
    def invitation(self, request, slug=None, invitation_id=None):
        team = self.get_object()
        if team.role != "admin":  # before the look-up, so non-admins learn nothing about invitation ids
            services.require(services.team_access(request.user, team), "admin", "team", "revoke invitations")
        invitation = get_object_or_404(Invitation, pk=int(invitation_id), team=team)
        services.revoke_invitation(team, request.user, invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AcceptInvitationView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="invitations_accept",
        summary="Join a team with an invitation link",
        request=None,
        responses={200: TeamSerializer, 400: ERRORS[400], 404: ERRORS[404]},
    )
    def post(self, request, token: str):
        membership = services.accept_invitation(token, request.user)
        team = my_teams(request.user).get(pk=membership.team_id)
        return Response(TeamSerializer(team).data)


# --- composite blocks ---------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Blocks in your personal library and your teams' libraries",
        parameters=[CompositeFilters, OpenApiParameter("mine", bool, description="Only your personal library.")],
        responses={200: CompositeBlockSerializer(many=True), 400: ERRORS[400]},
    ),
    retrieve=extend_schema(summary="One block"),
    create=extend_schema(
        summary="Publish a block (new, or the next version of the library's block of that name)",
        responses={
            201: CompositeVersionCreatedSerializer,
            200: CompositeVersionCreatedSerializer,
            403: ERRORS[403],
            404: ERRORS[404],
        },
    ),
    destroy=extend_schema(
        summary="Delete a block (graphs keep their embedded copies)", responses={204: None, 400: ERRORS[400]}
    ),
)
class CompositeViewSet(
    ActionSerializers,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsAuthenticated]
    pagination_class = Pages
    serializer_class = CompositeBlockSerializer
    serializer_classes = {"create": PublishSerializer}
    lookup_value_regex = ID

    def get_queryset(self):
        blocks = visible_composites(self.request.user).select_related("owner", "team", "head")
        if self.action != "list":
            return blocks
        params = self.request.query_params
        filters = CompositeFilters.parse(self.request)
        if "q" in filters:
            blocks = blocks.filter(name__icontains=filters["q"])
        if "team" in filters:
            blocks = blocks.filter(team__slug=filters["team"])
        if params.get("mine", "").lower() in ("1", "true", "yes"):
            blocks = blocks.filter(owner=self.request.user)
        return blocks

    def create(self, request, *args, **kwargs):
        data = self.validated_body()
        version, created = services.publish_composite_version(
            request.user,
            name=data["name"],
            definition=data["definition"],
            composites=data.get("composites"),
            team=data.get("team"),
            message=data["message"],
            description=data["description"],
        )
        version = CompositeVersion.objects.select_related("block", "author").get(pk=version.pk)
        body = {**CompositeVersionDetailSerializer(version).data, "created": created}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def destroy(self, request, *args, **kwargs):
        services.delete_composite(self.get_object(), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="A block's versions, newest first", responses={200: CompositeVersionSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        block = self.get_object()
        versions = block.versions.select_related("block", "author").order_by("-number")
        page = self.paginate_queryset(versions)
        return self.get_paginated_response(CompositeVersionSerializer(page, many=True).data)

    @extend_schema(
        summary="One version of a block, with its definition",
        responses={200: CompositeVersionDetailSerializer},
    )
    @action(detail=True, methods=["get"], url_path=rf"versions/(?P<number>{NUMBER})", pagination_class=None)
    def version(self, request, pk=None, number=None):
        block = self.get_object()
        version = get_object_or_404(block.versions.select_related("block", "author"), number=int(number))
        return Response(CompositeVersionDetailSerializer(version).data)

    @extend_schema(
        summary="The engine's built-in blocks (SEBlock, ResidualBlock, …)",
        responses=BuiltinBlockSerializer(many=True),
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def builtins(self, request):
        return Response(BuiltinBlockSerializer(services.builtin_blocks(), many=True).data)


# --- tokens -------------------------------------------------------------------------------------


class TokenView(ObtainAuthToken):
    """Trade a username and password for the API token that scripts send as ``Authorization: Token <key>``."""

    parser_classes = [CappedJSONParser, FormParser]
    renderer_classes = [JSONRenderer]
    # Every attempt per client (``auth``), and the failed log-in limits the log-in pages share.
    throttle_classes = [ScopedThrottle, LoginFailureThrottle]
    throttle_scope = "auth"

    @extend_schema(
        operation_id="auth_token",
        summary="Obtain your API token",
        request=inline_serializer(
            "TokenRequest", {"username": serializers.CharField(), "password": serializers.CharField()}
        ),
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            400: ERRORS[400],
        },
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


__all__ = [
    "AcceptInvitationView",
    "CompositeViewSet",
    "GraphViewSet",
    "TeamViewSet",
    "TemplateListView",
    "TokenView",
]
