"""``python -m codegen import --from torchvision:NAME`` (or ``timm:NAME``): an architecture by name, no weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codegen import cli
from tests.support.torchvision_models import _models


def refusal(*argv: str) -> str:
    """The one line ``main`` stops with (``python -m codegen`` prints it on stderr and exits with 1)."""
    with pytest.raises(SystemExit) as caught:
        cli.main(["import", *argv])
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.fixture
def guarded_torchvision(monkeypatch):
    """The CLI's torchvision, imported the way the tests can here (tests/support/torchvision_models.py)."""
    monkeypatch.setitem(cli.MODEL_LIBRARIES, "torchvision", lambda: cli.torchvision_library(_models()))


def test_it_builds_a_torchvision_architecture_by_name_with_keyword_arguments(guarded_torchvision, tmp_path, capsys):
    out = tmp_path / "g.json"
    argv = ["import", "--from", "torchvision:resnet18", "--arg", "num_classes=7", "--input-shape", "3,64,64"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    graph = json.loads(out.read_text())
    assert graph["metadata"]["name"] == "resnet18"
    assert graph["metadata"]["description"] == "Imported from torchvision:resnet18 (random weights)."
    fc = next(n for n in graph["nodes"] if n.get("path") == "fc")
    assert fc["params"]["out_features"] == 7
    assert next(n for n in graph["nodes"] if n["type"] == "Input")["params"]["shape"] == [3, 64, 64]


def test_an_unknown_name_lists_close_ones(guarded_torchvision):
    message = refusal("--from", "torchvision:resnet5")
    assert message.startswith("error: torchvision has no model 'resnet5'; close names: ") and "resnet50" in message


def test_bad_keyword_arguments_are_one_line(guarded_torchvision):
    message = refusal("--from", "torchvision:resnet18", "--arg", "depth=3")
    assert message.startswith("error: torchvision resnet18(**{'depth': 3}) failed: TypeError: ")


def test_weights_are_never_asked_for():
    assert refusal("--from", "torchvision:resnet18", "--arg", "weights=DEFAULT") == (
        "error: --from builds the architecture only, with random weights; drop --arg weights"
    )


def _missing():
    raise ModuleNotFoundError("No module named 'timm'", name="timm")


def test_an_absent_package_is_one_line(monkeypatch):
    monkeypatch.setitem(cli.MODEL_LIBRARIES, "timm", _missing)
    assert refusal("--from", "timm:resnet50") == (
        "error: timm is not installed (pip install timm); --from timm:NAME needs it"
    )


def _broken():
    raise RuntimeError("operator torchvision::nms does not exist")


def test_a_package_that_fails_to_import_is_one_line(monkeypatch):
    monkeypatch.setitem(cli.MODEL_LIBRARIES, "torchvision", _broken)
    assert refusal("--from", "torchvision:resnet50") == (
        "error: torchvision is installed but cannot be imported (operator torchvision::nms does not exist); "
        "install the torchvision build that matches your torch (pip install -U torchvision)"
    )


def test_torchvision_as_the_cli_imports_it_works_or_says_why_in_one_line(tmp_path):
    """Here torchvision's own import fails beside the CPU torch (see tests/support/torchvision_models.py)."""
    out = tmp_path / "g.json"
    try:
        status = cli.main(["import", "--from", "torchvision:resnet18", "--input-shape", "3,32,32", "--out", str(out)])
    except SystemExit as stop:
        message = str(stop)
        assert "\n" not in message
        assert message.startswith(
            ("error: torchvision is not installed (pip install torchvision)", "error: torchvision is installed but")
        )
    else:
        assert status == 0 and json.loads(out.read_text())["metadata"]["name"] == "resnet18"


def test_an_unknown_package_names_the_known_ones():
    assert refusal("--from", "keras:resnet50") == (
        "error: --from expects torchvision:NAME, timm:NAME (e.g. torchvision:resnet50), got 'keras:resnet50'"
    )


def test_from_goes_alone(capsys):
    with pytest.raises(SystemExit):
        cli.main(["import", "pkg:Model", "--from", "torchvision:resnet18"])
    assert "give one of MODULE:CALLABLE, --generated DIR or --from PACKAGE:NAME" in capsys.readouterr().err


def test_it_writes_nothing_to_stdout_but_the_graph(guarded_torchvision, capsys, tmp_path: Path):
    assert cli.main(["import", "--from", "torchvision:resnet18", "--input-shape", "3,32,32"]) == 0
    assert json.loads(capsys.readouterr().out)["metadata"]["name"] == "resnet18"
