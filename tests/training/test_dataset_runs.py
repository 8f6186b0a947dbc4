"""Runs on datasets through the platform: queueing checks, validation metrics, checkpoints, pause, resume
(the worker's state is in the checkpoint, not the process), stop, weights download, starting from weights."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import torch
from dataset_models import MOONS_MLP, model
from django.urls import reverse

from codegen import loader
from codegen.checkpoint import load_weights
from graphs import services
from training import tasks
from training.dispatch import RunRefused, cancel_run, pause_run, queue_run, resume_run, stop_run
from training.models import Dataset, Run, RunEvent, Status

pytestmark = pytest.mark.django_db

MOONS_CONFIG = {"batch_size": 32, "epochs": 10, "lr": 0.02, "optimizer": "adam", "device": "cpu"}


@pytest.fixture
def moons():
    return Dataset.objects.get(builtin="two-moons")


@pytest.fixture
def mlp_graph(alice, lab):
    return services.create_graph(alice, name="Moons MLP", document=model(MOONS_MLP), team=lab, visibility="team")


def queue(graph, user, moons, **config):
    return queue_run(graph.head, user, {**MOONS_CONFIG, "dataset": moons.pk, **config})


def events(run, kind):
    return [event.payload for event in RunEvent.objects.filter(run=run, kind=kind).order_by("seq")]


@contextmanager
def pausing_after(step: int):
    """Within the block, the worker is asked to pause once it has trained ``step`` steps (as the user's click
    would, mid-run)."""
    real = tasks._Execution.control

    def control(self):
        self.asked = getattr(self, "asked", 0) + 1  # once before each step
        if self.asked == step + 1:
            Run.objects.filter(pk=self.run.pk).update(pause_requested=True)
        return real(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks, "CANCEL_CHECK_INTERVAL_S", 0)  # look at the row before every step
        patch.setattr(tasks._Execution, "control", control)
        yield


def test_a_run_on_the_built_in_dataset_learns_it_and_streams_each_epoch(alice, mlp_graph, moons, checkpoint_storage):
    run = queue(mlp_graph, alice, moons)
    assert run.dataset == moons and run.config["input_shapes"] == {"inp": [2]}  # the Input had no shape
    assert run.config["steps"] == 15  # 480 training samples (80 %) at batch 32
    assert "data" not in run.config and run.config["val_fraction"] == 0.2
    assert tasks.execute(run.pk) == Status.SUCCEEDED
    run.refresh_from_db()
    epochs = events(run, "epoch")
    assert [e["epoch"] for e in epochs] == list(range(1, 11))
    assert run.metrics["val_accuracy"] > 0.9  # chance: 0.5
    assert epochs[-1]["val_accuracy"] == run.metrics["val_accuracy"]
    assert len(events(run, "checkpoint")) == 10  # after epochs 1-9, and the end
    assert run.weights and not run.checkpoint  # a finished run keeps its weights, drops its checkpoint
    assert sorted(p.name for p in (checkpoint_storage / "runs" / str(run.pk)).iterdir()) == ["weights.safetensors"]


def test_queueing_checks_the_dataset_against_the_graph_and_the_caps(
    alice, bob, charlie, mlp_graph, tiny_graph, moons, settings
):
    with pytest.raises(RunRefused) as refused:
        queue(tiny_graph, alice, moons)  # Input(4)
    assert refused.value.message == (
        "The Input has shape [4]; the dataset's samples are [2]. Set the Input's shape to [2]. (dataset Two moons)"
    )
    settings.TORCHCANVAS_RUNS["max_steps"] = 50
    with pytest.raises(RunRefused) as refused:
        queue(mlp_graph, alice, moons)
    assert refused.value.message == (
        "One epoch of Two moons is 15 steps at batch 32, so 10 epochs are 150 steps; the limit is 50 per run: "
        "train fewer epochs or use a larger batch."
    )
    settings.TORCHCANVAS_RUNS["max_steps"] = 1000
    with pytest.raises(RunRefused) as refused:
        queue(mlp_graph, alice, moons, early_stop_metric="val_mae")
    assert refused.value.message.startswith("Early stopping on val_mae needs a regression dataset")
    mine = Dataset.objects.create(owner=charlie, name="charlie's", kind="csv", facts=moons.facts)
    with pytest.raises(RunRefused) as refused:
        queue(mlp_graph, alice, mine)
    assert refused.value.message == f"Dataset {mine.pk} does not exist, or you cannot see it."


def test_pause_then_resume_continues_from_the_checkpoint_without_repeating_a_step(
    alice, mlp_graph, moons, checkpoint_storage
):
    run = queue(mlp_graph, alice, moons, epochs=3)
    with pausing_after(20):
        assert tasks.execute(run.pk) == Status.PAUSED
    run.refresh_from_db()
    assert run.status == Status.PAUSED and run.checkpoint_step == 20 and run.worker == ""
    assert run.weights  # downloadable while paused
    assert events(run, "status")[-1] == {"status": "paused", "step": 20}

    resume_run(run, alice)
    run.refresh_from_db()
    assert run.status == Status.QUEUED and run.attempts == 0
    first_new_event = RunEvent.objects.filter(run=run).order_by("-seq").first().seq
    assert tasks.execute(run.pk) == Status.SUCCEEDED  # "another worker": nothing but the checkpoint carries over
    run.refresh_from_db()
    resumed_steps = [
        e.payload["step"] for e in RunEvent.objects.filter(run=run, kind="progress", seq__gt=first_new_event)
    ]
    assert min(resumed_steps) == 21 and max(resumed_steps) == 45
    assert run.metrics["resumed_from_step"] == 20 and run.metrics["steps"] == 45
    assert len(run.metrics["loss_curve"]) == 45 and run.metrics["epochs_done"] == 3


def test_stop_finishes_with_the_results_so_far(alice, mlp_graph, moons, checkpoint_storage):
    run = queue(mlp_graph, alice, moons)
    with pausing_after(10):
        tasks.execute(run.pk)
    stop_run(Run.objects.get(pk=run.pk), alice)  # a paused run is resumed only to finish
    assert tasks.execute(run.pk) == Status.SUCCEEDED, Run.objects.get(pk=run.pk).error
    run.refresh_from_db()
    assert run.metrics["stopped"] == "user" and run.metrics["steps"] == 10
    assert run.metrics["val_accuracy"] is not None and run.weights


def test_cancelling_a_paused_run_drops_its_checkpoint(alice, mlp_graph, moons, checkpoint_storage):
    run = queue(mlp_graph, alice, moons)
    with pausing_after(3):
        tasks.execute(run.pk)
    run.refresh_from_db()
    checkpoint = checkpoint_storage / run.checkpoint.name
    assert checkpoint.exists()
    cancel_run(run, alice)
    run.refresh_from_db()
    assert run.status == Status.CANCELLED and not run.checkpoint and not checkpoint.exists()


def test_only_a_running_run_pauses_and_only_a_paused_one_resumes(alice, bob, make_run):
    queued = make_run()
    with pytest.raises(RunRefused) as refused:
        pause_run(queued, alice)
    assert refused.value.status_code == 409 and refused.value.message == (
        f"Run {queued.pk} is queued: only a running run can pause."
    )
    running = make_run(Status.RUNNING)
    with pytest.raises(RunRefused) as refused:
        resume_run(running, alice)
    assert refused.value.message == f"Run {running.pk} is running: only a paused run can be resumed."
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        pause_run(running, bob)  # a viewer of the graph


def test_resuming_takes_a_run_slot(alice, make_run, settings):
    settings.TORCHCANVAS_RUNS["max_concurrent"] = 1
    make_run(Status.RUNNING)
    paused = make_run(Status.PAUSED)
    with pytest.raises(RunRefused) as refused:
        resume_run(paused, alice)
    assert refused.value.status_code == 429


def test_weights_download_and_load_into_the_generated_package(
    alice, alice_api, charlie_api, client, mlp_graph, moons, checkpoint_storage
):
    run = queue(mlp_graph, alice, moons, epochs=2)
    tasks.execute(run.pk)
    body = alice_api.get(f"/api/runs/{run.pk}/").json()
    assert body["weights"] == {
        "safetensors": f"/api/runs/{run.pk}/weights/?format=safetensors",
        "pt": f"/api/runs/{run.pk}/weights/?format=pt",
    }
    files = {}
    for fmt, url in body["weights"].items():
        response = alice_api.get(url)
        assert response.status_code == 200, response.content
        assert response["Content-Disposition"] == f'attachment; filename="moons_mlp_v1_run{run.pk}.{fmt}"'
        files[fmt] = b"".join(response.streaming_content) if response.streaming else response.content
    client.force_login(alice)
    page = client.get(reverse("run-weights", args=[run.pk, "safetensors"]))
    assert page.status_code == 200 and page.content == files["safetensors"]
    assert client.get(f"/runs/{run.pk}/weights.zip").status_code == 404
    assert charlie_api.get(body["weights"]["pt"]).status_code == 404
    assert alice_api.get(f"/api/runs/{run.pk}/weights/?format=onnx").status_code == 400

    x = torch.tensor([[0.0, 1.0], [1.0, -0.5]])
    with loader.generated_package(mlp_graph.head.document, {"inp": (2,)}) as package:
        outputs = []
        for data in files.values():
            model = package.build_model()
            model.load_state_dict(load_weights(data))  # strict: every key fits
            outputs.append(model.eval()(x))
    assert torch.equal(outputs[0], outputs[1])


def test_a_run_starts_from_another_runs_weights(alice, charlie, mlp_graph, moons, checkpoint_storage):
    theirs = services.create_graph(charlie, name="Copy", document=model(MOONS_MLP))
    first = queue(mlp_graph, alice, moons, epochs=3)
    tasks.execute(first.pk)
    first.refresh_from_db()
    second = queue(mlp_graph, alice, moons, epochs=1, init_from_run=first.pk)
    tasks.execute(second.pk)
    second.refresh_from_db()
    assert second.status == Status.SUCCEEDED
    assert second.metrics["first_loss"] < first.metrics["first_loss"] / 2
    with pytest.raises(RunRefused) as refused:
        queue(theirs, charlie, moons, init_from_run=first.pk)
    assert refused.value.message == f"Run {first.pk} does not exist, or you cannot see it."


def test_the_api_pauses_resumes_and_stops(alice_api, bob_api, make_run):
    run = make_run(Status.RUNNING)
    response = alice_api.post(f"/api/runs/{run.pk}/pause/")
    assert response.status_code == 200 and response.json()["pause_requested"] is True
    assert bob_api.post(f"/api/runs/{run.pk}/stop/").status_code == 403
    response = alice_api.post(f"/api/runs/{run.pk}/resume/")
    assert response.status_code == 409
    assert response.json()["detail"] == f"Run {run.pk} is running: only a paused run can be resumed."
    response = alice_api.post(f"/api/runs/{run.pk}/stop/")
    assert response.status_code == 200 and response.json()["stop_requested"] is True


def test_the_run_page_offers_pause_resume_stop_and_the_weights(alice, client, make_run):
    client.force_login(alice)
    running = make_run(Status.RUNNING)
    page = client.get(running.get_absolute_url()).content.decode()
    assert 'data-action="pause"' in page and 'data-action="stop"' in page and 'data-action="resume"' not in page
    response = client.post(
        reverse("run-pause", args=[running.pk]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-summary"
    )
    assert "Pausing…" in response.content.decode()
    paused = make_run(Status.PAUSED, checkpoint_step=7)
    page = client.get(paused.get_absolute_url()).content.decode()
    assert 'data-action="resume"' in page and "Paused at step 7" in page


def test_the_compare_page_lists_the_dataset_settings_of_runs_that_have_them(alice, client, make_run, moons):
    smoke = make_run(Status.SUCCEEDED)
    trained = make_run(Status.SUCCEEDED, config={"dataset": moons.pk, "val_fraction": 0.25}, dataset=moons)
    client.force_login(alice)
    page = client.get(f"/runs/compare/?ids={smoke.pk},{trained.pk}").content.decode()
    assert "val_fraction" in page and "0.25" in page
    assert "val_fraction" not in client.get(f"/runs/compare/?ids={smoke.pk}").content.decode()


def test_an_output_that_does_not_fit_the_datasets_targets_is_refused_before_queueing(alice, lab, moons):
    five_classes = model(MOONS_MLP)
    five_classes["nodes"][-1]["params"]["out_features"] = 5
    graph = services.create_graph(alice, name="Five", document=five_classes, team=lab, visibility="team")
    with pytest.raises(RunRefused) as refused:
        queue(graph, alice, moons)
    assert refused.value.message == (
        "The dataset has 2 classes, so output out must be (B, 2) class scores; it is (B, 5): set the last layer's "
        "size to 2."
    )
    assert not Run.objects.exists()


def test_a_run_that_fails_after_checkpointing_drops_its_checkpoint_too(alice, mlp_graph, moons, checkpoint_storage):
    from datetime import timedelta

    from django.utils import timezone

    from training.sweeper import sweep

    run = queue(mlp_graph, alice, moons)
    with pausing_after(3):
        tasks.execute(run.pk)
    run.refresh_from_db()
    checkpoint = checkpoint_storage / run.checkpoint.name
    long_ago = timezone.now() - timedelta(hours=2)  # past its hard time limit: failed, not paused again
    Run.objects.filter(pk=run.pk).update(status=Status.RUNNING, started_at=long_ago, heartbeat_at=long_ago)
    assert sweep().failed == [run.pk]
    run.refresh_from_db()
    assert run.status == Status.FAILED and not run.checkpoint and not checkpoint.exists()
    assert (checkpoint_storage / run.weights.name).exists()  # the weights of the pause stay
