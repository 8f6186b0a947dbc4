"""The canvas's unit tests (Vitest) run against ``frontend/src/test/registry.json``, a subset of the engine's
``registry_json()``. It must be the engine's registry exactly, so that the front end is never tested against
node specs the engine no longer serves. ``UPDATE_GOLDEN=1`` rewrites it (as for the golden files)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import codegen

FIXTURE = Path(__file__).resolve().parents[2] / "frontend" / "src" / "test" / "registry.json"
# The node types the front-end tests use: plain layers, ports, variadic merges, split outputs, a paper block,
# the import placeholder, a custom module.
TYPES = (
    "ReLU Dropout GRU Conv1d Conv2d Input Linear Bilinear Concat Add Mul Chunk Split BatchNorm1d Flatten "
    "Permute_BCT_to_BTH SEBlock NotImported CustomModule"
).split()


def expected() -> dict:
    registry = codegen.registry_json()
    by_type = {spec["type"]: spec for spec in registry["nodes"]}
    return {**registry, "nodes": [by_type[name] for name in TYPES]}


def test_the_front_end_fixture_is_the_engines_registry():
    if os.environ.get("UPDATE_GOLDEN") == "1":
        FIXTURE.write_text(json.dumps(expected(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert json.loads(FIXTURE.read_text(encoding="utf-8")) == expected(), (
        "frontend/src/test/registry.json is stale: rerun this test with UPDATE_GOLDEN=1"
    )
