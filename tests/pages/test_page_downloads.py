"""Downloads of a version: the JSON document, the single .py file and the ZIP package."""

import io
import json
import zipfile

import pytest

from codegen.document import YAML, load_document

pytestmark = pytest.mark.django_db


def _url(graph, number, fmt):
    return f"/graphs/{graph.pk}/versions/{number}/download/{fmt}/"


def test_the_json_download_is_the_stored_document(alice_client, team_graph):
    response = alice_client.get(_url(team_graph, 1, "json"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="shared_cmi_v1.json"'
    assert json.loads(response.content) == team_graph.versions.get(number=1).document


def test_the_version_page_offers_the_document_as_yaml(alice_client, team_graph):
    page = alice_client.get(f"/graphs/{team_graph.pk}/versions/1/").content.decode()
    assert f'href="{_url(team_graph, 1, "yaml")}"' in page
    response = alice_client.get(_url(team_graph, 1, "yaml"))
    assert response["Content-Disposition"] == 'attachment; filename="shared_cmi_v1.yaml"'
    assert load_document(response.content, YAML) == team_graph.versions.get(number=1).document


def test_the_py_download_is_one_python_module(bob_client, team_graph):
    response = bob_client.get(_url(team_graph, 2, "py"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/x-python; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="shared_cmi_v2.py"'
    source = response.content.decode()
    compile(source, "shared_cmi.py", "exec")
    assert "class " in source and "96" in source  # v2's wider conv


def test_the_zip_download_is_a_package_with_a_training_script(alice_client, team_graph):
    response = alice_client.get(_url(team_graph, 1, "zip"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert "shared_cmi/model.py" in names and "shared_cmi/train.py" in names


def test_a_version_with_errors_explains_why_there_is_no_code(alice_client, broken_graph):
    assert alice_client.get(_url(broken_graph, 1, "json")).status_code == 200
    for fmt in ("py", "zip"):
        response = alice_client.get(_url(broken_graph, 1, fmt))
        assert response.status_code == 400
        html = response.content.decode()
        assert "cannot be exported as code" in html and "diagnostic-error" in html


def test_downloads_are_404_for_outsiders_unknown_formats_and_versions(
    charlie_client, client, alice_client, private_graph
):
    for fmt in ("json", "py", "zip"):
        assert charlie_client.get(_url(private_graph, 1, fmt)).status_code == 404
        assert client.get(_url(private_graph, 1, fmt)).status_code == 404
    assert alice_client.get(_url(private_graph, 1, "exe")).status_code == 404
    assert alice_client.get(_url(private_graph, 7, "json")).status_code == 404


def test_a_version_with_blocks_offers_its_figure_with_the_blocks_open(alice_client, alice):
    from codegen.templates import load_template
    from graphs import services

    resnet = services.create_graph(alice, name="ResNet", document=load_template("resnet18"))
    html = alice_client.get(f"/graphs/{resnet.pk}/versions/1/").content.decode()
    opened = _url(resnet, 1, "svg") + "?expand_blocks=1"
    assert f'href="{opened}"' in html
    closed, wide = alice_client.get(_url(resnet, 1, "svg")), alice_client.get(opened)
    assert closed["Content-Disposition"] == wide["Content-Disposition"] == 'attachment; filename="resnet_v1.svg"'
    assert len(wide.content) > len(closed.content)


def test_a_version_without_blocks_has_no_such_link(alice_client, team_graph):
    assert "expand_blocks" not in alice_client.get(f"/graphs/{team_graph.pk}/versions/1/").content.decode()
