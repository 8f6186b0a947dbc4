"""The canvas's real build (``make test`` builds it first): how it is split into chunks (frontend/vite.config.ts).

The page loads the entry and every chunk it imports statically before the canvas can start
(``{% frontend_assets "canvas" %}`` preloads them all); none of them may be large. The libraries' chunks must not import
the app's code, or every release would rename them and the browser would fetch them again.
"""

import json
from pathlib import Path

import pytest

from graphs.templatetags.frontend import ENTRIES

DIST = Path(__file__).resolve().parents[2] / "static" / "dist"
MANIFEST = DIST / ".vite" / "manifest.json"
LIMIT = 350_000  # bytes, minified; react-dom alone is about 220 kB
LIBRARIES = ("vendor-react", "vendor-xyflow", "vendor-dagre")  # what the canvas needs at open


@pytest.fixture(scope="module")
def manifest() -> dict:
    if not MANIFEST.exists():
        pytest.fail(f"The canvas is not built ({MANIFEST} is missing): `make frontend` builds it")
    return json.loads(MANIFEST.read_text())


def loaded_at_open(manifest: dict, entry: str = "canvas") -> list[str]:
    """The entry and the chunks it imports statically, directly or not (manifest keys)."""
    found = [ENTRIES[entry]]
    for key in found:
        found.extend(imported for imported in manifest[key].get("imports", ()) if imported not in found)
    return found


def test_no_chunk_the_canvas_loads_at_open_is_large(manifest):
    sizes = {manifest[key]["file"]: (DIST / manifest[key]["file"]).stat().st_size for key in loaded_at_open(manifest)}
    assert {file: size for file, size in sizes.items() if size > LIMIT} == {}, sizes


def test_the_libraries_the_canvas_needs_at_open_have_chunks_of_their_own(manifest):
    names = {manifest[key].get("name") for key in loaded_at_open(manifest)}
    assert set(LIBRARIES) <= names, names


def test_the_libraries_chunks_do_not_import_the_apps_code(manifest):
    for key, chunk in manifest.items():
        if chunk.get("name", "").startswith("vendor-"):
            app = [imported for imported in chunk.get("imports", ()) if "vendor-" not in imported]
            assert all("rolldown-runtime" in imported for imported in app), (key, app)


def test_the_run_pages_load_neither_react_nor_react_flow(manifest):
    names = {manifest[key].get("name") for key in loaded_at_open(manifest, "runpages")}
    assert "vendor-uplot" in names and not names & {"vendor-react", "vendor-xyflow", "vendor-codemirror"}, names
