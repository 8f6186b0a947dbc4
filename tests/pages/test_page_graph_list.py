"""The graph list: only what the user may see, search and filters, htmx paging with real links."""

import pytest

from graphs import services

pytestmark = pytest.mark.django_db


def test_it_lists_what_each_persona_may_see(alice_client, bob_client, charlie_client, private_graph, team_graph):
    alice = alice_client.get("/graphs/").content.decode()
    assert "Secret CMI" in alice and "Shared CMI" in alice
    bob = bob_client.get("/graphs/").content.decode()
    assert "Shared CMI" in bob and "Secret CMI" not in bob
    charlie = charlie_client.get("/graphs/").content.decode()
    assert "Shared CMI" not in charlie and "Secret CMI" not in charlie
    assert "No graphs to show yet." in charlie


def test_anonymous_visitors_see_public_graphs_only(client, alice, demo_graph, private_graph):
    services.create_graph(alice, name="Open CMI", document=demo_graph, visibility="public")
    html = client.get("/graphs/").content.decode()
    assert "Open CMI" in html and "Secret CMI" not in html


def test_search_and_filters(alice_client, alice, private_graph, team_graph, demo_graph):
    services.create_graph(alice, name="ResNet tweak", document=demo_graph, description="vision", tags=["vision"])
    assert "ResNet tweak" not in alice_client.get("/graphs/?q=cmi").content.decode()
    assert "Shared CMI" in alice_client.get("/graphs/?q=cmi").content.decode()
    by_tag = alice_client.get("/graphs/?tag=vision").content.decode()
    assert "ResNet tweak" in by_tag and "Shared CMI" not in by_tag
    by_team = alice_client.get("/graphs/?team=lab").content.decode()
    assert "Shared CMI" in by_team and "Secret CMI" not in by_team
    assert "Secret CMI" in alice_client.get("/graphs/?owner=ALICE").content.decode()
    assert "No graphs match." in alice_client.get("/graphs/?owner=nobody").content.decode()
    assert "Shared CMI" not in alice_client.get("/graphs/?scope=mine&q=zzz").content.decode()


def test_team_scope_shows_graphs_shared_by_others(bob_client, team_graph):
    assert "Shared CMI" in bob_client.get("/graphs/?scope=team").content.decode()
    assert "Shared CMI" not in bob_client.get("/graphs/?scope=mine").content.decode()


def test_search_never_reveals_invisible_graphs(charlie_client, private_graph):
    for query in ("q=Secret", "tag=sensors", "owner=alice", "team=lab"):
        assert "Secret CMI" not in charlie_client.get(f"/graphs/?{query}").content.decode()


def test_paging_with_htmx_answers_the_results_fragment(alice_client, alice, demo_graph):
    for n in range(23):
        services.create_graph(alice, name=f"Graph {n:02d}", document=demo_graph)
    first = alice_client.get("/graphs/?q=Graph").content.decode()
    assert "23 graphs match" in first and "Page 1 of 2" in first
    assert 'href="?q=Graph&amp;page=2"' in first and 'hx-get="?q=Graph&amp;page=2"' in first
    second = alice_client.get("/graphs/?q=Graph&page=2", HTTP_HX_REQUEST="true")
    assert second.templates[0].name == "graphs/_graph_results.html"
    html = second.content.decode()
    assert "<html" not in html and "Page 2 of 2" in html and "Graph 00" in html
    assert alice_client.get("/graphs/?page=999").status_code == 200  # out of range: the last page
