"""Teams, graphs and their immutable versions, and composite block libraries.

Versions are append-only: a ``GraphVersion`` (or ``CompositeVersion``) row is never updated or deleted
on its own, and the graph's ``head`` moves forward only through :mod:`graphs.services`, which holds
the row lock that makes concurrent saves safe.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    ADMIN = "admin", "Admin"


class Team(models.Model):
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("team-detail", args=[self.slug])

    def role_of(self, user) -> str | None:
        if not getattr(user, "is_authenticated", False):
            return None
        membership = self.memberships.filter(user=user).first()
        return membership.role if membership else None


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_user_and_team")]
        ordering = ["team", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


def _invitation_token() -> str:
    return secrets.token_urlsafe(24)


class Invitation(models.Model):
    """A link the inviter hands over (no mail server needed); anyone logged in who opens it may join."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(max_length=64, unique=True, default=_invitation_token)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation to {self.team} as {self.role}"

    @property
    def usable(self) -> bool:
        return not self.revoked and self.accepted_at is None and self.expires_at > timezone.now()


class Tag(models.Model):
    name = models.CharField(max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Visibility(models.TextChoices):
    PRIVATE = "private", "Private"
    TEAM = "team", "Team"
    PUBLIC = "public", "Public (read-only)"


class Graph(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="graphs")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="graphs")
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=5000)
    tags = models.ManyToManyField(Tag, blank=True, related_name="graphs")
    head = models.ForeignKey("GraphVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    forked_from = models.ForeignKey(
        "GraphVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="forks"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["owner", "-updated_at"]), models.Index(fields=["team", "-updated_at"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("graph-detail", args=[self.pk])


class GraphVersion(models.Model):
    """One immutable save of a graph: the full document, who saved it, and its validation summary."""

    graph = models.ForeignKey(Graph, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    message = models.CharField(max_length=500, blank=True)
    document = models.JSONField()
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    # The validation summary at save time (the engine may change; this records what the author saw).
    valid = models.BooleanField(default=False)
    error_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)
    params_total = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["graph", "-number"]
        constraints = [models.UniqueConstraint(fields=["graph", "number"], name="version_numbers_are_unique")]

    def __str__(self) -> str:
        return f"{self.graph} v{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("graph-version", args=[self.graph_id, self.number])

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("graph versions are immutable; save a new version instead")
        super().save(*args, **kwargs)


def artifact_storage():
    """Where built exports are kept: the ``artifacts`` storage (a folder under ``var/`` by default)."""
    from django.core.files.storage import storages

    return storages["artifacts"]


def artifact_path(artifact: ExportArtifact, filename: str) -> str:
    return f"{artifact.version_id}/{artifact.pk}/{filename}"


class ArtifactStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    BUILDING = "building", "Building"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class ExportArtifact(models.Model):
    """A heavy export of a version (ONNX, torch.export, TorchScript), built on a worker and kept as a file.

    One per version, format and opset; it is built again only when it failed or its file went missing.
    ``report`` is what the engine proved (``codegen.ExportResult.to_dict()``: the largest difference from
    the eager model, the tolerance, the method and any warnings).
    """

    version = models.ForeignKey(GraphVersion, on_delete=models.CASCADE, related_name="artifacts")
    format = models.CharField(max_length=20)  # onnx | pt2 | torchscript
    opset = models.PositiveSmallIntegerField(default=0)  # ONNX's opset; 0 for the formats that have none
    status = models.CharField(max_length=10, choices=ArtifactStatus.choices, default=ArtifactStatus.QUEUED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    file = models.FileField(upload_to=artifact_path, storage=artifact_storage, blank=True, max_length=300)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    report = models.JSONField(default=dict)
    progress = models.JSONField(default=dict)  # {"stage": "exporting", "fraction": 0.4}
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)  # the last sign of life of its build
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["version", "format", "opset"]
        constraints = [
            models.UniqueConstraint(fields=["version", "format", "opset"], name="one_artifact_per_format_and_opset")
        ]

    def __str__(self) -> str:
        return f"{self.format} of {self.version}"

    @property
    def group_name(self) -> str:
        """The channel-layer group of the live changes to its version's artifacts."""
        return version_artifacts_group(self.version_id)


def version_artifacts_group(version_id: int) -> str:
    return f"artifacts.{version_id}"


class CompositeBlock(models.Model):
    """A reusable block in a personal (``owner``) or team (``team``) library; exactly one is set."""

    name = models.CharField(max_length=64)  # a CamelCase Python identifier, the block's type name
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="composites"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="composites")
    description = models.TextField(blank=True, max_length=5000)
    head = models.ForeignKey("CompositeVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(owner__isnull=False, team__isnull=True)
                | models.Q(owner__isnull=True, team__isnull=False),
                name="composite_in_exactly_one_library",
            ),
            models.UniqueConstraint(fields=["owner", "name"], name="unique_personal_block_name"),
            models.UniqueConstraint(fields=["team", "name"], name="unique_team_block_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("composite-detail", args=[self.pk])

    @property
    def library(self) -> str:
        return f"team:{self.team.slug}" if self.team_id else f"user:{self.owner.username}"


class CompositeVersion(models.Model):
    """One immutable definition of a block: the engine's composite format (params, nodes, edges, …)."""

    block = models.ForeignKey(CompositeBlock, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    # The user blocks the definition uses, directly or through each other, by the type name used inside:
    # a flat map like a graph's ``composites``, so the version is self-contained.
    composites = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["block", "-number"]
        constraints = [models.UniqueConstraint(fields=["block", "number"], name="block_version_numbers_are_unique")]

    def __str__(self) -> str:
        return f"{self.block} v{self.number}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("block versions are immutable; publish a new version instead")
        super().save(*args, **kwargs)


class Activity(models.Model):
    """What happened, for dashboards: saves, forks, restores, publishes, team changes."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    verb = models.CharField(max_length=40)
    graph = models.ForeignKey(Graph, null=True, blank=True, on_delete=models.CASCADE, related_name="activity")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="activity")
    summary = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.summary
