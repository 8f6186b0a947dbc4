"""The recipe at training time: frozen parts stay as they were, the document's optimizer, scheduler and init
are the ones that run, and its loss and metrics drive train.py and the training loop (generated and real data)."""

from __future__ import annotations

import contextlib
import io
import sys

import pytest
import torch
from torch import nn

import codegen
from codegen import fit
from codegen.checkpoint import Checkpoint
from codegen.loader import generated_package
from codegen.smoke import RunPaused, SmokeSettings, train_package
from codegen.summary import summarize

SGD = {"type": "SGD", "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4}


def frozen_backbone_graph(**training) -> dict:
    """A conv backbone with batch norm and dropout, frozen; a trainable head with a loss and a metric."""
    return {
        "version": "0.2",
        "metadata": {"name": "FrozenBackbone"},
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [3, 8, 8]}},
            {"id": "conv", "type": "Conv2d", "params": {"out_channels": 8, "kernel_size": 3}, "trainable": False},
            {"id": "bn", "type": "BatchNorm2d", "trainable": False},
            {"id": "drop", "type": "Dropout", "params": {"p": 0.5}, "trainable": False},
            {"id": "pool", "type": "AdaptiveAvgPool2d", "params": {"output_size": 1}},
            {"id": "flat", "type": "Flatten"},
            {"id": "head", "type": "Linear", "params": {"out_features": 3}},
            {"id": "y", "type": "Target", "params": {"num_classes": 3}},
            {"id": "ce", "type": "CrossEntropyLoss"},
            {"id": "accuracy", "type": "Accuracy"},
        ],
        "edges": [
            ["x", "conv"],
            ["conv", "bn"],
            ["bn", "drop"],
            ["drop", "pool"],
            ["pool", "flat"],
            ["flat", "head"],
            ["head", "ce", "input"],
            ["y", "ce", "target"],
            ["head", "accuracy", "input"],
            ["y", "accuracy", "target"],
        ],
        "inputs": ["x"],
        "outputs": {"logits": "head"},
        "training": training,
    }


def test_a_frozen_backbone_stays_bit_identical_and_the_run_uses_the_documents_optimizer():
    graph = frozen_backbone_graph(optimizer=SGD, scheduler={"type": "StepLR", "step_size": 1, "gamma": 0.5})
    validation = codegen.validate(graph)
    assert validation.ok
    assert validation.recipe()["params_frozen"] == 8 * 3 * 9 + 8 + 16  # conv weight and bias, bn weight and bias
    seen: dict = {}
    with generated_package(graph) as package:
        original = package.build_model

        def build_and_keep(shapes=None):
            model = original(shapes)
            seen["model"] = model
            seen["before"] = {k: v.clone() for k, v in model.state_dict().items()}
            return model

        package.build_model = build_and_keep
        try:
            optimizers = []
            real = package.build_optimizer

            def keep_optimizer(model):
                optimizer = real(model)
                optimizers.append(optimizer)
                return optimizer

            package.build_optimizer = keep_optimizer
            metrics = train_package(
                package, SmokeSettings(batch_size=4, steps=5, epochs=3, lr=0.3, optimizer="adam", seed=0)
            )
        finally:
            package.build_model = original
    model, before = seen["model"], seen["before"]
    after = model.state_dict()
    for key in ("conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"):
        assert torch.equal(before[key], after[key]), key
    assert not torch.equal(before["head.weight"], after["head.weight"])
    (optimizer,) = optimizers
    assert isinstance(optimizer, torch.optim.SGD)  # not the run's Adam
    group = optimizer.param_groups[0]
    assert (group["momentum"], group["weight_decay"]) == (0.9, 5e-4)
    assert group["lr"] == pytest.approx(0.05 * 0.5**3)  # the scheduler stepped after each of 3 epochs
    assert [p.shape for p in group["params"]] == [torch.Size([3, 8]), torch.Size([3])]  # the head only
    assert metrics["optimizer"] == "SGD" and metrics["params_trainable"] == 27
    assert 0.0 <= metrics["train_accuracy"] <= 1.0


def test_the_summary_counts_frozen_layers_as_frozen():
    summary = summarize(frozen_backbone_graph())
    rows = {row.id: (row.params_trainable, row.params_frozen) for row in summary.rows}
    assert rows["conv"] == (0, 224) and rows["bn"] == (0, 16) and rows["head"] == (27, 0)
    assert (summary.params_trainable, summary.params_frozen) == (27, 240)


def test_the_generated_model_freezes_and_keeps_frozen_parts_in_eval_mode():
    with generated_package(frozen_backbone_graph()) as package:
        model = package.build_model().train()
        assert not any(p.requires_grad for p in model.conv.parameters())
        assert all(p.requires_grad for p in model.head.parameters())
        assert not model.bn.training and not model.drop.training and model.head.training


def test_weight_init_is_torchs_scheme_on_the_named_layer():
    graph = {
        "version": "0.2",
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [6]}},
            {
                "id": "fc1",
                "type": "Linear",
                "params": {"out_features": 32},
                "init": {"type": "kaiming_uniform_", "nonlinearity": "relu", "bias": "zeros"},
            },
            {"id": "fc2", "type": "Linear", "params": {"out_features": 4}, "init": {"type": "normal", "std": 0.01}},
        ],
        "edges": [["x", "fc1"], ["fc1", "fc2"]],
        "inputs": ["x"],
        "outputs": ["fc2"],
    }
    files = codegen.generate(graph, name="inits", layout="file")
    source = files["inits.py"]
    assert 'nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")' in source
    assert "nn.init.zeros_(self.fc1.bias)" in source
    assert "nn.init.normal_(self.fc2.weight, std=0.01)" in source
    with generated_package(graph) as package:
        torch.manual_seed(3)
        model = package.build_model()
    torch.manual_seed(3)
    fc1, fc2 = nn.Linear(6, 32), nn.Linear(32, 4)
    nn.init.kaiming_uniform_(fc1.weight, nonlinearity="relu")
    nn.init.zeros_(fc1.bias)
    nn.init.normal_(fc2.weight, std=0.01)
    for name, tensor in (("fc1.weight", fc1.weight), ("fc1.bias", fc1.bias), ("fc2.weight", fc2.weight)):
        torch.testing.assert_close(model.state_dict()[name], tensor, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda g: g["nodes"][4].update(init="kaiming_uniform"),
            "nodes[4].init: init fills a layer's weight; a AdaptiveAvgPool2d has none to fill",
        ),
        (
            lambda g: g["nodes"][6].update(init={"type": "glorot"}),
            "nodes[6].init.type: expected one of kaiming_uniform",
        ),
        (
            lambda g: g["nodes"][6].update(init={"type": "normal", "sd": 1}),
            "nodes[6].init.sd: normal has no setting `sd` (it takes: mean, std)",
        ),
        (
            lambda g: g["training"].update(optimizer={"type": "SGD", "lr": -1}),
            "training.optimizer.lr: must be ≥ 0, got -1",
        ),
        (
            lambda g: g["training"].update(optimizer={"type": "Lion"}),
            'training.optimizer.type: expected one of SGD, Adam, AdamW, RMSprop, got "Lion"',
        ),
        (
            lambda g: g["training"].update(scheduler={"type": "StepLR", "step_size": 2}),
            "training.scheduler: a scheduler needs the document's optimizer",
        ),
        (
            lambda g: g["training"].update(optimizer=SGD, scheduler={"type": "StepLR"}),
            "training.scheduler.step_size: StepLR needs `step_size` (Epochs between two decays)",
        ),
        (lambda g: g["nodes"][7].update(trainable=False), "`y` sets `trainable`, but only the model's layers train"),
    ],
)
def test_recipe_values_that_do_not_fit_are_recipe_errors_with_their_path(change, message):
    graph = frozen_backbone_graph()
    change(graph)
    found = [d.message for d in codegen.validate(graph).diagnostics if d.code == "RECIPE"]
    assert any(m.startswith(message) for m in found), found


def test_freezing_a_node_without_parameters_is_a_warning():
    graph = frozen_backbone_graph()
    graph["nodes"][5]["trainable"] = False
    (warning,) = [d for d in codegen.validate(graph).diagnostics if d.code == "RECIPE"]
    assert (warning.severity, warning.message) == (
        "warning",
        "`flat` is frozen (trainable: false) but is a function in forward: nothing to freeze",
    )


def test_train_py_trains_with_the_documents_loss_optimizer_and_metrics(tmp_path, monkeypatch):
    graph = frozen_backbone_graph(optimizer=SGD)
    train = codegen.generate(graph, name="frozen_pkg", layout="package", with_train=True)["frozen_pkg/train.py"]
    assert "optimizer = build_optimizer(model)" in train and "AdamW" not in train
    printed = run_train_py(graph, "frozen_pkg", tmp_path, monkeypatch)
    assert "step 2/2  loss" in printed and "accuracy" in printed and "epoch 1/1 done" in printed


def test_a_resumed_run_continues_the_documents_scheduler():
    graph = frozen_backbone_graph(optimizer=SGD, scheduler={"type": "StepLR", "step_size": 1, "gamma": 0.5})
    saved: list[Checkpoint] = []
    settings = SmokeSettings(batch_size=4, steps=2, epochs=3, seed=0)
    with generated_package(graph) as package:
        calls = iter([None, None, "pause"])

        def control():
            return next(calls, None)

        def keep(checkpoint: Checkpoint) -> None:
            saved.append(Checkpoint.from_bytes(checkpoint.to_bytes()))

        with pytest.raises(RunPaused):
            train_package(package, settings, control=control, on_checkpoint=keep)
        paused = saved[-1]
        assert paused.scheduler is not None and paused.step == 2
        resumed = train_package(package, settings, resume=paused)
    assert resumed["lr"] == pytest.approx(0.05 * 0.5**3)


def test_a_dataset_fills_the_documents_target_and_validation_reports_its_metrics():
    torch.manual_seed(0)
    x = torch.randn(120, 3, 8, 8)
    y = (x.mean(dim=(1, 2, 3)) > 0).long() + (x[:, 0].mean(dim=(1, 2)) > 0.2).long()
    data = fit.ArrayData(x, y, torch.arange(96), torch.arange(96, 120), "classification", classes=3)
    epochs = []
    with generated_package(frozen_backbone_graph(optimizer=SGD)) as package:
        metrics = train_package(
            package, SmokeSettings(batch_size=16, epochs=2, seed=0), data=data, on_epoch=epochs.append
        )
    assert [e.epoch for e in epochs] == [1, 2]
    last = epochs[-1].payload()
    assert {"val_loss", "val_accuracy", "train_accuracy"} <= set(last)
    assert metrics["val_accuracy"] == last["val_accuracy"]


def run_train_py(graph: dict, name: str, tmp_path, monkeypatch) -> str:
    """Generate ``graph`` with its train.py, run two steps of it, return what it printed."""
    files = codegen.generate(graph, name=name, layout="package", with_train=True)
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    from importlib import import_module

    try:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            import_module(f"{name}.train").main(["--steps", "2", "--batch-size", "4"])
    finally:
        for module in [m for m in sys.modules if m.split(".")[0] == name]:
            del sys.modules[module]
    return out.getvalue()


@pytest.mark.parametrize("with_metric", [False, True])
def test_train_py_without_a_document_loss_trains_named_outputs_and_reports_metrics(with_metric, tmp_path, monkeypatch):
    graph = frozen_backbone_graph()
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != "ce"]
    graph["edges"] = [e for e in graph["edges"] if e[1] != "ce"]
    if not with_metric:
        graph["nodes"] = [n for n in graph["nodes"] if n["id"] not in ("accuracy", "y")]
        graph["edges"] = [e for e in graph["edges"] if e[1] != "accuracy"]
    printed = run_train_py(graph, f"named_{int(with_metric)}", tmp_path, monkeypatch)
    assert "step 2/2  loss" in printed
    assert ("accuracy" in printed) == with_metric


def test_train_py_reports_metrics_of_a_single_output_without_a_document_loss(tmp_path, monkeypatch):
    graph = frozen_backbone_graph()
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != "ce"]
    graph["edges"] = [e for e in graph["edges"] if e[1] != "ce"]
    graph["outputs"] = ["head"]
    printed = run_train_py(graph, "single_metric", tmp_path, monkeypatch)
    assert "step 2/2  loss" in printed and "accuracy" in printed
