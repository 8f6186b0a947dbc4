"""/api/graphs/{id}/versions/{n}/export/: the graph JSON, a single .py file, or a ZIP package."""

import io
import json
import zipfile

from platform_helpers import assert_unknown_type_400, edited, misspelt

import codegen
from codegen.templates import load_template
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
    assert response["Content-Disposition"] == 'attachment; filename="demo_net_v1.py"'
    source = response.content.decode()
    assert "class " in source and "def forward(self" in source
    compile(source, "demo_net.py", "exec")


def test_zip_is_a_package_with_an_optional_training_script(alice_api, graph):
    response = export(alice_api, graph, format="zip", with_train="1")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    names = sorted(zipfile.ZipFile(io.BytesIO(response.content)).namelist())
    assert names == ["demo_net/__init__.py", "demo_net/blocks.py", "demo_net/model.py", "demo_net/train.py"]


def test_mermaid_is_a_flowchart_of_the_version_with_its_shapes(alice_api, graph, demo_graph):
    response = export(alice_api, graph, format="mermaid")
    assert response.status_code == 200 and response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="demo_net_v1.mmd"'
    text = response.content.decode()
    assert text == codegen.to_mermaid(demo_graph)
    assert text.startswith("flowchart TB\n") and "(B, 18)" in text


def test_an_old_version_exports_as_it_was(alice, alice_api, graph, demo_graph):
    services.save_version(graph, alice, edited(demo_graph, 10), base=1)
    assert "(B, 18)" in export(alice_api, graph, 1, format="py").content.decode()
    assert "(B, 10)" in export(alice_api, graph, 2, format="py").content.decode()


def test_a_version_with_errors_exports_as_json_but_not_as_code(alice, alice_api, graph, demo_graph):
    services.save_version(graph, alice, misspelt(demo_graph), base=1)
    assert export(alice_api, graph, 2, format="json").status_code == 200
    assert_unknown_type_400(export(alice_api, graph, 2, format="zip"))


def test_an_unknown_format_is_a_400(alice_api, graph):
    response = export(alice_api, graph, format="exe")
    assert (
        response.status_code == 400
        and response.json()["detail"] == "format: Expected json, yaml, py, zip, mermaid, svg, png, md or csv."
    )


def test_exports_of_hidden_graphs_are_404s(charlie_api, graph):
    for kind in ("json", "py", "zip", "mermaid"):
        assert export(charlie_api, graph, format=kind).status_code == 404, kind


def test_odd_graph_names_give_safe_file_names(alice, alice_api, demo_graph):
    graph = services.create_graph(alice, name='import "os"; über-Netz 2', document=demo_graph)
    response = export(alice_api, graph, format="py")
    assert response["Content-Disposition"] == 'attachment; filename="import_os_uber_netz_2_v1.py"'
    graph = services.create_graph(alice, name="json", document=demo_graph)
    assert export(alice_api, graph, format="py")["Content-Disposition"] == 'attachment; filename="json_model_v1.py"'


def test_the_page_and_the_api_download_the_same_file_under_the_same_name(alice, alice_api, client, demo_graph):
    graph = services.create_graph(alice, name="Café net", document=demo_graph)
    client.force_login(alice)
    formats = {
        "json": "json",
        "py": "py",
        "zip": "zip",
        "mermaid": "mmd",
        "svg": "svg",
        "png": "png",
        "md": "md",
        "csv": "csv",
    }
    for kind, extension in formats.items():
        from_api = export(alice_api, graph, format=kind, with_train="1")
        from_page = client.get(f"/graphs/{graph.pk}/versions/1/download/{kind}/")
        assert from_api["Content-Disposition"] == f'attachment; filename="cafe_net_v1.{extension}"', kind
        assert from_page["Content-Disposition"] == from_api["Content-Disposition"], kind
        if kind != "zip":  # a ZIP's entries carry their time of writing
            assert from_page.content == from_api.content, kind
    assert codegen.download_name("Café net", "py", 1).removesuffix(".py").isidentifier()


def test_svg_and_png_are_figures_of_the_version_with_blocks_open_on_request(alice, alice_api):
    resnet = load_template("resnet18")
    graph = services.create_graph(alice, name="ResNet", document=resnet)
    svg = export(alice_api, graph, format="svg")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert svg["Content-Disposition"] == 'attachment; filename="resnet_v1.svg"'
    assert svg.content.decode() == codegen.to_svg(resnet)
    opened = export(alice_api, graph, format="svg", expand_blocks="1").content.decode()
    assert opened == codegen.to_svg(resnet, expand_blocks=True) and opened != svg.content.decode()
    png = export(alice_api, graph, format="png")
    assert png["Content-Type"] == "image/png" and png.content == codegen.to_png(resnet)


def test_heavy_formats_point_to_the_artifacts(alice_api, graph):
    response = export(alice_api, graph, format="onnx")
    assert response.status_code == 400
    assert (
        response.json()["detail"]
        == 'format: onnx is built on a worker: POST {"format": "onnx"} to this version\'s artifacts/.'
    )


def test_a_figure_too_large_to_draw_is_a_400_on_the_api_and_the_page(alice, alice_api, client, graph, monkeypatch):
    def too_large(*args, **kwargs):
        raise codegen.FigureTooLarge("the figure would have more than 10,000 boxes; draw the blocks collapsed")

    monkeypatch.setattr(codegen, "to_svg", too_large)
    response = export(alice_api, graph, format="svg")
    assert response.status_code == 400 and "10,000 boxes" in response.json()["detail"]
    client.force_login(alice)
    page = client.get(f"/graphs/{graph.pk}/versions/1/download/svg/")
    assert page.status_code == 400 and "too large to draw" in page.content.decode()


def untitled_minicnn(alice, demo_graph):
    """A graph saved as "MiniCNN" whose document still carries the editor's placeholder name."""
    document = {**demo_graph, "metadata": {"name": "untitled"}}
    return services.create_graph(alice, name="MiniCNN", document=document)


def test_py_export_is_named_after_the_graph_not_the_placeholder(alice, alice_api, demo_graph):
    graph = untitled_minicnn(alice, demo_graph)
    source = export(alice_api, graph, format="py").content.decode()
    assert "# Generated by TorchCanvas codegen" in source and 'from graph "MiniCNN".' in source
    assert "untitled" not in source.lower()
    assert "class MiniCNN(nn.Module):" in source


def test_zip_export_heads_every_file_with_the_graph_name(alice, alice_api, demo_graph):
    graph = untitled_minicnn(alice, demo_graph)
    archive = zipfile.ZipFile(io.BytesIO(export(alice_api, graph, format="zip").content))
    for path in archive.namelist():
        assert 'from graph "MiniCNN".' in archive.read(path).decode(), path
    assert "class MiniCNN(nn.Module):" in archive.read("minicnn/model.py").decode()


def test_a_real_metadata_name_wins_over_the_graph_name(alice, alice_api, demo_graph):
    document = {**demo_graph, "metadata": {"name": "AudioTagger"}}
    graph = services.create_graph(alice, name="MiniCNN", document=document)
    source = export(alice_api, graph, format="py").content.decode()
    assert 'from graph "AudioTagger".' in source and "class AudioTagger(nn.Module):" in source
