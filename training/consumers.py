"""WebSocket consumers: one run's progress (``/ws/runs/<id>/``), a user's runs (``/ws/runs/``) and the
worker monitor (``/ws/workers/``).

Access is decided before ``accept()``: an anonymous user, or one who may not see the run's graph, is
closed during the handshake and learns nothing (not even whether the run exists).

A run's subscriber joins the run's group *before* reading the persisted history, so no event can fall
between the two; an event persisted in that window arrives twice (in the history and live) and the
sequence number drops the copy. Channels hands a consumer its messages one at a time, so live events
wait in the channel until ``connect`` has sent the whole history.

The per-user stream joins, once per socket, the user's group and those of the teams the user belongs to
(see :mod:`training.events` for who sends where): a team joined later is picked up on reconnect, a team
left stops delivering through the access check each summary passes (answered per graph, at most
``ACCESS_RECHECK_S`` old).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from graphs.models import Graph, Membership
from graphs.permissions import forget_roles, graph_access
from training import monitor
from training.access import visible_run
from training.events import team_group, user_group
from training.models import RunEvent


@database_sync_to_async
def _visible_run_id(user, run_id: int) -> int | None:
    forget_roles(user)  # the scope's user lives as long as the socket: never answer from its cached roles
    run = visible_run(user, run_id)
    return run.pk if run is not None else None


@database_sync_to_async
def _may_see_graph(user, graph_id: int) -> bool:
    forget_roles(user)  # as in _visible_run_id
    graph = Graph.objects.filter(pk=graph_id).first()
    return graph is not None and bool(graph_access(user, graph))


@database_sync_to_async
def _team_groups(user) -> list[str]:
    return [team_group(team_id) for team_id in Membership.objects.filter(user=user).values_list("team_id", flat=True)]


@database_sync_to_async
def _history(run_id: int) -> list[dict]:
    return [event.message() for event in RunEvent.objects.filter(run_id=run_id).order_by("seq")]


# A subscriber's right to the run is checked again on live events at most this often: someone removed from the
# team (or whose graph became private) stops receiving within this many seconds, without a query per event.
ACCESS_RECHECK_S = 5.0
# Close code for a subscription whose access was revoked (4000-4999: application codes).
ACCESS_REVOKED = 4403
# The per-user stream remembers the last summary it forwarded of this many runs, to drop the copy that
# arrives through a second group (the run's user who is also in the graph's team).
REMEMBERED_RUNS = 256


def run_group(run_id: int) -> str:
    return f"run.{run_id}"  # Run.group_name, without loading the run


class RunConsumer(AsyncJsonWebsocketConsumer):
    """History, then live events, of one run: ``{"type": "status"|"progress"|"done"|"error", "seq": n, …}``."""

    group: str | None = None
    run_id: int | None = None
    last_seq = 0
    checked_at = 0.0

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        run_id = await _visible_run_id(user, self.scope["url_route"]["kwargs"]["run_id"])
        if run_id is None:
            await self.close()
            return
        self.run_id, self.checked_at = run_id, time.monotonic()
        self.group = run_group(run_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        for message in await _history(run_id):
            await self._send_once(message)

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        """The stream is one-way: whatever a client sends (JSON or not) is ignored."""

    async def run_event(self, event: dict) -> None:
        if time.monotonic() - self.checked_at >= ACCESS_RECHECK_S:
            if await _visible_run_id(self.scope["user"], self.run_id) is None:
                await self.close(code=ACCESS_REVOKED)
                return
            self.checked_at = time.monotonic()
        await self._send_once(event["event"])

    async def _send_once(self, message: dict) -> None:
        seq = message.get("seq")
        if isinstance(seq, int):
            if seq <= self.last_seq:
                return
            self.last_seq = seq
        await self.send_json(message)


class UserRunsConsumer(AsyncJsonWebsocketConsumer):
    """Status and progress of every run on a graph the user owns or shares through a team, and of the runs
    the user queued: ``{"type": "run", "run": {id, status, graph, …}}``, each summary once."""

    groups: tuple[str, ...] = ()

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        self.groups = (user_group(user.pk), *await _team_groups(user))
        for group in self.groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.access: dict[int, bool] = {}  # graph id → may see it, all answered since access_at
        self.access_at = time.monotonic()
        self.forwarded: dict[int, dict[str, Any]] = {}  # run id → last summary sent, oldest first
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in self.groups:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        """The stream is one-way: whatever a client sends (JSON or not) is ignored."""

    async def user_run(self, event: dict) -> None:
        run = event["run"]
        if self.forwarded.get(run["id"]) == run:
            return  # the same summary through a second group
        if not await self._may_see(run["graph"]["id"]):
            return  # access is gone; the socket stays, other runs may still be visible
        self.forwarded.pop(run["id"], None)
        self.forwarded[run["id"]] = run
        if len(self.forwarded) > REMEMBERED_RUNS:
            del self.forwarded[next(iter(self.forwarded))]
        await self.send_json({"type": "run", "run": run})

    async def _may_see(self, graph_id: int) -> bool:
        # Forgetting every answer at once keeps each at most ACCESS_RECHECK_S old and the cache bounded.
        if time.monotonic() - self.access_at >= ACCESS_RECHECK_S:
            self.access.clear()
            self.access_at = time.monotonic()
        if graph_id not in self.access:
            self.access[graph_id] = await _may_see_graph(self.scope["user"], graph_id)
        return self.access[graph_id]


@database_sync_to_async
def _monitor_snapshot(user) -> dict[str, Any]:
    forget_roles(user)  # as in _visible_run_id: which runs it names follows the user's roles now
    return monitor.snapshot(user)


class WorkersConsumer(AsyncJsonWebsocketConsumer):
    """The worker monitor of a logged-in user: ``{"type": "workers", "workers": [...], "queues": {...}}`` at
    once, then every ``interval_s`` seconds when it changed (runs named only where the user may see them)."""

    interval_s = 2.0
    task: asyncio.Task | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        await self.accept()
        self.task = asyncio.create_task(self._feed(user))

    async def disconnect(self, code: int) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        """The feed is one-way: whatever a client sends (JSON or not) is ignored."""

    async def _feed(self, user) -> None:
        last = None
        while True:
            message = {"type": "workers", **await _monitor_snapshot(user)}
            encoded = json.dumps(message, sort_keys=True)
            if encoded != last:
                await self.send_json(message)
                last = encoded
            await asyncio.sleep(self.interval_s)
