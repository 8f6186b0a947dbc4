"""Schema fuzz: requests generated from the OpenAPI schema (schemathesis) never get a 5xx.

Every operation of ``/api/schema/`` gets a bounded number of derandomised examples, sent through
Django's test client as an anonymous visitor and as alice (who owns or administers every object the
fixtures create). Half the examples aim at real objects (path parameters swapped for real ids), the
other half at whatever schemathesis made up; destructive operations run last.
"""

import itertools
import json
import urllib.parse

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from library_blocks import relu_block
from rest_framework.test import APIClient
from schemathesis.core import NOT_SET

from graphs import services

EXAMPLES = 10
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def world(alice, bob, demo_graph):
    team = services.create_team(alice, "Fuzz Team")
    services.accept_invitation(services.invite(team, alice, "editor").token, bob)
    graph = services.create_graph(alice, name="Fuzzed", document=demo_graph, team=team, visibility="team")
    services.save_version(graph, alice, {**demo_graph, "outputs": ["gru"]}, base=1)
    block = services.publish_composite(
        alice,
        name="FuzzBlock",
        definition=relu_block(),
    ).block
    invitation = services.invite(team, alice, "viewer")
    return {"graph": graph, "block": block, "team": team, "invitation": invitation}


def real_parameters(path: str, world) -> dict:
    return {
        "id": world["block"].pk if path.startswith("/api/composites/") else world["graph"].pk,
        "number": 1,
        "slug": world["team"].slug,
        "username": "bob",
        "invitation_id": world["invitation"].pk,
        "token": world["invitation"].token,
    }


def as_text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def send(client: APIClient, case, real: dict | None):
    parameters = {
        **(case.path_parameters or {}),
        **{k: v for k, v in (real or {}).items() if k in (case.path_parameters or {})},
    }
    path = case.path
    for name, value in parameters.items():
        path = path.replace("{" + name + "}", urllib.parse.quote(as_text(value), safe=""))
    query = {key: as_text(value) for key, value in (case.query or {}).items()}
    if query:
        path = f"{path}?{urllib.parse.urlencode(query, doseq=True)}"
    kwargs = {}
    if case.body is not NOT_SET:
        media_type = case.media_type or "application/json"
        if media_type == "multipart/form-data" and isinstance(case.body, dict):
            kwargs = {
                "data": {
                    key: SimpleUploadedFile(key, value) if isinstance(value, bytes) else as_text(value)
                    for key, value in case.body.items()
                },
                "format": "multipart",
            }
        elif media_type == "application/x-www-form-urlencoded" and isinstance(case.body, dict):
            body = urllib.parse.urlencode({key: as_text(value) for key, value in case.body.items()})
            kwargs = {"data": body, "content_type": media_type}
        else:
            kwargs = {"data": json.dumps(case.body), "content_type": "application/json"}
    return (
        client.generic(case.method.upper(), path, **kwargs)
        if "content_type" in kwargs
        else getattr(client, case.method.lower())(path, **kwargs)
    )


def operations():
    schema_client = APIClient()
    raw = schema_client.get("/api/schema/", {"format": "json"}).json()
    schema = schemathesis.openapi.from_dict(raw)
    found = [result.ok() for result in schema.get_all_operations()]
    return sorted(found, key=lambda op: (op.method.upper() == "DELETE", op.path, op.method))


def fuzz(operation, client: APIClient, world, reset_throttles, failures: list[str]):
    """A hypothesis test of ``operation``: every generated request answers below 500."""
    counter = itertools.count()

    @FUZZ
    @given(case=operation.as_strategy())
    def check(case):
        reset_throttles()
        real = real_parameters(operation.path, world) if next(counter) % 2 == 0 else None
        response = send(client, case, real)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.path} -> {response.status_code}: {response.content[:300]!r}")
        assert response.status_code < 500

    return check


@pytest.mark.parametrize("who", ["anonymous", "alice"])
def test_no_generated_request_gets_a_server_error(who, alice, world, reset_throttles):
    client = APIClient()
    if who == "alice":
        client.force_authenticate(alice)
    failures: list[str] = []
    for operation in operations():
        fuzz(operation, client, world, reset_throttles, failures)()
    assert not failures
