"""A run's events: persisted first (the history a late subscriber receives), then sent live.

Every message of the WebSocket protocol (``status``, ``progress``, ``epoch``, ``checkpoint``, ``done``, ``error``; see
``ARCHITECTURE.md``) goes through :func:`publish_event`, from the web process (queued, cancelled), the
worker (running, progress, done, error) and the sweeper alike. Two channel-layer messages follow each
event, once its transaction has committed:

- ``{"type": "run.event", "event": {...}}`` to the run's group ``run.<id>`` (the run page), and
- ``{"type": "user.run", "run": {id, status, graph, version, step, total, loss}}`` (run lists and
  dashboards) to ``user.<id>`` of the user who queued it, ``user.<id>`` of the graph's owner, and
  ``team.<id>`` when the graph is shared with a team. Those groups are read from the graph when the event
  is published (a worker holds its run for minutes, while the graph may turn private or change team);
  the per-user consumer still checks each subscriber's access, since groups are joined once per socket.

Runs on someone else's public graph are not streamed to strangers (there is no group for "everyone"):
they appear in a stranger's list on reload. The database is the source of truth: if the channel layer is
down, the event is still stored and subscribers get it with the history (or the list) when they reconnect.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import Max

from graphs.models import Graph, Visibility
from training.models import Run, RunEvent

logger = logging.getLogger("torchcanvas.training")

KINDS = ("status", "progress", "epoch", "checkpoint", "done", "error")


def user_group(user_id: int) -> str:
    """The channel-layer group of one user's run list."""
    return f"user.{user_id}"


def team_group(team_id: int) -> str:
    """The channel-layer group of the runs on one team's shared graphs."""
    return f"team.{team_id}"


def _summary_groups(run: Run) -> list[str]:
    """The groups a run's summary goes to: its user, its graph's owner and team (when shared)."""
    groups = [user_group(run.user_id)]
    graph = Graph.objects.filter(pk=run.version.graph_id).values_list("owner_id", "team_id", "visibility").first()
    if graph is None:  # deleted meanwhile (its runs go with it)
        return groups
    owner_id, team_id, visibility = graph
    if owner_id != run.user_id:
        groups.append(user_group(owner_id))
    if team_id is not None and visibility != Visibility.PRIVATE:
        groups.append(team_group(team_id))
    return groups


def publish_event(run: Run, kind: str, payload: dict[str, Any]) -> RunEvent:
    """Store the run's next event (sequence numbers 1, 2, 3… per run, also under concurrent writers) and
    send it to the run's group and the summary's groups when the surrounding transaction commits."""
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
    groups = _summary_groups(run)
    transaction.on_commit(lambda: _broadcast(run, event, summary, groups))
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
        "name": run.name,
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


def _broadcast(run: Run, event: RunEvent, summary: dict[str, Any], groups: list[str]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        send = async_to_sync(layer.group_send)
        send(run.group_name, {"type": "run.event", "event": event.message()})
        for group in groups:
            send(group, {"type": "user.run", "run": summary})
    except Exception:  # the event is stored; live delivery is best effort
        logger.warning("Could not send event %s of run %s to the channel layer", event.seq, run.pk, exc_info=True)
