"""The command line reads YAML graph files (by suffix, or from the text) and exports a graph as YAML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codegen import cli
from codegen.document import load_document
from tests.support.yaml_graphs import GRAPH, GRAPH_YAML


@pytest.fixture
def folder(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "graph.yaml").write_text(GRAPH_YAML)
    (tmp_path / "graph.json").write_text(json.dumps(GRAPH))
    return tmp_path


@pytest.mark.parametrize("path", ["graph.yaml", "graph.yml", "graph.txt"])
def test_validate_reads_a_yaml_file(folder, path, capsys):
    (folder / path).write_text(GRAPH_YAML)
    assert cli.main(["validate", path, "--input-shape", "8"]) == 0
    assert capsys.readouterr().out.strip() == "ok: 2 nodes, 36 parameters"


def test_generate_and_summary_read_yaml_as_json(folder, capsys):
    assert cli.main(["--graph", "graph.yaml", "--name", "Tiny", "--out", "from_yaml", "--single-file"]) == 0
    assert cli.main(["--graph", "graph.json", "--name", "Tiny", "--out", "from_json", "--single-file"]) == 0
    assert (folder / "from_yaml" / "Tiny.py").read_text() == (folder / "from_json" / "Tiny.py").read_text()
    capsys.readouterr()
    assert cli.main(["summary", "graph.yaml", "--input-shape", "8", "--format", "csv"]) == 0
    assert "fc" in capsys.readouterr().out


def test_a_yaml_file_in_flow_style_is_read_as_yaml_by_its_suffix(folder, capsys):
    (folder / "flow.yaml").write_text(
        "{version: '0.2', nodes: [{id: a, type: Input}], edges: [], inputs: [a], outputs: [a]}"
    )
    assert cli.main(["validate", "flow.yaml"]) == 0


def test_a_broken_yaml_file_is_one_line_naming_line_and_column(folder):
    (folder / "bad.yaml").write_text("nodes:\n  - id: a\n   type: X\n")
    with pytest.raises(SystemExit) as caught:
        cli.main(["validate", "bad.yaml"])
    assert str(caught.value.code).startswith("error: PARSE: invalid YAML at line 3, column 4: ")


def test_a_hostile_yaml_file_is_a_parse_diagnostic(folder, capsys):
    (folder / "dates.txt").write_text("version: '0.2'\nmetadata: {at: 2024-01-01}\n")
    assert cli.main(["validate", "dates.txt"]) == 1
    assert "PARSE: metadata.at is a date" in capsys.readouterr().out


@pytest.mark.parametrize(("source", "fmt"), [("graph.json", "yaml"), ("graph.yaml", "json")])
def test_export_writes_the_document_as_yaml_or_json(folder, source, fmt, capsys):
    assert cli.main(["export", source, "--format", fmt, "--out", f"out.{fmt}"]) == 0
    assert load_document((folder / f"out.{fmt}").read_text()) == GRAPH


def test_export_of_a_document_that_is_not_a_graph_is_refused(folder, capsys):
    (folder / "list.yaml").write_text("- 1\n- 2\n")
    assert cli.main(["export", "list.yaml", "--format", "json"]) == 1
    assert "PARSE" in capsys.readouterr().err
