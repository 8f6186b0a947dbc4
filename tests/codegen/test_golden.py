"""Golden tests, after sqlc: every example is regenerated and diffed against checked-in files.

Each folder ``tests/codegen/golden/<case>/`` holds:

- ``graph.json``: the graph document, verbatim (the seed's examples are copied from the seed);
- ``case.json`` (optional): ``{"name": package name (default "golden"), "with_train": bool
  (default true), "input_shapes": {input id: [sizes]} (default none)}``;
- ``diagnostics.json``: what ``codegen.validate`` reports, as the list of ``d.to_dict()``;
- ``expected/``: for graphs without errors, the package ``<name>/{__init__,blocks,model,train}.py``
  and the single file ``<name>.py``, byte for byte. Graphs with errors have no ``expected/``, and
  ``codegen.generate`` must refuse them with the same errors.

After an intended change to generated code or diagnostics, regenerate every golden file with

    UPDATE_GOLDEN=1 PYTHONPATH=. .venv/bin/python -m pytest tests/codegen/test_golden.py

and review the resulting diff like any other change (``git diff tests/codegen/golden``).
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

import codegen
from codegen.diagnostics import GraphError

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "graph.json").is_file())
UPDATE = os.environ.get("UPDATE_GOLDEN", "") not in ("", "0", "false")


def load_case(case: str) -> tuple[str, dict[str, Any]]:
    folder = GOLDEN / case
    options = json.loads((folder / "case.json").read_text()) if (folder / "case.json").exists() else {}
    unknown = set(options) - {"name", "with_train", "input_shapes"}
    assert not unknown, f"{case}/case.json: unknown keys {sorted(unknown)}"
    return (folder / "graph.json").read_text(encoding="utf-8"), options


def render(case: str) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    """What the engine makes of a case now: its diagnostics and, when valid, every generated file."""
    graph, options = load_case(case)
    shapes = options.get("input_shapes")
    result = codegen.validate(graph, input_shapes=shapes)
    diagnostics = [d.to_dict() for d in result.diagnostics]
    if not result.ok:
        with pytest.raises(GraphError) as refused:
            codegen.generate(graph, name=options.get("name", "golden"), input_shapes=shapes)
        assert [d.to_dict() for d in refused.value.diagnostics] == [d.to_dict() for d in result.errors]
        return diagnostics, None
    name, with_train = options.get("name", "golden"), options.get("with_train", True)
    files = codegen.generate(graph, name=name, with_train=with_train, input_shapes=shapes)
    files |= codegen.generate(graph, name=name, layout="file", with_train=with_train, input_shapes=shapes)
    return diagnostics, files


def read_expected(folder: Path) -> dict[str, str]:
    if not folder.exists():
        return {}
    return {
        path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def write_golden(case: str, diagnostics: list[dict[str, Any]], files: dict[str, str] | None) -> None:
    folder = GOLDEN / case
    (folder / "diagnostics.json").write_text(json.dumps(diagnostics, indent=2, ensure_ascii=False) + "\n")
    shutil.rmtree(folder / "expected", ignore_errors=True)
    for path, text in (files or {}).items():
        target = folder / "expected" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def diff(path: str, expected: str, actual: str) -> str:
    lines = difflib.unified_diff(
        expected.splitlines(keepends=True), actual.splitlines(keepends=True), f"expected/{path}", f"actual/{path}"
    )
    return "".join(lines)


@pytest.mark.parametrize("case", CASES)
def test_generated_code_and_diagnostics_match_the_golden_files(case: str) -> None:
    diagnostics, files = render(case)
    if UPDATE:
        write_golden(case, diagnostics, files)
        return
    folder = GOLDEN / case
    assert (folder / "diagnostics.json").exists(), f"no golden files yet: run with UPDATE_GOLDEN=1 ({__doc__})"
    expected_diagnostics = json.loads((folder / "diagnostics.json").read_text(encoding="utf-8"))
    assert diagnostics == expected_diagnostics, "diagnostics changed; rerun with UPDATE_GOLDEN=1 if intended"
    expected = read_expected(folder / "expected")
    actual = files or {}
    assert sorted(actual) == sorted(expected), "the set of generated files changed"
    changed = [diff(path, expected[path], actual[path]) for path in sorted(actual) if actual[path] != expected[path]]
    assert not changed, "generated code changed (rerun with UPDATE_GOLDEN=1 if intended):\n" + "\n".join(changed)


def test_every_golden_case_is_exercised() -> None:
    """Valid and invalid examples both exist, and every expected file is Python that parses."""
    outcomes = {case: (GOLDEN / case / "expected").exists() for case in CASES}
    assert any(outcomes.values()) and not all(outcomes.values()), outcomes
    for case, valid in outcomes.items():
        for path, text in read_expected(GOLDEN / case / "expected").items():
            ast.parse(text, filename=f"{case}/{path}")
            assert text.startswith("# "), f"{case}/{path} lacks the generated-file header"
        if not valid:
            errors = json.loads((GOLDEN / case / "diagnostics.json").read_text(encoding="utf-8"))
            assert any(d["severity"] == "error" for d in errors), case
