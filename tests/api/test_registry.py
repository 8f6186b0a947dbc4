"""GET /api/registry/: the node palette."""

SEED_TYPES = {"Input", "Conv1d", "ReLU", "Permute_BCT_to_BTH", "GRUBlock", "Linear"}


def test_it_lists_node_types_categories_and_diagnostic_codes(api_client):
    response = api_client.get("/api/registry/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert {"engine_version", "graph_version", "categories", "nodes", "diagnostic_codes"} <= body.keys()
    assert SEED_TYPES <= {spec["type"] for spec in body["nodes"]}
    assert {"UNKNOWN_TYPE", "CYCLE", "LIMIT"} <= body["diagnostic_codes"].keys()


def test_it_matches_the_engine_registry(api_client):
    import codegen

    assert api_client.get("/api/registry/").json() == codegen.registry_json()


def test_it_answers_logged_in_users_the_same(alice_api, api_client):
    assert alice_api.get("/api/registry/").json() == api_client.get("/api/registry/").json()


def test_it_refuses_other_methods_in_json(api_client):
    response = api_client.post("/api/registry/", {}, format="json")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "POST" not allowed.'}
