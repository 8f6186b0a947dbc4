"""Heavy exports of a version, built on a worker and kept as files: ONNX, torch.export and TorchScript.

Building one means building the model's weights (VGG-16's are 528 MB), exporting, reloading the file
and comparing it with the eager model (:func:`codegen.export_model`): never work for a web request. So:

- :func:`request_artifact` (web process) checks that the version can be exported in that format before
  anything is queued, and returns the artifact of that version, format and opset, creating it
  (``queued``) only when there is none, it failed, its file went missing, or its build went silent for
  ``TORCHCANVAS_EXPORTS["stale_after_s"]``. The caller sends new ones with
  :func:`training.dispatch.send_export`.
- :func:`build` (a worker, or the embedded worker thread) claims it, builds it into a temporary folder,
  stores the file in the ``artifacts`` storage and ends it ``ready`` (with the engine's report: the
  largest difference from the eager model) or ``failed`` (with one sentence).

Every change is sent, once committed, to the channel-layer group of the version's artifacts, which the
version page follows over ``/ws/versions/<id>/artifacts/``. The database is the source of truth: a page
that missed a message reads the row.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

import codegen
from codegen.exports import DEFAULT_OPSET, FORMAT_NAMES, FORMATS, MAX_OPSET, MIN_OPSET, SUFFIXES
from codegen.smoke import describe_exception
from graphs.models import ArtifactStatus, ExportArtifact, GraphVersion, version_artifacts_group
from graphs.services import engine_limits

logger = logging.getLogger("torchcanvas.exports")


def extension(fmt: str) -> str:
    return SUFFIXES[fmt].lstrip(".")


class ArtifactRefused(Exception):
    """An export that will not be queued, with one sentence saying why (HTTP 400)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def parse_request(fmt: Any, opset: Any) -> tuple[str, int]:
    """The checked format and opset (0 for the formats without one) of a request, or :class:`ArtifactRefused`."""
    if fmt not in FORMATS:
        raise ArtifactRefused(f"Unknown export format {str(fmt)[:40]!r}: choose {', '.join(FORMATS)}.")
    if fmt != "onnx":
        if opset not in (None, "", 0, "0"):
            raise ArtifactRefused(f"Only ONNX has an opset; {FORMAT_NAMES[fmt]} takes none.")
        return fmt, 0
    if opset in (None, ""):
        return fmt, DEFAULT_OPSET
    try:
        number = int(opset)
    except (TypeError, ValueError):
        raise ArtifactRefused(f"The opset must be a whole number, not {str(opset)[:20]!r}.") from None
    if not MIN_OPSET <= number <= MAX_OPSET:
        raise ArtifactRefused(f"ONNX opset {number} is not supported: choose one from {MIN_OPSET} to {MAX_OPSET}.")
    return fmt, number


def request_artifact(version: GraphVersion, user, fmt: Any, opset: Any = None) -> tuple[ExportArtifact, bool]:
    """The artifact of ``version`` in ``fmt`` (and ``opset``), and whether it must be sent to a worker.

    The caller has checked that ``user`` may read the version. Raises :class:`ArtifactRefused` when the
    request or the graph cannot give that export (the nodes that stop it are named).
    """
    fmt, opset_number = parse_request(fmt, opset)
    stale_before = timezone.now() - timedelta(seconds=settings.TORCHCANVAS_EXPORTS["stale_after_s"])
    existing = ExportArtifact.objects.filter(version=version, format=fmt, opset=opset_number).first()
    if existing is not None and not _needs_rebuild(existing, stale_before):
        return existing, False  # a version never changes: what was built (or is being built) stands
    problems = [
        d for d in codegen.export_problems(version.document, fmt, limits=engine_limits()) if d.severity == "error"
    ]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ArtifactRefused(
            f"Version {version.number} cannot be exported as {FORMAT_NAMES[fmt]}: {problems[0].message}{more}"
        )
    with transaction.atomic():
        artifact, created = ExportArtifact.objects.select_for_update().get_or_create(
            version=version, format=fmt, opset=opset_number, defaults={"requested_by": _user_or_none(user)}
        )
        if not created and not _needs_rebuild(artifact, stale_before):
            return artifact, False
        if not created:
            forget_file(artifact.file)
            ExportArtifact.objects.filter(pk=artifact.pk).update(
                status=ArtifactStatus.QUEUED,
                requested_by=_user_or_none(user),
                file="",
                size_bytes=None,
                report={},
                progress={},
                error="",
                worker="",
                started_at=None,
                finished_at=None,
                updated_at=timezone.now(),
            )
            artifact.refresh_from_db()
        publish(artifact)
    return artifact, True


def _user_or_none(user):
    return user if getattr(user, "is_authenticated", False) else None


def _needs_rebuild(artifact: ExportArtifact, stale_before) -> bool:
    if artifact.status == ArtifactStatus.FAILED:
        return True
    if artifact.status == ArtifactStatus.READY:
        return not (artifact.file and artifact.file.storage.exists(artifact.file.name))
    return artifact.updated_at < stale_before  # queued or building, and silent for too long


def delete_file_with_row(sender, instance: ExportArtifact, **kwargs) -> None:
    """Delete an artifact's file once the deletion of its row has committed."""
    transaction.on_commit(lambda: forget_file(instance.file))


def forget_file(stored) -> None:
    """Delete a stored file (a ``FieldFile``, or a storage and a name), if there is one; never raises."""
    storage, name = (stored.storage, stored.name) if hasattr(stored, "storage") else stored
    if name:
        try:
            storage.delete(name)
        except Exception:  # a file that cannot be deleted is left behind; the row no longer points at it
            logger.warning("Could not delete %s", name, exc_info=True)


def build(artifact_id: int, *, worker: str = "", timeouts: tuple[type[BaseException], ...] = ()) -> str:
    """Build artifact ``artifact_id`` once: ``ready``, ``failed``, or ``skipped`` when it was not queued
    (a message delivered twice builds once). ``timeouts``: the worker's time-limit exceptions."""
    now = timezone.now()
    claimed = ExportArtifact.objects.filter(pk=artifact_id, status=ArtifactStatus.QUEUED).update(
        status=ArtifactStatus.BUILDING, worker=worker[:200], started_at=now, updated_at=now, progress={}
    )
    if not claimed:
        return "skipped"
    artifact = ExportArtifact.objects.select_related("version__graph").get(pk=artifact_id)
    publish(artifact)
    version = artifact.version
    title = version.graph.name
    mine = {"pk": artifact.pk, "status": ArtifactStatus.BUILDING, "worker": artifact.worker}

    def on_progress(stage: str, fraction: float) -> None:
        progress = {"stage": stage, "fraction": round(min(max(fraction, 0.0), 1.0), 3)}
        if ExportArtifact.objects.filter(**mine).update(progress=progress, updated_at=timezone.now()):
            artifact.progress = progress
            publish(artifact)

    with tempfile.TemporaryDirectory(prefix="torchcanvas-export-") as folder:
        target = Path(folder) / codegen.download_name(title, extension(artifact.format), version.number)
        try:
            result = codegen.export_model(
                version.document,
                artifact.format,
                target,
                opset=artifact.opset or None,
                limits=engine_limits(),
                title=title,
                on_progress=on_progress,
            )
        except timeouts:
            limit = settings.TORCHCANVAS_EXPORTS["time_limit_s"]
            return _fail(mine, f"The export took longer than its time limit ({limit} s) and was stopped.")
        except codegen.ExportFailed as exc:  # graph problems included: export_model raises nothing else of its own
            return _fail(mine, str(exc))
        except Exception as exc:
            logger.exception("Export %s failed", artifact_id)
            return _fail(mine, f"The export failed: {describe_exception(exc)}")
        with target.open("rb") as stream:
            name = artifact.file.storage.save(
                artifact.file.field.generate_filename(artifact, target.name), File(stream, name=target.name)
            )
    done = ExportArtifact.objects.filter(**mine).update(
        status=ArtifactStatus.READY,
        file=name,
        size_bytes=result.size_bytes,
        report=result.to_dict(),
        progress={"stage": "ready", "fraction": 1.0},
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if not done:  # taken over meanwhile (this build went silent for too long): its rebuild stands
        artifact.file.storage.delete(name)
        return "skipped"
    publish(ExportArtifact.objects.get(pk=artifact_id))
    return "ready"


def _fail(mine: dict, message: str) -> str:
    ExportArtifact.objects.filter(**mine).update(
        status=ArtifactStatus.FAILED, error=message, finished_at=timezone.now(), updated_at=timezone.now()
    )
    artifact = ExportArtifact.objects.filter(pk=mine["pk"]).first()
    if artifact is not None:
        publish(artifact)
    return "failed"


def fail_silent_builds(now=None, *, server_start: bool = False) -> list[int]:
    """Fail the builds (queued or building) silent for ``TORCHCANVAS_EXPORT_STALE_AFTER``: their worker, or
    their message, was lost. Returns their ids. The sweeper calls this every minute, so a page does not show
    "building" for ever; asking for the export again builds it again. ``server_start``: every unfinished
    build, whatever its age (the embedded worker that had them died with the previous server)."""
    seconds = settings.TORCHCANVAS_EXPORTS["stale_after_s"]
    silent = (now or timezone.now()) - timedelta(seconds=0 if server_start else seconds)
    failed = []
    for artifact in ExportArtifact.objects.filter(
        status__in=(ArtifactStatus.QUEUED, ArtifactStatus.BUILDING), updated_at__lt=silent
    ):
        waiting = artifact.status == ArtifactStatus.QUEUED
        if server_start:
            message = "The server stopped before this export was built: ask for it again."
        elif waiting:
            message = f"No worker took this export within {seconds // 60} minutes: ask for it again."
        else:
            message = f"The worker building this export went silent for {seconds // 60} minutes: ask for it again."
        mine = {"pk": artifact.pk, "status": artifact.status, "updated_at": artifact.updated_at}
        if ExportArtifact.objects.filter(**mine).update(
            status=ArtifactStatus.FAILED, error=message, finished_at=timezone.now(), updated_at=timezone.now()
        ):
            artifact.refresh_from_db()
            publish(artifact)
            failed.append(artifact.pk)
    return failed


def artifact_json(artifact: ExportArtifact, download_route: str = "graph-artifact-download") -> dict[str, Any]:
    """What the page, its live stream and the API say of an artifact; ``download_route`` names the URL its
    file is served at (the page's, or the API's for token clients)."""
    version = artifact.version
    ready = artifact.status == ArtifactStatus.READY
    return {
        "id": artifact.pk,
        "format": artifact.format,
        "label": FORMAT_NAMES.get(artifact.format, artifact.format),
        "opset": artifact.opset or None,
        "status": artifact.status,
        "progress": artifact.progress,
        "error": artifact.error,
        "size_bytes": artifact.size_bytes,
        "report": artifact.report,
        "created_at": artifact.created_at.isoformat(),
        "finished_at": artifact.finished_at.isoformat() if artifact.finished_at else None,
        "download_url": reverse(download_route, args=[version.graph_id, version.number, artifact.pk])
        if ready
        else None,
    }


def publish(artifact: ExportArtifact) -> None:
    """Send the artifact's state to its version's group once the surrounding transaction commits."""
    message = {"type": "artifact.changed", "artifact": artifact_json(artifact)}
    group = version_artifacts_group(artifact.version_id)
    transaction.on_commit(lambda: _broadcast(group, message))


def _broadcast(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # the row holds the state; live delivery is best effort
        logger.warning("Could not send %s to the channel layer", group, exc_info=True)


def open_file(artifact: ExportArtifact):
    """The stored file of a ready artifact, opened for reading, or None when it is not there (any more)."""
    if artifact.status != ArtifactStatus.READY or not artifact.file:
        return None
    try:
        return artifact.file.storage.open(artifact.file.name, "rb")
    except (FileNotFoundError, OSError):
        return None


def download_filename(artifact: ExportArtifact) -> str:
    version = artifact.version
    return codegen.download_name(version.graph.name, extension(artifact.format), version.number)
