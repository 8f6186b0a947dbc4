"""WebSocket consumer of a version's export artifacts (``/ws/versions/<id>/artifacts/``).

The version page follows its artifacts' builds: ``{"type": "artifacts", "artifacts": [...]}`` once on
connecting (what the rows say now), then ``{"type": "artifact", "artifact": {...}}`` for every change
(queued, each stage of the build, ready or failed). Access is decided before ``accept()``, as for runs:
a user who may not read the version's graph is closed during the handshake and learns nothing.
"""

from __future__ import annotations

import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from graphs.artifacts import artifact_json
from graphs.models import ExportArtifact, GraphVersion, version_artifacts_group
from graphs.permissions import forget_roles, graph_access

# A subscriber's right to the version is checked again on live messages at most this often.
ACCESS_RECHECK_S = 5.0
ACCESS_REVOKED = 4403


@database_sync_to_async
def _may_read(user, version_id: int) -> bool:
    forget_roles(user)  # the scope's user lives as long as the socket: never answer from its cached roles
    version = GraphVersion.objects.select_related("graph").filter(pk=version_id).first()
    return version is not None and bool(graph_access(user, version.graph))


@database_sync_to_async
def _artifacts(version_id: int) -> list[dict]:
    return [
        artifact_json(artifact)
        for artifact in ExportArtifact.objects.select_related("version").filter(version_id=version_id)
    ]


class VersionArtifactsConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
    version_id = 0
    checked_at = 0.0

    async def connect(self) -> None:
        user = self.scope.get("user")
        version_id = self.scope["url_route"]["kwargs"]["version_id"]
        if user is None or not user.is_authenticated or not await _may_read(user, version_id):
            await self.close()
            return
        self.version_id, self.checked_at = version_id, time.monotonic()
        self.group = version_artifacts_group(version_id)
        # Joined before the rows are read, so no change falls between the two.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "artifacts", "artifacts": await _artifacts(version_id)})

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        """The stream is one-way: whatever a client sends is ignored."""

    async def artifact_changed(self, message: dict) -> None:
        if time.monotonic() - self.checked_at >= ACCESS_RECHECK_S:
            if not await _may_read(self.scope["user"], self.version_id):
                await self.close(code=ACCESS_REVOKED)
                return
            self.checked_at = time.monotonic()
        await self.send_json({"type": "artifact", "artifact": message["artifact"]})
