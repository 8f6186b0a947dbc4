"""The version page's "Exports for serving" panel: building ONNX, torch.export and TorchScript on a worker,
the rows it shows in each state, and who may ask (the builds themselves: tests/graphs/test_artifacts.py)."""

import pytest

from codegen.exports import DEFAULT_OPSET
from graphs.models import ArtifactStatus, ExportArtifact
from training import dispatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_graph(demo_graph):
    """The demo graph with its input's size: a model is built and exported at a known shape."""
    demo_graph["nodes"][0]["params"]["shape"] = [9, 256]
    return demo_graph


@pytest.fixture(autouse=True)
def sent(monkeypatch):
    """The builds the page sends (not built here: the page's part ends when the worker has the message)."""
    ids = []
    monkeypatch.setattr("graphs.views.send_export", ids.append)
    return ids


def _page(graph, number=1):
    return f"/graphs/{graph.pk}/versions/{number}/"


def _panel(graph, number=1):
    return f"/graphs/{graph.pk}/versions/{number}/artifacts/"


def test_the_version_page_offers_each_format_with_an_opset_for_onnx(alice_client, team_graph):
    html = alice_client.get(_page(team_graph)).content.decode()
    assert 'id="artifacts"' in html and "Exports for serving" in html
    assert 'data-artifacts-live="/ws/versions/' in html
    for fmt in ("onnx", "pt2", "torchscript"):
        assert f'data-testid="build-{fmt}"' in html
    assert f'name="opset" value="{DEFAULT_OPSET}"' in html


def test_asking_for_an_export_queues_it_and_shows_its_row(
    alice_client, team_graph, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(_panel(team_graph), {"format": "onnx", "opset": "19"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    artifact = ExportArtifact.objects.get()
    assert (artifact.format, artifact.opset, artifact.status) == ("onnx", 19, ArtifactStatus.QUEUED)
    assert sent == [artifact.pk]
    html = response.content.decode()
    assert 'data-artifact="onnx-19"' in html and "<progress" in html


def test_the_opset_field_is_onnx_s_alone(bob_client, team_graph, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        bob_client.post(_panel(team_graph), {"format": "torchscript", "opset": "18"}, HTTP_HX_REQUEST="true")
    artifact = ExportArtifact.objects.get()  # a viewer of the team's graph may ask too
    assert (artifact.format, artifact.opset) == ("torchscript", 0) and sent == [artifact.pk]


def test_a_ready_artifact_is_listed_with_its_proof_and_a_failed_one_with_its_reason(alice_client, team_graph):
    version = team_graph.versions.get(number=1)
    ExportArtifact.objects.create(
        version=version,
        format="pt2",
        status=ArtifactStatus.READY,
        file="x/y/shared_cmi_v1.pt2",
        size_bytes=2048,
        report={"max_abs_diff": 3e-7, "tolerance": 1e-5, "method": "export", "warnings": ["traced, not scripted"]},
    )
    ExportArtifact.objects.create(
        version=version, format="onnx", opset=18, status=ArtifactStatus.FAILED, error="ONNX has no GridSample here."
    )
    html = alice_client.get(_page(team_graph)).content.decode()
    assert "max difference 3.0e-07 (tolerance 1e-05)" in html and "2.0\xa0KB" in html
    assert "traced, not scripted" in html and 'data-testid="artifact-download-pt2"' in html
    assert "ONNX has no GridSample here." in html


def test_a_refused_request_says_why_in_the_panel(alice_client, broken_graph, sent):
    response = alice_client.post(_panel(broken_graph), {"format": "onnx"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "Version 1 cannot be exported as ONNX" in response.content.decode()
    assert not ExportArtifact.objects.exists() and sent == []


def test_an_unknown_format_is_refused(alice_client, team_graph, sent):
    response = alice_client.post(_panel(team_graph), {"format": "exe"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "Unknown export format" in response.content.decode()


def test_outsiders_get_404_and_anonymous_visitors_cannot_build(charlie_client, client, team_graph, sent):
    assert charlie_client.get(_panel(team_graph)).status_code == 404
    assert charlie_client.post(_panel(team_graph), {"format": "onnx"}).status_code == 404
    assert client.post(_panel(team_graph), {"format": "onnx"}).status_code in (403, 404)
    assert not ExportArtifact.objects.exists() and sent == []


def test_the_page_sends_builds_to_the_worker_of_the_mode(monkeypatch, settings):
    settings.TORCHCANVAS_RUN_MODE = "embedded"
    submitted = []
    monkeypatch.setattr(dispatch.embedded_worker, "submit", lambda task, object_id: submitted.append((task, object_id)))
    assert dispatch.send_export(7) is True
    assert submitted == [("build_artifact", 7)]


def test_in_celery_mode_builds_go_to_the_export_queue_with_its_time_limit(monkeypatch, settings):
    from training import tasks

    settings.TORCHCANVAS_RUN_MODE = "celery"
    settings.TORCHCANVAS_EXPORTS = {**settings.TORCHCANVAS_EXPORTS, "queue": "cpu", "time_limit_s": 600}
    calls = []
    monkeypatch.setattr(tasks.build_artifact, "apply_async", lambda **kwargs: calls.append(kwargs))
    assert dispatch.send_export(7) is True
    hard = 600 + settings.RUN_HARD_TIME_LIMIT_MARGIN_S
    assert calls == [{"args": [7], "queue": "cpu", "soft_time_limit": 600, "time_limit": hard}]

    def broker_away(**kwargs):
        raise ConnectionError("Redis is away")

    monkeypatch.setattr(tasks.build_artifact, "apply_async", broker_away)
    assert dispatch.send_export(7) is False  # it stays queued; asked for again once stale, it is sent again
