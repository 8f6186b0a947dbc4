"""Bodies over TORCHCANVAS_MAX_BODY_BYTES are refused with 413, whatever the transfer encoding, before they are read.

The ASGI tests drive the real application (``torchcanvas_site.asgi``) with a body of 500 MB that is only
produced as it is read, and count what was read. The real servers are tested in tests/stack/test_stack_body_limit.py.
"""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings

from torchcanvas_site.asgi import application

CHUNK = 64 * 1024
HUGE = 500 * 2**20


class StreamedBody:
    """An ASGI ``receive`` that hands out ``total`` bytes in chunks, counting what was taken."""

    def __init__(self, total: int):
        self.total = total
        self.consumed = 0
        self.chunk = b" " * CHUNK

    async def __call__(self):
        if self.consumed >= self.total:  # the client waits for the answer, as a real one does
            await asyncio.Future()
        size = min(CHUNK, self.total - self.consumed)
        self.consumed += size
        return {"type": "http.request", "body": self.chunk[:size], "more_body": self.consumed < self.total}


def call(path: str, receive, headers: list[tuple[bytes, bytes]]) -> dict:
    sent = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    async_to_sync(application)(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return {"status": start["status"], "headers": dict(start["headers"]), "body": body}


def test_a_chunked_body_is_refused_once_it_passes_the_cap_without_reading_the_rest():
    cap = settings.TORCHCANVAS_LIMITS["max_body_bytes"]
    body = StreamedBody(HUGE)
    response = call(
        "/api/validate/", body, [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]
    )
    assert response["status"] == 413
    assert json.loads(response["body"]) == {"detail": f"The request body is larger than the limit of {cap} bytes."}
    assert response["headers"][b"connection"] == b"close"
    assert cap < body.consumed <= cap + CHUNK


def test_a_declared_length_over_the_cap_is_refused_before_reading_anything():
    cap = settings.TORCHCANVAS_LIMITS["max_body_bytes"]
    body = StreamedBody(2_100_000)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"2100000")]
    response = call("/api/validate/", body, headers)
    assert response["status"] == 413
    assert json.loads(response["body"]) == {"detail": f"The request body is 2100000 bytes; the limit is {cap} bytes."}
    assert body.consumed == 0


def test_pages_get_a_short_html_413_with_the_content_security_policy():
    body = StreamedBody(HUGE)
    response = call("/accounts/login/", body, [(b"content-type", b"application/x-www-form-urlencoded")])
    assert response["status"] == 413
    assert response["headers"][b"content-type"] == b"text/html; charset=utf-8"
    assert b"<h1>Request too large</h1>" in response["body"]
    assert b"default-src 'self'" in response["headers"][b"content-security-policy"]


@pytest.mark.django_db
def test_an_upload_at_the_limit_still_reaches_the_form_and_its_message():
    """Multipart bodies get room for their envelope, so the import form can say how big the file was."""
    cap = settings.TORCHCANVAS_LIMITS["max_body_bytes"]
    body = StreamedBody(cap + 1000)
    response = call("/graphs/import/", body, [(b"content-type", b"multipart/form-data; boundary=x")])
    assert response["status"] != 413
    assert body.consumed == cap + 1000


@pytest.mark.django_db
def test_a_body_under_the_cap_is_served_as_before(demo_graph):
    payload = json.dumps({"graph": demo_graph}).encode()
    body = StreamedBody(len(payload))
    body.chunk = payload
    response = call("/api/validate/", body, [(b"content-type", b"application/json")])
    assert response["status"] == 200
    assert json.loads(response["body"])["ok"] is True


# Django's own refusals (reached when the body is under the server cap but Django's checks fire: tests,
# a server without the middleware) are 413/400 with a sentence, never 500.


def test_django_refusing_a_big_api_body_is_a_json_413(api_client):
    cap = settings.TORCHCANVAS_LIMITS["max_body_bytes"]
    payload = json.dumps({"graph": {"padding": "x" * 2_100_000}})
    response = api_client.post("/api/validate/", payload, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"detail": f"The request body is larger than the limit of {cap} bytes."}


@pytest.mark.django_db
def test_django_refusing_a_big_form_is_a_413_page(client):
    response = client.post("/accounts/login/", {"username": "x" * 2_100_000, "password": "p"})
    assert response.status_code == 413
    assert "Request too large" in response.content.decode()


@pytest.mark.django_db
def test_too_many_fields_in_an_api_upload_is_a_400_with_a_sentence(alice_api):
    fields = {f"f{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = alice_api.post("/api/graphs/import/", fields, format="multipart")
    assert response.status_code == 400
    assert response.json() == {"detail": "The request has more than 1000 fields."}
