"""``python -m codegen import … --push URL``: send an imported graph to a TorchCanvas server.

Standard library only (``urllib``), so the CLI pushes without Django. As a new graph it goes to
``POST /api/graphs/import/``; as a new version of graph ``ID`` the head version and its document are read
first, the import is aligned with that document (:func:`codegen.importer_align.align`: the diff then shows
the edit alone) and saved with ``base`` = the head, so a save made meanwhile answers 409 instead of being
overwritten. Every failure is a :class:`PushError` whose message is one line for the terminal.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .importer_align import align

TIMEOUT_S = 60


class PushError(Exception):
    """A push that failed, said in one line."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is reported, not followed: urllib would resend a POST as a GET, without its body."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class Server:
    """A TorchCanvas server reached with a token (``Authorization: Token <key>``)."""

    def __init__(self, url: str, token: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise PushError(f"--push expects the server's address, like http://localhost:8000, got {url!r}")
        self.url = url.rstrip("/")
        self.token = token

    def page(self, path: str) -> str:
        return f"{self.url}{path}"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """The status and JSON object the server answers; anything else is a PushError."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.page(path), data=data, method=method)
        request.add_header("Authorization", f"Token {self.token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(request, timeout=TIMEOUT_S) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:
                where = exc.headers.get("Location") or "another address"
                raise PushError(
                    f"{self.page(path)} redirects to {where}; give --push the server's address as it answers"
                ) from None
            status, raw = exc.code, exc.read()
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, ConnectionRefusedError):
                raise PushError(f"cannot reach {self.url}: connection refused (is the server running?)") from None
            if isinstance(reason, socket.gaierror):
                raise PushError(f"cannot reach {self.url}: unknown host") from None
            raise PushError(f"cannot reach {self.url}: {getattr(reason, 'strerror', None) or reason}") from None
        except TimeoutError:
            raise PushError(f"{self.url} did not answer within {TIMEOUT_S} s") from None
        except OSError as exc:  # a connection reset halfway, …
            raise PushError(f"cannot reach {self.url}: {exc.strerror or exc}") from None
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise PushError(
                f"{method} {self.page(path)} answered {status} with something that is not a JSON object "
                "(is this the address of a TorchCanvas server?)"
            )
        return status, answer

    def expect(self, method: str, path: str, body: dict[str, Any] | None, ok: tuple[int, ...], what: str):
        """The answer of a call that must succeed; a refusal becomes a PushError saying what it means."""
        status, answer = self.call(method, path, body)
        if status in ok:
            return status, answer
        detail = _one_line(answer.get("detail")) or f"status {status}"
        if status == 401:
            raise PushError(f"{self.url} refused the token (401: {detail}); get one from {self.url}/accounts/token/")
        if status == 403:
            raise PushError(f"you may not {what} (403: {detail})")
        if status == 404:
            raise PushError(f"cannot {what}: not found (404: {detail}); check the graph id and that you may see it")
        if status == 409:
            head = (answer.get("head") or {}).get("number")
            now = f" (the head is now version {head})" if head else ""
            raise PushError(f"cannot {what}: someone saved a version meanwhile{now}; push again")
        if status == 400:
            raise PushError(f"the server refused to {what} (400): {detail}")
        raise PushError(f"cannot {what}: {method} {path} answered {status}: {detail}")


def _one_line(text: Any) -> str:
    return " ".join(str(text).split()) if text else ""


def push_new(server: Server, graph: dict[str, Any]) -> str:
    """``graph`` as a new graph; the line to print."""
    _, answer = server.expect(
        "POST", "/api/graphs/import/", {"document": graph}, (201,), "import the graph as a new graph"
    )
    graph_id = _field(answer, "id", int)
    return f"created graph {graph_id}: {server.page(f'/graphs/{graph_id}/')}"


def push_version(server: Server, graph_id: int, imported: dict[str, Any], message: str, name: str | None = None) -> str:
    """``imported``, aligned with graph ``graph_id``'s head (renamed ``name`` if given), as its new version;
    the line to print."""
    _, graph = server.expect("GET", f"/api/graphs/{graph_id}/", None, (200,), f"read graph {graph_id}")
    if graph.get("head") is None:
        raise PushError(f"graph {graph_id} has no version to add to; push without --graph to make a new graph")
    head = _field(graph["head"], "number", int)
    _, version = server.expect(
        "GET", f"/api/graphs/{graph_id}/versions/{head}/", None, (200,), f"read version {head} of graph {graph_id}"
    )
    base = _field(version, "document", dict)
    document = align(imported, base)
    if name:
        document["metadata"] = {**document.get("metadata", {}), "name": name}
    _, saved = server.expect(
        "POST",
        f"/api/graphs/{graph_id}/versions/",
        {"document": document, "base": head, "message": message},
        (200, 201),
        f"save a new version of graph {graph_id}",
    )
    page = server.page(f"/graphs/{graph_id}/")
    if not saved.get("created"):
        return f"no change: graph {graph_id} is already this code (version {head}): {page}"
    number = _field(saved, "number", int)
    diff = server.page(f"/graphs/{graph_id}/diff/?from={head}&to={number}")
    return f"saved version {number} of graph {graph_id}: {page} (changes from version {head}: {diff})"


def _field(answer: dict[str, Any], name: str, kind: type) -> Any:
    value = answer.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise PushError(f"the server's answer lacks `{name}` (is this the address of a TorchCanvas server?)")
    return value


__all__ = ["PushError", "Server", "push_new", "push_version"]
