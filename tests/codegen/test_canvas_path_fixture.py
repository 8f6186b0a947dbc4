"""The canvas checks a module path as it is typed (``frontend/src/lib/paths.ts``); its Vitest tests hold it to
``frontend/src/test/module_paths.json``: paths with the engine's verdict from ``codegen.hierarchy.split_path``.
This test keeps those verdicts the engine's, so the canvas never accepts a path the engine refuses for its
format, nor refuses one it accepts. Names nn.Module reserves (``training``) are left to the engine's PATH
diagnostic and are not listed. ``UPDATE_GOLDEN=1`` rewrites the file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from codegen.hierarchy import split_path

FIXTURE = Path(__file__).resolve().parents[2] / "frontend" / "src" / "test" / "module_paths.json"
PATHS = [
    "features",
    "features.0",
    "features.0.1",
    "layer1.0.downsample.0",
    "encoder.layers.encoder_layer_0",
    "_private",
    "match",
    "x.9999",
    "x.10000",
    "features.01",
    "features.00",
    "features.-1",
    "features.",
    ".features",
    "a..b",
    "layer-1",
    "1a",
    "blöck",
    "a b",
    "features[0]",
    "blocks.class",
    "None",
    "blocks.__init__",
    "__x",
    "_x_",
    ".".join(["a"] * 16),
    ".".join(["a"] * 17),
    "a." + "b" * 198,
    "a." + "b" * 199,
]


def expected() -> list[list]:
    verdicts = []
    for path in PATHS:
        try:
            split_path(path)
        except ValueError:
            verdicts.append([path, False])
        else:
            verdicts.append([path, True])
    return verdicts


def test_the_canvas_path_cases_carry_the_engines_verdicts():
    if os.environ.get("UPDATE_GOLDEN") == "1":
        FIXTURE.write_text(json.dumps(expected(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert json.loads(FIXTURE.read_text(encoding="utf-8")) == expected(), (
        "frontend/src/test/module_paths.json is stale: rerun this test with UPDATE_GOLDEN=1"
    )
