"""The graph page: header, inline rename, settings, validation, code preview, timeline, fork and restore."""

import json
import re

import pytest

from training.config import DATASET_DEFAULTS
from training.config import DEFAULTS as RUN_DEFAULTS

pytestmark = pytest.mark.django_db


def test_it_shows_the_owner_the_timeline_validation_and_highlighted_code(alice_client, team_graph):
    response = alice_client.get(f"/graphs/{team_graph.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Shared CMI" in html
    assert "Wider conv and GRU" in html and "Created" in html  # both versions in the timeline
    assert "✓ valid" in html
    assert "No errors or warnings" in html
    assert '<span class="tok-k">class</span>' in html  # the single-file preview, highlighted
    assert f'href="/graphs/{team_graph.pk}/versions/2/download/zip/"' in html
    assert f'href="/graphs/{team_graph.pk}/fork/"' in html  # the fork page, to choose name and version
    assert f'action="/graphs/{team_graph.pk}/versions/1/restore/"' in html  # restore the older version
    assert f'href="/graphs/{team_graph.pk}/canvas/"' in html


def test_it_shows_a_team_editor_the_graph_and_lets_them_restore(bob_client, team_graph):
    html = bob_client.get(f"/graphs/{team_graph.pk}/").content.decode()
    assert "Shared CMI" in html
    assert f'action="/graphs/{team_graph.pk}/versions/1/restore/"' in html


def test_it_is_a_404_for_an_outsider_and_for_anonymous_visitors(charlie_client, client, private_graph, team_graph):
    for graph in (private_graph, team_graph):
        assert charlie_client.get(f"/graphs/{graph.pk}/").status_code == 404
        assert client.get(f"/graphs/{graph.pk}/").status_code == 404
    html = charlie_client.get(f"/graphs/{private_graph.pk}/").content.decode()
    assert "not shared with you" in html and "Secret CMI" not in html


def test_it_shows_a_public_graph_to_anyone_read_only(client, charlie_client, alice, demo_graph):
    from graphs import services

    graph = services.create_graph(alice, name="Open CMI", document=demo_graph, visibility="public")
    for visitor in (client, charlie_client):
        html = visitor.get(f"/graphs/{graph.pk}/").content.decode()
        assert "Open CMI" in html
        assert f"/graphs/{graph.pk}/rename/" not in html and f"/graphs/{graph.pk}/settings/" not in html


def test_a_graph_with_errors_lists_its_diagnostics_and_offers_no_code(alice_client, broken_graph):
    html = alice_client.get(f"/graphs/{broken_graph.pk}/").content.decode()
    assert "diagnostic-error" in html
    assert "No code until the errors above are fixed" in html
    assert f"/graphs/{broken_graph.pk}/versions/1/download/json/" in html
    assert f"/graphs/{broken_graph.pk}/versions/1/download/py/" not in html


def test_the_timeline_pages_older_versions_with_htmx(alice_client, alice, demo_graph):
    from graphs import services

    graph = services.create_graph(alice, name="Long history", document=demo_graph)
    for width in range(2, 25):
        demo_graph["nodes"][5]["params"]["out_features"] = width
        services.save_version(graph, alice, demo_graph, base=None, message=f"width {width}")
    html = alice_client.get(f"/graphs/{graph.pk}/").content.decode()
    assert "v24" in html and "width 5" in html and "width 4<" not in html
    assert f'hx-get="/graphs/{graph.pk}/?page=2"' in html and 'href="?page=2"' in html
    partial = alice_client.get(f"/graphs/{graph.pk}/?page=2", HTTP_HX_REQUEST="true")
    assert [t.name for t in partial.templates][0] == "graphs/_version_rows.html"
    body = partial.content.decode()
    assert "width 4<" in body and "Created" in body and "<html" not in body


# --- inline rename ----------------------------------------------------------------------------------


def test_rename_answers_the_form_fragment_to_htmx_and_the_title_after_saving(alice_client, private_graph):
    url = f"/graphs/{private_graph.pk}/rename/"
    form = alice_client.get(url, HTTP_HX_REQUEST="true")
    assert form.templates[0].name == "graphs/_rename_form.html"
    assert 'value="Secret CMI"' in form.content.decode()

    saved = alice_client.post(url, {"name": "Renamed CMI"}, HTTP_HX_REQUEST="true")
    assert saved.status_code == 200
    assert saved.templates[0].name == "graphs/_graph_title.html"
    assert "<h1>Renamed CMI</h1>" in saved.content.decode()
    private_graph.refresh_from_db()
    assert private_graph.name == "Renamed CMI"


def test_rename_without_javascript_is_a_page_and_a_redirect(alice_client, private_graph):
    url = f"/graphs/{private_graph.pk}/rename/"
    assert alice_client.get(url).templates[0].name == "graphs/graph_rename.html"
    response = alice_client.post(url, {"name": "Plain rename"})
    assert response.status_code == 302 and response.url == f"/graphs/{private_graph.pk}/"


def test_a_blank_or_hostile_name_is_refused_inline(alice_client, private_graph):
    url = f"/graphs/{private_graph.pk}/rename/"
    blank = alice_client.post(url, {"name": "   "}, HTTP_HX_REQUEST="true")
    assert blank.status_code == 200 and "This field is required." in blank.content.decode()
    hostile = alice_client.post(url, {"name": "evil\u202ename"}, HTTP_HX_REQUEST="true")
    assert hostile.status_code == 200 and "control character U+202E" in hostile.content.decode()
    private_graph.refresh_from_db()
    assert private_graph.name == "Secret CMI"


def test_cancel_brings_the_title_back(alice_client, private_graph):
    response = alice_client.get(f"/graphs/{private_graph.pk}/title/", HTTP_HX_REQUEST="true")
    assert response.templates[0].name == "graphs/_graph_title.html"


def test_only_editors_may_rename(bob_client, charlie_client, alice, team, team_graph, private_graph):
    from graphs import services
    from graphs.models import Role

    assert bob_client.post(f"/graphs/{team_graph.pk}/rename/", {"name": "By bob"}).status_code == 302
    services.set_role(team, alice, team.memberships.get(user__username="bob").user, Role.VIEWER)
    response = bob_client.post(f"/graphs/{team_graph.pk}/rename/", {"name": "Viewer try"})
    assert response.status_code == 403
    assert "You can look at this graph but not change it." in response.content.decode()
    assert charlie_client.post(f"/graphs/{private_graph.pk}/rename/", {"name": "x"}).status_code == 404


# --- settings and delete -----------------------------------------------------------------------------


def test_the_owner_changes_description_tags_visibility_and_team(alice_client, private_graph, team):
    url = f"/graphs/{private_graph.pk}/settings/"
    page = alice_client.get(url).content.decode()
    assert 'name="visibility"' in page and 'name="team"' in page
    response = alice_client.post(
        url, {"description": "Now shared", "tags": "Sensors, gru", "visibility": "team", "team": team.pk}
    )
    assert response.status_code == 302
    private_graph.refresh_from_db()
    assert (private_graph.visibility, private_graph.team_id, private_graph.description) == (
        "team",
        team.pk,
        "Now shared",
    )
    assert sorted(private_graph.tags.values_list("name", flat=True)) == ["gru", "sensors"]


def test_a_team_graph_needs_a_team(alice_client, private_graph):
    response = alice_client.post(f"/graphs/{private_graph.pk}/settings/", {"visibility": "team", "team": ""})
    assert response.status_code == 200
    assert "Pick the team that shares this graph" in response.content.decode()


def test_an_editor_sees_only_description_and_tags(bob_client, team_graph):
    page = bob_client.get(f"/graphs/{team_graph.pk}/settings/").content.decode()
    assert 'name="description"' in page and 'name="visibility"' not in page
    assert (
        bob_client.post(f"/graphs/{team_graph.pk}/settings/", {"description": "bob's words", "tags": ""}).status_code
        == 302
    )
    team_graph.refresh_from_db()
    assert team_graph.description == "bob's words" and team_graph.visibility == "team"


def test_only_an_admin_deletes(alice_client, bob_client, team_graph):
    assert bob_client.post(f"/graphs/{team_graph.pk}/delete/").status_code == 403
    response = alice_client.post(f"/graphs/{team_graph.pk}/delete/")
    assert response.status_code == 302 and response.url == "/graphs/"
    assert alice_client.get(f"/graphs/{team_graph.pk}/").status_code == 404


def test_deleting_through_the_confirmation_loads_the_graph_list(alice_client, team_graph):
    # The button posts through htmx (for hx-confirm): the answer sends the browser to the next page.
    response = alice_client.post(f"/graphs/{team_graph.pk}/delete/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"] == "/graphs/"
    assert alice_client.get(f"/graphs/{team_graph.pk}/").status_code == 404


# --- fork, restore, version page ----------------------------------------------------------------------


def test_forking_from_the_page_copies_the_chosen_version_into_my_space(bob_client, bob, team_graph):
    response = bob_client.post(f"/graphs/{team_graph.pk}/fork/", {"version": 1})
    assert response.status_code == 302
    fork = bob.graphs.get()
    assert response.url == f"/graphs/{fork.pk}/"
    assert fork.forked_from.number == 1 and fork.head.content_hash == team_graph.versions.get(number=1).content_hash
    html = bob_client.get(response.url).content.decode()
    assert "Forked into your graphs" in html and "Forked from" in html


def test_an_outsider_cannot_fork(charlie_client, private_graph):
    assert charlie_client.post(f"/graphs/{private_graph.pk}/fork/").status_code == 404
    assert charlie_client.get(f"/graphs/{private_graph.pk}/fork/").status_code == 404


def test_the_fork_page_offers_a_name_that_never_stacks_the_suffix_and_the_head(bob_client, bob, team_graph):
    team_graph.name = "MiniCNN (fork)"
    team_graph.save()
    page = bob_client.get(f"/graphs/{team_graph.pk}/fork/")
    form = page.context["form"]
    assert page.status_code == 200
    assert form["name"].value() == "MiniCNN (fork)" and form["version"].value() == team_graph.head.number
    assert '<option value="2" selected>v2 (latest)</option>' in page.content.decode()
    bob_client.post(f"/graphs/{team_graph.pk}/fork/", {"name": "MiniCNN (fork)"})
    again = bob_client.get(f"/graphs/{team_graph.pk}/fork/?version=1")  # bob already has "MiniCNN (fork)"
    assert again.context["form"]["name"].value() == "MiniCNN (fork 2)"
    assert '<option value="1" selected>v1</option>' in again.content.decode()


def test_the_fork_page_places_the_fork_in_a_team_and_shows_errors(alice_client, alice, team_graph):
    response = alice_client.post(
        f"/graphs/{team_graph.pk}/fork/",
        {"name": "Lab copy", "version": 1, "visibility": "team", "team": team_graph.team.pk},
    )
    fork = alice.graphs.get(name="Lab copy")
    assert response.url == f"/graphs/{fork.pk}/"
    assert fork.team == team_graph.team and fork.visibility == "team" and fork.forked_from.number == 1
    refused = alice_client.post(f"/graphs/{team_graph.pk}/fork/", {"name": "x", "visibility": "team"})
    assert refused.status_code == 200 and "Pick the team that shares this graph" in refused.content.decode()
    assert not alice.graphs.filter(name="x").exists()


def test_restoring_from_the_page_adds_a_version(alice_client, team_graph):
    response = alice_client.post(f"/graphs/{team_graph.pk}/versions/1/restore/", follow=True)
    assert "Restored version 1 as version 3." in response.content.decode()
    team_graph.refresh_from_db()
    assert team_graph.head.number == 3
    assert team_graph.head.content_hash == team_graph.versions.get(number=1).content_hash
    again = alice_client.post(f"/graphs/{team_graph.pk}/versions/3/restore/", follow=True)
    assert "nothing to do" in again.content.decode()


def test_a_viewer_cannot_restore(bob_client, alice, team, team_graph):
    from graphs import services

    services.set_role(team, alice, team.memberships.get(user__username="bob").user, "viewer")
    assert bob_client.post(f"/graphs/{team_graph.pk}/versions/1/restore/").status_code == 403
    assert bob_client.get(f"/graphs/{team_graph.pk}/versions/1/").status_code == 200


def test_the_version_page_shows_that_version(alice_client, team_graph):
    html = alice_client.get(f"/graphs/{team_graph.pk}/versions/1/").content.decode()
    assert "v1" in html and "Restore this version" in html and "Fork v1" in html
    assert f'href="/graphs/{team_graph.pk}/fork/?version=1">Fork v1</a>' in html  # the fork page, v1 chosen
    assert 'Conv1d(<span class="tok-n">64</span>' in html
    assert alice_client.get(f"/graphs/{team_graph.pk}/versions/9/").status_code == 404


def test_the_canvas_page_boots_the_island_for_viewers_only(alice_client, charlie_client, private_graph):
    response = alice_client.get(f"/graphs/{private_graph.pk}/canvas/")
    html = response.content.decode()
    boot = json.loads(re.search(r'<script id="canvas-boot" type="application/json">(.*?)</script>', html).group(1))
    assert boot["graphId"] == private_graph.pk and boot["canEdit"] is True
    assert boot["headVersion"] == private_graph.head.number
    assert boot["urls"]["versions"] == f"/api/graphs/{private_graph.pk}/versions/"
    assert boot["urls"]["validate"] == "/api/validate/" and boot["csrfToken"]
    assert boot["urls"]["datasets"] == "/api/datasets/" and boot["urls"]["document"] == "/api/document/"
    assert boot["runDefaults"] == {**RUN_DEFAULTS, **DATASET_DEFAULTS}
    assert charlie_client.get(f"/graphs/{private_graph.pk}/canvas/").status_code == 404


def test_the_code_preview_is_named_after_the_graph_when_the_document_is_untitled(alice, alice_client, demo_graph):
    from html import unescape

    from graphs import services

    graph = services.create_graph(alice, name="MiniCNN", document={**demo_graph, "metadata": {"name": "untitled"}})
    text = unescape(re.sub(r"<[^>]+>", "", alice_client.get(f"/graphs/{graph.pk}/").content.decode()))
    assert 'from graph "MiniCNN".' in text and "class MiniCNN(nn.Module):" in text
    assert 'from graph "untitled"' not in text


def test_the_validation_panel_shows_activation_memory_per_sample(alice, alice_client):
    from graphs import services

    document = {
        "version": "0.2",
        "nodes": [
            {"id": "inp", "type": "Input", "params": {"shape": [4, 16, 16]}},
            {"id": "relu", "type": "ReLU", "params": {}},
        ],
        "edges": [["inp", "relu"]],
        "inputs": ["inp"],
        "outputs": ["relu"],
    }
    graph = services.create_graph(alice, name="Tiny", document=document)
    html = alice_client.get(f"/graphs/{graph.pk}/").content.decode()
    # two tensors of 4·16·16 = 1,024 fp32 values: 8,192 bytes = 8.0 KB
    assert re.search(r"<dt>Activations per sample</dt><dd[^>]*>8\.0\xa0KB</dd>", html), html
