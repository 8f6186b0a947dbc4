"""The block library: personal, team and built-in blocks; publish; block pages; deleting a block."""

import json

import pytest
from django.test import Client

import codegen
from graphs import services
from graphs.models import CompositeBlock, Role

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


def test_a_block_page_names_the_user_blocks_the_block_uses(alice_client, alice):
    stage = {
        "nodes": [{"id": "in", "type": "Input"}, {"id": "a", "type": "ConvBNReLU"}, {"id": "b", "type": "Wide"}],
        "edges": [["in", "a"], ["a", "b"]],
        "inputs": ["in"],
        "outputs": ["b"],
    }
    inner = {"Wide": CONV_BN_RELU, "ConvBNReLU": CONV_BN_RELU}
    block = services.publish_composite(alice, name="Stage", definition=stage, composites=inner).block
    assert '<p class="muted">Uses ConvBNReLU, Wide</p>' in alice_client.get(f"/library/{block.pk}/").content.decode()
    # The form edits the definition alone; the new version keeps the blocks it still uses.
    edited = json.dumps({**stage, "doc": "Two convolutions."})
    alice_client.post("/library/publish/", {"name": "Stage", "library": "", "definition": edited})
    block.refresh_from_db()
    assert (block.head.number, block.head.composites) == (2, inner)
    plain = services.publish_composite(alice, name="Plain", definition=CONV_BN_RELU).block
    assert "Uses " not in alice_client.get(f"/library/{plain.pk}/").content.decode()


def test_builtin_blocks_are_listed_with_their_source(alice_client):
    html = alice_client.get("/library/").content.decode()
    assert "ResidualBlock" in html and 'href="/library/builtin/SEBlock/"' in html
    page = alice_client.get("/library/builtin/SEBlock/").content.decode()
    assert '<span class="tok-k">class</span> <span class="tok-f">SEBlock</span>' in page
    assert alice_client.get("/library/builtin/Linear/").status_code == 404


def test_the_library_needs_a_login(client):
    assert client.get("/library/").status_code == 302
    assert client.get("/library/publish/").status_code == 302


# --- deleting a block ---------------------------------------------------------------------------------

DELETE_BUTTON = '<button type="submit" class="button button-danger">Delete block</button>'


def uses_block(block_id: int) -> dict:
    """A graph whose only layer is version 1 of library block ``block_id``, named ``Stem`` in the graph."""
    return {
        "version": "0.2",
        "metadata": {"library": {"Stem": {"block": block_id, "version": 1}}},
        "nodes": [{"id": "img", "type": "Input", "params": {"shape": [3, 32, 32]}}, {"id": "stem", "type": "Stem"}],
        "edges": [["img", "stem"]],
        "inputs": ["img"],
        "outputs": ["stem"],
    }


@pytest.fixture
def team_block(bob, team):
    """A block of the Lab's library, published by bob (an editor: he may not delete it)."""
    return services.publish_composite(bob, name="ConvBNReLU", definition=CONV_BN_RELU, team=team).block


def test_the_owner_deletes_a_block_and_graphs_that_use_it_keep_their_copy(alice_client, alice):
    block = services.publish_composite(alice, name="ConvBNReLU", definition=CONV_BN_RELU).block
    graph = services.create_graph(alice, name="Uses it", document=uses_block(block.pk))
    page = alice_client.get(f"/library/{block.pk}/").content.decode()
    assert DELETE_BUTTON in page
    assert 'Graphs that already use it keep their embedded copies.">' in page  # the end of the confirmation
    response = alice_client.post(f"/library/{block.pk}/delete/", follow=True)
    assert response.redirect_chain == [("/library/", 302)]
    assert "Deleted the block “ConvBNReLU” from your library; graphs that use it keep their copies." in (
        response.content.decode()
    )
    assert not CompositeBlock.objects.exists()
    graph.refresh_from_db()
    assert graph.head.document["composites"]["Stem"] == CONV_BN_RELU
    assert codegen.validate(graph.head.document).ok
    download = alice_client.get(f"/graphs/{graph.pk}/versions/1/download/py/")
    assert download.status_code == 200 and b"class Stem(nn.Module):" in download.content


def test_after_the_confirmed_htmx_post_the_browser_loads_the_library_page(alice_client, alice):
    block = services.publish_composite(alice, name="ConvBNReLU", definition=CONV_BN_RELU).block
    response = alice_client.post(f"/library/{block.pk}/delete/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == "/library/"
    assert not CompositeBlock.objects.exists()


def test_a_team_admin_deletes_a_team_block(alice_client, team_block):
    assert DELETE_BUTTON in alice_client.get(f"/library/{team_block.pk}/").content.decode()
    response = alice_client.post(f"/library/{team_block.pk}/delete/", follow=True)
    assert response.redirect_chain == [("/library/", 302)]
    assert "Deleted the block “ConvBNReLU” from the Lab library" in response.content.decode()
    assert not CompositeBlock.objects.exists()


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_team_editors_and_viewers_cannot_delete_a_team_block(alice, team, team_block, django_user_model, role):
    member = django_user_model.objects.create_user("vera")
    services.accept_invitation(services.invite(team, alice, role).token, member)
    client = Client()
    client.force_login(member)
    url = f"/library/{team_block.pk}/"
    assert DELETE_BUTTON not in client.get(url).content.decode()
    response = client.post(f"{url}delete/", follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert "Only the block&#x27;s owner or an admin of its team can delete it." in response.content.decode()
    assert CompositeBlock.objects.filter(pk=team_block.pk).exists()


def test_an_outsider_cannot_even_find_a_personal_block(alice, charlie_client):
    block = services.publish_composite(alice, name="ConvBNReLU", definition=CONV_BN_RELU).block
    assert charlie_client.post(f"/library/{block.pk}/delete/").status_code == 404
    assert CompositeBlock.objects.filter(pk=block.pk).exists()


def test_deleting_takes_a_post_from_a_logged_in_user(alice, alice_client, client):
    block = services.publish_composite(alice, name="ConvBNReLU", definition=CONV_BN_RELU).block
    url = f"/library/{block.pk}/delete/"
    assert alice_client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302 and response.url == f"/accounts/login/?next={url}"
    assert CompositeBlock.objects.filter(pk=block.pk).exists()
