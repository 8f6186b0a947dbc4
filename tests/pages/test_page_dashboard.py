"""The dashboard: my graphs, my teams' graphs, recent activity, quick actions."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_needs_a_login(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response.url == "/accounts/login/?next=/dashboard/"


def test_it_shows_my_graphs_and_quick_actions(alice_client, private_graph, team_graph):
    html = alice_client.get("/dashboard/").content.decode()
    assert "Hello, alice" in html
    assert "Secret CMI" in html and "Shared CMI" in html
    for href in ("/graphs/new/", "/templates/", "/graphs/import/", "/teams/"):
        assert f'href="{href}"' in html
    assert "alice saved Shared CMI v2" in html  # recent activity


def test_team_graphs_appear_for_members(bob_client, team_graph, private_graph):
    html = bob_client.get("/dashboard/").content.decode()
    assert "Shared CMI" in html and "Lab" in html
    assert "Secret CMI" not in html  # not even through the activity feed


def test_an_outsider_sees_empty_states_and_nothing_of_others(charlie_client, private_graph, team_graph):
    html = charlie_client.get("/dashboard/").content.decode()
    assert "No graphs yet." in html and "You are not in a team yet." in html
    assert "CMI" not in html and "Lab" not in html


def test_the_nav_marks_the_current_section(alice_client):
    html = alice_client.get("/dashboard/").content.decode()
    assert '<a href="/dashboard/" class="active" aria-current="page">Dashboard</a>' in html
    for href in ("/graphs/", "/teams/", "/library/", "/templates/", "/api/docs/"):
        assert f'href="{href}"' in html
