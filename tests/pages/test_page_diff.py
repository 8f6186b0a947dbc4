"""The diff page: pick two versions, see nodes, params, edges and the source diff."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_compares_the_head_with_its_predecessor_by_default(alice_client, team_graph):
    response = alice_client.get(f"/graphs/{team_graph.pk}/diff/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<option value="1" selected>' in html and '<option value="2" selected>' in html
    assert "<code>drop</code>" in html and "Dropout" in html  # node added
    assert '<span class="param-name">out_channels</span> <del>64</del> → <ins>96</ins>' in html
    assert '<span class="param-name">hidden_size</span> <del>128</del> → <ins>256</ins>' in html
    assert "<code>gru</code> → <code>drop</code>" in html  # edge added
    assert "<code>gru</code> → <code>fc</code>" in html  # edge removed
    assert 'class="diff-line diff-add">+' in html and 'class="diff-line diff-del">-' in html


def test_picking_versions_with_htmx_answers_only_the_result(bob_client, team_graph):
    response = bob_client.get(f"/graphs/{team_graph.pk}/diff/?from=2&to=1", HTTP_HX_REQUEST="true")
    assert response.templates[0].name == "graphs/_diff_result.html"
    html = response.content.decode()
    assert "<html" not in html
    assert "<del>96</del> → <ins>64</ins>" in html
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_the_same_version_twice_is_identical(alice_client, team_graph):
    html = alice_client.get(f"/graphs/{team_graph.pk}/diff/?from=2&to=2").content.decode()
    assert "are identical" in html


def test_a_missing_or_garbled_version_is_an_inline_message(alice_client, team_graph):
    html = alice_client.get(f"/graphs/{team_graph.pk}/diff/?from=1&to=99").content.decode()
    assert "Version 99 does not exist" in html
    response = alice_client.get(f"/graphs/{team_graph.pk}/diff/?from=abc&to=')--")
    assert response.status_code == 200


def test_a_version_with_errors_has_no_source_diff(alice_client, alice, broken_graph, demo_graph):
    from graphs import services

    services.save_version(broken_graph, alice, demo_graph, base=1, message="Fixed")
    html = alice_client.get(f"/graphs/{broken_graph.pk}/diff/").content.decode()
    assert "there is no code to compare" in html


def test_outsiders_get_a_404(charlie_client, client, team_graph):
    assert charlie_client.get(f"/graphs/{team_graph.pk}/diff/?from=1&to=2").status_code == 404
    assert client.get(f"/graphs/{team_graph.pk}/diff/?from=1&to=2").status_code == 404
