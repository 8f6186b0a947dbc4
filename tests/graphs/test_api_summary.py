"""/api/graphs/{id}/versions/{n}/summary/: a version's model summary as JSON, Markdown or CSV."""

import csv
import io

import pytest
from platform_helpers import assert_unknown_type_400, edited, misspelt

import codegen
from graphs import services


def summary(client, graph, number=1, **params):
    return client.get(f"/api/graphs/{graph.pk}/versions/{number}/summary/", params)


@pytest.fixture
def shaped(demo_graph):
    """The demo document with its input's shape (9, 256), so that every figure is known."""
    document = edited(demo_graph, 18)
    document["nodes"][0]["params"]["shape"] = [9, 256]
    return document


@pytest.fixture
def shaped_graph(alice, shaped):
    return services.create_graph(alice, name="Demo net", document=shaped)


def test_json_is_the_default_and_the_engines_summary_under_the_graphs_name(alice_api, shaped_graph, shaped):
    response = summary(alice_api, shaped_graph)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body == {**codegen.summarize(shaped).to_dict(), "name": "Demo net"}
    assert body["totals"]["params"] == 79_762
    assert body["totals"]["flops"] == 2 * body["totals"]["macs"] > 0
    assert [n["id"] for n in body["nodes"]] == ["inp", "conv", "relu", "perm", "gru", "fc"]


def test_markdown_is_a_download_named_like_the_other_exports(alice_api, graph):
    response = summary(alice_api, graph, format="md")
    assert response.status_code == 200 and response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="demo_net_v1.md"'
    text = response.content.decode()
    assert text.startswith("# Demo net: model summary\n")
    assert "| **total** |" in text


def test_without_input_shapes_the_figures_that_need_them_are_null(alice_api, graph):
    totals = summary(alice_api, graph).json()["totals"]
    assert totals["flops"] is None and totals["params"] is None


def test_csv_is_a_download_with_exact_integers(alice_api, shaped_graph, shaped):
    response = summary(alice_api, shaped_graph, format="csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="demo_net_v1.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    expected = codegen.summarize(shaped)
    assert rows[-1][:4] == ["total", "", "", str(expected.params)]
    assert rows[-1][6:8] == [str(expected.flops), str(expected.macs)]


def test_an_old_version_is_summarised_as_it_was(alice, alice_api, graph, demo_graph):
    services.save_version(graph, alice, edited(demo_graph, 10), base=1)
    fc = {n["id"]: n for n in summary(alice_api, graph, 2).json()["nodes"]}["fc"]
    assert fc["output_shapes"] == [["B", 10]]
    assert {n["id"]: n for n in summary(alice_api, graph, 1).json()["nodes"]}["fc"]["output_shapes"] == [["B", 18]]


def test_a_version_with_errors_answers_400_with_its_diagnostics(alice, alice_api, graph, demo_graph):
    services.save_version(graph, alice, misspelt(demo_graph), base=1)
    for kind in ("json", "md", "csv"):
        assert_unknown_type_400(summary(alice_api, graph, 2, format=kind))


def test_an_unknown_format_is_a_400(alice_api, graph):
    response = summary(alice_api, graph, format="xlsx")
    assert response.status_code == 400 and response.json()["detail"] == "format: Expected json, md or csv."


def test_a_missing_version_is_a_404(alice_api, graph):
    assert summary(alice_api, graph, 7).status_code == 404


def test_a_team_member_reads_the_summary_of_a_team_graph(bob_api, team_graph):
    assert summary(bob_api, team_graph, format="csv").status_code == 200


def test_summaries_of_hidden_graphs_are_404s(charlie_api, graph):
    for kind in ("json", "md", "csv"):
        assert summary(charlie_api, graph, format=kind).status_code == 404, kind
