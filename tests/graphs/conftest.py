"""Fixtures for the platform tests: a team (alice admin, bob editor) and graphs."""

import pytest

from graphs import services
from graphs.models import Membership, Role


@pytest.fixture
def team(alice, bob):
    """The team "Vision Lab": alice is its admin, bob an editor; charlie is not in it."""
    team = services.create_team(alice, "Vision Lab")
    Membership.objects.create(team=team, user=bob, role=Role.EDITOR)
    return team


@pytest.fixture
def graph(alice, demo_graph):
    """alice's private graph holding the demo document as v1."""
    return services.create_graph(alice, name="Demo net", document=demo_graph, tags=["audio", "gru"])


@pytest.fixture
def team_graph(alice, team, demo_graph):
    """alice's graph shared with "Vision Lab" (visibility team)."""
    return services.create_graph(alice, name="Shared net", document=demo_graph, team=team, visibility="team")
