"""Heavy exports of a version (ONNX, torch.export, TorchScript), built by the embedded worker and stored as
files: the API, the page, who may fetch them, rebuilding, failures and the live stream."""

import io

import numpy as np
import onnxruntime
import pytest
import torch
from asgiref.sync import async_to_sync, sync_to_async
from platform_helpers import edited
from sockets import communicator

import codegen
from codegen.exports import DEFAULT_OPSET
from graphs import artifacts, services
from graphs.models import ArtifactStatus, ExportArtifact
from training.dispatch import embedded_worker

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 5


@pytest.fixture
def demo_graph(demo_graph):
    """The demo graph with its input's size: a model is built and exported at a known shape."""
    demo_graph["nodes"][0]["params"]["shape"] = [9, 256]
    return demo_graph


@pytest.fixture(autouse=True)
def _embedded_and_private_storage(settings, artifact_storage):
    settings.TORCHCANVAS_RUN_MODE = "embedded"
    yield
    embedded_worker.stop()


def url(graph, number=1, tail=""):
    return f"/api/graphs/{graph.pk}/versions/{number}/artifacts/{tail}"


def build(client, graph, fmt, number=1, **extra):
    response = client.post(url(graph, number), {"format": fmt, **extra}, format="json")
    assert embedded_worker.wait_idle(120)
    return response


def test_an_onnx_export_is_built_on_the_worker_proven_and_downloaded(alice_api, graph):
    response = build(alice_api, graph, "onnx")
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued" and response.json()["opset"] == DEFAULT_OPSET
    [listed] = alice_api.get(url(graph)).json()
    assert listed["status"] == "ready", listed["error"]
    assert listed["report"]["max_abs_diff"] <= 1e-4 and listed["progress"] == {"stage": "ready", "fraction": 1.0}
    download = alice_api.get(listed["download_url"])
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="demo_net_v1.onnx"'
    body = b"".join(download.streaming_content)
    assert len(body) == listed["size_bytes"]
    # The file is a model onnxruntime runs, with a batch axis of any size.
    session = onnxruntime.InferenceSession(body, providers=["CPUExecutionProvider"])
    [output] = session.run(None, {session.get_inputs()[0].name: np.random.rand(3, 9, 256).astype(np.float32)})
    assert output.shape == (3, 18)


@pytest.mark.parametrize(("fmt", "extension"), [("pt2", "pt2"), ("torchscript", "pt")])
def test_torch_export_and_torchscript_are_built_too(alice_api, graph, fmt, extension):
    assert build(alice_api, graph, fmt).status_code == 202
    [listed] = alice_api.get(url(graph)).json()
    assert listed["status"] == "ready" and listed["opset"] is None, listed["error"]
    assert listed["report"]["max_abs_diff"] <= 1e-5
    download = alice_api.get(listed["download_url"])
    assert download["Content-Disposition"] == f'attachment; filename="demo_net_v1.{extension}"'
    body = b"".join(download.streaming_content)
    loaded = torch.export.load(io.BytesIO(body)).module() if fmt == "pt2" else torch.jit.load(io.BytesIO(body))
    assert loaded(torch.rand(2, 9, 256)).shape == (2, 18)


def test_an_artifact_is_built_once_and_again_only_when_its_file_is_gone(alice_api, bob_api, team_graph):
    first = build(alice_api, team_graph, "torchscript").json()
    again = build(bob_api, team_graph, "torchscript")  # a viewer of the team's graph may ask too
    assert again.status_code == 200 and again.json()["id"] == first["id"] and again.json()["status"] == "ready"
    artifact = ExportArtifact.objects.get()
    artifact.file.storage.delete(artifact.file.name)
    assert alice_api.get(again.json()["download_url"]).status_code == 404
    rebuilt = build(alice_api, team_graph, "torchscript")
    assert rebuilt.status_code == 202 and rebuilt.json()["id"] == first["id"]
    artifact.refresh_from_db()
    assert artifact.status == ArtifactStatus.READY and artifact.file.storage.exists(artifact.file.name)


def test_outsiders_get_404_for_the_list_the_request_and_the_file(alice_api, charlie_api, client, charlie, graph):
    build(alice_api, graph, "torchscript")
    artifact = ExportArtifact.objects.get()
    assert charlie_api.get(url(graph)).status_code == 404
    assert charlie_api.post(url(graph), {"format": "onnx"}, format="json").status_code == 404
    assert charlie_api.get(url(graph, tail=f"{artifact.pk}/download/")).status_code == 404
    client.force_login(charlie)
    page_file = f"/graphs/{graph.pk}/versions/1/artifacts/{artifact.pk}/download/"
    assert client.get(page_file).status_code == 404
    assert client.get(f"/graphs/{graph.pk}/versions/1/artifacts/").status_code == 404
    assert ExportArtifact.objects.count() == 1


def test_an_anonymous_caller_cannot_ask_for_builds(api_client, graph):
    services.update_graph(graph, graph.owner, visibility="public")
    assert api_client.get(url(graph)).status_code == 200
    assert api_client.post(url(graph), {"format": "onnx"}, format="json").status_code == 401
    assert not ExportArtifact.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"format": "exe"}, "Unknown export format 'exe': choose onnx, pt2, torchscript."),
        ({"format": "torchscript", "opset": 17}, "Only ONNX has an opset; TorchScript takes none."),
        ({"format": "onnx", "opset": 3}, "ONNX opset 3 is not supported"),
    ],
)
def test_bad_requests_say_what_is_wrong(alice_api, graph, body, message):
    response = alice_api.post(url(graph), body, format="json")
    assert response.status_code == 400 and message in response.json()["detail"]
    assert not ExportArtifact.objects.exists()


def test_a_version_with_errors_is_refused_before_anything_is_queued(alice, alice_api, graph, demo_graph):
    broken = edited(demo_graph)
    broken["nodes"][5]["type"] = "Linaer"
    services.save_version(graph, alice, broken, base=1)
    response = alice_api.post(url(graph, 2), {"format": "onnx"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("format: Version 2 cannot be exported as ONNX: unknown node type")
    assert not ExportArtifact.objects.exists()


def test_a_failed_build_says_why_and_is_built_again_when_asked(alice_api, graph, monkeypatch):
    def fail(*args, **kwargs):
        raise codegen.ExportFailed("ONNX output differs from PyTorch by 0.3 (tolerance 1e-4).")

    monkeypatch.setattr(codegen, "export_model", fail)
    build(alice_api, graph, "onnx")
    [failed] = alice_api.get(url(graph)).json()
    assert failed["status"] == "failed" and failed["download_url"] is None
    assert failed["error"] == "ONNX output differs from PyTorch by 0.3 (tolerance 1e-4)."
    monkeypatch.undo()
    assert build(alice_api, graph, "onnx").status_code == 202
    assert alice_api.get(url(graph)).json()[0]["status"] == "ready"


def test_an_unexpected_crash_fails_the_build_with_one_sentence(alice_api, graph, monkeypatch):
    monkeypatch.setattr(codegen, "export_model", lambda *a, **k: 1 / 0)
    build(alice_api, graph, "pt2")
    assert ExportArtifact.objects.get().error == "The export failed: ZeroDivisionError: division by zero"


def test_a_build_is_claimed_once(alice_api, graph):
    build(alice_api, graph, "torchscript")
    artifact = ExportArtifact.objects.get()
    assert artifacts.build(artifact.pk) == "skipped"  # a second delivery of the message


def test_a_deleted_graph_takes_its_files_along(alice, alice_api, graph):
    build(alice_api, graph, "torchscript")
    artifact = ExportArtifact.objects.get()
    storage, name = artifact.file.storage, artifact.file.name
    assert storage.exists(name)
    services.delete_graph(graph, alice)
    assert not ExportArtifact.objects.exists() and not storage.exists(name)


def test_the_live_stream_sends_the_rows_then_every_change_and_refuses_outsiders(alice, charlie, alice_api, graph):
    path = f"/ws/versions/{graph.head.pk}/artifacts/"
    outsider, anonymous, member = communicator(path, charlie), communicator(path), communicator(path, alice)

    async def scenario():
        assert not (await outsider.connect(timeout=TIMEOUT))[0]
        assert not (await anonymous.connect(timeout=TIMEOUT))[0]
        assert (await member.connect(timeout=TIMEOUT))[0]
        assert await member.receive_json_from(timeout=TIMEOUT) == {"type": "artifacts", "artifacts": []}
        # Asked for from a thread of this loop, as a request of the server is: the worker sends into it.
        await sync_to_async(build)(alice_api, graph, "torchscript")
        seen = []
        while not seen or seen[-1]["status"] not in ("ready", "failed"):
            message = await member.receive_json_from(timeout=TIMEOUT)
            assert message["type"] == "artifact"
            seen.append(message["artifact"])
        await member.disconnect()
        return seen

    seen = async_to_sync(scenario)()
    statuses = [artifact["status"] for artifact in seen]
    assert statuses[0] == "queued" and statuses[1] == "building" and statuses[-1] == "ready"
    stages = [artifact["progress"].get("stage") for artifact in seen if artifact["status"] == "building"]
    assert len(stages) > 2  # each stage of the build, as it happens
    assert seen[-1]["download_url"] == f"/graphs/{graph.pk}/versions/1/artifacts/{seen[-1]['id']}/download/"


def test_the_sweeper_fails_a_build_that_went_silent_and_asking_again_builds_it(alice, alice_api, graph, settings):
    from datetime import timedelta

    from django.utils import timezone

    from training.sweeper import sweep

    version = graph.head
    old = timezone.now() - timedelta(seconds=settings.TORCHCANVAS_EXPORTS["stale_after_s"] + 5)
    lost = ExportArtifact.objects.create(version=version, format="pt2", status=ArtifactStatus.BUILDING, worker="gone:1")
    waiting = ExportArtifact.objects.create(version=version, format="torchscript", status=ArtifactStatus.QUEUED)
    fresh = ExportArtifact.objects.create(version=version, format="onnx", opset=18, status=ArtifactStatus.BUILDING)
    ExportArtifact.objects.filter(pk__in=[lost.pk, waiting.pk]).update(updated_at=old)
    assert sorted(sweep().exports_failed) == sorted([lost.pk, waiting.pk])
    lost.refresh_from_db(), waiting.refresh_from_db(), fresh.refresh_from_db()
    assert lost.status == waiting.status == ArtifactStatus.FAILED and fresh.status == ArtifactStatus.BUILDING
    assert lost.error == "The worker building this export went silent for 15 minutes: ask for it again."
    assert waiting.error == "No worker took this export within 15 minutes: ask for it again."
    assert build(alice_api, graph, "pt2").status_code == 202
    lost.refresh_from_db()
    assert lost.status == ArtifactStatus.READY
