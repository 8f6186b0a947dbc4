"""CustomModule, the escape hatch: a user's own nn.Module by import path, built only where the allow-list names it.

``custom_layers`` (tests/support) is the user's package, on the allow-list; ``custom_hostile`` is not, and its
import leaves marks (``custom_import_marker.IMPORTED``, the file ``$CUSTOM_HOSTILE_MARKER``) that these tests
prove absent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import custom_import_marker
import custom_layers
import pytest
import torch
from torch import nn

import codegen
from codegen.cli import main as cli
from codegen.diagnostics import GraphError
from codegen.interpreter import build_reference
from codegen.loader import generated_package
from codegen.nodes.custom import CustomModuleMissing
from codegen.smoke import CpuBackend, SmokeSettings, train_package

ALLOWED = codegen.Limits(custom_modules=("custom_layers.*",))
HOSTILE = "custom_hostile.Exfiltrate"
HOSTILE_SENTENCE = (
    "custom module `custom_hostile.Exfiltrate` is not allowed on this deployment: add "
    "`custom_hostile.Exfiltrate` (or `custom_hostile.*`) to TORCHCANVAS_CUSTOM_MODULES, or pass --allow-module "
    "to the CLI"
)
RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")


def custom(class_path: str = "custom_layers.GatedProjection", **params) -> dict:
    params = {"kwargs": {"in_features": 16, "out_features": 8, "scale": 0.5}, "output_shape": [8], **params}
    return {"id": "gate", "type": "CustomModule", "params": {"class": class_path, **params}}


def graph(node: dict | None = None) -> dict:
    return {
        "version": "0.2",
        "metadata": {"name": "gated"},
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [16]}},
            node or custom(),
            {"id": "fc", "type": "Linear", "params": {"out_features": 3}},
        ],
        "edges": [["x", "gate"], ["gate", "fc"]],
        "inputs": ["x"],
        "outputs": ["fc"],
    }


class Reference(nn.Module):
    """The graph written by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = custom_layers.GatedProjection(16, 8, scale=0.5)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.gate(x))


@pytest.fixture
def hostile_marker(tmp_path, monkeypatch):
    """The file custom_hostile would write if it were imported; the test fails if it ever was."""
    marker = tmp_path / "hostile-imported"
    monkeypatch.setenv("CUSTOM_HOSTILE_MARKER", str(marker))
    yield marker
    assert "custom_hostile" not in sys.modules
    assert custom_import_marker.IMPORTED == []
    assert not marker.exists()


# --- allowed ----------------------------------------------------------------------------------------


def test_an_allowed_class_validates_with_its_declared_shape_and_no_guessed_parameter_count():
    result = codegen.validate(graph(), limits=ALLOWED)
    assert result.diagnostics == []
    assert result.analysis.info["gate"].out.to_json() == ["B", 8]
    assert result.analysis.info["gate"].param_count is None  # never imported to be counted
    assert result.analysis.info["fc"].param_count == 8 * 3 + 3
    assert result.params_total is None
    (row,) = [r for r in result.summary().rows if r.id == "gate"]
    assert (row.params, row.macs, row.output_shapes) == (None, None, [["B", 8]])  # unknown, not guessed
    assert "custom_layers" in sys.modules  # imported by this test module itself, not by the engine


def test_the_generated_model_imports_the_class_beside_torch_and_calls_it_with_keywords():
    model = codegen.generate(graph(), name="pkg", limits=ALLOWED)["pkg/model.py"]
    assert "import torch\nfrom custom_layers import GatedProjection\nfrom torch import nn\n" in model
    assert "        self.gate = GatedProjection(in_features=16, out_features=8, scale=0.5)\n" in model
    assert "        x = self.gate(x)  # (B, 8)\n" in model


def test_the_generated_package_runs_as_the_hand_written_model_and_the_interpreter():
    torch.manual_seed(0)
    x = torch.randn(5, 16)
    with generated_package(graph(), limits=ALLOWED) as package:
        generated = package.build_model().eval()
        reference = Reference().eval()
        reference.load_state_dict(generated.state_dict())  # same keys: gate.proj.*, gate.gate, fc.*
        analysis = codegen.analyze(codegen.load_graph(graph()), limits=ALLOWED)
        interpreted = build_reference(analysis, limits=ALLOWED).eval()
        interpreted.load_state_dict(generated.state_dict())
        with torch.no_grad():
            assert torch.equal(generated(x), reference(x))
            assert torch.equal(interpreted(x), reference(x))
    assert sorted(generated.state_dict()) == ["fc.bias", "fc.weight", "gate.gate", "gate.proj.bias", "gate.proj.weight"]


def test_the_generated_package_trains_and_the_custom_parameters_learn():
    with generated_package(graph(), limits=ALLOWED) as package:
        built = []
        original = package.build_model

        def build_model(*args):
            built.append(original(*args))
            return built[-1]

        package.build_model = build_model
        metrics = train_package(package, SmokeSettings(steps=30, data="fixed", lr=0.05), backend=CpuBackend())
    (model,) = built
    assert metrics["loss"] < metrics["first_loss"] / 2  # one fixed batch, learnt
    assert not torch.equal(model.gate.gate.detach(), torch.zeros(8))  # gradients reached the user's parameter


def test_list_kwargs_and_sizes_copied_from_the_input():
    node = custom(
        "custom_layers.ChannelMix", kwargs={"channels": 4, "kernel": [1, 3]}, output_shape=[-1, -1, -1], dtype="float32"
    )
    document = {
        "version": "0.2",
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [4, 6, 6]}}, node],
        "edges": [["x", "gate"]],
        "inputs": ["x"],
        "outputs": ["gate"],
    }
    result = codegen.validate(document, limits=ALLOWED)
    assert result.ok and result.analysis.info["gate"].out.to_json() == ["B", 4, 6, 6]
    model = codegen.generate(document, name="pkg", limits=ALLOWED)["pkg/model.py"]
    assert "self.gate = ChannelMix(channels=4, kernel=[1, 3])" in model
    x = torch.randn(2, 4, 6, 6)
    with generated_package(document, limits=ALLOWED) as package:
        generated = package.build_model().eval()
        reference = custom_layers.ChannelMix(4, [1, 3]).eval()
        reference.load_state_dict({k.removeprefix("gate."): v for k, v in generated.state_dict().items()})
        with torch.no_grad():
            assert torch.equal(generated(x), reference(x))


def test_a_class_inside_a_block_is_imported_by_blocks_py_only():
    document = {
        "version": "0.2",
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [16]}},
            {"id": "b", "type": "Gated"},
            {"id": "fc", "type": "Linear", "params": {"out_features": 3}},
        ],
        "edges": [["x", "b"], ["b", "fc"]],
        "inputs": ["x"],
        "outputs": ["fc"],
        "composites": {
            "Gated": {
                "nodes": [{"id": "i", "type": "Input"}, custom(), {"id": "act", "type": "ReLU"}],
                "edges": [["i", "gate"], ["gate", "act"]],
                "inputs": ["i"],
                "outputs": ["act"],
            }
        },
    }
    files = codegen.generate(document, name="pkg", limits=ALLOWED)
    assert "from custom_layers import GatedProjection\n" in files["pkg/blocks.py"]
    assert "custom_layers" not in files["pkg/model.py"]
    assert codegen.validate(document).errors[0].code == "CUSTOM_MODULE"  # refused inside blocks too


@pytest.mark.skipif(RUFF is None, reason="needs ruff")
def test_generated_files_pass_ruff_with_isort(tmp_path):
    files = codegen.generate(graph(), name="pkg", with_train=True, limits=ALLOWED)
    files |= codegen.generate(graph(), name="single", layout="file", with_train=True, limits=ALLOWED)
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    check = subprocess.run(
        [RUFF, "check", "--isolated", "--no-cache", "--extend-select", "I", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run(
        [RUFF, "format", "--isolated", "--no-cache", "--check", "."], cwd=tmp_path, capture_output=True
    )
    assert fmt.returncode == 0, fmt.stdout


# --- refused ----------------------------------------------------------------------------------------


def test_a_class_off_the_allow_list_is_refused_with_a_sentence_and_never_imported(hostile_marker):
    document = graph(custom(HOSTILE, kwargs={}, output_shape=[16]))
    result = codegen.validate(document, limits=ALLOWED)
    assert [(d.code, d.node, d.message) for d in result.diagnostics] == [("CUSTOM_MODULE", "gate", HOSTILE_SENTENCE)]
    assert result.analysis.info["fc"].out.to_json() == ["B", 3]  # the rest still validates around it
    with pytest.raises(GraphError) as caught:
        codegen.generate(document, name="pkg", limits=ALLOWED)
    assert caught.value.diagnostics[0].message == HOSTILE_SENTENCE
    with pytest.raises(PermissionError, match="is not allowed on this deployment"):
        build_reference(result.analysis, limits=ALLOWED)
    assert result.summary().params is None  # the summary does not import it either


def test_by_default_nothing_is_allowed():
    (error,) = codegen.validate(graph()).errors
    assert error.code == "CUSTOM_MODULE" and "`custom_layers.GatedProjection` is not allowed" in error.message


def test_an_exact_pattern_allows_that_class_only():
    exact = codegen.Limits(custom_modules=("custom_layers.ChannelMix",))
    assert codegen.validate(graph(), limits=exact).errors[0].code == "CUSTOM_MODULE"
    assert codegen.validate(graph(), limits=codegen.Limits(custom_modules=("custom_layers.GatedProjection",))).ok
    assert not codegen.Limits(custom_modules=("custom.*",)).allows_module("custom_layers.GatedProjection")


@pytest.mark.parametrize(
    ("class_path", "code", "message"),
    [
        ("os.system", "CUSTOM_MODULE", "custom module `os.system` is not allowed on this deployment"),
        ("__import__", "PARAM_TYPE", "has the segment `__import__`; names starting with __ are refused"),
        ("a..b", "PARAM_TYPE", '"a..b" is not a dotted path of ASCII identifiers (package.module.ClassName)'),
        ("os.__class__", "PARAM_TYPE", "names starting with __ are refused"),
        ("pkg.class.Layer", "PARAM_TYPE", "has the Python keyword `class` as a segment"),
        ("Layer", "PARAM_TYPE", '"Layer" names no module: write package.module.ClassName'),
        ("pkg.Läyer", "PARAM_TYPE", "is not a dotted path of ASCII identifiers"),
        ("a." * 150 + "B", "PARAM_TYPE", "has 301 characters; at most 200"),
        (7, "PARAM_TYPE", "expected a class path such as package.module.ClassName, got int"),
        ("custom_layers.print", "CUSTOM_MODULE", "its name `print` would hide a Python builtin"),
        ("custom_layers.nn", "CUSTOM_MODULE", "its name `nn` would hide a Python builtin or a name the generated"),
    ],
)
def test_hostile_class_paths_get_clear_errors(class_path, code, message, hostile_marker):
    result = codegen.validate(graph(custom(class_path)), limits=ALLOWED)
    assert [d.code for d in result.errors] == [code]
    assert message in result.errors[0].message


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"kwargs": {f"k{i}": i for i in range(33)}}, "has 33 keyword arguments; at most 32"),
        ({"kwargs": {"k": list(range(65))}}, "`k` has 65 entries; at most 64"),
        ({"kwargs": {"k": "x" * 201}}, "`k` has 201 characters; at most 200"),
        ({"kwargs": {"k": 2**70}}, "`k` must be an int below 2**63 in size"),
        ({"kwargs": {"k": float("nan")}}, "`k` must be a finite number, got nan"),
        ({"kwargs": {"k": "line\nbreak"}}, "`k` must be printable text on one line"),
        ({"kwargs": {"k": {"nested": 1}}}, "`k` must be an int, float, bool, string or a list of those, got object"),
        ({"kwargs": {"k": [[1]]}}, "`k` must be an int, float, bool, string or a list of those, got list"),
        ({"kwargs": {"lambda": 1}}, 'key "lambda" is not a keyword argument name (an identifier, not a keyword)'),
        ({"kwargs": {"a-b": 1}}, 'key "a-b" is not a keyword argument name'),
        ({"kwargs": [1, 2]}, "expected a JSON object of keyword arguments, got list"),
        ({"output_shape": [0]}, "output_shape: sizes are ≥ 1, or -1 for the input's size on that axis; got 0"),
        ({"output_shape": [8, -1]}, "output_shape entry 1 is -1 (the input's size on that axis), but the input"),
        ({"output_shape": [-2]}, "must be ≥ -1, got -2"),
        ({"output_shape": [1, 2, 3, 4, 5]}, "must have 1 to 4 entries, got 5"),
    ],
)
def test_hostile_kwargs_and_shapes_get_clear_errors(params, message):
    result = codegen.validate(graph(custom(**params)), limits=ALLOWED)
    assert len(result.errors) == 1 and message in result.errors[0].message, result.errors


def test_a_keyword_named_fn_is_passed_as_given():
    model = codegen.generate(graph(custom(kwargs={"fn": 1})), name="pkg", limits=ALLOWED)["pkg/model.py"]
    assert "GatedProjection(fn=1)" in model


def test_two_classes_of_one_name_cannot_both_be_imported():
    limits = codegen.Limits(custom_modules=("a.*", "b.*"))
    document = graph(custom("a.layers.Gate", kwargs={}))
    document["nodes"][2] = {"id": "fc", "type": "CustomModule", "params": {"class": "b.Gate", "output_shape": [3]}}
    with pytest.raises(GraphError) as caught:
        codegen.generate(document, name="pkg", limits=limits)
    assert caught.value.diagnostics[0].message.startswith(
        "custom module `b.Gate` has the name of `a.layers.Gate`; the generated code cannot import both"
    )


def test_malformed_allow_list_patterns_are_refused():
    for pattern in ("*", "a..b", "", "pkg.*.x", "__main__.*"):
        with pytest.raises(ValueError, match="custom module pattern"):
            codegen.Limits(custom_modules=(pattern,))


# --- where the class is missing ---------------------------------------------------------------------


def test_a_worker_without_the_package_gets_one_sentence():
    limits = codegen.Limits(custom_modules=("not_installed_pkg.*",))
    document = graph(custom("not_installed_pkg.layers.Gate", kwargs={}))
    assert codegen.validate(document, limits=limits).ok  # nothing is imported to validate
    with pytest.raises(CustomModuleMissing) as caught, generated_package(document, limits=limits):
        pass
    assert str(caught.value) == (
        "custom module `not_installed_pkg.layers.Gate` is not installed on this worker: "
        "No module named 'not_installed_pkg'"
    )
    analysis = codegen.analyze(codegen.load_graph(document), limits=limits)
    with pytest.raises(ImportError, match="custom module `not_installed_pkg.layers.Gate` is not installed"):
        build_reference(analysis, limits=limits)


def test_a_module_without_the_class_gets_one_sentence():
    document = graph(custom("custom_layers.Missing", kwargs={}))
    with pytest.raises(CustomModuleMissing, match="custom module `custom_layers.Missing` is not installed on this"):
        with generated_package(document, limits=ALLOWED):
            pass


# --- the CLI ----------------------------------------------------------------------------------------


def test_the_cli_refuses_without_allow_module_and_builds_with_it(tmp_path, capsys, hostile_marker):
    path = tmp_path / "g.json"
    path.write_text(json.dumps(graph()))
    assert cli(["validate", str(path)]) == 1
    assert "error: CUSTOM_MODULE [gate]: custom module `custom_layers.GatedProjection` is not allowed" in (
        capsys.readouterr().out
    )
    assert cli(["validate", str(path), "--allow-module", "custom_layers.*"]) == 0
    assert capsys.readouterr().out == (
        "ok: 3 nodes, parameter count unknown: custom modules are not imported to count them "
        "(custom_layers.GatedProjection)\n"
    )
    assert cli(["summary", str(path), "--allow-module", "custom_layers.*"]) == 0
    assert capsys.readouterr().err == (
        "note: parameter count unknown: custom modules are not imported to count them (custom_layers.GatedProjection)\n"
    )
    assert cli(["--graph", str(path), "--out", str(tmp_path / "gen"), "--allow-module", "custom_layers.*"]) == 0
    assert "from custom_layers import GatedProjection" in (tmp_path / "gen/Model/model.py").read_text()
    hostile = tmp_path / "h.json"
    hostile.write_text(json.dumps(graph(custom(HOSTILE, kwargs={}, output_shape=[16]))))
    capsys.readouterr()
    assert cli(["--graph", str(hostile), "--out", str(tmp_path / "h"), "--allow-module", "custom_layers.*"]) == 1
    assert capsys.readouterr().err == f"error: CUSTOM_MODULE [gate]: {HOSTILE_SENTENCE}\n"
    assert not (tmp_path / "h").exists()


def test_the_cli_refuses_a_malformed_pattern(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli(["validate", "-", "--allow-module", "*"])
    assert "argument --allow-module: custom module pattern '*'" in capsys.readouterr().err


def test_train_dummy_reads_the_package_imports_before_importing_it(tmp_path, capsys, hostile_marker):
    from codegen.train_dummy import main as train_dummy

    files = codegen.generate(graph(), name="gated_pkg", limits=ALLOWED)
    hostile = codegen.Limits(custom_modules=(HOSTILE,))  # a server that allowed it: generating imports nothing
    files |= codegen.generate(graph(custom(HOSTILE, kwargs={}, output_shape=[16])), name="hostile_pkg", limits=hostile)
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    common = ["--pkg-path", str(tmp_path), "--steps-per-epoch", "2"]
    assert train_dummy(["--pkg", "hostile_pkg", *common, "--allow-module", "custom_layers.*"]) == 1
    assert capsys.readouterr().err == f"error: {HOSTILE_SENTENCE}\n"
    assert "hostile_pkg" not in sys.modules
    assert train_dummy(["--pkg", "gated_pkg", *common]) == 1
    assert "`custom_layers.GatedProjection` is not allowed" in capsys.readouterr().err
    assert train_dummy(["--pkg", "gated_pkg", *common, "--allow-module", "custom_layers.GatedProjection"]) == 0
    assert "done: 16 samples" in capsys.readouterr().out
