"""Request and response shapes of the engine API (validate, codegen, export)."""

from __future__ import annotations

import keyword
import re
import sys

from rest_framework import serializers

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# A generated package with one of these names would shadow the module when imported next to it.
SHADOWED_MODULES = frozenset(sys.stdlib_module_names) | {"torch", "torchvision", "torchaudio", "numpy"}

MAX_INPUT_RANK = 8
MAX_DIM_SIZE = 2**31 - 1


def check_package_name(value: str) -> str:
    """A name that is safe as a Python package/module name in the exported code."""
    if not NAME_PATTERN.fullmatch(value):
        raise serializers.ValidationError(
            "Use 1 to 64 ASCII letters, digits and underscores, not starting with a digit."
        )
    if keyword.iskeyword(value):
        raise serializers.ValidationError(f"{value!r} is a Python keyword.")
    if value in SHADOWED_MODULES:
        raise serializers.ValidationError(f"{value!r} would shadow the module of the same name; choose another.")
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

    def validate_name(self, value: str) -> str:
        return check_package_name(value)


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
    memory_bytes = serializers.IntegerField(allow_null=True, help_text="Estimated activation memory (batch 1, fp32).")
    order = serializers.ListField(child=serializers.CharField(), help_text="Node ids in execution order.")


class CodegenResponseSerializer(serializers.Serializer):
    files = serializers.DictField(child=serializers.CharField(), help_text="Source text by relative path.")
