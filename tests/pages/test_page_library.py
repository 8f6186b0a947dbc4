"""The block library: personal, team and built-in blocks; publish; block pages."""

import json

import pytest

from graphs import services

pytestmark = pytest.mark.django_db

CONV_BN_RELU = {
    "params": [{"name": "c", "type": "int", "default": 16, "min": 1}],
    "nodes": [
        {"id": "in", "type": "Input"},
        {"id": "conv", "type": "Conv2d", "params": {"out_channels": "$c", "kernel_size": 3, "padding": 1}},
        {"id": "bn", "type": "BatchNorm2d"},
        {"id": "act", "type": "ReLU"},
    ],
    "edges": [["in", "conv"], ["conv", "bn"], ["bn", "act"]],
    "inputs": ["in"],
    "outputs": ["act"],
}


def test_publishing_a_team_block_from_the_form(bob_client, alice_client, charlie_client, team):
    response = bob_client.post(
        "/library/publish/",
        {"name": "ConvBNReLU", "library": team.pk, "definition": json.dumps(CONV_BN_RELU), "message": "First cut"},
    )
    assert response.status_code == 302
    block = team.composites.get()
    assert response.url == f"/library/{block.pk}/"
    # alice, in the same team, sees it in her library and on its page; charlie does not.
    assert "ConvBNReLU" in alice_client.get("/library/").content.decode()
    page = alice_client.get(response.url).content.decode()
    assert "First cut" in page and "<code>c</code>" in page and "Publish version 2" in page
    assert "ConvBNReLU" not in charlie_client.get("/library/").content.decode()
    assert charlie_client.get(response.url).status_code == 404


def test_bad_json_and_engine_refusals_are_inline(alice_client):
    response = alice_client.post("/library/publish/", {"name": "Broken", "library": "", "definition": "{nope"})
    assert response.status_code == 200 and "This is not valid JSON" in response.content.decode()
    response = alice_client.post("/library/publish/", {"name": "lowercase", "library": "", "definition": "{}"})
    assert "a block name is an ASCII identifier starting with a capital letter" in response.content.decode()


def test_a_new_version_from_the_block_page(alice_client, alice):
    version = services.publish_composite(alice, name="ConvBNReLU", definition=CONV_BN_RELU)
    wider = {**CONV_BN_RELU, "params": [{"name": "c", "type": "int", "default": 32, "min": 1}]}
    alice_client.post(
        "/library/publish/", {"name": "ConvBNReLU", "library": "", "definition": json.dumps(wider), "message": "wider"}
    )
    version.block.refresh_from_db()
    assert version.block.head.number == 2
    assert "wider" in alice_client.get(f"/library/{version.block.pk}/").content.decode()


def test_builtin_blocks_are_listed_with_their_source(alice_client):
    html = alice_client.get("/library/").content.decode()
    assert "ResidualBlock" in html and 'href="/library/builtin/SEBlock/"' in html
    page = alice_client.get("/library/builtin/SEBlock/").content.decode()
    assert '<span class="tok-k">class</span> <span class="tok-f">SEBlock</span>' in page
    assert alice_client.get("/library/builtin/Linear/").status_code == 404


def test_the_library_needs_a_login(client):
    assert client.get("/library/").status_code == 302
    assert client.get("/library/publish/").status_code == 302
