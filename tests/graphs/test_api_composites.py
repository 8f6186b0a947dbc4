"""/api/composites/: personal and team block libraries, versions, built-ins, and use in a graph."""

import copy

from graphs import services
from graphs.models import CompositeBlock

BLOCK = {
    "params": [{"name": "c", "type": "int", "default": 16}],
    "nodes": [
        {"id": "in", "type": "Input"},
        {"id": "conv", "type": "Conv2d", "params": {"out_channels": "$c", "kernel_size": 3, "padding": 1}},
        {"id": "act", "type": "ReLU"},
    ],
    "edges": [["in", "conv"], ["conv", "act"]],
    "inputs": ["in"],
    "outputs": ["act"],
}


def publish(client, name="ConvReLU", definition=BLOCK, **extra):
    return client.post("/api/composites/", {"name": name, "definition": definition, **extra})


def test_publishing_a_new_block(alice_api):
    response = publish(alice_api, message="first", description="Conv then ReLU.")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["number"], body["created"], body["message"]) == ("ConvReLU", 1, True, "first")
    assert body["reference"] == {"block": body["block"], "version": 1}
    assert body["definition"] == BLOCK


def test_publishing_the_same_definition_answers_200(alice_api):
    publish(alice_api)
    response = publish(alice_api)
    assert response.status_code == 200 and response.json()["created"] is False


def test_publishing_a_changed_definition_adds_a_version(alice_api):
    publish(alice_api)
    changed = copy.deepcopy(BLOCK)
    changed["nodes"][2]["type"] = "GELU"
    assert publish(alice_api, definition=changed).json()["number"] == 2
    block = CompositeBlock.objects.get()
    body = alice_api.get(f"/api/composites/{block.pk}/versions/").json()
    assert [v["number"] for v in body["results"]] == [2, 1]
    assert alice_api.get(f"/api/composites/{block.pk}/versions/1/").json()["definition"] == BLOCK


def test_the_library_lists_your_blocks_and_your_teams(alice_api, bob_api, charlie_api, team):
    publish(alice_api, name="Mine")
    publish(bob_api, name="Shared", team="vision-lab")
    publish(charlie_api, name="Theirs")
    body = alice_api.get("/api/composites/").json()
    assert sorted((b["name"], b["library"], b["can_publish"]) for b in body["results"]) == [
        ("Mine", "user:alice", True),
        ("Shared", "team:vision-lab", True),
    ]
    assert [b["name"] for b in alice_api.get("/api/composites/", {"mine": "1"}).json()["results"]] == ["Mine"]
    assert [b["name"] for b in alice_api.get("/api/composites/", {"team": "vision-lab"}).json()["results"]] == [
        "Shared"
    ]


def test_a_personal_block_is_a_404_for_others(alice_api, bob_api):
    block_id = publish(alice_api).json()["block"]
    assert bob_api.get(f"/api/composites/{block_id}/").status_code == 404
    assert bob_api.get(f"/api/composites/{block_id}/versions/1/").status_code == 404


def test_built_in_blocks_are_listed_alongside(alice_api):
    body = alice_api.get("/api/composites/builtins/").json()
    se = next(b for b in body if b["type"] == "SEBlock")
    assert se["params"][0]["name"] == "reduction" and "Squeeze" in se["paper"]


def test_a_bad_definition_is_a_400_with_diagnostics(alice_api):
    broken = copy.deepcopy(BLOCK)
    broken["nodes"][2]["type"] = "Nope"
    response = publish(alice_api, definition=broken)
    assert response.status_code == 400
    assert response.json()["diagnostics"][0]["code"] == "UNKNOWN_TYPE"


def graph_using(block_id: int, alias: str = "Blk", embedded: dict | None = None) -> dict:
    """A graph whose one layer is version 1 of library block ``block_id`` (with ``embedded`` as its copy)."""
    document = {
        "version": "0.2",
        "metadata": {"library": {alias: {"block": block_id, "version": 1}}},
        "nodes": [
            {"id": "img", "type": "Input", "params": {"shape": [3, 16, 16]}},
            {"id": "b", "type": alias, "params": {"c": 4}},
        ],
        "edges": [["img", "b"]],
        "inputs": ["img"],
        "outputs": ["b"],
    }
    return document | ({"composites": {alias: embedded}} if embedded is not None else {})


def test_a_team_block_published_by_one_member_is_used_by_another(alice_api, bob_api, team):
    block_id = publish(alice_api, name="TeamConv", team="vision-lab").json()["block"]
    document = graph_using(block_id, "TeamConv")
    response = bob_api.post("/api/graphs/", {"name": "Uses TeamConv", "document": document})
    assert response.status_code == 201, response.json()
    assert response.json()["head"]["valid"] is True
    graph_id = response.json()["id"]
    stored = bob_api.get(f"/api/graphs/{graph_id}/versions/1/").json()["document"]
    assert stored["composites"]["TeamConv"] == BLOCK


def test_a_graph_cannot_tell_a_hidden_block_from_one_that_does_not_exist(alice_api, charlie_api):
    """Referencing alice's private block used to answer 400 where an unknown id answered 201: an existence oracle."""
    hidden = publish(alice_api, name="Secret").json()["block"]
    unknown = hidden + 1000
    own_copy = copy.deepcopy(BLOCK)
    own_copy["nodes"][2]["type"] = "GELU"

    def answer(block_id: int, embedded: dict | None) -> tuple[int, dict]:
        response = charlie_api.post(
            "/api/graphs/", {"name": "Probe", "document": graph_using(block_id, embedded=embedded)}
        )
        body = response.json()
        if response.status_code == 201:  # what differs between any two new graphs
            graph = charlie_api.get(f"/api/graphs/{body['id']}/versions/1/").json()
            body = {"document": graph["document"], "valid": body["head"]["valid"]}
        else:
            body["detail"] = body["detail"].replace(f"block {block_id} ", "block <id> ")
        return response.status_code, body

    assert answer(hidden, own_copy) == answer(unknown, own_copy)
    status, body = answer(hidden, own_copy)
    assert status == 201 and body["valid"] is True
    assert body["document"]["composites"]["Blk"] == own_copy and "library" not in body["document"]["metadata"]
    assert answer(hidden, None) == answer(unknown, None)
    assert answer(hidden, None) == (
        400,
        {"detail": "metadata.library.Blk: block <id> version 1 does not exist or is not shared with you."},
    )


def test_deleting_a_block_is_for_its_owner_or_a_team_admin(alice_api, bob_api, team):
    block_id = publish(bob_api, name="TeamConv", team="vision-lab").json()["block"]
    assert bob_api.delete(f"/api/composites/{block_id}/").status_code == 403
    assert alice_api.delete(f"/api/composites/{block_id}/").status_code == 204
    assert not CompositeBlock.objects.exists()


def test_outsiders_cannot_publish_to_a_team(charlie_api, team):
    response = publish(charlie_api, team="vision-lab")
    assert response.status_code == 400 and response.json()["detail"] == "team: No team vision-lab among your teams."
    assert services.builtin_blocks()  # the built-ins stay whatever happens


# --- blocks that use other user blocks ----------------------------------------------------------

STAGE = {
    "params": [{"name": "c", "type": "int", "default": 16}],
    "nodes": [
        {"id": "in", "type": "Input"},
        {"id": "first", "type": "ConvReLU", "params": {"c": "$c"}},
        {"id": "second", "type": "ConvReLU", "params": {"c": "$c"}},
    ],
    "edges": [["in", "first"], ["first", "second"]],
    "inputs": ["in"],
    "outputs": ["second"],
}


def test_publishing_a_block_with_the_user_blocks_it_uses(alice_api):
    response = publish(alice_api, name="Stage", definition=STAGE, composites={"ConvReLU": BLOCK})
    assert response.status_code == 201, response.json()
    assert response.json()["composites"] == {"ConvReLU": BLOCK}
    block_id = response.json()["block"]
    body = alice_api.get(f"/api/composites/{block_id}/versions/1/").json()
    assert (body["definition"], body["composites"]) == (STAGE, {"ConvReLU": BLOCK})


def test_a_version_without_inner_blocks_shows_an_empty_map(alice_api):
    block_id = publish(alice_api, composites=None).json()["block"]
    assert alice_api.get(f"/api/composites/{block_id}/versions/1/").json()["composites"] == {}


def test_malformed_inner_blocks_are_a_400_with_a_clear_message(alice_api):
    cases = [
        (["ConvReLU"], 'composites: Expected a dictionary of items but got type "list".'),
        ({"ConvReLU": 3}, 'composites.ConvReLU: Expected a dictionary of items but got type "int".'),
        ({"conv": BLOCK}, "composites.conv: block names are ASCII identifiers starting with a capital letter."),
        ({"ConvReLU": BLOCK, "Spare": BLOCK}, "composites.Spare is not used by the block."),
    ]
    for composites, detail in cases:
        response = publish(alice_api, name="Stage", definition=STAGE, composites=composites)
        assert (response.status_code, response.json()["detail"]) == (400, detail)
    response = publish(alice_api, name="Stage", definition=STAGE, composites={"ConvReLU": {"nodez": []}})
    assert response.status_code == 400 and response.json()["diagnostics"][0]["code"] == "PARSE"
    assert not CompositeBlock.objects.exists()
