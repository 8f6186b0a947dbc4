"""A graph's own recipe through the platform: a run on a dataset trains the document's loss with its optimizer
(not the one the run asked for), reports the document's metrics, and leaves the frozen layers as they were; the
run form shows the graph's optimizer and loss instead of offering its own."""

from __future__ import annotations

import pytest
import torch

from codegen import loader
from codegen.checkpoint import load_weights
from graphs import services
from training import tasks
from training.dispatch import RunRefused, queue_run
from training.models import Dataset, RunEvent, Status

pytestmark = pytest.mark.django_db

RECIPE = {
    "version": "0.2",
    "nodes": [
        {"id": "inp", "type": "Input", "params": {"shape": [2]}},
        {"id": "body", "type": "Linear", "params": {"out_features": 16}, "trainable": False},
        {"id": "norm", "type": "BatchNorm1d", "trainable": False},
        {"id": "act", "type": "ReLU"},
        {"id": "head", "type": "Linear", "params": {"out_features": 2}},
        {"id": "y", "type": "Target", "params": {"num_classes": 2}},
        {"id": "ce", "type": "CrossEntropyLoss"},
        {"id": "accuracy", "type": "Accuracy"},
    ],
    "edges": [
        ["inp", "body"],
        ["body", "norm"],
        ["norm", "act"],
        ["act", "head"],
        ["head", "ce", "input"],
        ["y", "ce", "target"],
        ["head", "accuracy", "input"],
        ["y", "accuracy", "target"],
    ],
    "inputs": ["inp"],
    "outputs": {"logits": "head"},
    "training": {"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}},
}


@pytest.fixture
def recipe_graph(alice, lab):
    return services.create_graph(alice, name="Frozen moons", document=RECIPE, team=lab, visibility="team")


def test_a_dataset_run_trains_the_documents_recipe_and_leaves_the_frozen_layers_alone(
    alice, alice_api, client, recipe_graph, checkpoint_storage
):
    moons = Dataset.objects.get(builtin="two-moons")
    config = {"batch_size": 32, "epochs": 3, "optimizer": "adam", "lr": 0.5, "device": "cpu", "seed": 3}
    run = queue_run(recipe_graph.head, alice, {**config, "dataset": moons.pk})
    assert tasks.execute(run.pk) == Status.SUCCEEDED, run.error
    run.refresh_from_db()
    assert (run.metrics["optimizer"], run.metrics["lr"]) == ("SGD", 0.1)  # the document's, not adam at 0.5
    assert run.metrics["params_trainable"] == 34  # the head: 16 × 2 + 2
    assert 0.0 <= run.metrics["val_accuracy"] <= 1.0 and 0.0 <= run.metrics["train_accuracy"] <= 1.0
    epochs = [e.payload for e in RunEvent.objects.filter(run=run, kind="epoch").order_by("seq")]
    assert [e["epoch"] for e in epochs] == [1, 2, 3] and all("train_accuracy" in e for e in epochs)

    client.force_login(alice)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "SGD (lr 0.1), the graph&#x27;s" in page and "Train accuracy" in page

    response = alice_api.get(f"/api/runs/{run.pk}/weights/?format=safetensors")
    trained = load_weights(b"".join(response.streaming_content) if response.streaming else response.content)
    with loader.generated_package(recipe_graph.head.document) as package:
        torch.manual_seed(3)  # the run's seed, set before it builds the model
        initial = package.build_model().state_dict()
    for key in ("body.weight", "body.bias", "norm.weight", "norm.bias", "norm.running_mean", "norm.running_var"):
        assert torch.equal(trained[key], initial[key]), key
    assert not torch.equal(trained["head.weight"], initial["head.weight"])


def test_a_dataset_fills_one_target_of_the_matching_dtype(alice, lab):
    moons = Dataset.objects.get(builtin="two-moons")
    document = {**RECIPE, "nodes": [dict(n) for n in RECIPE["nodes"]]}
    document["nodes"][5] = {"id": "y", "type": "Target", "params": {"dtype": "float32", "shape": [2]}}
    document["nodes"][6] = {"id": "ce", "type": "MSELoss"}
    document["nodes"][7] = {"id": "accuracy", "type": "MeanAbsoluteError"}
    graph = services.create_graph(alice, name="Regression", document=document, team=lab, visibility="team")
    with pytest.raises(RunRefused) as refused:
        queue_run(graph.head, alice, {"batch_size": 32, "epochs": 1, "device": "cpu", "dataset": moons.pk})
    assert (
        str(refused.value)
        == "The dataset's labels are class indices, so Target y must have dtype int64 (it is float32)."
    )


def test_the_run_form_shows_the_graphs_optimizer_and_loss_in_place_of_its_own(alice, client, lab):
    document = {**RECIPE, "nodes": [dict(n) for n in RECIPE["nodes"]]}
    document["nodes"][6] = {"id": "<b>ce</b>", "type": "CrossEntropyLoss"}  # a user's id is text, not HTML
    document["edges"] = [[a, "<b>ce</b>" if b == "ce" else b, *rest] for a, b, *rest in RECIPE["edges"]]
    recipe_graph = services.create_graph(alice, name="Recipe", document=document, team=lab, visibility="team")
    client.force_login(alice)
    html = client.get(f"/graphs/{recipe_graph.pk}/versions/1/run/").content.decode()
    assert "The graph&#x27;s own: SGD (lr 0.1, momentum 0.9) (its training settings)." in html
    assert "The graph&#x27;s own loss: &lt;b&gt;ce&lt;/b&gt;." in html and "<b>ce</b>" not in html
    select = html.split('name="optimizer"')[1].split(">")[0]
    assert "disabled" in select
