"""The API token page: create, show (with a copy button and a curl example), regenerate, revoke."""

import pytest
from django.utils.timezone import localtime
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

PAGE = "/accounts/token/"
CREATE, REGENERATE, REVOKE = PAGE + "create/", PAGE + "regenerate/", PAGE + "revoke/"
HTMX = {"HX-Request": "true"}


def _graph_names(api_client, key: str) -> tuple[int, list[str]]:
    response = api_client.get("/api/graphs/", headers={"Authorization": f"Token {key}"})
    return response.status_code, [g["name"] for g in response.json().get("results", [])]


def _assert_refused(api_client, key: str):
    response = api_client.get("/api/graphs/", headers={"Authorization": f"Token {key}"})
    assert response.status_code == 401 and response.json() == {"detail": "Invalid token."}
    assert response["WWW-Authenticate"] == "Token"


def test_the_page_needs_a_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and response.url == f"/accounts/login/?next={PAGE}"
    assert client.post(CREATE).status_code == 302
    assert not Token.objects.exists()


def test_the_user_menu_links_to_it(alice_client):
    assert f'href="{PAGE}">API token</a>' in alice_client.get("/dashboard/").content.decode()


def test_without_a_token_it_offers_to_create_one(alice_client):
    html = alice_client.get(PAGE).content.decode()
    assert "You have no API token." in html and "Create token" in html
    assert "Regenerate" not in html and "Revoke" not in html


def test_creating_a_token_shows_it_and_it_authenticates_api_calls(alice_client, alice, private_graph, api_client):
    response = alice_client.post(CREATE, follow=True)
    token = Token.objects.get(user=alice)
    html = response.content.decode()
    assert response.redirect_chain == [(PAGE, 302)]
    assert "Created your API token." in html
    assert f'id="api-token" class="mono" value="{token.key}" readonly' in html
    assert 'data-copy="api-token">Copy</button>' in html
    assert f'curl -H "Authorization: Token {token.key}" http://testserver/api/graphs/' in html
    assert f'datetime="{localtime(token.created).isoformat()}"' in html
    assert "Regenerate" in html and "Revoke" in html and "Create token" not in html
    assert _graph_names(api_client, token.key) == (200, [private_graph.name])  # private: only alice sees it


def test_creating_again_keeps_the_key(alice_client, alice):
    alice_client.post(CREATE)
    key = Token.objects.get(user=alice).key
    response = alice_client.post(CREATE, follow=True)
    assert "You already have an API token; it is shown below." in response.content.decode()
    assert Token.objects.get(user=alice).key == key


def test_regenerating_replaces_the_key_at_once(alice_client, alice, private_graph, api_client):
    old = Token.objects.create(user=alice).key
    response = alice_client.post(REGENERATE, follow=True)
    new = Token.objects.get(user=alice).key
    html = response.content.decode()
    assert new != old
    assert "Regenerated your API token: the old key no longer works." in html
    assert new in html and old not in html
    _assert_refused(api_client, old)
    assert _graph_names(api_client, new) == (200, [private_graph.name])


def test_revoking_deletes_the_token(alice_client, alice, api_client):
    old = Token.objects.create(user=alice).key
    response = alice_client.post(REVOKE, follow=True)
    html = response.content.decode()
    assert not Token.objects.filter(user=alice).exists()
    assert "Revoked your API token: scripts that use it are refused from now on." in html
    assert "Create token" in html and old not in html
    _assert_refused(api_client, old)


def test_regenerate_and_revoke_ask_for_confirmation(alice_client, alice):
    Token.objects.create(user=alice)
    html = alice_client.get(PAGE).content.decode()
    for url in (REGENERATE, REVOKE):
        assert f'action="{url}" hx-post="{url}"' in html
    assert 'hx-confirm="Regenerate your API token? The current key stops working at once."' in html
    assert 'hx-confirm="Revoke your API token? Scripts that use it are refused from now on."' in html


@pytest.mark.parametrize("url", [CREATE, REGENERATE, REVOKE])
def test_htmx_posts_get_a_client_redirect(alice_client, url):
    response = alice_client.post(url, headers=HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == PAGE


@pytest.mark.parametrize("url", [CREATE, REGENERATE, REVOKE])
def test_actions_only_take_posts(alice_client, alice, url):
    Token.objects.create(user=alice)
    assert alice_client.get(url).status_code == 405


def test_one_user_never_sees_or_touches_another_users_token(alice_client, alice, bob_client):
    key = Token.objects.create(user=alice).key
    html = bob_client.get(PAGE).content.decode()
    assert "You have no API token." in html and key not in html
    bob_client.post(REGENERATE)
    bob_client.post(REVOKE)
    assert Token.objects.get(user=alice).key == key
    assert key not in bob_client.get(PAGE).content.decode()
