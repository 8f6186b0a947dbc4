"""Smoke runs of a graph version and the events they emit.

The database is the source of truth: a run exists (``queued``) before its task is sent, moves only
through the guarded transitions below (each a conditional UPDATE, so a message delivered twice
executes once), and ends in exactly one terminal state.
"""

from __future__ import annotations

import copy
import io
from typing import Any

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from graphs.models import Visibility
from training.datasets import builtin_file


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"  # its state is in its checkpoint; resuming queues it again, for any worker
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)
ACTIVE = (Status.QUEUED, Status.RUNNING)  # what counts against a user's concurrent runs (a paused run does not)
UNSENT = (
    "Queued, but the task queue (Redis) cannot be reached right now: the run will be sent to a worker as soon as "
    "it is back."
)


def _checkpoint_storage():
    return storages["checkpoints"]  # looked up when used, so tests and deployments may swap it


class SetKind(models.TextChoices):
    ABLATION = "ablation", "Ablation matrix"
    SWEEP = "sweep", "Sweep"


class RunSet(models.Model):
    """Runs of one version queued together (``training.run_sets``): each disables one node (an ablation
    matrix, with a baseline) or takes one value of a config field or node parameter (a sweep)."""

    version = models.ForeignKey("graphs.GraphVersion", on_delete=models.CASCADE, related_name="run_sets")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="run_sets")
    kind = models.CharField(max_length=10, choices=SetKind.choices)
    name = models.CharField(max_length=120)
    axis = models.CharField(max_length=300)  # what varies, in words: "disable one of conv, relu" or "lr"
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"set {self.pk} of {self.version} ({self.kind})"

    def get_absolute_url(self) -> str:
        return reverse("run-set-detail", args=[self.pk])


def variant_document(document: dict[str, Any], variant: dict[str, Any]) -> dict[str, Any]:
    """``document`` with ``variant["disable"]``'s nodes disabled and ``variant["params"]`` set on theirs
    (``{"drop": {"p": 0.3}}``); a copy: the version's stays as it is."""
    disabled = set(variant.get("disable") or ())
    params = variant.get("params") or {}
    if not disabled and not params:
        return document
    document = copy.deepcopy(document)
    for node in document.get("nodes", []):
        if isinstance(node, dict) and node.get("id") in disabled:
            node["disabled"] = True
        if isinstance(node, dict) and node.get("id") in params:
            node["params"] = {**(node.get("params") or {}), **params[node["id"]]}
    return document


class Run(models.Model):
    version = models.ForeignKey("graphs.GraphVersion", on_delete=models.CASCADE, related_name="runs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="runs")
    # Given when queued or later; "<graph> v<n> #<id>" when none was (set by training.labels).
    name = models.CharField(max_length=120, blank=True, db_index=True)
    tags = models.ManyToManyField("graphs.Tag", blank=True, related_name="runs")  # the graphs' tag vocabulary
    config = models.JSONField(default=dict)  # batch_size, steps, optimizer, lr, loss, device, precision, seed
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    cancel_requested = models.BooleanField(default=False)
    # Asked for by the user, acted on by the worker between two steps.
    pause_requested = models.BooleanField(default=False)
    stop_requested = models.BooleanField(default=False)  # finish now, keeping the results so far
    queue = models.CharField(max_length=20, blank=True)  # "gpu", "cpu" or "embedded"
    attempts = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    queued_at = models.DateTimeField(default=timezone.now)  # entered "queued" (again, when re-queued)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)  # its task message was last sent

    worker = models.CharField(max_length=200, blank=True)  # host name and pid
    device = models.CharField(max_length=100, blank=True)  # "cpu", "cuda:0 (NVIDIA H100)"
    torch_version = models.CharField(max_length=40, blank=True)
    params_total = models.BigIntegerField(null=True, blank=True)
    metrics = models.JSONField(default=dict)  # final: loss, samples_per_s, step_time_ms, peak_memory_bytes, …
    error = models.TextField(blank=True)
    # Runs of a set outlive its deletion as plain runs; ``variant`` still says what they changed.
    run_set = models.ForeignKey(RunSet, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    # {"disable": ["conv2"]}, {"lr": 0.01} or {"params": {"drop": {"p": 0.3}}}; {}: the version as it is
    variant = models.JSONField(default=dict, blank=True)

    # Training on a dataset (None: a smoke run on generated batches). Deleting the dataset leaves the run's
    # results; a paused run then cannot resume.
    dataset = models.ForeignKey("Dataset", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    # The last checkpoint (any worker resumes from it) and, once the run paused or ended, its weights.
    checkpoint = models.FileField(storage=_checkpoint_storage, blank=True, max_length=300)
    checkpoint_step = models.PositiveIntegerField(null=True, blank=True)
    weights = models.FileField(storage=_checkpoint_storage, blank=True, max_length=300)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "status"])]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.version} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("run-detail", args=[self.pk])

    def document(self) -> dict[str, Any]:
        """The graph document this run trains: its version's, with its variant applied (nodes disabled, node
        parameters set)."""
        return variant_document(self.version.document, self.variant)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def unsent(self) -> bool:
        """Queued for the Celery workers, but its task message has not reached the broker (the sweeper sends
        it when the broker is back)."""
        return self.status == Status.QUEUED and self.queue != "embedded" and self.dispatched_at is None

    @property
    def group_name(self) -> str:
        """The channel-layer group of this run's live events."""
        return f"run.{self.pk}"

    def transition(self, source: tuple[str, ...] | str, target: str, *, where: Q | None = None, **fields) -> bool:
        """Move to ``target`` only from ``source`` (and only ``where`` that holds), atomically; False if another
        process got there first."""
        sources = (source,) if isinstance(source, str) else tuple(source)
        now = timezone.now()
        if target == Status.RUNNING:
            fields.setdefault("started_at", now)
            fields.setdefault("heartbeat_at", now)
        if target in TERMINAL:
            fields.setdefault("finished_at", now)
        updated = Run.objects.filter(where or Q(), pk=self.pk, status__in=sources).update(status=target, **fields)
        if updated:
            self.status = target
            for name, value in fields.items():
                setattr(self, name, value)
            if target in TERMINAL and self.checkpoint:
                from training.checkpoints import discard_checkpoint

                discard_checkpoint(self)  # an ended run never resumes: its weights stay, its checkpoint goes
        return bool(updated)

    def claim(self, worker: str, *, stale_before, lost_worker: str | None = None) -> bool:
        """Start an execution attempt: from ``queued``, or by taking over a ``running`` run whose worker
        stopped beating before ``stale_before`` (or is ``lost_worker``, known dead). One caller wins."""
        now = timezone.now()
        takeover = Q(status=Status.RUNNING, heartbeat_at__lt=stale_before)
        if lost_worker:
            takeover |= Q(status=Status.RUNNING, worker=lost_worker)
        updated = Run.objects.filter(Q(status=Status.QUEUED) | takeover, pk=self.pk).update(
            status=Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
            worker=worker,
            attempts=F("attempts") + 1,
        )
        self.refresh_from_db()
        return bool(updated)


class RunEvent(models.Model):
    """One message of the run's WebSocket protocol, persisted so late subscribers get the history."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=10)  # status | progress | epoch | checkpoint | done | error
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="one_event_per_sequence_number")]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.seq} {self.kind}"

    def message(self) -> dict:
        """The WebSocket message: ``{"type": kind, "seq": n, **payload}``."""
        return {"type": self.kind, "seq": self.seq, **self.payload}


def _dataset_storage():
    return storages["datasets"]  # looked up when used, like the checkpoints' storage


class DatasetKind(models.TextChoices):
    CSV = "csv", "CSV table"
    ARRAYS = "arrays", "NumPy arrays (NPZ)"
    IMAGES = "images", "Image folders (ZIP)"


class Dataset(models.Model):
    """An uploaded (or built-in) dataset, validated on upload; ``facts`` is what validation found.

    Ownership and sharing work like graphs (``graphs.permissions.dataset_access``). Built-in datasets have
    no owner and no stored file: ``builtin`` names the generator in ``training.datasets.BUILTINS``.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="datasets"
    )
    team = models.ForeignKey("graphs.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="datasets")
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=DatasetKind.choices)
    file = models.FileField(storage=_dataset_storage, upload_to="%Y/%m/", blank=True, max_length=300)
    builtin = models.SlugField(max_length=40, blank=True, default="")
    facts = models.JSONField(default=dict)  # samples, input_shape, dtype, task, classes, columns, size_bytes
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-builtin", "-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"]), models.Index(fields=["team", "-created_at"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("dataset-detail", args=[self.pk])

    def open(self):
        """The dataset's file, as a binary stream (a built-in one is generated, always the same bytes)."""
        if self.builtin:
            return io.BytesIO(builtin_file(self.builtin))
        return self.file.open("rb")
