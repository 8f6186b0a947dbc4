"""The run pages load the run pages' script built by Vite (frontend/src/runpages/), found through its manifest.

It replaced static/js/run_live.js and the vendored uPlot: one TypeScript client for the run stream, shared with
the canvas (``make test`` builds it first; tests/site/test_canvas_bundle.py checks what it loads).
"""

from pathlib import Path

import pytest

from graphs.templatetags.frontend import entry_files
from training.models import Run, RunSet, Status

pytestmark = pytest.mark.django_db

STATIC = Path(__file__).resolve().parents[2] / "static"


@pytest.fixture
def pages(team_graph, alice):
    """Every page that shows a run live, a list of runs, the compare chart or a version's export builds."""
    run_set = RunSet.objects.create(version=team_graph.head, user=alice, kind="sweep", name="lr sweep", axis="lr")
    run = Run.objects.create(
        version=team_graph.head, user=alice, status=Status.RUNNING, config={"steps": 3}, run_set=run_set
    )
    return [
        run_set.get_absolute_url(),
        f"/runs/{run.pk}/",
        "/runs/",
        f"/runs/compare/?ids={run.pk}",
        f"/graphs/{team_graph.pk}/versions/2/run/",
        "/dashboard/",
        f"/graphs/{team_graph.pk}/",
        f"/graphs/{team_graph.pk}/versions/1/",
    ]


def test_every_run_page_loads_the_built_entry_and_its_chunks(alice_client, pages):
    styles, preloads, script = entry_files("runpages")
    assert preloads and styles  # uPlot's chunk and its stylesheet
    for url in pages:
        response = alice_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert f'<script type="module" src="/static/{script}"></script>' in html, url
        for name in preloads:
            assert f'<link rel="modulepreload" href="/static/{name}">' in html, (url, name)
        for name in styles:
            assert f'<link rel="stylesheet" href="/static/{name}">' in html, (url, name)
        assert "run_live.js" not in html and "uplot.iife" not in html, url


def test_the_old_script_and_the_vendored_uplot_are_gone():
    assert not (STATIC / "js" / "run_live.js").exists()
    assert not list((STATIC / "vendor").glob("uplot*"))
