"""POST /api/codegen/: exported source as JSON."""

import importlib
import json
import sys

import pytest

URL = "/api/codegen/"


def post_json(client, payload):
    return client.post(URL, json.dumps(payload), content_type="application/json")


def test_it_generates_a_package_for_the_demo_graph(api_client, demo_graph):
    response = post_json(api_client, {"graph": demo_graph, "name": "MyPkg", "layout": "package"})
    assert response.status_code == 200
    files = response.json()["files"]
    assert sorted(files) == ["MyPkg/__init__.py", "MyPkg/blocks.py", "MyPkg/model.py"]
    for path, source in files.items():
        compile(source, path, "exec")


def test_it_matches_the_engine(api_client, demo_graph):
    import codegen

    response = post_json(api_client, {"graph": demo_graph, "name": "MyPkg", "with_train": True})
    assert response.json()["files"] == codegen.generate(demo_graph, name="MyPkg", layout="package", with_train=True)


def test_with_train_adds_a_training_script(api_client, demo_graph):
    files = post_json(api_client, {"graph": demo_graph, "name": "MyPkg", "with_train": True}).json()["files"]
    assert "MyPkg/train.py" in files


def test_the_file_layout_gives_one_module(api_client, demo_graph):
    response = post_json(api_client, {"graph": demo_graph, "name": "my_model", "layout": "file"})
    assert response.status_code == 200
    files = response.json()["files"]
    assert list(files) == ["my_model.py"]
    compile(files["my_model.py"], "my_model.py", "exec")


def test_it_is_deterministic(api_client, demo_graph):
    payload = {"graph": demo_graph, "name": "MyPkg", "input_shapes": {"inp": [9, 256]}}
    assert post_json(api_client, payload).content == post_json(api_client, payload).content


def test_the_exported_package_runs_forward_with_the_inferred_shapes(api_client, demo_graph, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    payload = {"graph": demo_graph, "name": "ExportedDemo", "input_shapes": {"inp": [9, 256]}}
    files = post_json(api_client, payload).json()["files"]
    for path, source in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        package = importlib.import_module("ExportedDemo")
        model_classes = [
            obj for obj in vars(package).values() if isinstance(obj, type) and issubclass(obj, torch.nn.Module)
        ]
        assert model_classes, f"no nn.Module exported by ExportedDemo: {sorted(vars(package))}"
        model = model_classes[0]()
        output = model(torch.zeros(2, 9, 256))
        assert tuple(output.shape) == (2, 18)
    finally:
        for module in [name for name in sys.modules if name == "ExportedDemo" or name.startswith("ExportedDemo.")]:
            del sys.modules[module]


def test_it_rejects_graphs_with_errors_with_diagnostics(api_client, demo_graph):
    demo_graph["nodes"][2]["type"] = "ReLUU"
    response = post_json(api_client, {"graph": demo_graph, "name": "MyPkg"})
    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith("The graph cannot be used: ")
    assert "UNKNOWN_TYPE" in {d["code"] for d in body["diagnostics"]}


def test_it_rejects_a_layout_it_does_not_know(api_client, demo_graph):
    response = post_json(api_client, {"graph": demo_graph, "layout": "wheel"})
    assert response.status_code == 400
    assert response.json()["detail"] == 'layout: "wheel" is not a valid choice.'


@pytest.mark.parametrize(
    "name, detail",
    [
        ("1model", "name: Use 1 to 64 ASCII letters, digits and underscores, not starting with a digit."),
        ("my-pkg", "name: Use 1 to 64 ASCII letters, digits and underscores, not starting with a digit."),
        ("naïve", "name: Use 1 to 64 ASCII letters, digits and underscores, not starting with a digit."),
        ("x" * 65, "name: Use 1 to 64 ASCII letters, digits and underscores, not starting with a digit."),
        ("../evil", "name: Use 1 to 64 ASCII letters, digits and underscores, not starting with a digit."),
        (" MyPkg", "name: Use 1 to 64 ASCII letters, digits and underscores, not starting with a digit."),
        ("", "name: This field may not be blank."),
        ("class", "name: 'class' is a Python keyword."),
        ("torch", "name: 'torch' would shadow the module of the same name; choose another."),
        ("os", "name: 'os' would shadow the module of the same name; choose another."),
    ],
)
def test_it_rejects_bad_names(api_client, demo_graph, name, detail):
    response = post_json(api_client, {"graph": demo_graph, "name": name})
    assert response.status_code == 400
    assert response.json()["detail"] == detail


def test_a_title_names_the_code_of_an_untitled_document(api_client, demo_graph):
    graph = {**demo_graph, "metadata": {"name": "untitled"}}
    before = post_json(api_client, {"graph": graph, "name": "minicnn", "layout": "file"}).json()["files"]
    assert "class Minicnn(nn.Module):" in before["minicnn.py"]  # the package name, not "Untitled"
    payload = {"graph": graph, "name": "minicnn", "layout": "file", "title": "MiniCNN"}
    source = post_json(api_client, payload).json()["files"]["minicnn.py"]
    assert 'from graph "MiniCNN".' in source and "class MiniCNN(nn.Module):" in source
