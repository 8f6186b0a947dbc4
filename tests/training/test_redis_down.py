"""Redis away (cache, channel layer and broker on a port nothing listens on): the API keeps answering.

Throttles fall back to this process's memory (and still count), the engine endpoints and the platform API
answer as usual, a run is queued (201) and says it will be sent when the broker is back.
"""

from __future__ import annotations

import logging
import socket

import pytest

from torchcanvas_site.cache import redis_cache
from torchcanvas_site.celery import app as celery_app
from training.models import UNSENT, Run, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_away(settings, monkeypatch):
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    settings.CACHES = {"default": redis_cache(url)}  # the site's own, as settings.py sets it for REDIS_URL
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}
    }
    settings.TORCHCANVAS_RUN_MODE = "celery"
    monkeypatch.setattr(celery_app.conf, "broker_url", url)
    monkeypatch.setattr(celery_app, "_pool", None)  # the producer pool connects to the broker above
    return url


def test_the_engine_endpoints_answer(redis_away, api_client, demo_graph, caplog):
    caplog.set_level(logging.WARNING, logger="torchcanvas.cache")
    body = {"graph": demo_graph, "name": "Demo"}
    assert api_client.get("/api/registry/").status_code == 200
    assert api_client.post("/api/validate/", {"graph": demo_graph}, format="json").json()["ok"] is True
    assert api_client.post("/api/codegen/", body, format="json").status_code == 200
    response = api_client.post("/api/export/zip/", body, format="json")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    warnings = [r.getMessage() for r in caplog.records if r.name == "torchcanvas.cache"]
    assert len(warnings) == 1 and "is unreachable" in warnings[0]  # once, not per request


def test_throttles_still_count_in_this_process(redis_away, api_client, settings):
    rest = settings.REST_FRAMEWORK
    settings.REST_FRAMEWORK = {**rest, "DEFAULT_THROTTLE_RATES": {**rest["DEFAULT_THROTTLE_RATES"], "anon": "3/min"}}
    assert [api_client.get("/api/registry/").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_pages_and_the_platform_api_answer(redis_away, alice_api, alice, tiny_graph, client):
    assert alice_api.get("/api/graphs/").json()["count"] == 1
    client.force_login(alice)
    assert client.get(f"/graphs/{tiny_graph.pk}/").status_code == 200
    assert client.get(f"/graphs/{tiny_graph.pk}/versions/1/").status_code == 200  # its report is cached


def test_a_run_is_queued_and_will_be_sent_when_the_broker_is_back(
    redis_away, alice_api, tiny_graph, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as sent:  # sending, and broadcasting the event
        response = alice_api.post("/api/runs/", {"graph": tiny_graph.pk, "config": {"steps": 5}}, format="json")
    assert len(sent) == 2
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["queue"], body["notice"]) == ("queued", "cpu", UNSENT)
    run = Run.objects.get(pk=body["id"])
    assert run.status == Status.QUEUED and run.dispatched_at is None  # the sweeper sends it
    assert [event.kind for event in run.events.all()] == ["status"]  # stored, though not broadcast
    assert alice_api.get(f"/api/runs/{run.pk}/").json()["notice"] == UNSENT


def test_the_run_form_says_the_same(redis_away, alice, tiny_graph, client, django_capture_on_commit_callbacks):
    client.force_login(alice)
    form = {"batch_size": 2, "steps": 5, "epochs": 1, "optimizer": "sgd", "lr": 0.01, "loss": "auto"}
    form.update(data="fixed", device="cpu", precision="fp32", seed=0)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/graphs/{tiny_graph.pk}/versions/1/run/", form, follow=True)
    run = Run.objects.get()
    assert response.redirect_chain == [(f"/runs/{run.pk}/", 302)]
    assert f"Run {run.pk} of Tiny v1: {UNSENT}" in response.content.decode()
