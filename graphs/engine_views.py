"""The stateless engine API: registry, validate, codegen and ZIP export. Thin wrappers over `codegen`."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

import codegen
from graphs import exports
from graphs.serializers import (
    CodegenRequestSerializer,
    CodegenResponseSerializer,
    DiagramRequestSerializer,
    ErrorSerializer,
    GraphErrorSerializer,
    RegistrySerializer,
    ValidateRequestSerializer,
    ValidationResultSerializer,
)
from graphs.services import engine_limits
from torchcanvas_site.api import BODY_PARSERS

DEMO_GRAPH = {
    "version": "0.2",
    "nodes": [
        {"id": "inp", "type": "Input", "params": {}},
        {"id": "conv", "type": "Conv1d", "params": {"out_channels": 64, "kernel_size": 5, "padding": "same"}},
        {"id": "relu", "type": "ReLU", "params": {}},
        {"id": "perm", "type": "Permute_BCT_to_BTH", "params": {}},
        {"id": "gru", "type": "GRUBlock", "params": {"hidden_size": 128, "out": "last"}},
        {"id": "fc", "type": "Linear", "params": {"out_features": 18}},
    ],
    "edges": [["inp", "conv"], ["conv", "relu"], ["relu", "perm"], ["perm", "gru"], ["gru", "fc"]],
    "inputs": ["inp"],
    "outputs": ["fc"],
}

GRAPH_ERRORS = {
    400: OpenApiResponse(
        GraphErrorSerializer, description="Bad request: the graph cannot be used, or a field is invalid."
    ),
    413: OpenApiResponse(ErrorSerializer, description="The request body is over the size limit."),
    415: OpenApiResponse(ErrorSerializer, description="The body is neither JSON nor YAML."),
}


class EngineView(APIView):
    """Open to everyone (the engine keeps no state); a graph the engine refuses answers 400 with diagnostics."""

    permission_classes = [AllowAny]
    parser_classes = BODY_PARSERS  # the request may come as YAML (application/yaml, text/yaml)

    def load_graph(self, data: dict) -> codegen.Graph:
        return codegen.load_graph(data, limits=engine_limits())

    def generate(self) -> tuple[str, dict[str, str]]:
        """Validate a codegen request and run the engine: (package name, {path: source})."""
        serializer = CodegenRequestSerializer(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        files = codegen.generate(
            self.load_graph(data["graph"]),
            name=data["name"],
            layout=data["layout"],
            with_train=data["with_train"],
            input_shapes=data.get("input_shapes"),
            limits=engine_limits(),
            title=data.get("title"),
        )
        return data["name"], files


class RegistryView(EngineView):
    """Every node type with its parameters (type, default, range) and ports, for palettes and clients."""

    @extend_schema(
        operation_id="registry",
        tags=["engine"],
        summary="Node types (composite blocks included), categories and diagnostic codes",
        responses=RegistrySerializer,
    )
    def get(self, request):
        return Response(codegen.registry_json())


class ValidateView(EngineView):
    """Diagnostics, inferred shapes, parameter counts and a memory estimate for a graph."""

    @extend_schema(
        operation_id="validate",
        tags=["engine"],
        summary="Validate a graph and infer every tensor shape",
        description="A graph with errors still answers 200, with `ok: false` and the diagnostics; "
        "a document that cannot be parsed as a graph (or is over the size limits) answers 400.",
        request=ValidateRequestSerializer,
        responses={200: ValidationResultSerializer, **GRAPH_ERRORS},
        examples=[OpenApiExample("1D demo", value={"graph": DEMO_GRAPH, "input_shapes": {"inp": [9, 256]}})],
    )
    def post(self, request):
        serializer = ValidateRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        graph = self.load_graph(serializer.validated_data["graph"])
        result = codegen.validate(
            graph, input_shapes=serializer.validated_data.get("input_shapes"), limits=engine_limits()
        )
        return Response(result.to_dict())


class DocumentView(EngineView):
    """A graph document written in YAML (or JSON) as JSON: how the canvas imports a YAML file with the engine's reader."""

    @extend_schema(
        operation_id="document",
        tags=["engine"],
        summary="Read a graph document sent as YAML (or JSON) and answer it as JSON",
        description="The body is the document itself. YAML that JSON could not hold (dates, sets, binary, keys "
        "written twice or not strings, aliases expanding past the document's size) answers 400.",
        request={"application/yaml": OpenApiTypes.OBJECT, "text/yaml": OpenApiTypes.OBJECT},
        responses={200: OpenApiTypes.OBJECT, **GRAPH_ERRORS},
    )
    def post(self, request):
        if not isinstance(request.data, dict):
            raise ParseError("The document must be one object: a graph with version, nodes, edges, inputs, outputs.")
        return Response(request.data)


class CodegenView(EngineView):
    """The exported source files as JSON, for previews; graphs with errors answer 400 with diagnostics."""

    @extend_schema(
        operation_id="codegen",
        tags=["engine"],
        summary="Generate PyTorch source for a graph",
        request=CodegenRequestSerializer,
        responses={200: CodegenResponseSerializer, **GRAPH_ERRORS},
        examples=[OpenApiExample("1D demo", value={"graph": DEMO_GRAPH, "name": "MyPkg", "layout": "package"})],
    )
    def post(self, request):
        _, files = self.generate()
        return Response({"files": files})


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Errors are JSON whatever the client accepts (a client asking for application/zip still gets readable errors)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportZipView(EngineView):
    """The exported source files as a ZIP attachment named <name>.zip."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation

    @extend_schema(
        operation_id="export_zip",
        tags=["engine"],
        summary="Generate PyTorch source for a graph, as a ZIP download",
        request=CodegenRequestSerializer,
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="<name>.zip"),
            **GRAPH_ERRORS,
        },
    )
    def post(self, request):
        name, files = self.generate()
        return HttpResponse(
            codegen.package_zip(files),
            content_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}.zip"'},
        )


class DiagramView(EngineView):
    """A figure of the drawing as it stands (saved or not): what the canvas downloads."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation

    @extend_schema(
        operation_id="diagram",
        tags=["engine"],
        summary="Draw a graph: SVG, PNG or Mermaid, with its shapes (also with errors: a figure shows where it breaks)",
        request=DiagramRequestSerializer,
        responses={
            (200, "image/svg+xml"): OpenApiResponse(OpenApiTypes.STR, description="<name>.svg"),
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="<name>.png"),
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="<name>.mmd"),
            **GRAPH_ERRORS,
        },
    )
    def post(self, request):
        serializer = DiagramRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        options = exports.Options(expand_blocks=data["expand_blocks"])
        return exports.build(data["graph"], data.get("title", ""), data["format"], options).response()
