"""The command line, as a user runs it: the seed's quick starts B and C verbatim, in a fresh folder.

Every command runs in a subprocess (``python -m codegen ...``) with ``PYTHONPATH`` at the
repository root and nothing else configured: no Django settings. Errors must be one line on
stderr, a non-zero exit and no traceback.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import codegen
from codegen import cli

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
SEED_1D = (GOLDEN / "seed_1d_demo" / "graph.json").read_text()  # the seed's 1D demo, verbatim

# Quick starts B and C from the seed README, with `python -m codegen` for `torchcanvas_codegen.py`
# and `python -m codegen.train_dummy` for `train_dummy.py`.
QUICK_START_B = "python -m codegen --graph graph.json --name MyPkg --out ./generated --with-train"
QUICK_START_C = (
    "python -m codegen.train_dummy --pkg generated.MyPkg --pkg-path . --C 9 --T 256 --num-classes 18 --epochs 1"
)

TINY_2D = {
    "version": "0.2",
    "metadata": {"name": "tiny_vgg"},
    "nodes": [
        {"id": "inp", "type": "Input", "params": {}},
        {"id": "stem", "type": "Conv2d", "params": {"out_channels": 8, "padding": 1}},
        {"id": "relu", "type": "ReLU", "params": {}},
        {"id": "block", "type": "VGGBlock", "params": {"c1": 8, "c2": 8, "convs": 1}},
        {"id": "gap", "type": "GlobalAvgPool", "params": {}},
        {"id": "fc", "type": "Linear", "params": {"out_features": 5}},
    ],
    "edges": [["inp", "stem"], ["stem", "relu"], ["relu", "block"], ["block", "gap"], ["gap", "fc"]],
    "inputs": ["inp"],
    "outputs": ["fc"],
}


def run(command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A command line as typed, with `python` meaning this interpreter and the repo importable."""
    argv = shlex.split(command)
    if argv[0] == "python":
        argv[0] = sys.executable
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(cwd),
        "PYTHONPATH": str(ROOT),
        "PYTHONWARNINGS": "ignore",
        **env,
    }
    return subprocess.run(argv, cwd=cwd, env=environment, capture_output=True, text=True, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and "Warning" not in line]
    assert lines, "no message on stderr"
    assert lines[-1].startswith(("error", "python -m codegen")), lines
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.fixture(scope="module")
def quick_start(tmp_path_factory) -> Path:
    """A folder where quick start B has run: generated/MyPkg/..."""
    folder = tmp_path_factory.mktemp("quickstart")
    (folder / "graph.json").write_text(SEED_1D)
    result = run(QUICK_START_B, folder)
    assert result.returncode == 0, result.stderr
    return folder


def test_quick_start_b_writes_the_package_files(quick_start: Path) -> None:
    package = quick_start / "generated" / "MyPkg"
    assert sorted(p.name for p in package.iterdir()) == ["__init__.py", "blocks.py", "model.py", "train.py"]
    expected = codegen.generate(SEED_1D, name="MyPkg", with_train=True)
    for path, text in expected.items():
        assert (quick_start / "generated" / path).read_text() == text


def test_quick_start_c_trains_the_generated_package(quick_start: Path) -> None:
    result = run(QUICK_START_C, quick_start)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("MyPkg: ") and "parameters" in lines[0]
    losses = [line for line in lines if " loss " in line and line.startswith("epoch 1 step")]
    assert len(losses) >= 1
    assert all(float(line.rsplit(" ", 1)[1]) > 0 for line in losses)
    assert lines[-1].startswith("done: ") and "final loss" in lines[-1]


def test_the_generated_train_script_runs(quick_start: Path) -> None:
    result = run("python -m generated.MyPkg.train --steps 2 --batch-size 2 --shape x=9,32", quick_start)
    assert result.returncode == 0, result.stderr
    assert "step 2/2" in result.stdout


def test_validate_with_an_input_shape_prints_json(tmp_path: Path) -> None:
    (tmp_path / "graph.json").write_text(SEED_1D)
    result = run("python -m codegen validate graph.json --input-shape 9,256 --json", tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["error_count"] == 0
    assert report["shapes"]["fc"] == ["B", 18]
    assert report["shapes"]["conv"] == ["B", 64, 256]
    assert report["params_total"] == 79_762
    summary = report["summary"]
    assert summary["totals"]["params"] == 79_762 and summary["totals"]["flops"] == 2 * summary["totals"]["macs"] > 0
    assert [n["id"] for n in summary["nodes"]] == report["order"]


def test_validate_a_broken_graph_exits_1_with_its_diagnostics(tmp_path: Path) -> None:
    broken = json.loads(SEED_1D)  # the seed's demo without its Permute
    broken["nodes"] = [n for n in broken["nodes"] if n["id"] != "perm"]
    broken["edges"] = [["inp", "conv"], ["conv", "relu"], ["relu", "gru"], ["gru", "fc"]]
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    text = run("python -m codegen validate broken.json --input-shape 9,256", tmp_path)
    assert text.returncode == 1
    assert "error: LAYOUT [gru]: " in text.stdout and "Permute_BCT_to_BTH" in text.stdout
    assert "Traceback" not in text.stderr
    as_json = run("python -m codegen validate broken.json --json", tmp_path)
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    layout = next(d for d in report["diagnostics"] if d["code"] == "LAYOUT")
    assert layout["suggestion"] == {"action": "insert_node", "type": "Permute_BCT_to_BTH", "between": ["relu", "gru"]}


def test_a_block_expression_over_the_cap_is_a_diagnostic_not_a_traceback(tmp_path: Path) -> None:
    graph = json.loads((GOLDEN / "user_composite" / "graph.json").read_text())
    graph["composites"]["ConvBNReLU"]["nodes"][1]["params"]["out_channels"] = "+".join(["$c"] * 1000)
    (tmp_path / "long.json").write_text(json.dumps(graph))
    result = run("python -m codegen validate long.json", tmp_path)
    assert result.returncode == 1, result.stderr
    assert "error: EXPRESSION_TOO_LONG [stem]: " in result.stdout and "at most 100 operators" in result.stdout
    assert "Traceback" not in result.stderr
    assert_one_line_error(run("python -m codegen --graph long.json --name MyPkg", tmp_path), "EXPRESSION_TOO_LONG")


def test_single_file_and_zip_hold_the_same_code(tmp_path: Path) -> None:
    (tmp_path / "graph.json").write_text(SEED_1D)
    single = run("python -m codegen --graph graph.json --name MyPkg --out out --single-file", tmp_path)
    assert single.returncode == 0, single.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["MyPkg.py"]
    expected = codegen.generate(SEED_1D, name="MyPkg", layout="file")
    assert (tmp_path / "out" / "MyPkg.py").read_text() == expected["MyPkg.py"]

    # Twice, under different hash seeds: the archive is byte-identical (no timestamps, no set order).
    archives = []
    for seed in ("1", "2"):
        zipped = run(
            f"python -m codegen --graph graph.json --name MyPkg --out zip{seed} --zip --with-train",
            tmp_path,
            PYTHONHASHSEED=seed,
        )
        assert zipped.returncode == 0, zipped.stderr
        archives.append((tmp_path / f"zip{seed}" / "MyPkg.zip").read_bytes())
    assert archives[0] == archives[1]
    loose = codegen.generate(SEED_1D, name="MyPkg", with_train=True)
    with zipfile.ZipFile(tmp_path / "zip1" / "MyPkg.zip") as archive:
        assert sorted(archive.namelist()) == sorted(loose)
        for path, text in loose.items():
            assert archive.read(path).decode() == text


def test_a_2d_graph_trains_with_height_and_width(tmp_path: Path) -> None:
    (tmp_path / "tiny.json").write_text(json.dumps(TINY_2D))
    generated = run("python -m codegen --graph tiny.json --name tiny --out ./generated", tmp_path)
    assert generated.returncode == 0, generated.stderr
    command = "python -m codegen.train_dummy --pkg generated.tiny --pkg-path . --C 3 --H 16 --W 16 --num-classes 5 --epochs 2 --steps-per-epoch 2"
    result = run(command, tmp_path)
    assert result.returncode == 0, result.stderr
    assert sum(line.startswith("epoch ") for line in result.stdout.splitlines()) == 4
    assert "epoch 2 step 4/4" in result.stdout


def test_generator_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "graph.json").write_text(SEED_1D)
    (tmp_path / "bad.json").write_text('{"nodes": [')
    assert_one_line_error(run("python -m codegen --graph missing.json --name MyPkg", tmp_path), "missing.json")
    assert_one_line_error(run("python -m codegen --graph bad.json --name MyPkg", tmp_path), "invalid JSON")
    assert_one_line_error(run("python -m codegen --graph graph.json --name 'My Pkg'", tmp_path), "package name")
    assert not (tmp_path / "generated").exists()


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--graph", "missing.json", "--name", "MyPkg"], "cannot read missing.json"),
        (["--graph", "bad.json"], "invalid JSON"),
        (["--graph", "graph.json", "--name", "../evil"], "package name"),
        (["--graph", "graph.json", "--name", "9lives"], "package name"),
        (["--graph", "graph.json", "--out", "graph.json"], "cannot write"),
        (["--graph", "graph.json", "--input-shape", "9,x"], "expected sizes"),
        (["--graph", "graph.json", "--input-shape", "a=1", "--input-shape", "b=2"], "UNKNOWN_INPUT"),
        (["--graph", "broken.json"], "LAYOUT"),
        (["--name", "MyPkg"], "--graph"),
        (["validate", "missing.json"], "cannot read"),
        (["validate", "bad.json", "--json"], "PARSE"),
        (["validate", "graph.json", "--input-shape", "0,5"], "PARAM_RANGE"),
        (["templates", "no_such_template"], "no_such_template"),
        (["summary", "broken.json"], "LAYOUT [gru]"),
        (["summary", "bad.json", "--format", "md"], "PARSE"),
        (["summary", "graph.json", "--format", "xlsx"], "invalid choice"),
    ],
    ids=["missing", "bad_json", "path_name", "digit_name", "out_is_a_file", "bad_shape", "unknown_input"]
    + ["invalid_graph", "no_graph", "validate_missing", "validate_bad_json", "validate_bad_shape", "template"]
    + ["summary_invalid_graph", "summary_bad_json", "summary_format"],
)
def test_every_error_is_a_message_and_an_exit_code(argv, fragment, tmp_path, monkeypatch, capsys) -> None:
    """The same errors in-process (fast): a message, an exit status, never an exception."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "graph.json").write_text(SEED_1D)
    (tmp_path / "bad.json").write_text("{nodes")
    broken = json.loads(SEED_1D)
    broken["edges"] = [["inp", "conv"], ["conv", "relu"], ["relu", "gru"], ["gru", "fc"]]
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    try:
        status = cli.main(argv)
    except SystemExit as exc:  # argparse, and unreadable files
        status = exc.code if isinstance(exc.code, int) else 1
        message = str(exc.code) if not isinstance(exc.code, int) else ""
    else:
        message = ""
    captured = capsys.readouterr()
    assert status != 0
    assert fragment in captured.err + captured.out + message
    assert not (tmp_path / "generated").exists()


def test_train_dummy_errors_are_one_line(quick_start: Path) -> None:
    base = "python -m codegen.train_dummy --pkg generated.MyPkg --pkg-path ."
    assert_one_line_error(run("python -m codegen.train_dummy --pkg nope.Pkg --pkg-path .", quick_start), "nope.Pkg")
    assert_one_line_error(run(f"{base} --C 9 --T 256 --num-classes 7", quick_start), "18 classes", "7")
    assert_one_line_error(run(f"{base} --C 9 --H 5", quick_start), "--H")
    assert_one_line_error(run(base, quick_start), "--C")


def test_the_cli_needs_no_django(tmp_path: Path) -> None:
    """`python -m codegen` imports the engine only: not Django, not the site's settings."""
    script = "import sys, runpy; sys.argv = ['codegen', 'templates']; runpy.run_module('codegen', run_name='__main__')"
    probe = f"import atexit, sys; atexit.register(lambda: print('django' in sys.modules, file=sys.stderr)); {script}"
    result = run(f"python -c {shlex.quote(probe)}", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "False"


def test_summary_prints_an_aligned_table_by_default(tmp_path: Path) -> None:
    (tmp_path / "graph.json").write_text(json.dumps(TINY_2D))
    result = run("python -m codegen summary graph.json --input-shape 3,16,16", tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "tiny_vgg: batch 1, activation memory per sample (fp32)"
    assert lines[1].split() == ["node", "type", "output", "shape", "params", "trainable", "frozen", "FLOPs", "MACs"] + [
        "activations/sample"
    ]
    assert [line.split()[0] for line in lines[3:-2]] == ["inp", "stem", "relu", "block", "gap", "fc"]
    expected = codegen.summarize(TINY_2D, input_shapes={"inp": [3, 16, 16]})
    assert lines[-1].split()[:2] == ["total", str(expected.params)]
    assert {len(line) for line in lines[1:3]} == {len(lines[2])}


@pytest.mark.parametrize("fmt", ["md", "csv", "json"])
def test_summary_writes_markdown_csv_and_json_as_the_engine_does(fmt: str, tmp_path: Path) -> None:
    (tmp_path / "graph.json").write_text(json.dumps(TINY_2D))
    result = run(
        f"python -m codegen summary graph.json --input-shape inp=3,16,16 --format {fmt} --out s.{fmt}", tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote s.{fmt}\n"
    expected = codegen.summarize(TINY_2D, input_shapes={"inp": [3, 16, 16]})
    written = (tmp_path / f"s.{fmt}").read_text()
    if fmt == "json":
        assert json.loads(written) == expected.to_dict()
    else:
        assert written == (expected.to_markdown() if fmt == "md" else expected.to_csv())
