"""Every page, partial and download, walked as each persona: nothing leaks, nothing is a 500.

Anonymous visitors and outsiders get 404 for a graph they may not see (its existence is not revealed;
pages that need an account send anonymous visitors to log in first); team viewers may look but not
change (403); editors change content; admins and the owner also manage visibility, team and deletion.
"""

import pytest
from django.test import Client

from graphs import services
from graphs.models import Role

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "outsider", "viewer", "editor", "admin", "owner"]
LOGIN = 302  # sent to the login page


@pytest.fixture
def world(alice, bob, charlie, django_user_model, team, team_graph, private_graph, team_block):
    vera = django_user_model.objects.create_user("vera")
    adam = django_user_model.objects.create_user("adam")
    for user, role in ((vera, Role.VIEWER), (adam, Role.ADMIN)):
        services.accept_invitation(services.invite(team, alice, role).token, user)
    block = team_block
    users = {"anonymous": None, "outsider": charlie, "viewer": vera, "editor": bob, "admin": adam, "owner": alice}
    return {"users": users, "graph": team_graph, "private": private_graph, "team": team, "block": block, "vera": vera}


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _expect(persona: str, *, anonymous, outsider, viewer, editor=None, admin=None, owner=None) -> int:
    editor = viewer if editor is None else editor
    admin = editor if admin is None else admin
    owner = admin if owner is None else owner
    return locals()[persona]


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_walk(persona, world):
    client = _client(world["users"][persona])
    g, p, team, block = world["graph"].pk, world["private"].pk, world["team"], world["block"]
    read = _expect(persona, anonymous=404, outsider=404, viewer=200)
    write_page = _expect(persona, anonymous=LOGIN, outsider=404, viewer=403, editor=200)
    member = _expect(persona, anonymous=LOGIN, outsider=404, viewer=200)
    owner_only = _expect(persona, anonymous=404, outsider=404, viewer=404, owner=200)
    gets = {
        f"/graphs/{g}/": read,
        f"/graphs/{g}/?page=2": read,
        f"/graphs/{g}/versions/1/": read,
        f"/graphs/{g}/diff/?from=1&to=2": read,
        f"/graphs/{g}/canvas/": read,
        f"/graphs/{g}/versions/2/download/json/": read,
        f"/graphs/{g}/versions/2/download/py/": read,
        f"/graphs/{g}/versions/2/download/zip/": read,
        f"/graphs/{g}/rename/": write_page,
        f"/graphs/{g}/settings/": write_page,
        f"/graphs/{p}/": owner_only,
        f"/graphs/{p}/versions/1/": owner_only,
        f"/graphs/{p}/diff/": owner_only,
        f"/graphs/{p}/versions/1/download/json/": owner_only,
        f"/graphs/{p}/versions/1/download/zip/": owner_only,
        f"/teams/{team.slug}/": member,
        f"/library/{block.pk}/": member,
    }
    for url, expected in gets.items():
        response = client.get(url)
        assert response.status_code == expected, (persona, url, response.status_code)
        if expected == 404:
            assert b"Secret CMI" not in response.content and b"Shared CMI" not in response.content
        htmx = client.get(url, HTTP_HX_REQUEST="true")
        assert htmx.status_code == expected, (persona, url, "htmx", htmx.status_code)

    # Lists never show what the persona may not see.
    listing = client.get("/graphs/?q=CMI").content.decode()
    assert ("Shared CMI" in listing) == (read == 200)
    assert ("Secret CMI" in listing) == (owner_only == 200)

    vera = world["vera"].pk
    team_admin = _expect(persona, anonymous=LOGIN, outsider=404, viewer=403, admin=302)
    posts = [
        (f"/graphs/{g}/rename/", {"name": "Shared CMI"}, write_page if write_page != 200 else 302),
        (
            f"/graphs/{g}/versions/1/restore/",
            {},
            _expect(persona, anonymous=LOGIN, outsider=404, viewer=403, editor=302),
        ),
        (f"/graphs/{g}/fork/", {}, _expect(persona, anonymous=LOGIN, outsider=404, viewer=302)),
        (f"/graphs/{p}/fork/", {}, _expect(persona, anonymous=LOGIN, outsider=404, viewer=404, owner=302)),
        (f"/teams/{team.slug}/members/{vera}/role/", {"role": "viewer"}, team_admin),
        (f"/teams/{team.slug}/invitations/", {"role": "viewer"}, team_admin),
        (f"/graphs/{p}/delete/", {}, _expect(persona, anonymous=LOGIN, outsider=404, viewer=404, owner=302)),
        (f"/graphs/{g}/delete/", {}, _expect(persona, anonymous=LOGIN, outsider=404, viewer=403, admin=302)),
    ]
    for url, data, expected in posts:
        response = client.post(url, data)
        assert response.status_code == expected, (persona, url, response.status_code)


@pytest.mark.parametrize(
    "url",
    [
        "/dashboard/",
        "/teams/",
        "/library/",
        "/library/publish/",
        "/graphs/new/",
        "/graphs/import/",
        "/accounts/password/",
    ],
)
def test_pages_that_need_an_account_send_visitors_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(f"/accounts/login/?next={url}")


@pytest.mark.parametrize("url", ["/", "/graphs/", "/templates/", "/accounts/login/", "/accounts/signup/"])
def test_public_pages_open_for_everyone(client, url):
    assert client.get(url).status_code == 200


def test_get_on_a_post_only_action_is_refused_not_crashed(alice_client, team_graph):
    for url in (f"/graphs/{team_graph.pk}/delete/", "/teams/lab/leave/"):
        assert alice_client.get(url).status_code == 405
