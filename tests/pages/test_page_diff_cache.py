"""Diffs of stored versions are computed once (versions are immutable), survive a broken cache, and stay
affordable for anonymous readers of big public graphs: the page shows at most DIFF_PAGE_ITEMS per list, and
the source diff of a graph over TORCHCANVAS_ANON_SOURCE_DIFF_MAX_NODES nodes needs an account."""

import copy

import pytest
from django.test import Client

from graphs import services, version_diff
from graphs.diff import diff_documents, source_diff
from torchcanvas_site.cache import redis_cache

pytestmark = pytest.mark.django_db


@pytest.fixture
def public_graph(alice, demo_graph):
    graph = services.create_graph(alice, name="Open CMI", document=demo_graph, visibility="public")
    changed = copy.deepcopy(demo_graph)
    changed["nodes"][1]["params"]["out_channels"] = 96
    changed["nodes"] += [{"id": f"act{i}", "type": "ReLU", "params": {}} for i in range(5)]
    changed["edges"] = [e for e in changed["edges"] if e != ["gru", "fc"]]
    changed["edges"] += [["gru", "act0"], *[[f"act{i}", f"act{i + 1}"] for i in range(4)], ["act4", "fc"]]
    services.save_version(graph, alice, changed, base=1, message="Five activations")
    return graph


def main_part(response) -> str:
    """The page's content (the CSRF token in ``<body>`` differs between answers)."""
    return response.content.decode().split('id="main">', 1)[1]


@pytest.fixture
def calls(monkeypatch):
    """How many times the diff functions really ran (they still run: the wrappers only count)."""
    counted = {"structure": 0, "source": 0}

    def counting(name, function):
        def wrapper(*args, **kwargs):
            counted[name] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(version_diff, "diff_documents", counting("structure", diff_documents))
    monkeypatch.setattr(version_diff, "source_diff", counting("source", source_diff))
    return counted


def test_the_second_request_does_not_recompute_either_diff(alice_client, public_graph, calls):
    page = f"/graphs/{public_graph.pk}/diff/?from=1&to=2"
    api = f"/api/graphs/{public_graph.pk}/diff/?from=1&to=2&source=1"
    first = main_part(alice_client.get(page))
    assert calls == {"structure": 1, "source": 1}
    assert main_part(alice_client.get(page)) == first
    body = alice_client.get(api).json()  # the API shares the page's entries
    assert calls == {"structure": 1, "source": 1}
    assert body["diff"]["counts"]["nodes_added"] == 5
    assert any(line.startswith("+") and "96" in line for line in body["source_diff"].splitlines())


def test_a_broken_cache_still_answers_by_computing(alice_client, public_graph, calls, settings):
    # The deployed cache backend with nothing listening on port 1, as when Redis is down: the diff is computed
    # and then kept in this process's memory.
    settings.CACHES = {"default": redis_cache("redis://127.0.0.1:1/0")}
    for _ in range(2):
        response = alice_client.get(f"/graphs/{public_graph.pk}/diff/?from=1&to=2")
        assert response.status_code == 200
        html = response.content.decode()
        assert '<span class="param-name">out_channels</span> <del>64</del> → <ins>96</ins>' in html
        assert 'class="diff-line diff-add">+' in html
    assert calls == {"structure": 1, "source": 1}


def test_anonymous_readers_get_the_source_diff_of_small_graphs_only(public_graph, settings, alice_client):
    anonymous = Client()
    api = f"/api/graphs/{public_graph.pk}/diff/?from=1&to=2&source=1"
    assert anonymous.get(api).status_code == 200  # 11 nodes, under the default limit
    settings.TORCHCANVAS_ANON_SOURCE_DIFF_MAX_NODES = 10
    response = anonymous.get(api)
    assert response.status_code == 401
    assert response.json() == {
        "detail": "The generated code of a graph over 10 nodes (this one has 11) is compared for signed-in users "
        "only: log in, or send an API token."
    }
    assert anonymous.get(api.replace("&source=1", "")).status_code == 200  # the structural diff stays open
    html = anonymous.get(f"/graphs/{public_graph.pk}/diff/?from=1&to=2").content.decode()
    assert "is compared for signed-in users only" in html
    assert "<del>64</del> → <ins>96</ins>" in html
    assert alice_client.get(api).json()["source_diff"]


def test_the_page_lists_the_first_items_and_points_to_the_api_for_the_rest(alice_client, public_graph, monkeypatch):
    monkeypatch.setattr("graphs.views.DIFF_PAGE_ITEMS", 2)
    monkeypatch.setattr("graphs.views.DIFF_PAGE_SOURCE_LINES", 3)
    html = alice_client.get(f"/graphs/{public_graph.pk}/diff/?from=1&to=2").content.decode()
    assert html.count('class="change change-add"') == 4  # 2 of 5 nodes, 2 of 6 edges
    # 3 nodes and 4 edges more
    assert f'each list shows its first 2 items; 7 more are in <a href="/api/graphs/{public_graph.pk}/diff/' in html
    assert html.count('class="diff-line ') == 3
    assert "more lines: the whole diff is in" in html
