"""The request-body cap, enforced by the server layer before Django reads (and spools) a body.

Django's ASGI handler copies a whole body into a temporary file before any view or parser can look at it,
and daphne (Twisted) spools it to its own temporary file before the application is even called. So the cap
(``TORCHCANVAS_MAX_BODY_BYTES``) is enforced twice, below Django:

- ``BodyLimitMiddleware`` wraps the ASGI HTTP application: a declared ``Content-Length`` over the cap is
  answered 413 at once; a chunked body is counted as it streams in and refused at the first chunk past the
  cap. This is what protects uvicorn, which streams bodies to the application.
- ``install_daphne_guard`` does the same inside daphne's Twisted request, which would otherwise write the
  whole body to disk first; ``asgi.py`` installs it when daphne is the server.

Multipart uploads (the graph import page and API) share the cap, plus ``MULTIPART_ALLOWANCE`` for the
form's envelope, so that a file exactly at the limit still reaches the form and its precise message.
Dataset uploads (``DATASET_UPLOAD_PATHS``, multipart only) have a cap of their own,
``TORCHCANVAS_DATASET_MAX_BYTES``, plus the same allowance.
"""

from __future__ import annotations

import html
import json

from django.conf import settings

from torchcanvas_site.csp import policy_for

# Boundaries, part headers and the other fields of an upload form fit easily in this.
MULTIPART_ALLOWANCE = 64 * 1024
# The routes that take a dataset upload (the API's and the datasets page's form): exact paths.
DATASET_UPLOAD_PATHS = frozenset({"/api/datasets/", "/datasets/"})


def body_cap(content_type: str, path: str = "") -> int:
    """The most bytes a request body of this content type, sent to ``path``, may have."""
    limit = settings.TORCHCANVAS_LIMITS["max_body_bytes"]
    if content_type.lower().startswith("multipart/form-data"):
        if path in DATASET_UPLOAD_PATHS:
            limit = max(limit, settings.TORCHCANVAS_DATASETS["max_upload_bytes"])
        return limit + MULTIPART_ALLOWANCE
    return limit


def body_limit_message(size: int | None, limit: int) -> str:
    if size is None:
        return f"The request body is larger than the limit of {limit} bytes."
    return f"The request body is {size} bytes; the limit is {limit} bytes."


def too_large(path: str, declared: int | None, cap: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The 413 answer: status, headers and body (JSON under ``/api/``, a short page elsewhere)."""
    message = body_limit_message(declared, cap)
    if path.startswith("/api/"):
        content_type, body = b"application/json", json.dumps({"detail": message}).encode()
    else:
        page = (
            "<!doctype html><html lang=en><meta charset=utf-8><title>Request too large · TorchCanvas</title>"
            f"<h1>Request too large</h1><p>{html.escape(message)}</p><p><a href=/>TorchCanvas home</a></p></html>"
        )
        content_type, body = b"text/html; charset=utf-8", page.encode()
    name, value = policy_for(None)
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        # The rest of the body is not wanted: end the connection instead of reading it.
        (b"connection", b"close"),
        (name.lower().encode(), value.encode()),
    ]
    return 413, headers, body


class BodyLimitMiddleware:
    """ASGI middleware: 413 for a body over the cap, before more than the cap has been read.

    A body without ``Content-Length`` (chunked) is read here, up to the cap, and handed on with its length:
    Django REST framework reads a request without ``Content-Length`` as empty, which silently dropped
    chunked bodies.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        cap = body_cap(headers.get(b"content-type", b"").decode("latin-1"), scope.get("path", ""))
        declared = _declared_length(headers.get(b"content-length"))
        if declared is not None:  # the server delivers no more than the declared length
            if declared > cap:
                return await _answer(send, too_large(scope["path"], declared, cap))
            return await self.app(scope, receive, send)
        chunks, received = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            received += len(chunks[-1])
            if received > cap:
                return await _answer(send, too_large(scope["path"], None, cap))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        scope = {**scope, "headers": [*scope.get("headers", []), (b"content-length", str(len(body)).encode())]}
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _declared_length(value: bytes | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


async def _answer(send, answer) -> None:
    status, headers, body = answer
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install_daphne_guard() -> None:
    """Make daphne's request refuse a body over the cap as its headers or chunks arrive, never spooling it.

    Twisted's ``http.Request`` writes every body chunk to ``self.content`` (a temporary file past 100 kB) and
    daphne calls the application only once the body is complete. The guard answers 413 from ``gotLength``
    (a declared length over the cap) or from ``handleContentChunk`` (the chunk that passes it) and closes
    the connection; nothing past the cap is written.
    """
    from daphne import http_protocol
    from twisted.web import http

    if getattr(http_protocol.WebRequest, "body_cap_guard", False):
        return

    class CappedWebRequest(http_protocol.WebRequest):
        body_cap_guard = True
        # Until gotLength has run (HTTP/2 streams never call it): no refusal.
        body_refused = False
        body_received = 0
        body_cap = float("inf")

        def gotLength(self, length):
            self.body_cap = body_cap(_first_header(self, b"content-type"), _request_path(self))
            self.body_received = 0
            self.body_refused = False
            if length is not None and length > self.body_cap:
                self.content = http._getContentFile(0)  # in memory, never written: nothing is spooled
                self.requestHeaders.removeHeader(b"Expect")  # no "100 Continue" after the refusal
                self.refuse(length)
                return
            super().gotLength(length)

        def handleContentChunk(self, data):
            if self.body_refused:
                return
            self.body_received += len(data)
            if self.body_received > self.body_cap:
                self.refuse(None)
                return
            super().handleContentChunk(data)

        def process(self):
            if not self.body_refused:  # a refused request is answered already; its connection is closing
                return super().process()

        def refuse(self, declared: int | None) -> None:
            self.body_refused = True
            status, headers, body = too_large(_request_path(self), declared, self.body_cap)
            head = b"HTTP/1.1 413 Content Too Large\r\n" + b"".join(k + b": " + v + b"\r\n" for k, v in headers)
            self.channel.transport.write(head + b"\r\n" + body)
            self.channel.transport.loseConnection()

    http_protocol.WebRequest = CappedWebRequest


def _request_path(request) -> str:
    return getattr(request.channel, "_path", b"/").split(b"?", 1)[0].decode("latin-1")


def _first_header(request, name: bytes) -> str:
    values = request.requestHeaders.getRawHeaders(name) or [b""]
    return values[0].decode("latin-1")
