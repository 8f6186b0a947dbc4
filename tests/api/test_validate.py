"""POST /api/validate/: diagnostics and inferred shapes; never an HTML error."""

import json

import pytest
from hostile_graphs import long_expression_graph

URL = "/api/validate/"


def post_json(client, payload, **extra):
    return client.post(URL, json.dumps(payload), content_type="application/json", **extra)


def test_it_validates_the_demo_graph_with_input_shapes(api_client, demo_graph):
    response = post_json(api_client, {"graph": demo_graph, "input_shapes": {"inp": [9, 256]}})
    assert response.status_code == 200
    body = response.json()
    assert {"ok", "diagnostics", "shapes", "edges", "params", "params_total", "memory_bytes"} <= body.keys()
    assert body["ok"] is True
    assert body["diagnostics"] == []
    assert body["shapes"]["fc"] == ["B", 18]
    assert body["shapes"]["perm"] == ["B", 256, 64]
    # Conv1d 9→64 k5: 2944; GRU 64→128: 74496; Linear 128→18: 2322 (what PyTorch counts for these layers).
    assert body["params"] == {"inp": 0, "conv": 2944, "relu": 0, "perm": 0, "gru": 74496, "fc": 2322}
    assert body["params_total"] == 79762
    assert {"source": "relu", "target": "perm", "shape": ["B", 64, 256]} in body["edges"]


def test_it_validates_the_demo_graph_without_input_shapes(api_client, demo_graph):
    response = post_json(api_client, {"graph": demo_graph})
    assert response.status_code == 200
    assert response.json()["ok"] is True


def test_it_matches_the_engine(api_client, demo_graph):
    import codegen

    response = post_json(api_client, {"graph": demo_graph, "input_shapes": {"inp": [9, 256]}})
    assert response.json() == codegen.validate(demo_graph, input_shapes={"inp": [9, 256]}).to_dict()


def test_a_graph_with_errors_is_still_200_with_ok_false(api_client, demo_graph):
    demo_graph["nodes"][2]["type"] = "ReLUU"
    response = post_json(api_client, {"graph": demo_graph})
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    assert "UNKNOWN_TYPE" in {d["code"] for d in body["diagnostics"]}


def test_a_layout_mismatch_comes_with_a_one_click_suggestion(api_client, demo_graph):
    demo_graph["nodes"] = [node for node in demo_graph["nodes"] if node["id"] != "perm"]
    demo_graph["edges"] = [["inp", "conv"], ["conv", "relu"], ["relu", "gru"], ["gru", "fc"]]
    response = post_json(api_client, {"graph": demo_graph, "input_shapes": {"inp": [9, 256]}})
    assert response.status_code == 200
    [diagnostic] = response.json()["diagnostics"]
    assert (diagnostic["code"], diagnostic["node"], diagnostic["edge"]) == ("LAYOUT", "gru", ["relu", "gru"])
    assert diagnostic["suggestion"] == {
        "action": "insert_node",
        "type": "Permute_BCT_to_BTH",
        "between": ["relu", "gru"],
    }


def test_it_rejects_a_document_that_is_not_a_graph_with_diagnostics(api_client):
    response = post_json(api_client, {"graph": {"version": "0.2", "nodes": "many"}})
    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith("The graph cannot be used: ")
    assert "PARSE" in {d["code"] for d in body["diagnostics"]}


def test_it_rejects_graphs_over_the_node_limit(api_client, demo_graph, settings):
    settings.TORCHCANVAS_LIMITS = {**settings.TORCHCANVAS_LIMITS, "max_nodes": 3}
    response = post_json(api_client, {"graph": demo_graph})
    assert response.status_code == 400
    assert "LIMIT" in {d["code"] for d in response.json()["diagnostics"]}


def test_it_rejects_malformed_json(api_client):
    response = api_client.post(URL, '{"graph": {', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - ")


def test_it_rejects_json_that_nests_too_deeply(api_client):
    response = api_client.post(URL, "[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - the document nests too deeply."}


def test_it_rejects_nan_which_is_not_json(api_client):
    response = api_client.post(URL, '{"graph": {"version": NaN}}', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - ")


def test_it_rejects_a_body_that_is_not_json(api_client):
    response = api_client.post(URL, "graph=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json() == {"detail": 'Unsupported media type "application/x-www-form-urlencoded" in request.'}


def test_it_rejects_bodies_over_the_size_limit(api_client, demo_graph, settings):
    settings.TORCHCANVAS_LIMITS = {**settings.TORCHCANVAS_LIMITS, "max_body_bytes": 1024}
    payload = json.dumps({"graph": demo_graph, "padding": "x" * 2000})
    response = api_client.post(URL, payload, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"detail": f"The request body is {len(payload)} bytes; the limit is 1024 bytes."}


def test_it_requires_a_graph(api_client):
    response = post_json(api_client, {})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "graph: This field is required.",
        "errors": {"graph": ["This field is required."]},
    }


def test_it_rejects_a_body_that_is_not_an_object(api_client):
    response = post_json(api_client, [1, 2])
    assert response.status_code == 400
    assert response.json()["detail"] == "Invalid data. Expected a dictionary, but got list."


def test_it_rejects_a_graph_that_is_not_an_object(api_client):
    response = post_json(api_client, {"graph": "nodes"})
    assert response.status_code == 400
    assert response.json()["detail"] == 'graph: Expected a dictionary of items but got type "str".'


@pytest.mark.parametrize(
    "shapes, detail",
    [
        ({"inp": [9, 0]}, "input_shapes.inp.1: Ensure this value is greater than or equal to 1."),
        ({"inp": []}, "input_shapes.inp: Ensure this field has at least 1 elements."),
        ({"inp": "9,256"}, 'input_shapes.inp: Expected a list of items but got type "str".'),
        ({"inp": [1] * 9}, "input_shapes.inp: Ensure this field has no more than 8 elements."),
    ],
)
def test_it_rejects_bad_input_shapes(api_client, demo_graph, shapes, detail):
    response = post_json(api_client, {"graph": demo_graph, "input_shapes": shapes})
    assert response.status_code == 400
    assert response.json()["detail"] == detail


def test_an_unexpected_engine_failure_is_a_json_500(api_client, demo_graph, monkeypatch):
    import codegen

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(codegen, "validate", explode)
    response = post_json(api_client, {"graph": demo_graph})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}


def test_logged_in_browser_sessions_need_the_csrf_token(alice, demo_graph):
    from rest_framework.test import APIClient

    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(alice)
    response = post_json(browser, {"graph": demo_graph})
    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")


def test_unknown_api_paths_answer_json_404(api_client):
    response = api_client.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No API endpoint at /api/no-such-thing/."}


def test_a_block_expression_over_the_length_cap_is_a_diagnostic(api_client):
    """A composite expression of 1,000 terms used to recurse out of Python's stack: a 500."""
    graph = long_expression_graph()
    response = post_json(api_client, {"graph": graph})
    assert response.status_code == 200
    assert [(d["code"], d["node"]) for d in response.json()["diagnostics"]] == [("EXPRESSION_TOO_LONG", "wide")]
    response = api_client.post("/api/codegen/", json.dumps({"graph": graph}), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("The graph cannot be used: ")
    assert [d["code"] for d in response.json()["diagnostics"]] == ["EXPRESSION_TOO_LONG"]


def test_it_gives_every_nodes_params_flops_macs_and_activations_with_the_totals(api_client, demo_graph):
    body = post_json(api_client, {"graph": demo_graph, "input_shapes": {"inp": [9, 256]}}).json()
    nodes = {n["id"]: n for n in body["summary"]["nodes"]}
    # Conv1d 9→64 k5 over 256 steps; GRU 64→128 over 256 steps (3 gates); Linear 128→18.
    assert nodes["conv"]["macs"] == 256 * 64 * 9 * 5
    assert nodes["gru"]["macs"] == 256 * 3 * 128 * (64 + 128)
    assert nodes["fc"] == {**nodes["fc"], "params": 2322, "flops": 2 * 128 * 18, "activation_bytes": 18 * 4}
    totals = body["summary"]["totals"]
    assert totals["params"] == body["params_total"] and totals["activation_bytes"] == body["memory_bytes"]
    assert totals["flops"] == sum(n["flops"] for n in nodes.values())
