"""Fixtures of the run tests: graphs to run, runs in each state, and the embedded mode pinned.

The suite may run where ``REDIS_URL`` is set (CI, for the stack tests): these tests pin the embedded mode
and never send a message to a real broker.
"""

import pytest
from run_helpers import RESIDUAL, document
from smoke_fixtures import TINY

from graphs import services
from graphs.models import Role
from training.dispatch import embedded_worker
from training.models import Run, Status


@pytest.fixture(autouse=True)
def _embedded_mode(settings):
    settings.TORCHCANVAS_RUN_MODE = "embedded"
    settings.TORCHCANVAS_RUNS = {**settings.TORCHCANVAS_RUNS}  # tests may change a value for themselves


@pytest.fixture
def lab(alice, bob):
    """alice's team "Lab", where bob is a viewer; charlie is not in it."""
    team = services.create_team(alice, "Lab")
    services.accept_invitation(services.invite(team, alice, Role.VIEWER).token, bob)
    return team


@pytest.fixture
def tiny_graph(alice, lab):
    """alice's graph shared with "Lab": Input(4) → Linear(5), as v1."""
    return services.create_graph(alice, name="Tiny", document=document(TINY), team=lab, visibility="team")


@pytest.fixture
def residual(alice, lab):
    """alice's graph shared with "Lab" (bob views it), for ablations: see ``run_helpers.RESIDUAL``."""
    return services.create_graph(alice, name="Residual", document=document(RESIDUAL), team=lab, visibility="team")


@pytest.fixture
def private_graph(alice):
    return services.create_graph(alice, name="Secret", document=document(TINY))


@pytest.fixture
def make_run(alice, tiny_graph):
    """A run of the tiny graph's head in any state, without dispatching it."""

    def make(status=Status.QUEUED, user=None, version=None, config=None, **fields):
        return Run.objects.create(
            version=version or tiny_graph.head,
            user=user or alice,
            config={"steps": 3, "batch_size": 4, **(config or {})},
            status=status,
            queue=fields.pop("queue", "embedded"),
            **fields,
        )

    return make


@pytest.fixture
def embedded():
    """The in-process worker, stopped when the test ends (its thread must not outlive the test database)."""
    yield embedded_worker
    embedded_worker.stop()
