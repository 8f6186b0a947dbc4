"""/api/graphs/{id}/versions/{n}/export/: the graph JSON, a single .py file, or a ZIP package."""

import io
import json
import zipfile

from platform_helpers import edited

from graphs import services


def export(client, graph, number=1, **params):
    return client.get(f"/api/graphs/{graph.pk}/versions/{number}/export/", params)


def test_json_is_the_stored_document(alice_api, graph, demo_graph):
    response = export(alice_api, graph, format="json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="demo_net_v1.json"'
    assert json.loads(response.content) == demo_graph


def test_json_is_the_default(alice_api, graph, demo_graph):
    assert json.loads(export(alice_api, graph).content) == demo_graph


def test_py_is_one_module(alice_api, graph):
    response = export(alice_api, graph, format="py")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/x-python")
    assert response["Content-Disposition"] == 'attachment; filename="demo_net.py"'
    source = response.content.decode()
    assert "class " in source and "def forward(self" in source
    compile(source, "demo_net.py", "exec")


def test_zip_is_a_package_with_an_optional_training_script(alice_api, graph):
    response = export(alice_api, graph, format="zip", with_train="1")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    names = sorted(zipfile.ZipFile(io.BytesIO(response.content)).namelist())
    assert names == ["demo_net/__init__.py", "demo_net/blocks.py", "demo_net/model.py", "demo_net/train.py"]


def test_an_old_version_exports_as_it_was(alice, alice_api, graph, demo_graph):
    services.save_version(graph, alice, edited(demo_graph, 10), base=1)
    assert "(B, 18)" in export(alice_api, graph, 1, format="py").content.decode()
    assert "(B, 10)" in export(alice_api, graph, 2, format="py").content.decode()


def test_a_version_with_errors_exports_as_json_but_not_as_code(alice, alice_api, graph, demo_graph):
    broken = edited(demo_graph)
    broken["nodes"][5]["type"] = "Linaer"
    services.save_version(graph, alice, broken, base=1)
    assert export(alice_api, graph, 2, format="json").status_code == 200
    response = export(alice_api, graph, 2, format="zip")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith("The graph cannot be used: unknown node type 'Linaer'")
    assert body["diagnostics"][0]["code"] == "UNKNOWN_TYPE"


def test_an_unknown_format_is_a_400(alice_api, graph):
    response = export(alice_api, graph, format="exe")
    assert response.status_code == 400 and response.json()["detail"] == "format: Expected json, py or zip."


def test_exports_of_hidden_graphs_are_404s(charlie_api, graph):
    assert export(charlie_api, graph, format="py").status_code == 404


def test_odd_graph_names_give_safe_file_names(alice, alice_api, demo_graph):
    graph = services.create_graph(alice, name='import "os"; über-Netz 2', document=demo_graph)
    response = export(alice_api, graph, format="py")
    assert response["Content-Disposition"] == 'attachment; filename="import_os_uber_netz_2.py"'
    graph = services.create_graph(alice, name="json", document=demo_graph)
    assert export(alice_api, graph, format="py")["Content-Disposition"] == 'attachment; filename="json_model.py"'
