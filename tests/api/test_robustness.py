"""Whatever a client sends, the engine endpoints answer JSON with 200 or 400: never a 500."""

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import codegen

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)
GRAPH_KEYS = st.sampled_from(["version", "nodes", "edges", "inputs", "outputs", "metadata", "composites"])
NODE_TYPES = st.sampled_from(sorted(codegen.NODE_SPECS)) | st.text(max_size=12)
PARAM_VALUES = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["same", "valid", "last", "all", "", "x"]),
    st.lists(st.integers(min_value=-3, max_value=300), max_size=4),
    st.none(),
    st.booleans(),
)
# Fixtures are stateless here (an anonymous client, a fresh copy of the demo graph), so sharing them is fine.
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def post(client, url, payload):
    response = client.post(url, json.dumps(payload), content_type="application/json")
    assert response.status_code in (200, 400), (response.status_code, response.content[:500])
    body = response.json()
    if response.status_code == 400:
        assert isinstance(body["detail"], str) and body["detail"]
    return response


@FUZZ
@given(graph=st.dictionaries(GRAPH_KEYS, JSON_VALUES, max_size=7) | JSON_VALUES)
def test_arbitrary_documents_get_200_or_400(api_client, reset_throttles, graph):
    reset_throttles()
    post(api_client, "/api/validate/", {"graph": graph})


@FUZZ
@given(data=st.data())
def test_mutated_demo_graphs_get_200_or_400(api_client, demo_graph, reset_throttles, data):
    reset_throttles()
    graph = copy.deepcopy(demo_graph)
    node = data.draw(st.sampled_from(graph["nodes"]))
    if data.draw(st.booleans()):
        node["type"] = data.draw(NODE_TYPES)
    node["params"] = data.draw(st.dictionaries(st.text(min_size=1, max_size=15), PARAM_VALUES, max_size=3))
    if data.draw(st.booleans()):
        ids = [n["id"] for n in graph["nodes"]] + ["ghost"]
        graph["edges"].append([data.draw(st.sampled_from(ids)), data.draw(st.sampled_from(ids))])
    shapes = data.draw(st.none() | st.just({"inp": [9, 256]}) | st.just({"inp": [3, 32, 32]}) | st.just({"inp": [1]}))
    payload = {"graph": graph} if shapes is None else {"graph": graph, "input_shapes": shapes}
    validation = post(api_client, "/api/validate/", payload).json()
    generated = post(api_client, "/api/codegen/", {**payload, "name": "Fuzzed"})
    if validation.get("ok") is True:
        assert generated.status_code == 200, generated.json()
