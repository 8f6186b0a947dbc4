"""``python -m codegen import``: a user's model or a generated package in, a graph JSON out."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest
import torch

from codegen.cli import main, parse_arg
from codegen.importer import load_generated
from codegen.templates import load_template
from tests.codegen.test_importer import assert_same_model, canonical, module_paths, write_package

USER_CODE = """
from torch import nn


class ConvBNAct(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class TinyNet(nn.Module):
    def __init__(self, width=16, num_classes=10, gated=False):
        super().__init__()
        self.stem = ConvBNAct(3, width)
        self.stage = nn.Sequential(ConvBNAct(width, width * 2, 2), ConvBNAct(width * 2, width * 2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width * 2, num_classes)
        self.gated = gated

    def forward(self, x):
        x = self.stage(self.stem(x))
        if self.gated:
            x = x * x.sigmoid()
        return self.fc(self.pool(x).flatten(1))


def build_model(width=16, num_classes=10, gated=False):
    return TinyNet(width, num_classes, gated)


def broken():
    return 42
"""


@pytest.fixture
def user_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """A package of the user's own code in the current folder, under a name unique to the test."""
    name = f"user_models_{zlib.crc32(request.node.nodeid.encode())}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / name / "models.py").write_text(USER_CODE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_it_imports_a_users_model_with_keyword_arguments(user_package: str, tmp_path: Path) -> None:
    out = tmp_path / "g.json"
    argv = ["import", f"{user_package}.models:build_model", "--input-shape", "3,16,16", "--out", str(out)]
    assert main([*argv, "--arg", "width=4", "--arg", "gated=true", "--name", "Tiny"]) == 0
    graph = json.loads(out.read_text())
    assert graph["metadata"]["name"] == "Tiny"
    stage = next(n for n in graph["nodes"] if n.get("path") == "stage.0")  # a ConvBNAct instance
    assert (stage["type"], stage["params"]) == ("ConvBNAct", {"conv_out_channels": 8, "conv_stride": 2})
    assert any(n["type"] == "Sigmoid" for n in graph["nodes"])  # gated=true reached the constructor

    import importlib

    original = importlib.import_module(f"{user_package}.models").build_model(width=4, gated=True)
    assert_same_model(original, graph, tmp_path, [torch.randn(2, 3, 16, 16)])


def test_it_imports_a_generated_package_as_the_graph_it_came_from(tmp_path: Path, capsys) -> None:
    graph = load_template("resnet18")
    graph["nodes"][0]["params"]["shape"] = [3, 32, 32]
    package = write_package(graph, tmp_path, "ResNet")
    assert main(["import", "--generated", str(package)]) == 0
    imported = json.loads(capsys.readouterr().out)
    assert canonical(imported, module_paths(graph)) == canonical(graph, module_paths(graph))
    assert imported["metadata"]["description"] == f"Imported from the generated package {package}."
    original, _, _ = load_generated(package)
    assert_same_model(original, imported, tmp_path, [torch.randn(2, 3, 32, 32)])


def test_it_reports_what_cannot_be_imported_with_exit_status_1(tmp_path: Path, capsys) -> None:
    package = write_package(load_template("hybridcmi"), tmp_path, "Demo")
    model = package / "model.py"  # a hand edit the importer cannot follow
    model.write_text(model.read_text().replace("x = self.relu(x)", "x = self.relu(x).cumsum(1)"))
    assert main(["import", "--generated", str(package)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: IMPORT [cumsum]: cannot import method `.cumsum()`: no node type does this")
    assert "model.py:" in err and "`x = self.relu(x).cumsum(1)" in err
    assert err.endswith("(--placeholders imports the rest, with a marked node in place of each such part)\n")


def test_with_placeholders_it_writes_the_rest_and_lists_what_to_replace(tmp_path: Path, capsys) -> None:
    package = write_package(load_template("hybridcmi"), tmp_path, "Demo")
    model = package / "model.py"
    model.write_text(model.read_text().replace("x = self.relu(x)", "x = self.relu(x).cumsum(1)"))
    out = tmp_path / "g.json"
    assert main(["import", "--generated", str(package), "--placeholders", "--out", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "1 part(s) not imported; replace each NotImported node on the canvas:"
    assert err[1].startswith("error: NOT_IMPORTED [cumsum]: method `.cumsum()` at ")
    assert err[1].endswith(
        "was not imported: no node type does this; replace this placeholder with nodes that compute it"
    )
    assert err[2] == f"wrote {out}: {len(json.loads(out.read_text())['nodes'])} nodes"
    graph = json.loads(out.read_text())
    (placeholder,) = [n for n in graph["nodes"] if n["type"] == "NotImported"]
    assert placeholder["params"]["op"] == "method `.cumsum()`"


def test_it_explains_a_missing_input_shape(user_package: str, capsys) -> None:
    assert main(["import", f"{user_package}.models:build_model"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: IMPORT: input `x` needs a shape")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nowhere.models:build_model", "error: cannot find nowhere.models:build_model: No module named 'nowhere'"),
        ("{pkg}.models:missing", "error: cannot find {pkg}.models:missing: module"),
        ("{pkg}.models:broken", "error: {pkg}.models:broken returned int, not an nn.Module"),
        ("{pkg}.models", "error: expected MODULE:CALLABLE (e.g. my_pkg.models:build_model), got '{pkg}.models'"),
    ],
)
def test_it_refuses_bad_targets_in_one_line(user_package: str, target: str, message: str) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["import", target.format(pkg=user_package), "--input-shape", "3,8,8"])
    assert str(caught.value).startswith(message.format(pkg=user_package))


def test_it_reports_a_failing_constructor_in_one_line(user_package: str) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["import", f"{user_package}.models:build_model", "--arg", "depth=3"])
    assert "TypeError: build_model() got an unexpected keyword argument 'depth'" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "value"),
    [("depth=18", 18), ("p=0.5", 0.5), ("pre=true", True), ("pre=False", False), ("act=gelu", "gelu")],
)
def test_it_parses_arguments_as_int_float_bool_or_string(text: str, value: object) -> None:
    key, parsed = parse_arg(text)
    assert (key, parsed, type(parsed)) == (text.split("=")[0], value, type(value))


def test_a_hand_edit_of_a_generated_package_comes_back_as_exactly_that_change(tmp_path: Path, capsys) -> None:
    graph = load_template("hybridcmi")
    package = write_package(graph, tmp_path, "Demo")
    model = package / "model.py"
    model.write_text(model.read_text().replace("nn.Linear(128, 18)", "nn.Linear(128, 20)"))
    assert main(["import", "--generated", str(package)]) == 0
    imported = json.loads(capsys.readouterr().out)
    next(n for n in graph["nodes"] if n["id"] == "fc")["params"]["out_features"] = 20
    assert canonical(imported, module_paths(graph)) == canonical(graph, module_paths(graph))
