"""A run's events: persisted first (the history a late subscriber receives), then sent live.

Every message of the WebSocket protocol (``status``, ``progress``, ``done``, ``error``; see
``ARCHITECTURE.md``) goes through :func:`publish_event`, from the web process (queued, cancelled), the
worker (running, progress, done, error) and the sweeper alike. Two channel-layer messages follow each
event, once its transaction has committed:

- ``{"type": "run.event", "event": {...}}`` to the run's group ``run.<id>`` (the run page), and
- ``{"type": "user.run", "run": {id, status, graph, version, step, total, loss}}`` to ``user.<id>``, the
  group of the user who queued it (run lists and dashboards).

The database is the source of truth: if the channel layer is down, the event is still stored and
subscribers get it with the history when they reconnect.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import Max

from training.models import Run, RunEvent

logger = logging.getLogger("torchcanvas.training")

KINDS = ("status", "progress", "done", "error")


def user_group(user_id: int) -> str:
    """The channel-layer group of one user's run list."""
    return f"user.{user_id}"


def publish_event(run: Run, kind: str, payload: dict[str, Any]) -> RunEvent:
    """Store the run's next event (sequence numbers 1, 2, 3… per run, also under concurrent writers) and
    send it to the run's and the user's groups when the surrounding transaction commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}; expected one of {', '.join(KINDS)}")
    with transaction.atomic():
        # The run's row lock serialises writers of this run's events (on SQLite, the write lock does).
        Run.objects.select_for_update().filter(pk=run.pk).values_list("pk").first()
        last = RunEvent.objects.filter(run_id=run.pk).aggregate(last=Max("seq"))["last"] or 0
        event = RunEvent.objects.create(run_id=run.pk, seq=last + 1, kind=kind, payload=payload)
    summary = run_summary(
        run, payload if kind == "progress" else None, status=payload["status"] if kind == "status" else None
    )
    transaction.on_commit(lambda: _broadcast(run, event, summary))
    return event


def run_summary(run: Run, progress: dict[str, Any] | None = None, *, status: str | None = None) -> dict[str, Any]:
    """The per-user stream's view of a run, what a list row shows (``progress``: its latest, if known)."""
    if progress is None:
        progress = (
            RunEvent.objects.filter(run_id=run.pk, kind="progress")
            .order_by("-seq")
            .values_list("payload", flat=True)
            .first()
            or {}
        )
    total = progress.get("total") or _total_steps(run.config)
    step = progress.get("step", 0)
    return {
        "id": run.pk,
        "status": str(status or run.status),
        "graph": {"id": run.version.graph_id, "name": run.version.graph.name},
        "version": run.version.number,
        "step": step,
        "total": total,
        "loss": progress.get("loss"),
    }


def _total_steps(config: dict[str, Any]) -> int | None:
    steps, epochs = config.get("steps"), config.get("epochs", 1)
    return steps * epochs if isinstance(steps, int) and isinstance(epochs, int) else None


def _broadcast(run: Run, event: RunEvent, summary: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        send = async_to_sync(layer.group_send)
        send(run.group_name, {"type": "run.event", "event": event.message()})
        send(user_group(run.user_id), {"type": "user.run", "run": summary})
    except Exception:  # the event is stored; live delivery is best effort
        logger.warning("Could not send event %s of run %s to the channel layer", event.seq, run.pk, exc_info=True)
