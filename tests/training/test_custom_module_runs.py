"""CustomModule through the platform: the allow-list from settings (TORCHCANVAS_CUSTOM_MODULES) decides what the
API validates, generates and runs; a refused class is never imported by the server or a worker; a worker that
lacks an allowed package fails the run with one sentence."""

from __future__ import annotations

import sys

import custom_import_marker
import pytest

import codegen
from graphs import services
from training import runner, tasks
from training.config import parse_config
from training.models import Run, Status

pytestmark = pytest.mark.django_db

HOSTILE_SENTENCE = (
    "custom module `custom_hostile.Exfiltrate` is not allowed on this deployment: add "
    "`custom_hostile.Exfiltrate` (or `custom_hostile.*`) to TORCHCANVAS_CUSTOM_MODULES, or pass --allow-module "
    "to the CLI"
)


def graph(class_path: str = "custom_layers.GatedProjection", kwargs: dict | None = None) -> dict:
    kwargs = {"in_features": 4, "out_features": 6} if kwargs is None else kwargs
    return {
        "version": "0.2",
        "metadata": {"name": "gated"},
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [4]}},
            {
                "id": "gate",
                "type": "CustomModule",
                "params": {"class": class_path, "kwargs": kwargs, "output_shape": [6]},
            },
            {"id": "fc", "type": "Linear", "params": {"out_features": 3}},
        ],
        "edges": [["x", "gate"], ["gate", "fc"]],
        "inputs": ["x"],
        "outputs": ["fc"],
    }


HOSTILE = graph("custom_hostile.Exfiltrate", {})


@pytest.fixture(autouse=True)
def allow_custom_layers(settings):
    settings.TORCHCANVAS_LIMITS = {**settings.TORCHCANVAS_LIMITS, "custom_modules": ("custom_layers.*",)}


@pytest.fixture(autouse=True)
def never_imports_the_hostile_module(tmp_path, monkeypatch):
    marker = tmp_path / "hostile-imported"
    monkeypatch.setenv("CUSTOM_HOSTILE_MARKER", str(marker))
    yield
    assert "custom_hostile" not in sys.modules
    assert custom_import_marker.IMPORTED == []
    assert not marker.exists()


def test_the_validate_api_refuses_a_class_off_the_allow_list(api_client):
    response = api_client.post("/api/validate/", {"graph": HOSTILE}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    assert [(d["code"], d["node"], d["message"]) for d in body["diagnostics"]] == [
        ("CUSTOM_MODULE", "gate", HOSTILE_SENTENCE)
    ]


def test_the_validate_api_accepts_an_allowed_class_without_counting_its_parameters(api_client):
    body = api_client.post("/api/validate/", {"graph": graph()}, format="json").json()
    assert body["ok"] is True and body["diagnostics"] == []
    assert body["shapes"]["gate"] == ["B", 6] and body["params"]["gate"] is None and body["params_total"] is None


def test_the_codegen_api_refuses_a_class_off_the_allow_list(api_client):
    response = api_client.post("/api/codegen/", {"graph": HOSTILE, "name": "pkg"}, format="json")
    assert response.status_code == 400
    assert HOSTILE_SENTENCE in str(response.json())


def test_the_codegen_api_generates_the_import_of_an_allowed_class(api_client):
    response = api_client.post("/api/codegen/", {"graph": graph(), "name": "pkg"}, format="json")
    assert response.status_code == 200
    model = response.json()["files"]["pkg/model.py"]
    assert "from custom_layers import GatedProjection" in model
    assert "self.gate = GatedProjection(in_features=4, out_features=6)" in model


def test_without_the_setting_nothing_is_allowed(api_client, settings):
    settings.TORCHCANVAS_LIMITS = {k: v for k, v in settings.TORCHCANVAS_LIMITS.items() if k != "custom_modules"}
    body = api_client.post("/api/validate/", {"graph": graph()}, format="json").json()
    assert [d["code"] for d in body["diagnostics"]] == ["CUSTOM_MODULE"]


def test_a_run_of_a_class_off_the_allow_list_is_refused(alice, alice_api):
    saved = services.create_graph(alice, name="Hostile", document=HOSTILE)
    response = alice_api.post("/api/runs/", {"graph": saved.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == f"Version 1 has errors, so it cannot run: {HOSTILE_SENTENCE}."
    assert not Run.objects.exists()


def test_a_run_of_an_allowed_class_trains_in_the_worker(alice, alice_api, settings):
    settings.TORCHCANVAS_RUN_MODE = "celery"  # queued only: the test executes it, as a worker would
    settings.CELERY_TASK_ALWAYS_EAGER = False
    saved = services.create_graph(alice, name="Gated", document=graph())
    run = Run.objects.create(version=saved.head, user=alice, config={"steps": 3, "batch_size": 4}, queue="cpu")
    assert tasks.execute(run.pk) == Status.SUCCEEDED, Run.objects.get(pk=run.pk).error
    assert Run.objects.get(pk=run.pk).metrics["steps"] == 3


def test_a_worker_whose_allow_list_lacks_the_class_refuses_it_too(alice, settings):
    saved = services.create_graph(alice, name="Gated", document=graph())
    run = Run.objects.create(version=saved.head, user=alice, config={"steps": 3, "batch_size": 4}, queue="cpu")
    settings.TORCHCANVAS_LIMITS = {**settings.TORCHCANVAS_LIMITS, "custom_modules": ()}  # this worker's settings
    assert tasks.execute(run.pk) == Status.FAILED
    assert Run.objects.get(pk=run.pk).error.startswith(
        "graph no longer validates: custom module `custom_layers.GatedProjection` is not allowed on this deployment"
    )


def test_a_worker_without_the_package_fails_the_run_with_one_sentence():
    limits = codegen.Limits(custom_modules=("absent_pkg.*",))
    with pytest.raises(runner.RunFailed) as caught:
        runner.train(graph("absent_pkg.layers.Gate", {}), parse_config({"steps": 2, "batch_size": 2}), limits=limits)
    assert caught.value.message == (
        "custom module `absent_pkg.layers.Gate` is not installed on this worker: No module named 'absent_pkg'"
    )
