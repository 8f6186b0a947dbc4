"""WebSocket clients for the consumer tests: through the real ASGI application, like a browser."""

from __future__ import annotations

from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from torchcanvas_site.asgi import application


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def communicator(path: str, user=None, origin: str = "http://localhost") -> WebsocketCommunicator:
    """A browser-like client: same-origin, logged in as ``user`` through a real session cookie.

    Build it outside the event loop (logging in touches the database)."""
    headers = [(b"origin", origin.encode()), (b"host", b"localhost")]
    if user is not None:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_cookie(user)}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)
