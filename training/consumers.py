"""WebSocket consumers: one run's progress (``/ws/runs/<id>/``) and a user's runs (``/ws/runs/``).

Access is decided before ``accept()``: an anonymous user, or one who may not see the run's graph, is
closed during the handshake and learns nothing (not even whether the run exists).

A run's subscriber joins the run's group *before* reading the persisted history, so no event can fall
between the two; an event persisted in that window arrives twice (in the history and live) and the
sequence number drops the copy. Channels hands a consumer its messages one at a time, so live events
wait in the channel until ``connect`` has sent the whole history.
"""

from __future__ import annotations

import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from graphs.permissions import forget_roles
from training.access import visible_run
from training.models import RunEvent


@database_sync_to_async
def _visible_run_id(user, run_id: int) -> int | None:
    forget_roles(user)  # the scope's user lives as long as the socket: never answer from its cached roles
    run = visible_run(user, run_id)
    return run.pk if run is not None else None


@database_sync_to_async
def _history(run_id: int) -> list[dict]:
    return [event.message() for event in RunEvent.objects.filter(run_id=run_id).order_by("seq")]


# A subscriber's right to the run is checked again on live events at most this often: someone removed from the
# team (or whose graph became private) stops receiving within this many seconds, without a query per event.
ACCESS_RECHECK_S = 5.0
# Close code for a subscription whose access was revoked (4000-4999: application codes).
ACCESS_REVOKED = 4403


def run_group(run_id: int) -> str:
    return f"run.{run_id}"  # Run.group_name, without loading the run


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


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
    """Status and progress of every run the user queued: ``{"type": "run", "run": {id, status, …}}``."""

    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        """The stream is one-way: whatever a client sends (JSON or not) is ignored."""

    async def user_run(self, event: dict) -> None:
        await self.send_json({"type": "run", "run": event["run"]})
