"""POST /api/export/zip/: the exported source as a ZIP download; errors stay JSON."""

import io
import json
import zipfile

import pytest

URL = "/api/export/zip/"


def post_json(client, payload, **extra):
    return client.post(URL, json.dumps(payload), content_type="application/json", **extra)


def test_it_downloads_a_zip_named_after_the_package(api_client, demo_graph):
    response = post_json(api_client, {"graph": demo_graph, "name": "MyPkg", "with_train": True})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="MyPkg.zip"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
        assert {"MyPkg/__init__.py", "MyPkg/model.py", "MyPkg/train.py"} <= names


def test_it_holds_exactly_what_codegen_returns(api_client, demo_graph):
    payload = {"graph": demo_graph, "name": "MyPkg", "layout": "file"}
    files = api_client.post("/api/codegen/", json.dumps(payload), content_type="application/json").json()["files"]
    with zipfile.ZipFile(io.BytesIO(post_json(api_client, payload).content)) as archive:
        assert {name: archive.read(name).decode() for name in archive.namelist()} == files


def test_a_client_asking_for_a_zip_gets_it(api_client, demo_graph):
    response = post_json(api_client, {"graph": demo_graph}, HTTP_ACCEPT="application/zip")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="Model.zip"'


def test_errors_are_json_even_when_the_client_asks_for_a_zip(api_client, demo_graph):
    demo_graph["nodes"][0]["type"] = "Inptu"
    response = post_json(api_client, {"graph": demo_graph}, HTTP_ACCEPT="application/zip")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "UNKNOWN_TYPE" in {d["code"] for d in response.json()["diagnostics"]}


def test_it_rejects_unknown_node_types_with_diagnostics(api_client, demo_graph):
    demo_graph["nodes"][4]["type"] = "GRUBlok"
    response = post_json(api_client, {"graph": demo_graph})
    assert response.status_code == 400
    diagnostics = response.json()["diagnostics"]
    unknown = [d for d in diagnostics if d["code"] == "UNKNOWN_TYPE"]
    assert [d["node"] for d in unknown] == ["gru"]


def test_it_rejects_graphs_over_the_node_limit(api_client, demo_graph, settings):
    settings.TORCHCANVAS_LIMITS = {**settings.TORCHCANVAS_LIMITS, "max_nodes": 5}
    response = post_json(api_client, {"graph": demo_graph})
    assert response.status_code == 400
    assert "LIMIT" in {d["code"] for d in response.json()["diagnostics"]}


def test_it_rejects_bodies_over_the_size_limit(api_client, demo_graph, settings):
    settings.TORCHCANVAS_LIMITS = {**settings.TORCHCANVAS_LIMITS, "max_body_bytes": 1024}
    payload = json.dumps({"graph": {**demo_graph, "metadata": {"notes": "y" * 5000}}})
    response = api_client.post(URL, payload, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"detail": f"The request body is {len(payload)} bytes; the limit is 1024 bytes."}


def test_it_rejects_malformed_json(api_client):
    response = api_client.post(URL, "{'graph': {}}", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - ")


def test_it_rejects_the_wrong_content_type(api_client, demo_graph):
    response = api_client.post(URL, json.dumps({"graph": demo_graph}), content_type="text/plain")
    assert response.status_code == 415
    assert response.json() == {"detail": 'Unsupported media type "text/plain" in request.'}


@pytest.mark.parametrize("name", ["my pkg", "import", "json", 'a"; filename="x'])
def test_it_rejects_bad_names(api_client, demo_graph, name):
    response = post_json(api_client, {"graph": demo_graph, "name": name})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("name: ")
