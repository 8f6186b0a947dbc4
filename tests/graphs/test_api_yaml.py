"""YAML wherever the API takes a graph document: engine routes, graph creation, version saves, imports, export."""

import json

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile

from codegen.document import dump_yaml, load_document
from graphs import services
from graphs.models import Graph

BILLION_LAUGHS = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)


def post_yaml(client, url, payload, content_type="application/yaml"):
    body = payload if isinstance(payload, str) else yaml.safe_dump(payload)
    return client.post(url, body, content_type=content_type)


@pytest.mark.parametrize("content_type", ["application/yaml", "text/yaml; charset=utf-8"])
def test_validate_takes_a_yaml_body(api_client, demo_graph, content_type):
    response = post_yaml(
        api_client, "/api/validate/", {"graph": demo_graph, "input_shapes": {"inp": [9, 256]}}, content_type
    )
    assert response.status_code == 200, response.json()
    assert response.json()["ok"] is True and response.json()["params_total"] == 79762


def test_codegen_from_yaml_is_codegen_from_json(api_client, demo_graph):
    from_yaml = post_yaml(api_client, "/api/codegen/", {"graph": demo_graph, "name": "Net"})
    from_json = api_client.post("/api/codegen/", {"graph": demo_graph, "name": "Net"}, format="json")
    assert from_yaml.status_code == 200 and from_yaml.json() == from_json.json()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("graph:\n  nodes: [a\n", "YAML parse error - invalid YAML at line 3, column 1: "),
        (
            "graph: {}\ngraph: {}\n",
            "YAML parse error - invalid YAML at line 2, column 1: the key 'graph' is written twice",
        ),
        (
            "graph: !!python/object/apply:os.system [ls]\n",
            "YAML parse error - invalid YAML at line 1, column 8: could not",
        ),
        ("graph: {metadata: {at: 2024-01-01}}\n", "YAML parse error - graph.metadata.at is a date, which JSON cannot"),
        (BILLION_LAUGHS, "YAML parse error - the YAML aliases expand the document to over 10,000 values"),
        ("- 1\n", "Invalid data"),
    ],
    ids=["syntax", "duplicate", "python_tag", "date", "billion_laughs", "not_an_object"],
)
def test_hostile_yaml_bodies_are_400s_with_a_sentence(api_client, body, detail):
    response = post_yaml(api_client, "/api/validate/", body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail), response.json()


def test_a_yaml_body_over_the_cap_is_a_413(api_client, settings):
    settings.TORCHCANVAS_LIMITS = {**settings.TORCHCANVAS_LIMITS, "max_body_bytes": 2048}
    response = post_yaml(api_client, "/api/validate/", "graph: {}\n" + "#" * 4096 + "\n")
    assert response.status_code == 413


def test_a_graph_is_created_and_saved_in_yaml(alice_api, demo_graph):
    response = post_yaml(alice_api, "/api/graphs/", {"name": "From YAML", "document": demo_graph})
    assert response.status_code == 201, response.json()
    graph = Graph.objects.get()
    assert graph.head.document == demo_graph
    demo_graph["nodes"][-1]["params"]["out_features"] = 10
    response = post_yaml(alice_api, f"/api/graphs/{graph.pk}/versions/", {"document": demo_graph, "base": 1})
    assert response.status_code == 201 and response.json()["number"] == 2


@pytest.mark.parametrize(("name", "content_type"), [("graph.yaml", "application/octet-stream"), ("graph", "text/yaml")])
def test_a_yaml_file_is_imported(alice_api, demo_graph, name, content_type):
    demo_graph["metadata"] = {"name": "hybrid_cmi"}
    upload = SimpleUploadedFile(name, dump_yaml(demo_graph).encode(), content_type=content_type)
    response = alice_api.post("/api/graphs/import/", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["name"] == "hybrid_cmi" and Graph.objects.get().head.document == demo_graph


def test_a_yaml_file_in_flow_style_is_read_as_yaml_by_its_name(alice_api, demo_graph):
    flow = yaml.safe_dump(demo_graph, default_flow_style=True)
    assert flow.startswith("{")
    upload = SimpleUploadedFile("graph.yml", flow.encode())
    assert alice_api.post("/api/graphs/import/", {"file": upload}, format="multipart").status_code == 201


def test_a_yaml_document_text_is_imported(alice_api, demo_graph):
    response = alice_api.post("/api/graphs/import/", {"document": dump_yaml(demo_graph)}, format="json")
    assert response.status_code == 201 and Graph.objects.get().head.document == demo_graph


def test_a_hostile_yaml_file_is_a_400_and_nothing_is_created(alice_api):
    upload = SimpleUploadedFile("graph.yaml", BILLION_LAUGHS.encode())
    response = alice_api.post("/api/graphs/import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == (
        "The file cannot be read: the YAML aliases expand the document to over 10,000 values; "
        "write the repeated parts out."
    )
    assert body["diagnostics"][0]["code"] == "PARSE"
    assert not Graph.objects.exists()


def test_python_source_named_yaml_is_still_python(alice):
    with pytest.raises(services.ServiceError) as caught:
        services.import_graph(alice, "# a model\ndef build_model(depth=18):\n    return None\n", syntax="yaml")
    assert caught.value.message == services.PYTHON_UPLOAD


def test_a_version_exports_as_yaml(alice_api, graph, demo_graph):
    response = alice_api.get(f"/api/graphs/{graph.pk}/versions/1/export/", {"format": "yaml"})
    assert response.status_code == 200 and response["Content-Type"] == "application/yaml; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="demo_net_v1.yaml"'
    assert load_document(response.content) == demo_graph
    # Keys in the stored document's order, as the JSON export (PostgreSQL's jsonb orders them its own way).
    assert response.content.decode() == dump_yaml(graph.versions.get(number=1).document)


def test_the_document_route_answers_yaml_as_json(api_client, demo_graph):
    response = post_yaml(api_client, "/api/document/", dump_yaml(demo_graph))
    assert response.status_code == 200 and response.json() == demo_graph


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("- 1\n", "The document must be one object: a graph with version, nodes, edges, inputs, outputs."),
        ("nodes: [a\n", "YAML parse error - invalid YAML at line 2, column 1: "),
        (BILLION_LAUGHS, "YAML parse error - the YAML aliases expand the document to over 10,000 values"),
    ],
)
def test_the_document_route_refuses_with_a_sentence(api_client, body, detail):
    response = post_yaml(api_client, "/api/document/", body, "text/yaml")
    assert response.status_code == 400 and response.json()["detail"].startswith(detail)


@pytest.mark.parametrize(
    ("name", "write", "number"),
    [("graph.yaml", dump_yaml, ".inf"), ("graph.yaml", dump_yaml, ".nan"), ("graph.json", json.dumps, "-Infinity")],
)
def test_a_file_with_a_number_json_cannot_store_is_a_400(alice_api, demo_graph, name, write, number):
    text = write({**demo_graph, "metadata": {"x": 12345}}).replace("12345", number)
    upload = SimpleUploadedFile(name, text.encode())
    response = alice_api.post("/api/graphs/import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["detail"].endswith("which JSON cannot store; write a finite number.")
    assert not Graph.objects.exists()
