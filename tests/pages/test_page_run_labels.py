"""Run names and tags on the pages: given in the run form, edited in place on the run page by whoever may
cancel the run, shown and filtered on the runs list (tags link to the filtered list)."""

import pytest

from graphs.models import Tag
from training.models import Run

pytestmark = pytest.mark.django_db

FORM = {"batch_size": 4, "steps": 5, "epochs": 1, "optimizer": "sgd", "lr": 0.01, "loss": "auto"}
FORM.update(data="random", device="cpu", precision="fp32", seed=7, shape_0="9, 256")


def queue(client, graph, **changes):
    return client.post(f"/graphs/{graph.pk}/versions/2/run/", {**FORM, **changes}, HTTP_HX_REQUEST="true")


def test_the_run_form_names_and_tags_the_run(alice_client, team_graph):
    html = alice_client.get(f"/graphs/{team_graph.pk}/versions/2/run/").content.decode()
    assert 'name="name"' in html and 'name="tags"' in html
    assert queue(alice_client, team_graph, name="Wide GRU", tags="gru, Baseline").status_code == 204
    run = Run.objects.get()
    assert run.name == "Wide GRU" and sorted(t.name for t in run.tags.all()) == ["baseline", "gru"]


def test_the_run_form_names_a_run_by_default_and_refuses_bad_tags(alice_client, team_graph):
    queue(alice_client, team_graph)
    run = Run.objects.get()
    assert run.name == f"Shared CMI v2 #{run.pk}"
    response = queue(alice_client, team_graph, tags="ok, <script>")
    assert response.status_code == 200 and Run.objects.count() == 1
    assert "tags: &#x27;&lt;script&gt;&#x27; may use letters" in response.content.decode()


def test_the_run_page_edits_labels_in_place_for_whoever_may_cancel(
    alice_client, bob_client, charlie_client, team_graph, alice
):
    run = Run.objects.create(version=team_graph.head, user=alice, name="first", config={"steps": 3})
    url = f"/runs/{run.pk}/labels/"
    html = alice_client.get(f"/runs/{run.pk}/").content.decode()
    assert "data-run-name>first</strong>" in html and f'hx-post="{url}"' in html
    assert f'hx-post="{url}"' not in bob_client.get(f"/runs/{run.pk}/").content.decode()  # an editor, not its author

    response = alice_client.post(url, {"name": "second", "tags": "keep, a.b"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "data-run-name>second</strong>" in html
    assert 'href="/runs/?tag=a.b"' in html and 'href="/runs/?tag=keep"' in html
    response = alice_client.post(url, {"name": "x" * 121, "tags": ""}, HTTP_HX_REQUEST="true")
    assert "at most 120 characters" in response.content.decode()
    assert Run.objects.get(pk=run.pk).name == "second"

    assert bob_client.post(url, {"name": "bob's"}).status_code == 403
    assert charlie_client.post(url, {"name": "charlie's"}).status_code == 404
    response = alice_client.post(url, {"name": "", "tags": ""})
    assert response.status_code == 302 and Run.objects.get(pk=run.pk).name == f"Shared CMI v2 #{run.pk}"
    assert not Run.objects.get(pk=run.pk).tags.exists()


def test_the_runs_list_shows_searches_and_filters_by_tag(alice_client, team_graph, alice):
    tagged = Run.objects.create(version=team_graph.head, user=alice, name="Baseline run", config={"steps": 3})
    tagged.tags.set([Tag.objects.create(name="baseline")])
    other = Run.objects.create(version=team_graph.head, user=alice, name="Other run", config={"steps": 3})
    html = alice_client.get("/runs/").content.decode()
    assert "Baseline run" in html and "Other run" in html and 'href="/runs/?tag=baseline"' in html
    html = alice_client.get("/runs/?q=baseline").content.decode()
    assert "Baseline run" in html and "Other run" not in html and 'value="baseline"' in html
    html = alice_client.get("/runs/?tag=baseline", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-rows").content.decode()
    assert f'data-run-id="{tagged.pk}"' in html and f'data-run-id="{other.pk}"' not in html
    assert "No runs match." in alice_client.get("/runs/?tag=nothing").content.decode()
