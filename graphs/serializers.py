"""Request and response shapes of the API: the engine endpoints, then graphs, versions, teams and blocks."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

import codegen

MAX_INPUT_RANK = 8
MAX_DIM_SIZE = 2**31 - 1


def check_package_name(value: str) -> str:
    """A name that is safe as a Python package/module name in the exported code."""
    problem = codegen.package_name_problem(value)
    if problem:
        raise serializers.ValidationError(problem)
    return value


class ValidateRequestSerializer(serializers.Serializer):
    graph = serializers.DictField(help_text="The graph document (JSON v0.2: version, nodes, edges, inputs, outputs).")
    input_shapes = serializers.DictField(
        child=serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=MAX_DIM_SIZE),
            min_length=1,
            max_length=MAX_INPUT_RANK,
        ),
        required=False,
        allow_null=True,
        help_text='Shape of each input without the batch axis, by Input node id, e.g. {"inp": [9, 256]}.',
    )


class CodegenRequestSerializer(ValidateRequestSerializer):
    name = serializers.CharField(
        default="Model",
        trim_whitespace=False,
        help_text="Package (or module) name of the exported code: a Python identifier.",
    )
    layout = serializers.ChoiceField(
        choices=["file", "package"],
        default="package",
        help_text="`package`: <name>/{__init__,blocks,model}.py; `file`: one module.",
    )
    with_train = serializers.BooleanField(default=False, help_text="Also emit a train.py smoke-training script.")
    title = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=120,
        help_text="The graph's name, used for the files' header and the model class when metadata.name is missing or \"untitled\".",
    )

    def validate_name(self, value: str) -> str:
        return check_package_name(value)


class DiagramRequestSerializer(serializers.Serializer):
    graph = serializers.DictField(help_text="The graph document (JSON v0.2).")
    format = serializers.ChoiceField(choices=["svg", "png", "mermaid"], default="svg")
    expand_blocks = serializers.BooleanField(default=False, help_text="Draw each block's own nodes in a frame.")
    title = serializers.CharField(
        required=False, allow_blank=True, max_length=120, help_text="The graph's name: names the file."
    )


# --- responses (documentation of what the engine returns) ---------------------------------------


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class DiagnosticSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=["error", "warning"])
    code = serializers.CharField(help_text="Stable code, e.g. CYCLE, UNKNOWN_TYPE, LAYOUT.")
    message = serializers.CharField()
    node = serializers.CharField(required=False)
    edge = serializers.ListField(child=serializers.CharField(), required=False)
    path = serializers.CharField(required=False)
    suggestion = serializers.DictField(required=False, help_text="A machine-applicable fix.")


class GraphErrorSerializer(ErrorSerializer):
    diagnostics = DiagnosticSerializer(many=True)


class CategorySerializer(serializers.Serializer):
    name = serializers.CharField()
    color = serializers.CharField()


class RegistrySerializer(serializers.Serializer):
    engine_version = serializers.CharField()
    graph_version = serializers.CharField(help_text="The graph document version the engine reads.")
    categories = CategorySerializer(many=True)
    nodes = serializers.ListField(
        child=serializers.DictField(),
        help_text="One spec per node type (composite blocks included, with `composite: true`): "
        "type, category, params with types, defaults and ranges, ports.",
    )
    diagnostic_codes = serializers.DictField(child=serializers.CharField(), help_text="Every code and its meaning.")


class EdgeShapeSerializer(serializers.Serializer):
    source = serializers.CharField()
    target = serializers.CharField()
    shape = serializers.ListField(child=serializers.JSONField(), allow_null=True)


class SummaryFiguresSerializer(serializers.Serializer):
    """A node's or the model's figures at batch 1; null where a size is unknown."""

    params = serializers.IntegerField(allow_null=True)
    params_trainable = serializers.IntegerField(allow_null=True)
    params_frozen = serializers.IntegerField(
        allow_null=True, help_text="Nothing in a graph marks parameters frozen yet: 0 wherever the count is known."
    )
    flops = serializers.IntegerField(
        allow_null=True, help_text="What torch.utils.flop_counter.FlopCounterMode counts: 2 × MACs."
    )
    macs = serializers.IntegerField(allow_null=True, help_text="Multiply-accumulates of matmul/conv-like work.")
    activation_bytes = serializers.IntegerField(allow_null=True, help_text="fp32 bytes of the outputs, per sample.")


class NodeSummarySerializer(SummaryFiguresSerializer):
    id = serializers.CharField()
    type = serializers.CharField()
    output_shapes = serializers.ListField(
        child=serializers.JSONField(), help_text='One shape per output: ["B", 64, 56, 56].'
    )
    children = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="A user block's own nodes, summarised the same way."
    )


class ModelSummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    batch_size = serializers.IntegerField(help_text="Always 1: FLOPs and MACs are per sample.")
    activation_memory = serializers.CharField(help_text='"bytes per sample, fp32".')
    nodes = NodeSummarySerializer(many=True, help_text="Every node in forward order.")
    totals = SummaryFiguresSerializer()


class RecipeSerializer(serializers.Serializer):
    loss = serializers.ListField(child=serializers.CharField(), help_text="Loss nodes; the run trains their sum.")
    metrics = serializers.ListField(child=serializers.CharField(), help_text="Metric nodes, each a batch mean.")
    targets = serializers.ListField(child=serializers.CharField(), help_text="Target nodes the stages read.")
    target_dtypes = serializers.DictField(child=serializers.CharField(), help_text="int64 or float32, by Target.")
    params_frozen = serializers.IntegerField(help_text="Parameters of frozen nodes (trainable: false).")
    optimizer = serializers.CharField(allow_null=True, help_text='The document\'s optimizer, e.g. "SGD (lr 0.05)".')
    scheduler = serializers.CharField(allow_null=True, help_text="The document's learning-rate scheduler type.")


class ValidationResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="True when there is no error (warnings allowed).")
    diagnostics = DiagnosticSerializer(many=True)
    error_count = serializers.IntegerField()
    warning_count = serializers.IntegerField()
    shapes = serializers.DictField(
        child=serializers.ListField(child=serializers.JSONField()),
        help_text='Inferred output shape per node id; symbolic sizes are strings, e.g. {"fc": ["B", 18]}.',
    )
    edges = EdgeShapeSerializer(many=True, help_text="Every edge with the shape it carries.")
    params = serializers.DictField(
        child=serializers.IntegerField(allow_null=True), help_text="Parameter count per node id."
    )
    params_total = serializers.IntegerField(allow_null=True)
    outputs = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        help_text='What forward() returns, by output name (named outputs) or reference ("fc", "split:1"): shapes.',
    )
    recipe = RecipeSerializer(help_text="The training recipe: losses, metrics, Targets, frozen parameters, optimizer.")
    memory_bytes = serializers.IntegerField(
        allow_null=True,
        help_text=(
            "Estimated forward activations of one sample (per sample, not per batch), fp32 bytes: every value "
            "the model computes, inside user blocks too; a built-in block counts its outputs only."
        ),
    )
    order = serializers.ListField(child=serializers.CharField(), help_text="Node ids in execution order.")
    summary = ModelSummarySerializer(
        help_text="Parameters, FLOPs/MACs at batch 1 and activation memory per sample, per node and in total."
    )


class CodegenResponseSerializer(serializers.Serializer):
    files = serializers.DictField(child=serializers.CharField(), help_text="Source text by relative path.")


# --- the platform: graphs, versions, teams, composite blocks ------------------------------------


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know (or may not write), listing them, so typos never pass silently."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = [name for name, field in self.fields.items() if not field.read_only]
            unknown = sorted((str(key) for key in data if key not in writable), key=str)
            if unknown:
                raise serializers.ValidationError(
                    {
                        "non_field_errors": [
                            f"Unknown field(s): {', '.join(unknown)}. Allowed: {', '.join(writable) or 'none'}."
                        ]
                    }
                )
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "nullable": True, "description": "The slug of one of your teams."})
class TeamSlugField(serializers.SlugRelatedField):
    """A team named by slug, among the requesting user's teams only (others do not exist, as far as it says)."""

    default_error_messages = {
        "does_not_exist": "No team {value} among your teams.",
        "invalid": "Expected a team slug.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "slug")
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def get_queryset(self):
        from graphs.permissions import visible_teams

        return visible_teams(getattr(self.context.get("request"), "user", None))

    def to_internal_value(self, data):
        if not isinstance(data, str) or len(data) > 80:
            self.fail("invalid")
        return super().to_internal_value(data)


VISIBILITIES = ["private", "team", "public"]
ROLES = ["viewer", "editor", "admin"]


class VersionSummarySerializer(serializers.Serializer):
    number = serializers.IntegerField()
    author = serializers.CharField(source="author.username", allow_null=True, default=None)
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    valid = serializers.BooleanField(help_text="No validation errors when it was saved.")
    error_count = serializers.IntegerField()
    warning_count = serializers.IntegerField()
    params_total = serializers.IntegerField(allow_null=True)


class VersionSerializer(serializers.Serializer):
    """One saved version, without its document (history lists)."""

    number = serializers.IntegerField()
    parent = serializers.IntegerField(source="parent.number", allow_null=True, default=None)
    author = serializers.CharField(source="author.username", allow_null=True, default=None)
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    content_hash = serializers.CharField(help_text="sha256 of the canonical JSON of the document.")
    valid = serializers.BooleanField(help_text="No validation errors when it was saved.")
    error_count = serializers.IntegerField()
    warning_count = serializers.IntegerField()
    params_total = serializers.IntegerField(allow_null=True)


class VersionDetailSerializer(VersionSerializer):
    document = serializers.JSONField(help_text="The full graph document (library blocks embedded).")


class VersionCreateSerializer(StrictSerializer):
    document = serializers.DictField(help_text="The graph document (JSON v0.2).")
    base = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="The number of the version this edit started from."
    )
    message = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class VersionCreatedSerializer(VersionSerializer):
    created = serializers.BooleanField(help_text="False when the document was identical to the head.")


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    head = VersionSerializer(help_text="The current head.")
    diff = serializers.DictField(help_text="What changed between your base version and the head.")


class GraphSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    owner = serializers.CharField(source="owner.username")
    team = serializers.CharField(source="team.slug", allow_null=True, default=None)
    visibility = serializers.ChoiceField(choices=VISIBILITIES)
    tags = serializers.SerializerMethodField()
    head = VersionSummarySerializer(allow_null=True)
    forked_from = serializers.SerializerMethodField()
    can_edit = serializers.SerializerMethodField()
    can_admin = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def _access(self, graph):
        from graphs.permissions import graph_access

        return graph_access(self.context["request"].user, graph)

    def get_tags(self, graph) -> list[str]:
        return [tag.name for tag in graph.tags.all()]

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {"graph": {"type": "integer"}, "version": {"type": "integer"}},
            "description": "The version this graph was forked from, when you may see it.",
        }
    )
    def get_forked_from(self, graph):
        source = graph.forked_from
        if source is None:
            return None
        from graphs.permissions import graph_access

        if not graph_access(self.context["request"].user, source.graph):
            return None
        return {"graph": source.graph_id, "version": source.number}

    def get_can_edit(self, graph) -> bool:
        return self._access(graph).edit

    def get_can_admin(self, graph) -> bool:
        return self._access(graph).admin


class GraphCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    tags = serializers.ListField(
        child=serializers.CharField(max_length=40), max_length=10, required=False, default=list
    )
    team = TeamSlugField()
    visibility = serializers.ChoiceField(choices=VISIBILITIES, default="private")
    document = serializers.DictField(required=False, help_text="The first version (default: an empty graph).")
    message = serializers.CharField(required=False, allow_blank=True, max_length=500, default="Created")


class GraphUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    tags = serializers.ListField(child=serializers.CharField(max_length=40), max_length=10, required=False)
    team = TeamSlugField()
    visibility = serializers.ChoiceField(choices=VISIBILITIES, required=False)


class ForkSerializer(StrictSerializer):
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False, help_text="Default: the head.")
    name = serializers.CharField(max_length=120, required=False)
    team = TeamSlugField()
    visibility = serializers.ChoiceField(choices=VISIBILITIES, default="private")


class RestoreSerializer(StrictSerializer):
    version = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text="The version to copy as the new head."
    )
    message = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class ImportSerializer(StrictSerializer):
    file = serializers.FileField(required=False, help_text="A seed-format graph file, JSON or YAML (multipart upload).")
    document = serializers.JSONField(
        required=False, help_text="The graph: a JSON object, or the text of a graph file as a string."
    )
    name = serializers.CharField(max_length=120, required=False, help_text="Default: the file's metadata.name.")
    team = TeamSlugField()
    visibility = serializers.ChoiceField(choices=VISIBILITIES, default="private")

    def validate(self, attrs):
        if ("file" in attrs) == ("document" in attrs):
            raise serializers.ValidationError("Send either file (an upload) or document, not both or neither.")
        return attrs


class FromTemplateSerializer(StrictSerializer):
    template = serializers.CharField(max_length=64, help_text="A template name from GET /api/templates/.")
    name = serializers.CharField(max_length=120, required=False)
    team = TeamSlugField()
    visibility = serializers.ChoiceField(choices=VISIBILITIES, default="private")


class TemplateSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    node_count = serializers.IntegerField()
    edge_count = serializers.IntegerField()


class DiffSerializer(serializers.Serializer):
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    diff = serializers.DictField(
        help_text="nodes (added, removed, changed, moved), edges (added, removed), inputs, outputs, "
        "composites, metadata, identical, counts."
    )
    source_diff = serializers.CharField(
        allow_null=True,
        required=False,
        help_text="With source=1: unified diff of the generated single-file source (null when a side has errors).",
    )


class TeamSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=ROLES, help_text="Your role in the team.")
    member_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class TeamCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=80)


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=ROLES)
    joined_at = serializers.DateTimeField()


class RoleSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=ROLES)


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    token = serializers.CharField()
    accept_url = serializers.SerializerMethodField()
    team = serializers.CharField(source="team.slug")
    role = serializers.ChoiceField(choices=ROLES)
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    usable = serializers.BooleanField()
    revoked = serializers.BooleanField()
    accepted_by = serializers.CharField(source="accepted_by.username", allow_null=True, default=None)

    def get_accept_url(self, invitation) -> str:
        path = f"/api/invitations/{invitation.token}/accept/"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class InvitationCreateSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=ROLES, default="editor")


class CompositeVersionSerializer(serializers.Serializer):
    block = serializers.IntegerField(source="block_id")
    name = serializers.CharField(source="block.name")
    number = serializers.IntegerField()
    author = serializers.CharField(source="author.username", allow_null=True, default=None)
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    content_hash = serializers.CharField()


INNER_BLOCKS_HELP = (
    "The user blocks the definition uses, directly or through each other: definitions by the type name "
    "used inside (a flat map, like a graph's composites)."
)


class CompositeVersionDetailSerializer(CompositeVersionSerializer):
    definition = serializers.JSONField(help_text="The block: params, nodes, edges, inputs, outputs, doc.")
    composites = serializers.DictField(
        child=serializers.DictField(),
        help_text=f"{INNER_BLOCKS_HELP} Graphs using this version embed them under the same names.",
    )
    reference = serializers.SerializerMethodField()

    @extend_schema_field(
        {
            "type": "object",
            "description": "Put this under metadata.library.<Name> of a graph to use this version.",
            "properties": {"block": {"type": "integer"}, "version": {"type": "integer"}},
        }
    )
    def get_reference(self, version):
        return {"block": version.block_id, "version": version.number}


class CompositeVersionCreatedSerializer(CompositeVersionDetailSerializer):
    created = serializers.BooleanField(help_text="False when the definition was identical to the head.")


class CompositeBlockSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    library = serializers.CharField(help_text='"user:<username>" or "team:<slug>".')
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    team = serializers.CharField(source="team.slug", allow_null=True, default=None)
    description = serializers.CharField()
    head = serializers.IntegerField(source="head.number", allow_null=True, default=None)
    can_publish = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_can_publish(self, block) -> bool:
        from graphs.permissions import composite_access

        return composite_access(self.context["request"].user, block).edit


class PublishSerializer(StrictSerializer):
    name = serializers.CharField(max_length=64, help_text="CamelCase block name, e.g. ConvBNReLU.")
    definition = serializers.DictField(help_text="params, nodes, edges, inputs, outputs (and optional doc).")
    composites = serializers.DictField(
        child=serializers.DictField(),
        required=False,
        allow_null=True,
        help_text=f"{INNER_BLOCKS_HELP} Each must be used. Omitted: those of the current version that the "
        "definition still uses.",
    )
    team = TeamSlugField(help_text="Publish to this team's library (default: your personal one).")
    message = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class BuiltinBlockSerializer(serializers.Serializer):
    type = serializers.CharField()
    category = serializers.CharField()
    doc = serializers.CharField()
    params = serializers.ListField(child=serializers.DictField())
    paper = serializers.CharField(required=False)


# --- export artifacts ----------------------------------------------------------------------------


class ArtifactRequestSerializer(serializers.Serializer):
    format = serializers.CharField(help_text="onnx, pt2 (torch.export) or torchscript.")
    opset = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="ONNX only: the opset (default: the engine's, see codegen.DEFAULT_OPSET).",
    )


class ArtifactSerializer(serializers.Serializer):
    """Documentation of graphs.artifacts.artifact_json."""

    id = serializers.IntegerField()
    format = serializers.ChoiceField(choices=["onnx", "pt2", "torchscript"])
    label = serializers.CharField()
    opset = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=["queued", "building", "ready", "failed"])
    progress = serializers.DictField(help_text='The build\'s last stage: {"stage": "exporting", "fraction": 0.4}.')
    error = serializers.CharField(help_text="Why it failed, in one sentence (empty otherwise).")
    size_bytes = serializers.IntegerField(allow_null=True)
    report = serializers.DictField(
        help_text="What the engine proved: max_abs_diff from the eager model on the same input, tolerance, method, "
        "warnings, torch_version."
    )
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    download_url = serializers.CharField(allow_null=True, help_text="Where the file is, once ready.")
