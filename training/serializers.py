"""Request and response shapes of the runs API."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from codegen.checkpoint import WEIGHT_FORMATS
from graphs.serializers import StrictSerializer
from graphs.services import MAX_TAGS
from training.access import may_cancel
from training.config import DATA_MODES, DEVICES, LOSSES, OPTIMIZERS, PRECISIONS
from training.events import KINDS
from training.labels import MAX_NAME, tag_names
from training.listing import total_steps
from training.models import UNSENT, Status


class RunConfigSerializer(serializers.Serializer):
    """What a run's config may hold (the schema of ``config``; :func:`training.config.parse_config` checks it)."""

    batch_size = serializers.IntegerField(required=False, min_value=1, help_text="Default 8.")
    steps = serializers.IntegerField(required=False, min_value=1, help_text="Steps per epoch. Default 30.")
    epochs = serializers.IntegerField(required=False, min_value=1, help_text="Default 1.")
    optimizer = serializers.ChoiceField(choices=OPTIMIZERS, required=False, help_text="Default adam.")
    lr = serializers.FloatField(required=False, help_text="Learning rate, above 0 and at most 10. Default 0.001.")
    loss = serializers.ChoiceField(
        choices=LOSSES,
        required=False,
        help_text="Default auto: cross-entropy for (B, classes) outputs, MSE for any other.",
    )
    device = serializers.ChoiceField(
        choices=DEVICES, required=False, help_text="Default auto: a GPU when the worker has one."
    )
    precision = serializers.ChoiceField(
        choices=PRECISIONS, required=False, help_text="bf16/fp16: mixed precision, on CUDA only. Default fp32."
    )
    data = serializers.ChoiceField(
        choices=DATA_MODES,
        required=False,
        help_text="fixed: one batch trained on at every step (the loss falls when the model learns); random: a "
        "fresh batch each step. Default fixed.",
    )
    seed = serializers.IntegerField(required=False, min_value=0, help_text="Default 0.")
    time_limit_s = serializers.IntegerField(
        required=False, min_value=1, help_text="Wall-time limit of the training; default and maximum: the server's."
    )
    input_shapes = serializers.DictField(
        child=serializers.ListField(child=serializers.IntegerField(min_value=1)),
        required=False,
        help_text='Sizes without the batch per Input node, e.g. {"inp": [9, 256]}: overrides or supplies the '
        "graph's own.",
    )
    dataset = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Train on this dataset (its id; one you may see): one pass over its training split per epoch, "
        "validated after each. `steps` is then computed, and an Input without a shape takes the samples' shape.",
    )
    val_fraction = serializers.FloatField(
        required=False, help_text="With a dataset: the share held out for validation (seeded), 0 to 0.5. Default 0.2."
    )
    early_stop_metric = serializers.ChoiceField(
        choices=["val_loss", "val_accuracy", "val_mae"], required=False, help_text="Default val_loss."
    )
    early_stop_patience = serializers.IntegerField(
        required=False, min_value=0, help_text="Stop after this many epochs without improvement; 0 (default): never."
    )
    init_from_run = serializers.IntegerField(
        required=False, min_value=1, help_text="Start from the trained weights of this run (one you may see)."
    )


@extend_schema_field(RunConfigSerializer)
class RunConfigField(serializers.JSONField):
    """Any JSON here (``parse_config`` answers with its own sentences); the schema shows what a config holds."""


class RunLabelsSerializer(StrictSerializer):
    """A run's name and tags, when queued or edited (``PATCH``); the server checks characters and sizes."""

    name = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_NAME,
        help_text=f'At most {MAX_NAME} characters; blank: the default, "<graph> v<n> #<run id>".',
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        max_length=MAX_TAGS,
        help_text=f"At most {MAX_TAGS} tags of letters, digits, spaces and . + # - _ (stored lower-case); "
        "replaces the run's tags.",
    )


class RunCreateSerializer(RunLabelsSerializer):
    graph = serializers.IntegerField(min_value=1, help_text="The graph's id.")
    version = serializers.IntegerField(
        min_value=1, required=False, help_text="The version number; default: the graph's head."
    )
    config = RunConfigField(required=False, help_text="Run settings; anything left out takes its default.")

    def validate_config(self, value):
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError('Expected an object such as {"steps": 30, "batch_size": 8}.')
        return value


class RunGraphSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="version.graph_id")
    name = serializers.CharField(source="version.graph.name")


class ProgressSerializer(serializers.Serializer):
    step = serializers.IntegerField()
    total = serializers.IntegerField(allow_null=True)
    loss = serializers.FloatField(allow_null=True)


class RunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text='Given when queued or later, else "<graph> v<n> #<run id>".')
    tags = serializers.SerializerMethodField()
    graph = serializers.SerializerMethodField()
    version = serializers.IntegerField(source="version.number")
    user = serializers.CharField(source="user.username")
    status = serializers.ChoiceField(choices=Status.choices)
    config = serializers.JSONField(help_text="Every setting the run uses, defaults included.")
    queue = serializers.CharField(help_text="gpu, cpu or embedded.")
    attempts = serializers.IntegerField(help_text="Executions started (more than 1 after a lost worker).")
    cancel_requested = serializers.BooleanField()
    pause_requested = serializers.BooleanField()
    stop_requested = serializers.BooleanField()
    dataset = serializers.IntegerField(source="dataset_id", allow_null=True, help_text="The dataset it trains on.")
    checkpoint_step = serializers.IntegerField(
        allow_null=True, help_text="The step of its newest checkpoint (a paused run resumes after it)."
    )
    weights = serializers.SerializerMethodField(
        help_text="Download addresses of its trained weights by format (safetensors, pt), once it paused or ended."
    )
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    heartbeat_at = serializers.DateTimeField(allow_null=True)
    worker = serializers.CharField(help_text="host:pid of the worker that executed it.")
    device = serializers.CharField(help_text='e.g. "cpu", "cuda:0 (NVIDIA H100 80GB HBM3)".')
    torch_version = serializers.CharField()
    params_total = serializers.IntegerField(allow_null=True)
    progress = serializers.SerializerMethodField()
    metrics = serializers.JSONField(
        help_text="When finished: loss, first_loss, samples_per_s, step_time_ms, peak_memory_bytes, grad_norm, "
        "loss_curve ([[step, loss], …]), …"
    )
    error = serializers.CharField(help_text="Why it failed, in one sentence.")
    run_set = serializers.IntegerField(
        source="run_set_id", allow_null=True, help_text="The ablation matrix or sweep it belongs to (id), or null."
    )
    variant = serializers.JSONField(
        help_text='What this run of a set changes: {"disable": ["conv2"]} (that node disabled), {"lr": 0.01}, or {}.'
    )
    can_cancel = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="The run's page.")
    notice = serializers.SerializerMethodField(
        help_text="null, or a sentence about the run's state: a queued run whose message could not be sent yet "
        "(the broker, Redis, is unreachable) says it will be sent when the broker is back."
    )

    def get_tags(self, run) -> list[str]:
        return tag_names(run)

    @extend_schema_field(RunGraphSerializer)
    def get_graph(self, run) -> dict:
        return RunGraphSerializer(run).data

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, run) -> dict:
        latest = getattr(run, "latest", None) or {}
        total = latest.get("total") or total_steps(run.config)
        step = total if run.status == Status.SUCCEEDED and total else latest.get("step", 0)
        return {"step": step, "total": total, "loss": latest.get("loss")}

    def get_can_cancel(self, run) -> bool:
        request = self.context.get("request")
        return not run.terminal and request is not None and may_cancel(request.user, run)

    def get_weights(self, run) -> dict[str, str] | None:
        if not run.weights:
            return None
        return {fmt: reverse("api-run-weights", args=[run.pk]) + f"?format={fmt}" for fmt in WEIGHT_FORMATS}

    def get_url(self, run) -> str:
        return run.get_absolute_url()

    def get_notice(self, run) -> str | None:
        return UNSENT if run.unsent else None


class RunEventSerializer(serializers.Serializer):
    """One message of the WebSocket protocol: status, progress, epoch, checkpoint, done or error."""

    type = serializers.ChoiceField(choices=list(KINDS))
    seq = serializers.IntegerField(help_text="1, 2, 3… per run.")
    status = serializers.CharField(required=False, help_text="status events")
    step = serializers.IntegerField(required=False, help_text="progress events (also total, epoch, …)")
    loss = serializers.FloatField(required=False, help_text="progress events")
    metrics = serializers.DictField(required=False, help_text="done events")
    val_loss = serializers.FloatField(required=False, allow_null=True, help_text="epoch events (also val_accuracy, …)")
    message = serializers.CharField(required=False, help_text="error events")


class RunEventPageSerializer(serializers.Serializer):
    results = RunEventSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="The next page (`?after=<last seq>`), or null.")
