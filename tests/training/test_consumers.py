"""The WebSocket streams, through the real ASGI application (origin check, session auth, routing).

``/ws/runs/<id>/``: history first, then live events, each sequence number once; refused (closed before
accept) for outsiders, anonymous visitors, foreign origins and runs that do not exist.
``/ws/runs/``: live summaries of the runs on graphs the user owns or shares through a team, and of the
runs the user queued, each once; access is checked again at most every ``ACCESS_RECHECK_S`` seconds
(without a query per event), and a stranger's public graph is not streamed.
"""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from sockets import communicator

from graphs import services
from graphs.models import Role
from training import consumers
from training.events import publish_event as publish
from training.events import run_summary
from training.models import Run

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 3


@pytest.fixture
def team_graph(alice, bob, demo_graph):
    """alice's graph, shared with her team where bob is a viewer."""
    team = services.create_team(alice, "Lab")
    services.accept_invitation(services.invite(team, alice, Role.VIEWER).token, bob)
    return services.create_graph(alice, name="Shared CMI", document=demo_graph, team=team, visibility="team")


@pytest.fixture
def run(alice, team_graph):
    return Run.objects.create(version=team_graph.head, user=alice, config={"steps": 3, "batch_size": 4})


class Clock:
    """The consumers' clock, moved by hand (the event loop keeps the real one)."""

    now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(consumers, "time", fake)
    return fake


def progress(step: int, loss: float) -> dict:
    return {"step": step, "total": 3, "epoch": 1, "loss": loss, "samples_per_s": 100.0, "elapsed_s": 0.1 * step}


def test_the_owner_gets_the_history_then_live_events_in_order_each_once(alice, run):
    publish(run, "status", {"status": "queued"})
    publish(run, "status", {"status": "running"})
    third = publish(run, "progress", progress(1, 2.5))

    ws = communicator(f"/ws/runs/{run.pk}/", alice)

    async def scenario():
        connected, _ = await ws.connect()
        assert connected
        history = [await ws.receive_json_from(TIMEOUT) for _ in range(3)]
        assert [m["seq"] for m in history] == [1, 2, 3]
        assert history[0] == {"type": "status", "seq": 1, "status": "queued"}
        assert history[2]["type"] == "progress" and history[2]["loss"] == 2.5

        # An event persisted while the history was being read arrives live too: it is dropped.
        await get_channel_layer().group_send(run.group_name, {"type": "run.event", "event": third.message()})
        await database_sync_to_async(publish)(run, "progress", progress(2, 1.5))
        await database_sync_to_async(publish)(run, "progress", progress(3, 0.9))
        await database_sync_to_async(publish)(run, "done", {"metrics": {"loss": 0.9}})
        await database_sync_to_async(publish)(run, "status", {"status": "succeeded"})
        live = [await ws.receive_json_from(TIMEOUT) for _ in range(4)]
        assert [m["seq"] for m in live] == [4, 5, 6, 7]
        assert [m["type"] for m in live] == ["progress", "progress", "done", "status"]
        assert live[2]["metrics"] == {"loss": 0.9}
        assert await ws.receive_nothing(0.2)
        await ws.disconnect()

    async_to_sync(scenario)()


def test_a_late_subscriber_gets_the_whole_history_of_a_finished_run(alice, run):
    publish(run, "status", {"status": "running"})
    for step in (1, 2, 3):
        publish(run, "progress", progress(step, 3.0 / step))
    publish(run, "error", {"message": "loss became NaN at step 4"})
    publish(run, "status", {"status": "failed"})

    ws = communicator(f"/ws/runs/{run.pk}/", alice)

    async def scenario():
        assert (await ws.connect())[0]
        messages = [await ws.receive_json_from(TIMEOUT) for _ in range(6)]
        assert [m["type"] for m in messages] == ["status", "progress", "progress", "progress", "error", "status"]
        assert messages[4]["message"] == "loss became NaN at step 4"
        assert await ws.receive_nothing(0.2)
        await ws.disconnect()

    async_to_sync(scenario)()


def test_a_team_member_who_can_view_the_graph_may_subscribe(bob, run):
    publish(run, "status", {"status": "queued"})

    ws = communicator(f"/ws/runs/{run.pk}/", bob)

    async def scenario():
        assert (await ws.connect())[0]
        assert (await ws.receive_json_from(TIMEOUT))["status"] == "queued"
        await ws.disconnect()

    async_to_sync(scenario)()


def test_a_member_removed_from_the_team_stops_receiving_live_events(alice, bob, run, team_graph, monkeypatch):
    monkeypatch.setattr(consumers, "ACCESS_RECHECK_S", 0.0)  # re-check on every event
    ws = communicator(f"/ws/runs/{run.pk}/", bob)

    async def scenario():
        assert (await ws.connect())[0]
        await database_sync_to_async(publish)(run, "progress", progress(1, 2.0))
        assert (await ws.receive_json_from(TIMEOUT))["step"] == 1
        await database_sync_to_async(services.remove_member)(team_graph.team, alice, bob)
        await database_sync_to_async(publish)(run, "progress", progress(2, 1.5))
        closed = await ws.receive_output(TIMEOUT)
        assert closed == {"type": "websocket.close", "code": consumers.ACCESS_REVOKED}
        await ws.disconnect()

    async_to_sync(scenario)()


@pytest.mark.parametrize("who", ["charlie", "anonymous"])
def test_an_outsider_or_an_anonymous_visitor_is_refused(who, charlie, run):
    publish(run, "status", {"status": "queued"})
    ws = communicator(f"/ws/runs/{run.pk}/", charlie if who == "charlie" else None)

    async def scenario():
        connected, _ = await ws.connect()
        assert not connected
        await ws.disconnect()

    async_to_sync(scenario)()


def test_a_foreign_origin_is_refused_even_for_the_owner(alice, run):
    clients = [
        communicator(path, alice, origin="https://evil.example") for path in (f"/ws/runs/{run.pk}/", "/ws/runs/")
    ]

    async def scenario():
        for ws in clients:
            connected, _ = await ws.connect()
            assert not connected
            await ws.disconnect()

    async_to_sync(scenario)()


def test_a_run_that_does_not_exist_is_refused_like_a_hidden_one(alice, run):
    ws = communicator(f"/ws/runs/{run.pk + 1000}/", alice)

    async def scenario():
        assert not (await ws.connect())[0]
        await ws.disconnect()

    async_to_sync(scenario)()


def test_what_a_client_sends_is_ignored(alice, run):
    ws = communicator(f"/ws/runs/{run.pk}/", alice)

    async def scenario():
        assert (await ws.connect())[0]
        await ws.send_to(text_data="not json at all")
        await ws.send_json_to({"type": "progress", "seq": 99})
        assert await ws.receive_nothing(0.2)
        await database_sync_to_async(publish)(run, "status", {"status": "running"})
        assert (await ws.receive_json_from(TIMEOUT))["seq"] == 1  # still connected and listening
        await ws.disconnect()

    async_to_sync(scenario)()


async def connect_all(*sockets: WebsocketCommunicator) -> None:
    for ws in sockets:
        assert (await ws.connect())[0]


async def disconnect_all(*sockets: WebsocketCommunicator) -> None:
    for ws in sockets:
        await ws.disconnect()


async def received_run(ws: WebsocketCommunicator) -> dict:
    message = await ws.receive_json_from(TIMEOUT)
    assert message["type"] == "run"
    return message["run"]


def test_a_teammate_gets_the_summaries_of_a_run_on_a_team_graph_and_an_outsider_nothing(bob, charlie, run):
    teammate, outsider = communicator("/ws/runs/", bob), communicator("/ws/runs/", charlie)

    async def scenario():
        await connect_all(teammate, outsider)
        await database_sync_to_async(publish)(run, "status", {"status": "running"})
        await database_sync_to_async(publish)(run, "progress", progress(1, 2.5))
        assert await teammate.receive_json_from(TIMEOUT) == {
            "type": "run",
            "run": {
                "id": run.pk,
                "name": run.name,
                "status": "running",
                "graph": {"id": run.version.graph_id, "name": "Shared CMI"},
                "version": 1,
                "step": 0,
                "total": 3,
                "loss": None,
            },
        }
        assert (await received_run(teammate))["step"] == 1
        assert await outsider.receive_nothing(0.2)
        await disconnect_all(teammate, outsider)

    async_to_sync(scenario)()


def test_a_run_on_a_public_graph_reaches_its_owner_and_its_user_but_no_stranger(alice, bob, charlie, demo_graph):
    graph = services.create_graph(alice, name="Open", document=demo_graph, visibility="public")
    run = Run.objects.create(version=graph.head, user=bob, config={"steps": 3})
    owner, user, stranger = (communicator("/ws/runs/", who) for who in (alice, bob, charlie))

    async def scenario():
        await connect_all(owner, user, stranger)
        await database_sync_to_async(publish)(run, "status", {"status": "queued"})
        assert (await received_run(owner))["id"] == run.pk
        assert (await received_run(user))["id"] == run.pk
        assert await stranger.receive_nothing(0.2)  # charlie may see the run, but finds it on reload
        await disconnect_all(owner, user, stranger)

    async_to_sync(scenario)()


def test_a_user_reached_through_two_groups_gets_each_summary_once(alice, run):
    ws = communicator("/ws/runs/", alice)  # the run's user and owner, and a member of the graph's team

    async def scenario():
        await connect_all(ws)
        await database_sync_to_async(publish)(run, "progress", progress(1, 2.5))
        await database_sync_to_async(publish)(run, "progress", progress(2, 1.5))
        assert [(await received_run(ws))["step"] for _ in range(2)] == [1, 2]
        assert await ws.receive_nothing(0.2)
        await disconnect_all(ws)

    async_to_sync(scenario)()


def test_the_stream_remembers_the_last_summary_of_a_bounded_number_of_runs(alice, run, team_graph, monkeypatch):
    monkeypatch.setattr(consumers, "REMEMBERED_RUNS", 1)
    other = Run.objects.create(version=team_graph.head, user=alice, config={"steps": 3})
    first, second = run_summary(run), run_summary(other)
    ws = communicator("/ws/runs/", alice)

    async def scenario():
        await connect_all(ws)
        for summary in (first, first, second, first):  # the second `first` is a copy; the last, forgotten
            await get_channel_layer().group_send(f"user.{alice.pk}", {"type": "user.run", "run": summary})
        assert [(await received_run(ws))["id"] for _ in range(3)] == [run.pk, other.pk, run.pk]
        assert await ws.receive_nothing(0.2)
        await disconnect_all(ws)

    async_to_sync(scenario)()


def test_a_member_removed_from_the_team_stops_getting_summaries_within_the_recheck_window(
    alice, bob, run, team_graph, demo_graph, clock
):
    own = Run.objects.create(
        version=services.create_graph(bob, name="Mine", document=demo_graph).head, user=bob, config={"steps": 3}
    )
    ws = communicator("/ws/runs/", bob)

    async def scenario():
        await connect_all(ws)
        await database_sync_to_async(publish)(run, "progress", progress(1, 2.5))
        assert (await received_run(ws))["step"] == 1
        await database_sync_to_async(services.remove_member)(team_graph.team, alice, bob)
        await database_sync_to_async(publish)(run, "progress", progress(2, 1.5))
        assert (await received_run(ws))["step"] == 2  # the answer of one check holds for the window
        clock.now += consumers.ACCESS_RECHECK_S
        await database_sync_to_async(publish)(run, "progress", progress(3, 0.9))
        assert await ws.receive_nothing(0.2)
        await database_sync_to_async(publish)(own, "status", {"status": "running"})
        assert (await received_run(ws))["id"] == own.pk  # dropped, not closed: bob's own runs still come
        await disconnect_all(ws)

    async_to_sync(scenario)()


def test_a_graph_turned_private_stops_reaching_the_team(alice, bob, run, team_graph):
    owner, teammate = communicator("/ws/runs/", alice), communicator("/ws/runs/", bob)

    async def scenario():
        await connect_all(owner, teammate)
        await database_sync_to_async(services.update_graph)(team_graph, alice, visibility="private")
        await database_sync_to_async(publish)(run, "status", {"status": "running"})
        assert (await received_run(owner))["status"] == "running"
        assert await teammate.receive_nothing(0.2)
        await disconnect_all(owner, teammate)

    async_to_sync(scenario)()


def test_access_is_checked_once_per_graph_and_window_not_per_event(bob, run, clock, monkeypatch):
    checks = []  # the graphs whose access was read from the database
    check = consumers._may_see_graph

    async def counted(user, graph_id):
        checks.append(graph_id)
        return await check(user, graph_id)

    monkeypatch.setattr(consumers, "_may_see_graph", counted)
    team = f"team.{run.version.graph.team_id}"
    summaries = [{**run_summary(run), "step": step} for step in range(1, 6)]
    ws = communicator("/ws/runs/", bob)

    async def burst():
        for summary in summaries:
            await get_channel_layer().group_send(team, {"type": "user.run", "run": summary})
        assert [(await received_run(ws))["step"] for _ in summaries] == [1, 2, 3, 4, 5]

    async def scenario():
        await connect_all(ws)
        await burst()
        assert checks == [run.version.graph_id]
        clock.now += consumers.ACCESS_RECHECK_S
        await burst()
        assert checks == [run.version.graph_id] * 2  # checked again once the window is over
        await disconnect_all(ws)

    async_to_sync(scenario)()


def test_the_per_user_stream_refuses_anonymous_visitors():
    ws = communicator("/ws/runs/")

    async def scenario():
        assert not (await ws.connect())[0]
        await ws.disconnect()

    async_to_sync(scenario)()
