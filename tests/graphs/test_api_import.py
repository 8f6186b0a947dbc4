"""POST /api/graphs/import/: a graph JSON file (multipart upload, or its content in JSON) as a new graph."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from graphs.models import Graph


def test_an_uploaded_file_becomes_a_graph(alice_api, demo_graph):
    demo_graph["metadata"] = {"name": "hybrid_cmi", "tags": ["demo"]}
    upload = SimpleUploadedFile("graph.json", json.dumps(demo_graph).encode(), content_type="application/json")
    response = alice_api.post("/api/graphs/import/", {"file": upload, "visibility": "public"}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["tags"], body["visibility"]) == ("hybrid_cmi", ["demo"], "public")
    assert body["head"]["message"] == "Imported"


def test_the_document_may_come_as_json(alice_api, demo_graph):
    response = alice_api.post("/api/graphs/import/", {"document": demo_graph, "name": "From JSON"})
    assert response.status_code == 201 and response.json()["name"] == "From JSON"
    assert Graph.objects.get().head.document == demo_graph


def test_the_document_may_come_as_the_files_text(alice_api, demo_graph):
    response = alice_api.post("/api/graphs/import/", {"document": json.dumps(demo_graph)})
    assert response.status_code == 201 and response.json()["name"] == "Imported graph"


def test_a_file_that_is_not_json_is_a_400(alice_api):
    upload = SimpleUploadedFile("graph.json", b"{'nodes': []}")
    response = alice_api.post("/api/graphs/import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "The file cannot be read: invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes."
    )
    assert not Graph.objects.exists()


def test_file_and_document_together_or_neither_are_refused(alice_api, demo_graph):
    response = alice_api.post("/api/graphs/import/", {})
    assert response.status_code == 400
    assert response.json()["detail"] == "Send either file (an upload) or document, not both or neither."


def test_an_upload_declared_over_the_body_cap_is_refused_before_it_is_read(alice_api, settings):
    settings.TORCHCANVAS_LIMITS = {**settings.TORCHCANVAS_LIMITS, "max_body_bytes": 4096}
    upload = SimpleUploadedFile("graph.json", b" " * 10_000)
    response = alice_api.post("/api/graphs/import/", {"file": upload}, format="multipart")
    assert response.status_code == 413
    assert not Graph.objects.exists()
