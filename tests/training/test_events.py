"""Events: stored with consecutive sequence numbers (also under concurrent writers), then sent to the run's
group and the summary to its user's, its graph owner's and its team's groups once committed, in the message
shapes of ARCHITECTURE.md."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from run_helpers import document
from smoke_fixtures import TINY

from graphs import services
from graphs.models import Graph
from training import dispatch
from training.events import publish_event, run_summary, team_group, user_group
from training.models import RunEvent, Status

pytestmark = pytest.mark.django_db


def listen(*groups: str) -> str:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    for group in groups:
        async_to_sync(layer.group_add)(group, channel)
    return channel


def received(channel: str) -> dict:
    async def receive():
        return await asyncio.wait_for(get_channel_layer().receive(channel), 2)

    return async_to_sync(receive)()


def silent(channel: str) -> bool:
    async def receive():
        try:
            await asyncio.wait_for(get_channel_layer().receive(channel), 0.1)
        except TimeoutError:
            return True
        return False

    return async_to_sync(receive)()


def test_events_get_consecutive_sequence_numbers_and_the_protocol_shapes(make_run):
    run = make_run()
    events = [
        publish_event(run, "status", {"status": "running"}),
        publish_event(
            run, "progress", {"step": 1, "total": 3, "epoch": 1, "loss": 2.5, "samples_per_s": 10.0, "elapsed_s": 0.1}
        ),
        publish_event(run, "done", {"metrics": {"loss": 2.0}}),
        publish_event(run, "error", {"message": "loss became NaN at step 12"}),
    ]
    assert [event.seq for event in events] == [1, 2, 3, 4]
    assert [event.message() for event in events] == [
        {"type": "status", "seq": 1, "status": "running"},
        {
            "type": "progress",
            "seq": 2,
            "step": 1,
            "total": 3,
            "epoch": 1,
            "loss": 2.5,
            "samples_per_s": 10.0,
            "elapsed_s": 0.1,
        },
        {"type": "done", "seq": 3, "metrics": {"loss": 2.0}},
        {"type": "error", "seq": 4, "message": "loss became NaN at step 12"},
    ]
    with pytest.raises(ValueError):
        publish_event(run, "chatter", {})


def test_an_event_goes_to_the_run_group_and_the_user_group_after_commit(
    make_run, alice, tiny_graph, django_capture_on_commit_callbacks
):
    run = make_run(name="baseline")
    channel = listen(run.group_name, f"user.{alice.pk}")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event = publish_event(
            run, "progress", {"step": 2, "total": 3, "epoch": 1, "loss": 1.5, "samples_per_s": 1.0, "elapsed_s": 1.0}
        )
    for callback in callbacks:  # committed
        callback()
    assert received(channel) == {"type": "run.event", "event": event.message()}
    assert received(channel) == {
        "type": "user.run",
        "run": {
            "id": run.pk,
            "name": "baseline",
            "status": "queued",
            "graph": {"id": tiny_graph.pk, "name": "Tiny"},
            "version": 1,
            "step": 2,
            "total": 3,
            "loss": 1.5,
        },
    }


def test_a_summary_goes_to_the_runs_user_the_graphs_owner_and_its_team(
    make_run, alice, bob, lab, django_capture_on_commit_callbacks
):
    run = make_run(user=bob)  # on alice's graph shared with "Lab"
    channels = [listen(group) for group in (user_group(bob.pk), user_group(alice.pk), team_group(lab.pk))]
    with django_capture_on_commit_callbacks(execute=True):
        publish_event(run, "status", {"status": "running"})
    for channel in channels:
        message = received(channel)
        assert (message["type"], message["run"]["id"], message["run"]["status"]) == ("user.run", run.pk, "running")
        assert silent(channel)  # once per group


def test_a_run_on_a_public_graph_without_a_team_reaches_its_owner_but_no_stranger(
    alice, bob, charlie, make_run, django_capture_on_commit_callbacks
):
    graph = services.create_graph(alice, name="Open", document=document(TINY), visibility="public")
    run = make_run(user=bob, version=graph.head)
    owner, stranger = listen(user_group(alice.pk)), listen(user_group(charlie.pk))
    with django_capture_on_commit_callbacks(execute=True):
        publish_event(run, "status", {"status": "running"})
    assert received(owner)["run"]["id"] == run.pk
    assert silent(stranger)


def test_the_groups_are_read_from_the_graph_when_publishing(
    make_run, alice, lab, tiny_graph, django_capture_on_commit_callbacks
):
    run = make_run()
    assert run.version.graph.visibility == "team"  # loaded, as a worker holds it while training
    Graph.objects.filter(pk=tiny_graph.pk).update(visibility="private")
    team, owner = listen(team_group(lab.pk)), listen(user_group(alice.pk))
    with django_capture_on_commit_callbacks(execute=True):
        publish_event(run, "status", {"status": "running"})
    assert received(owner)["run"]["status"] == "running"
    assert silent(team)


def test_the_user_summary_of_a_status_change_carries_the_new_status_and_the_latest_progress(make_run):
    run = make_run()
    publish_event(
        run, "progress", {"step": 2, "total": 3, "epoch": 1, "loss": 1.5, "samples_per_s": 1.0, "elapsed_s": 1.0}
    )
    summary = run_summary(run, status=Status.RUNNING)
    assert (summary["status"], summary["step"], summary["total"], summary["loss"]) == ("running", 2, 3, 1.5)
    fresh = make_run()
    assert run_summary(fresh)["step"] == 0 and run_summary(fresh)["total"] == 3 and run_summary(fresh)["loss"] is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_share_a_sequence_number(make_run):
    run = make_run()
    errors = []

    def write(n):
        try:
            for i in range(5):
                publish_event(run, "progress", {"step": n * 10 + i})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(RunEvent.objects.filter(run=run).values_list("seq", flat=True)) == list(range(1, 31))


@pytest.mark.django_db(transaction=True)
def test_the_embedded_worker_publishes_into_the_servers_event_loop(make_run, monkeypatch):
    """The in-memory channel layer's queues belong to the server's loop: an event published from the worker
    thread must wake a subscriber waiting there at once, not at its next timer."""
    run = make_run()
    loop = asyncio.new_event_loop()
    server = threading.Thread(target=loop.run_forever, daemon=True)
    server.start()
    layer = get_channel_layer()

    async def subscribe():
        channel = await layer.new_channel()
        await layer.group_add(run.group_name, channel)
        return channel

    channel = asyncio.run_coroutine_threadsafe(subscribe(), loop).result(5)
    arrival = asyncio.run_coroutine_threadsafe(asyncio.wait_for(layer.receive(channel), 30), loop)

    def fake_task(run_id):
        publish_event(run, "status", {"status": "running"})

    import training.tasks

    monkeypatch.setattr(training.tasks, "execute_run", fake_task)
    worker = threading.Thread(target=dispatch.EmbeddedWorker()._execute, args=("execute_run", run.pk, loop))
    worker.start()
    worker.join(10)
    try:
        message = arrival.result(timeout=3)  # without the loop hand-over it would wait for the 30 s timer
    finally:
        loop.call_soon_threadsafe(loop.stop)
        server.join(5)
    assert message["type"] == "run.event" and message["event"]["status"] == "running"
