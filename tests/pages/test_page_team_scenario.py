"""Issue 3's story end to end, as two people would live it, through the real pages and API.

A new user signs up and creates a team, invites a second user who signs up and accepts; both edit a
team graph (API and pages); a stale save is refused with 409 and nothing is lost; the diff page shows
the change; a fork and a restore work; a block one of them publishes is used by the other.
"""

from __future__ import annotations

import copy
import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from graphs.models import Graph, Invitation

pytestmark = pytest.mark.django_db

DOCUMENT = {
    "version": "0.2",
    "metadata": {"name": "shared"},
    "nodes": [
        {"id": "inp", "type": "Input", "params": {"shape": [3, 16, 16]}},
        {"id": "conv", "type": "Conv2d", "params": {"out_channels": 8}},
        {"id": "gap", "type": "GlobalAvgPool", "params": {}},
        {"id": "fc", "type": "Linear", "params": {"out_features": 4}},
    ],
    "edges": [["inp", "conv"], ["conv", "gap"], ["gap", "fc"]],
    "inputs": ["inp"],
    "outputs": ["fc"],
}

BLOCK = {
    "params": [{"name": "c", "type": "int", "default": 8, "min": 1}],
    "nodes": [
        {"id": "in", "type": "Input"},
        {"id": "conv", "type": "Conv2d", "params": {"out_channels": "$c", "padding": 1}},
        {"id": "act", "type": "ReLU"},
    ],
    "edges": [["in", "conv"], ["conv", "act"]],
    "inputs": ["in"],
    "outputs": ["act"],
}


def sign_up(username: str) -> Client:
    browser = Client()
    answer = browser.post(
        "/accounts/signup/",
        {"username": username, "password1": "a-long-passphrase-42", "password2": "a-long-passphrase-42"},
    )
    assert answer.status_code == 302, answer.content[:500]
    return browser


def api_for(username: str) -> APIClient:
    client = APIClient()
    answer = client.post("/api/auth/token/", {"username": username, "password": "a-long-passphrase-42"}, format="json")
    assert answer.status_code == 200, answer.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    return client


def test_two_new_users_share_a_graph_and_a_block_from_sign_up_to_restore():
    # Dana signs up and creates a team; the invitation link is shown to her.
    dana = sign_up("dana")
    assert dana.post("/teams/", {"name": "Vision Lab"}).status_code == 302
    team_page = dana.get("/teams/vision-lab/")
    assert team_page.status_code == 200
    assert dana.post("/teams/vision-lab/invitations/", {"role": "editor"}).status_code == 302
    invitation = Invitation.objects.get(team__slug="vision-lab")
    assert f"/invite/{invitation.token}/" in dana.get("/teams/vision-lab/").content.decode()

    # Eli signs up and accepts.
    eli = sign_up("eli")
    assert eli.post(f"/invite/{invitation.token}/").status_code == 302
    assert "eli" in dana.get("/teams/vision-lab/").content.decode()

    # Dana creates a team graph through the API; Eli sees it on his dashboard.
    dana_api, eli_api = api_for("dana"), api_for("eli")
    created = dana_api.post(
        "/api/graphs/",
        {"name": "Shared net", "team": "vision-lab", "visibility": "team", "document": DOCUMENT},
        format="json",
    )
    assert created.status_code == 201, created.content
    graph_id = created.json()["id"]
    assert "Shared net" in eli.get("/dashboard/").content.decode()

    # Both edit from version 1: Eli saves first, Dana's save is stale and gets 409 with the head and a diff.
    eli_doc = copy.deepcopy(DOCUMENT)
    eli_doc["nodes"][1]["params"]["out_channels"] = 16
    saved = eli_api.post(
        f"/api/graphs/{graph_id}/versions/", {"document": eli_doc, "base": 1, "message": "wider"}, format="json"
    )
    assert saved.status_code == 201, saved.content
    dana_doc = copy.deepcopy(DOCUMENT)
    dana_doc["nodes"][3]["params"]["out_features"] = 10
    stale = dana_api.post(
        f"/api/graphs/{graph_id}/versions/", {"document": dana_doc, "base": 1, "message": "10 classes"}, format="json"
    )
    assert stale.status_code == 409
    assert stale.json()["head"]["number"] == 2
    assert "conv" in str(stale.json()["diff"])
    graph = Graph.objects.get(pk=graph_id)
    assert graph.head.number == 2 and graph.head.document["nodes"][1]["params"]["out_channels"] == 16

    # Dana rebases on the head and saves; nothing of Eli's is lost.
    dana_doc["nodes"][1]["params"]["out_channels"] = 16
    rebased = dana_api.post(
        f"/api/graphs/{graph_id}/versions/", {"document": dana_doc, "base": 2, "message": "10 classes"}, format="json"
    )
    assert rebased.status_code == 201

    # The diff page shows what changed between versions 1 and 3.
    diff_page = eli.get(f"/graphs/{graph_id}/diff/?from=1&to=3").content.decode()
    assert "out_channels" in diff_page and "out_features" in diff_page
    assert re.search(r"8\D+16", diff_page)

    # Eli renames the graph through the page; Dana restores version 1; Eli forks into his own space.
    assert eli.post(f"/graphs/{graph_id}/rename/", {"name": "Shared net v2"}).status_code in (200, 302)
    assert dana.post(f"/graphs/{graph_id}/versions/1/restore/", {"message": "back to 8"}).status_code == 302
    graph.refresh_from_db()
    assert graph.name == "Shared net v2"
    assert graph.head.number == 4 and graph.head.document == graph.versions.get(number=1).document
    forked = eli.post(f"/graphs/{graph_id}/fork/", {"name": "Eli's copy"})
    assert forked.status_code == 302
    fork = Graph.objects.get(name="Eli's copy")
    assert fork.owner.username == "eli" and fork.forked_from.graph_id == graph_id

    # Dana publishes a block to the team library; Eli uses it in the shared graph.
    published = dana_api.post(
        "/api/composites/", {"name": "ConvAct", "definition": BLOCK, "team": "vision-lab"}, format="json"
    )
    assert published.status_code == 201, published.content
    listed = eli_api.get("/api/composites/?q=ConvAct").json()["results"]
    assert [block["name"] for block in listed] == ["ConvAct"]
    with_block = copy.deepcopy(graph.head.document)
    with_block["metadata"]["library"] = {"ConvAct": published.json()["reference"]}
    with_block["nodes"].insert(2, {"id": "blk", "type": "ConvAct", "params": {"c": 12}})
    with_block["edges"] = [["inp", "conv"], ["conv", "blk"], ["blk", "gap"], ["gap", "fc"]]
    used = eli_api.post(
        f"/api/graphs/{graph_id}/versions/",
        {"document": with_block, "base": 4, "message": "add ConvAct"},
        format="json",
    )
    assert used.status_code == 201, used.content
    head = Graph.objects.get(pk=graph_id).head
    assert head.valid and head.document["composites"]["ConvAct"]["nodes"][1]["params"]["out_channels"] == "$c"
    source = eli_api.get(f"/api/graphs/{graph_id}/versions/{head.number}/export/?format=py")
    assert source.status_code == 200
    assert b"class ConvAct(nn.Module):" in source.content
