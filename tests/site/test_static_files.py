"""The frontend's files as built by Vite: found through its manifest, kept under their own hashed names, cached forever.

A small stand-in build (an entry, a chunk it imports, a lazy panel, stylesheets) in a temporary static folder;
the real build runs in the browser test ``tests/e2e/test_e2e_production.py``.
"""

import json
import os

import pytest
from django.core.management import call_command
from django.template import Context, Template, TemplateSyntaxError

from graphs.templatetags.frontend import FrontendNotBuilt
from torchcanvas_site.staticfiles import immutable_file

BUILD = {  # .vite/manifest.json as Vite writes it (keys: sources or "_"-prefixed shared chunks)
    "src/main.tsx": {
        "file": "canvas-0a1b2c3d.js",
        "isEntry": True,
        "imports": ["_canvas-runtime-44556677.js"],
        "dynamicImports": ["src/panels/CodePanel.tsx"],
        "css": ["canvas-main-8899aabb.css"],
    },
    "_canvas-runtime-44556677.js": {"file": "canvas-runtime-44556677.js", "imports": ["_canvas-util-ccddeeff.js"]},
    "_canvas-util-ccddeeff.js": {"file": "canvas-util-ccddeeff.js", "imports": ["src/main.tsx"]},
    "src/panels/CodePanel.tsx": {
        "file": "canvas-CodePanel-01234567.js",
        "imports": ["src/main.tsx", "_canvas-util-ccddeeff.js"],
        "css": ["canvas-panels-89abcdef.css"],
    },
}
TAGS = (  # what the page includes for BUILD: the lazy panel and its stylesheet load on demand
    '<link rel="stylesheet" href="/static/dist/canvas-main-8899aabb.css">'
    '<link rel="modulepreload" href="/static/dist/canvas-runtime-44556677.js">'
    '<link rel="modulepreload" href="/static/dist/canvas-util-ccddeeff.js">'
    '<script type="module" src="/static/dist/canvas-0a1b2c3d.js"></script>'
)
PANEL = 'import{a}from"./canvas-0a1b2c3d.js";export const CodePanel=a;'


@pytest.fixture
def build(tmp_path, settings):
    """A static folder holding a canvas build and one file of the site's own; the settings point at it."""
    source = tmp_path / "static"
    dist = source / "dist"
    (dist / ".vite").mkdir(parents=True)
    (dist / ".vite" / "manifest.json").write_text(json.dumps(BUILD))
    for chunk in BUILD.values():
        (dist / chunk["file"]).write_text(f"/* {chunk['file']} */")
        for css in chunk.get("css", ()):
            (dist / css).write_text(".cv-root { color: red }")
    (dist / "canvas-CodePanel-01234567.js").write_text(PANEL)
    (source / "css").mkdir()
    (source / "css" / "app.css").write_text("body { margin: 0 }")
    settings.STATICFILES_DIRS = [source]
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.STATIC_ROOT = tmp_path / "collected"
    return dist


def render(entry: str = "canvas") -> str:
    return Template(f"{{% load frontend %}}{{% frontend_assets '{entry}' %}}").render(Context())


def test_the_page_loads_the_entry_its_stylesheets_and_the_chunks_it_imports(build):
    assert render() == TAGS


def test_each_entry_loads_only_what_it_imports(build):
    manifest = build / ".vite" / "manifest.json"
    runpages = {
        "src/runpages/main.ts": {
            "file": "runpages-5a5a5a5a.js",
            "isEntry": True,
            "imports": ["_vendor-uplot-12121212.js"],
        },
        "_vendor-uplot-12121212.js": {"file": "vendor-uplot-12121212.js", "css": ["vendor-uplot-34343434.css"]},
    }
    manifest.write_text(json.dumps({**BUILD, **runpages}))
    os.utime(manifest, ns=(2, 2))
    assert render("runpages") == (
        '<link rel="stylesheet" href="/static/dist/vendor-uplot-34343434.css">'
        '<link rel="modulepreload" href="/static/dist/vendor-uplot-12121212.js">'
        '<script type="module" src="/static/dist/runpages-5a5a5a5a.js"></script>'
    )
    assert render("canvas") == TAGS


def test_an_unknown_entry_is_named_with_the_ones_there_are(build):
    with pytest.raises(
        TemplateSyntaxError, match=r"^No frontend entry is named 'admin'; the entries are canvas, runpages\.$"
    ):
        render("admin")


def test_a_rebuild_is_picked_up_without_a_restart(build):
    render()
    manifest = build / ".vite" / "manifest.json"
    rebuilt = {"src/main.tsx": {"file": "canvas-99999999.js", "isEntry": True}}
    manifest.write_text(json.dumps(rebuilt))
    os.utime(manifest, ns=(1, 1))  # another mtime, whatever the clock's resolution
    assert render() == '<script type="module" src="/static/dist/canvas-99999999.js"></script>'


def test_without_a_build_the_error_says_how_to_make_one(build):
    (build / ".vite" / "manifest.json").unlink()
    with pytest.raises(FrontendNotBuilt) as error:
        render()
    assert str(error.value) == (
        "The frontend is not built: static/dist/.vite/manifest.json is missing; "
        "`make frontend` (or `cd frontend && npm run build`) builds it."
    )


@pytest.mark.parametrize(
    "manifest",
    [
        "{not json",
        json.dumps({"src/other.tsx": {"file": "canvas-0a1b2c3d.js"}}),  # no entry
        json.dumps({"src/main.tsx": {"file": "canvas-0a1b2c3d.js", "imports": ["_gone.js"]}}),  # a chunk missing
        json.dumps(["src/main.tsx"]),
    ],
)
def test_an_unusable_build_is_named_with_what_to_do(build, manifest):
    (build / ".vite" / "manifest.json").write_text(manifest)
    with pytest.raises(
        FrontendNotBuilt, match=r"^The frontend's build is unusable \(.*manifest\.json: .*\); `make frontend`"
    ):
        render()


def test_collectstatic_hashes_the_sites_files_but_keeps_vites_names(build, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "torchcanvas_site.staticfiles.ManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    stored = json.loads((settings.STATIC_ROOT / "staticfiles.json").read_text())["paths"]

    # Vite's files map to themselves, byte for byte (the panel still imports the entry by its one name)...
    for name in [f"dist/{chunk['file']}" for chunk in BUILD.values()] + ["dist/canvas-main-8899aabb.css"]:
        assert stored[name] == name
    assert (settings.STATIC_ROOT / "dist" / "canvas-CodePanel-01234567.js").read_text() == PANEL
    assert not list((settings.STATIC_ROOT / "dist").glob("canvas-0a1b2c3d.*.js"))
    assert "dist/.vite/manifest.json" not in stored  # the build's manifest is not published
    # ...the site's own get Django's hash.
    assert stored["css/app.css"] != "css/app.css"
    assert render() == TAGS  # the page names the same files as in development

    def cached_forever(name: str) -> bool:
        return immutable_file(str(settings.STATIC_ROOT / name), f"/static/{name}")

    assert cached_forever("dist/canvas-0a1b2c3d.js") and cached_forever(stored["css/app.css"])
    assert not cached_forever("css/app.css")
