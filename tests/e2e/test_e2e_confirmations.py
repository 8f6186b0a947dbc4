"""In a real browser: the pages' irreversible buttons (delete a graph, delete a library block, leave a team)
ask first. Dismissing the question changes nothing; accepting it does the deed and loads the next page with
its message. ``hx-confirm`` only guards requests htmx sends, which a unit test cannot see.
"""

from __future__ import annotations

import pytest
from e2e_helpers import api, graph_from_template

pytestmark = pytest.mark.e2e

BLOCK = {
    "nodes": [{"id": "in", "type": "Input"}, {"id": "act", "type": "ReLU"}],
    "edges": [["in", "act"]],
    "inputs": ["in"],
    "outputs": ["act"],
}


def answer_then_click(page, button, *, accept: bool) -> str:
    """Click ``button``, answer the confirmation dialog, and return the question it asked."""
    questions = []

    def reply(dialog):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", reply)
    button.click()
    if not accept:
        page.wait_for_timeout(500)  # time for a wrongly unguarded form to post and navigate
    return questions[0] if questions else ""


def asks_first(page, site, *, button: str, question: str, resource: str, then: str, message: str) -> None:
    """On the current page: ``button`` asks ``question``; "no" leaves the page and the API ``resource``
    alone; "yes" loads ``then`` saying ``message``, and ``resource`` is gone."""
    where = page.url
    clicked = page.get_by_role("button", name=button)
    assert question in answer_then_click(page, clicked, accept=False)
    assert page.url == where and api(page, "GET", resource)["status"] == 200

    answer_then_click(page, clicked, accept=True)
    page.wait_for_url(site.url(then))
    assert message in page.locator(".messages").inner_text()
    assert api(page, "GET", resource)["status"] == 404


def test_deleting_a_graph_asks_first(login, site):
    alice = login("alice")
    graph_id = graph_from_template(alice, site, "hybridcmi")
    alice.goto(site.url(f"/graphs/{graph_id}/settings/"))
    asks_first(
        alice,
        site,
        button="Delete graph",
        question="its whole history",
        resource=f"/api/graphs/{graph_id}/",
        then="/graphs/",
        message="and its history",
    )


def test_deleting_a_library_block_asks_first(login, site):
    alice = login("alice")
    published = api(alice, "POST", "/api/composites/", {"name": "E2eAct", "definition": BLOCK})
    assert published["status"] == 201, published
    block = published["json"]["block"]
    alice.goto(site.url(f"/library/{block}/"))
    asks_first(
        alice,
        site,
        button="Delete block",
        question="keep their embedded copies",
        resource=f"/api/composites/{block}/",
        then="/library/",
        message="Deleted the block “E2eAct”",
    )


def test_leaving_a_team_asks_first(login, site):
    alice, bob = login("alice"), login("bob")
    team = api(alice, "POST", "/api/teams/", {"name": "Confirm lab"})["json"]
    invitation = api(alice, "POST", f"/api/teams/{team['slug']}/invitations/", {"role": "viewer"})["json"]
    assert api(bob, "POST", f"/api/invitations/{invitation['token']}/accept/")["status"] == 200
    bob.goto(site.url(f"/teams/{team['slug']}/"))
    asks_first(
        bob,
        site,
        button="Leave team",
        question="You lose access",
        resource=f"/api/teams/{team['slug']}/",
        then="/teams/",
        message="You left Confirm lab",
    )
