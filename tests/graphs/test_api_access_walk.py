"""Every API URL of a team graph, walked by six personas; each answer checked against one table.

alice owns the graph (and is a team editor); erin administers the team; bob edits, dave views;
charlie is an outsider; and an anonymous visitor. Something you may not see is a 404, something you
may see but not change a 403, and an anonymous write a 401 (log in first).
"""

import pytest
from platform_helpers import edited
from rest_framework.test import APIClient

from graphs import services
from graphs.models import Membership, Role

PERSONAS = ["anonymous", "charlie", "dave", "bob", "erin", "alice"]


def row(anonymous, outsider, viewer, editor, admin, owner) -> dict:
    return dict(zip(PERSONAS, (anonymous, outsider, viewer, editor, admin, owner)))


READ = row(404, 404, 200, 200, 200, 200)
CASES = {
    "detail": ("get", "/api/graphs/{id}/", None, READ),
    "history": ("get", "/api/graphs/{id}/versions/", None, READ),
    "version": ("get", "/api/graphs/{id}/versions/1/", None, READ),
    "export json": ("get", "/api/graphs/{id}/versions/1/export/?format=json", None, READ),
    "export py": ("get", "/api/graphs/{id}/versions/1/export/?format=py", None, READ),
    "export zip": ("get", "/api/graphs/{id}/versions/2/export/?format=zip", None, READ),
    "summary json": ("get", "/api/graphs/{id}/versions/1/summary/", None, READ),
    "summary csv": ("get", "/api/graphs/{id}/versions/2/summary/?format=csv", None, READ),
    "diff": ("get", "/api/graphs/{id}/diff/?from=1&to=2&source=1", None, READ),
    "save": ("post", "/api/graphs/{id}/versions/", "save", row(401, 404, 403, 201, 201, 201)),
    "restore": ("post", "/api/graphs/{id}/restore/", {"version": 1}, row(401, 404, 403, 201, 201, 201)),
    "fork": ("post", "/api/graphs/{id}/fork/", {}, row(401, 404, 201, 201, 201, 201)),
    "rename": ("patch", "/api/graphs/{id}/", {"name": "Renamed"}, row(401, 404, 403, 200, 200, 200)),
    "publish": ("patch", "/api/graphs/{id}/", {"visibility": "public"}, row(401, 404, 403, 403, 200, 200)),
    "delete": ("delete", "/api/graphs/{id}/", None, row(401, 404, 403, 403, 204, 204)),
    "team": ("get", "/api/teams/walk/", None, row(401, 404, 200, 200, 200, 200)),
    "members": ("get", "/api/teams/walk/members/", None, row(401, 404, 200, 200, 200, 200)),
    "invitations": ("get", "/api/teams/walk/invitations/", None, row(401, 404, 403, 403, 200, 403)),
    "invite": ("post", "/api/teams/walk/invitations/", {"role": "viewer"}, row(401, 404, 403, 403, 201, 403)),
    "set role": ("patch", "/api/teams/walk/members/dave/", {"role": "editor"}, row(401, 404, 403, 403, 200, 403)),
    "remove": ("delete", "/api/teams/walk/members/bob/", None, row(401, 404, 403, 204, 204, 403)),
}


@pytest.fixture
def world(alice, bob, charlie, django_user_model, demo_graph):
    erin = django_user_model.objects.create_user("erin")
    dave = django_user_model.objects.create_user("dave")
    team = services.create_team(erin, "Walk")
    for user, role in ((alice, Role.EDITOR), (bob, Role.EDITOR), (dave, Role.VIEWER)):
        Membership.objects.create(team=team, user=user, role=role)
    graph = services.create_graph(alice, name="Walked", document=demo_graph, team=team, visibility="team")
    services.save_version(graph, alice, edited(demo_graph, 10), base=1)
    users = {"alice": alice, "bob": bob, "charlie": charlie, "dave": dave, "erin": erin}
    return graph, users


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_persona_gets_the_expected_answer(world, demo_graph, case, persona):
    graph, users = world
    method, url, body, expected = CASES[case]
    if body == "save":
        body = {"document": edited(demo_graph, 12), "base": 2}
    client = APIClient()
    if persona != "anonymous":
        client.force_authenticate(users[persona])
    response = getattr(client, method)(url.format(id=graph.pk), body, format="json")
    assert response.status_code == expected[persona], response.content[:200]


@pytest.mark.parametrize("persona", PERSONAS)
def test_lists_and_search_show_the_graph_exactly_to_those_who_may_read_it(world, persona):
    graph, users = world
    client = APIClient()
    if persona != "anonymous":
        client.force_authenticate(users[persona])
    listed = [g["id"] for g in client.get("/api/graphs/", {"q": "Walk"}).json()["results"]]
    assert (graph.pk in listed) == (READ[persona] == 200)
