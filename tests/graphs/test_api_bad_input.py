"""Whatever a client sends to the platform API: a 4xx with a clear `detail`, never a 500, data untouched."""

import json

import pytest
from platform_helpers import edited

from graphs.models import Graph, GraphVersion


def raw_post(client, url, body: str | bytes, content_type="application/json"):
    return client.generic("POST", url, body, content_type=content_type)


def snapshot():
    return list(Graph.objects.values_list("pk", "name", "head_id")), GraphVersion.objects.count()


def test_malformed_json_is_a_400(alice_api, graph):
    before = snapshot()
    response = raw_post(alice_api, f"/api/graphs/{graph.pk}/versions/", '{"document": {"nodes": [}')
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert snapshot() == before


def test_unknown_fields_are_listed(alice_api, graph, demo_graph):
    response = alice_api.post(
        f"/api/graphs/{graph.pk}/versions/", {"document": demo_graph, "base": 1, "mesage": "typo", "force": True}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "Unknown field(s): force, mesage. Allowed: document, base, message."


def test_read_only_fields_count_as_unknown(alice_api, graph):
    response = alice_api.patch(f"/api/graphs/{graph.pk}/", {"name": "ok", "owner": "bob"})
    assert response.status_code == 400
    assert response.json()["detail"] == ("Unknown field(s): owner. Allowed: name, description, tags, team, visibility.")
    assert Graph.objects.get().name == "Demo net"


def test_a_body_that_is_not_an_object_is_a_400(alice_api, graph):
    response = raw_post(alice_api, "/api/graphs/", "[1, 2, 3]")
    assert response.status_code == 400
    assert response.json()["detail"] == "Invalid data. Expected a dictionary, but got list."


def test_a_body_over_the_cap_is_a_413(alice_api, graph, demo_graph, settings):
    settings.TORCHCANVAS_LIMITS = {**settings.TORCHCANVAS_LIMITS, "max_body_bytes": 2048}
    document = edited(demo_graph)
    document["metadata"] = {"padding": "x" * 5000}
    response = alice_api.post(f"/api/graphs/{graph.pk}/versions/", {"document": document, "base": 1})
    assert response.status_code == 413
    assert GraphVersion.objects.count() == 1


def test_a_graph_over_the_node_cap_is_a_400(alice_api, graph, demo_graph, settings):
    settings.TORCHCANVAS_LIMITS = {**settings.TORCHCANVAS_LIMITS, "max_nodes": 4}
    response = alice_api.post(f"/api/graphs/{graph.pk}/versions/", {"document": edited(demo_graph), "base": 1})
    assert response.status_code == 400
    assert response.json()["diagnostics"][0]["code"] == "LIMIT"
    assert GraphVersion.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({"name": ""}, "name: This field may not be blank."),
        ({"name": "x" * 121}, "name: Ensure this field has no more than 120 characters."),
        ({"name": "nul\x00"}, "name: Null characters are not allowed."),
        ({"name": "rtl\u202eexe"}, "name: contains the control character U+202E."),
        ({"name": "ok", "tags": ["a/b"]}, "tags: 'a/b' may use letters, digits, spaces and . + # - _ only."),
        ({"name": "ok", "tags": "audio"}, 'tags: Expected a list of items but got type "str".'),
        ({"name": "ok", "visibility": "world"}, 'visibility: "world" is not a valid choice.'),
        ({"name": "ok", "team": 7}, "team: Expected a team slug."),
        ({"name": "ok", "document": []}, 'document: Expected a dictionary of items but got type "list".'),
        ({"name": ["x"]}, "name: Not a valid string."),
    ],
)
def test_hostile_or_malformed_fields_are_refused(alice_api, payload, detail):
    response = alice_api.post("/api/graphs/", payload)
    assert response.status_code == 400
    assert response.json()["detail"] == detail
    assert not Graph.objects.exists()


@pytest.mark.parametrize(
    ("where", "detail"),
    [
        ("message", "message: Surrogate characters are not allowed: U+D800."),
        ("label", "The document: a text value contains an unpaired surrogate (not valid Unicode)."),
        ("key", "The document: a key contains an unpaired surrogate (not valid Unicode)."),
    ],
)
def test_an_unpaired_surrogate_is_refused(alice_api, graph, demo_graph, where, detail):
    document = edited(demo_graph)
    document["nodes"][0]["label"] = "LABEL" if where == "label" else "fine"
    document["metadata"] = {"KEY": 1} if where == "key" else {}
    body = json.dumps({"document": document, "base": 1, "message": "MESSAGE" if where == "message" else ""})
    body = body.replace(where.upper(), "\\ud800")
    response = raw_post(alice_api, f"/api/graphs/{graph.pk}/versions/", body)
    assert response.status_code == 400
    assert response.json()["detail"] == detail
    assert GraphVersion.objects.count() == 1


@pytest.mark.parametrize("base", [True, "one", 0, -1, 2**40, None, 1.5, [1]])
def test_bad_base_values_are_a_400(alice_api, graph, demo_graph, base):
    response = alice_api.post(f"/api/graphs/{graph.pk}/versions/", {"document": edited(demo_graph), "base": base})
    assert response.status_code == 400, response.json()
    assert GraphVersion.objects.count() == 1


def test_huge_numbers_in_a_document_are_stored_or_refused_cleanly(alice_api, graph, demo_graph):
    document = edited(demo_graph)
    document["nodes"][5]["params"]["out_features"] = 10**30
    response = alice_api.post(f"/api/graphs/{graph.pk}/versions/", {"document": document, "base": 1})
    assert response.status_code in (201, 400), response.json()


@pytest.mark.parametrize("query", ["q=%00", "tag=a%00b", "owner=%00", "team=%ff%fe", "q=" + "x" * 500])
def test_hostile_query_strings_never_fail(alice_api, graph, query):
    response = alice_api.get(f"/api/graphs/?{query}")
    assert response.status_code in (200, 400)


def test_a_huge_graph_id_is_a_404(alice_api):
    assert alice_api.get("/api/graphs/99999999999999999999999/").status_code == 404
    assert alice_api.get("/api/graphs/9223372036854775807/").status_code == 404
