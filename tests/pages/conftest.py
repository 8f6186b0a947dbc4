"""Fixtures for the page tests: a team (alice admin, bob editor), graphs, and logged-in browser clients."""

import copy

import pytest
from django.test import Client
from library_blocks import relu_block

from graphs import services
from graphs.models import Role


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice) -> Client:
    return _browser(alice)


@pytest.fixture
def bob_client(bob) -> Client:
    return _browser(bob)


@pytest.fixture
def charlie_client(charlie) -> Client:
    return _browser(charlie)


@pytest.fixture
def team(alice, bob):
    """The team "Lab": alice is its admin, bob an editor (through an invitation, as in real life)."""
    lab = services.create_team(alice, "Lab")
    invitation = services.invite(lab, alice, Role.EDITOR)
    services.accept_invitation(invitation.token, bob)
    return lab


@pytest.fixture
def private_graph(alice, demo_graph):
    """alice's private graph: nobody else may see it."""
    return services.create_graph(alice, name="Secret CMI", document=demo_graph, tags=["sensors"])


@pytest.fixture
def team_graph(alice, team, demo_graph):
    """alice's graph shared with the team, with two versions: v2 widens the conv and the GRU."""
    graph = services.create_graph(
        alice, name="Shared CMI", document=demo_graph, team=team, visibility="team", tags=["sensors", "demo"]
    )
    changed = copy.deepcopy(demo_graph)
    changed["nodes"][1]["params"]["out_channels"] = 96
    changed["nodes"][4]["params"]["hidden_size"] = 256
    changed["nodes"].append({"id": "drop", "type": "Dropout", "params": {"p": 0.1}})
    changed["edges"] = [e for e in changed["edges"] if e != ["gru", "fc"]] + [["gru", "drop"], ["drop", "fc"]]
    services.save_version(graph, alice, changed, base=1, message="Wider conv and GRU")
    graph.refresh_from_db()
    return graph


@pytest.fixture
def broken_graph(alice, demo_graph):
    """A graph whose only version has an error (GRU fed channels-first): no code, diagnostics instead."""
    broken = copy.deepcopy(demo_graph)
    broken["nodes"] = [n for n in broken["nodes"] if n["id"] != "perm"]
    broken["edges"] = [["inp", "conv"], ["conv", "relu"], ["relu", "gru"], ["gru", "fc"]]
    broken["nodes"][0]["params"]["shape"] = [9, 256]
    return services.create_graph(alice, name="Broken", document=broken)


@pytest.fixture
def fast_hashing(settings):
    """MD5 password hashes: tests that log in with real passwords hash dozens of them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def team_block(alice, team):
    """A library block of the team: ReLU applied to its input."""
    return services.publish_composite(
        alice,
        name="Twice",
        team=team,
        definition=relu_block(),
    ).block
