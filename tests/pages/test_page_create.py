"""New graphs: empty, from a template (gallery), from an imported JSON file."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from codegen.document import dump_yaml
from graphs.models import Graph

pytestmark = pytest.mark.django_db


def test_the_gallery_shows_every_template_with_its_size(client):
    html = client.get("/templates/").content.decode()
    assert "ResNet18" in html and "11.7M" in html and "VGG16" in html
    assert "Log in to use it" in html


def test_using_a_template_creates_a_graph_and_opens_it(alice_client, alice):
    response = alice_client.post("/templates/resnet18/use/", {"name": "", "visibility": "private"})
    graph = Graph.objects.get(owner=alice)
    assert response.status_code == 302 and response.url == f"/graphs/{graph.pk}/"
    assert graph.name == "ResNet18" and graph.head.params_total == 11689512
    assert alice_client.post("/templates/nope/use/", {"visibility": "private"}).status_code == 404


def test_a_new_empty_graph_opens_in_the_canvas(alice_client, alice, team):
    response = alice_client.post(
        "/graphs/new/", {"name": "Blank", "description": "", "visibility": "team", "team": team.pk}
    )
    graph = Graph.objects.get(owner=alice)
    assert response.url == f"/graphs/{graph.pk}/canvas/"
    assert (graph.team, graph.visibility, graph.head.valid) == (team, "team", True)


def test_the_new_graph_form_offers_only_my_teams(charlie_client, team):
    html = charlie_client.get("/graphs/new/").content.decode()
    assert "Lab" not in html
    response = charlie_client.post("/graphs/new/", {"name": "Sneaky", "visibility": "team", "team": team.pk})
    assert response.status_code == 200 and "Select a valid choice." in response.content.decode()


def test_importing_a_pasted_document(alice_client, alice, demo_graph):
    demo_graph["metadata"] = {"name": "Pasted CMI", "tags": ["sensors"]}
    response = alice_client.post("/graphs/import/", {"text": json.dumps(demo_graph), "visibility": "private"})
    graph = Graph.objects.get(owner=alice)
    assert response.url == f"/graphs/{graph.pk}/"
    assert graph.name == "Pasted CMI" and graph.head.message == "Imported"


def test_importing_an_uploaded_file(alice_client, alice, demo_graph):
    upload = SimpleUploadedFile("graph.json", json.dumps(demo_graph).encode(), content_type="application/json")
    response = alice_client.post("/graphs/import/", {"file": upload, "name": "Uploaded", "visibility": "private"})
    assert response.status_code == 302
    assert Graph.objects.get(owner=alice).name == "Uploaded"


def test_importing_a_yaml_file_or_pasted_yaml(alice_client, alice, demo_graph):
    upload = SimpleUploadedFile("graph.yml", dump_yaml(demo_graph).encode(), content_type="application/octet-stream")
    response = alice_client.post("/graphs/import/", {"file": upload, "name": "Uploaded", "visibility": "private"})
    assert response.status_code == 302
    response = alice_client.post(
        "/graphs/import/", {"text": dump_yaml(demo_graph), "name": "Pasted", "visibility": "private"}
    )
    assert response.status_code == 302
    assert [g.head.document == demo_graph for g in Graph.objects.filter(owner=alice)] == [True, True]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "{not json"}, "The file cannot be read: invalid JSON at line 1, column 2"),
        ({"text": "[1, 2]"}, "The file must hold one JSON object"),
        ({"text": '{"version": "0.2", "nodes": 5}'}, "The graph cannot be saved"),
        ({}, "Upload a JSON or YAML file or paste a graph document."),
        ({"text": "nodes: [a\n"}, "The file cannot be read: invalid YAML at line 2, column 1"),
    ],
)
def test_a_bad_import_is_an_inline_error_and_saves_nothing(alice_client, data, message):
    response = alice_client.post("/graphs/import/", {**data, "visibility": "private"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Graph.objects.exists()


def test_a_binary_upload_is_refused(alice_client):
    upload = SimpleUploadedFile("graph.json", b"\xff\xfe\x00garbage")
    response = alice_client.post("/graphs/import/", {"file": upload, "visibility": "private"})
    assert "not UTF-8 text" in response.content.decode()


def test_the_import_page_shows_how_to_bring_pytorch_code(alice_client):
    page = alice_client.get("/graphs/import/").content.decode()
    assert "The server never runs uploaded Python" in page
    assert "python -m codegen import my_pkg.models:build_model" in page
    assert "--push http://testserver --token YOUR_TOKEN" in page


def test_uploading_a_python_file_says_what_to_run_instead(alice_client):
    upload = SimpleUploadedFile("model.py", b"import torch\n\nclass Net(torch.nn.Module):\n    pass\n")
    response = alice_client.post("/graphs/import/", {"file": upload, "visibility": "private"})
    assert response.status_code == 200
    assert "This is Python source, not a graph document." in response.content.decode()
    assert not Graph.objects.exists()
