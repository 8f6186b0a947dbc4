"""Targets, losses and metrics: their shape rules, what the generated loss and metrics modules compute (against
torch's own functions), and the stage rules that keep them outside the model."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import codegen


def recipe_graph(loss: dict | None = None, metric: dict | None = None, **changes) -> dict:
    """x (6,) → fc (4 scores); Target y (class indices); a loss and a metric reading fc and y."""
    nodes = [
        {"id": "x", "type": "Input", "params": {"shape": [6]}},
        {"id": "fc", "type": "Linear", "params": {"out_features": 4}},
        {"id": "y", "type": "Target"},
    ]
    edges = [["x", "fc"]]
    for node in (loss, metric):
        if node is not None:
            nodes.append(node)
            edges += [["fc", node["id"], "input"], ["y", node["id"], "target"]]
    graph = {"version": "0.2", "nodes": nodes, "edges": edges, "inputs": ["x"], "outputs": ["fc"]}
    graph.update(changes)
    return graph


def diagnostics(graph: dict) -> list[dict]:
    return [d.to_dict() for d in codegen.validate(graph).diagnostics]


def load(graph: dict, tmp_path: Path, name: str):
    """The generated package, imported."""
    files = codegen.generate(graph, name=name, layout="package", with_train=True)
    for path, text in files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))


LOSSES = [
    ("CrossEntropyLoss", {}, "int", lambda s, t: F.cross_entropy(s, t)),
    ("CrossEntropyLoss", {"label_smoothing": 0.1}, "int", lambda s, t: F.cross_entropy(s, t, label_smoothing=0.1)),
    ("NLLLoss", {}, "int", lambda s, t: F.nll_loss(s, t)),
    ("MSELoss", {"weight": 0.5}, "float", lambda s, t: 0.5 * F.mse_loss(s, t)),
    ("L1Loss", {}, "float", lambda s, t: F.l1_loss(s, t)),
    ("SmoothL1Loss", {"beta": 0.5}, "float", lambda s, t: F.smooth_l1_loss(s, t, beta=0.5)),
    ("HuberLoss", {"delta": 2.0}, "float", lambda s, t: F.huber_loss(s, t, delta=2.0)),
    ("BCEWithLogitsLoss", {}, "float", lambda s, t: F.binary_cross_entropy_with_logits(s, t)),
]


@pytest.mark.parametrize(("loss_type", "params", "kind", "reference"), LOSSES, ids=[f"{t}{p}" for t, p, *_ in LOSSES])
def test_each_loss_is_torchs_function(loss_type, params, kind, reference, tmp_path):
    target = {"dtype": "int64", "num_classes": 4} if kind == "int" else {"dtype": "float32", "shape": [4]}
    graph = recipe_graph({"id": "term", "type": loss_type, "params": params})
    graph["nodes"][2]["params"] = target
    package = load(graph, tmp_path, f"loss_{loss_type.lower()}_{len(params)}")
    scores = torch.randn(5, 4)
    y = torch.randint(0, 4, (5,)) if kind == "int" else torch.rand(5, 4)
    terms = package.build_loss()(scores, {"y": y})
    expected = reference(scores, y)
    torch.testing.assert_close(terms["term"], expected, rtol=0, atol=0)
    torch.testing.assert_close(terms["loss"], expected, rtol=0, atol=0)
    drawn = package.example_targets(3)["y"]
    assert drawn.dtype == (torch.int64 if kind == "int" else torch.float32)
    assert tuple(drawn.shape) == ((3,) if kind == "int" else (3, 4))


def test_several_losses_add_up_with_their_weights(tmp_path):
    graph = recipe_graph({"id": "ce", "type": "CrossEntropyLoss"})
    graph["nodes"].append({"id": "aux", "type": "CrossEntropyLoss", "params": {"weight": 0.25, "label_smoothing": 0.2}})
    graph["edges"] += [["fc", "aux", "input"], ["y", "aux", "target"]]
    graph["nodes"][2]["params"] = {"num_classes": 4}
    package = load(graph, tmp_path, "two_losses")
    scores, y = torch.randn(6, 4), torch.randint(0, 4, (6,))
    terms = package.build_loss()(scores, {"y": y})
    ce, aux = F.cross_entropy(scores, y), 0.25 * F.cross_entropy(scores, y, label_smoothing=0.2)
    assert set(terms) == {"loss", "ce", "aux"}
    torch.testing.assert_close(terms["loss"], ce + aux, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("metric", "params", "reference"),
    [
        ("Accuracy", {}, lambda s, t: (s.argmax(1) == t).float().mean()),
        ("TopKAccuracy", {"k": 2}, lambda s, t: (s.topk(2, 1).indices == t[:, None]).any(1).float().mean()),
    ],
)
def test_class_metrics_are_means_over_the_batch(metric, params, reference, tmp_path):
    graph = recipe_graph(metric={"id": "m", "type": metric, "params": params})
    graph["nodes"][2]["params"] = {"num_classes": 4}
    package = load(graph, tmp_path, f"metric_{metric.lower()}")
    scores, y = torch.randn(50, 4), torch.randint(0, 4, (50,))
    measured = package.build_metrics()(scores, {"y": y})
    torch.testing.assert_close(measured["m"], reference(scores, y), rtol=0, atol=0)
    assert not hasattr(package, "build_loss")  # metrics without a loss: runs keep their own loss


def test_regression_metrics(tmp_path):
    graph = recipe_graph(metric={"id": "mae", "type": "MeanAbsoluteError"})
    graph["nodes"].append({"id": "mse", "type": "MeanSquaredError"})
    graph["edges"] += [["fc", "mse", "input"], ["y", "mse", "target"]]
    graph["nodes"][2]["params"] = {"dtype": "float32"}  # its shape is the output's
    package = load(graph, tmp_path, "regression_metrics")
    out, y = torch.randn(5, 4), torch.randn(5, 4)
    measured = package.build_metrics()(out, {"y": y})
    torch.testing.assert_close(measured["mae"], (out - y).abs().mean())
    torch.testing.assert_close(measured["mse"], ((out - y) ** 2).mean())
    assert tuple(package.example_targets(2)["y"].shape) == (2, 4)


def test_losses_and_metrics_read_named_outputs_and_ports(tmp_path):
    """The loss applies to the output it names, whatever the model returns beside it."""
    graph = {
        "version": "0.2",
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [6]}},
            {"id": "fc", "type": "Linear", "params": {"out_features": 8}},
            {"id": "fork", "type": "Split", "params": {"sections": [3, 5], "dim": 1}},
            {"id": "soft", "type": "Softmax", "params": {"dim": 1}},
            {"id": "y", "type": "Target", "params": {"num_classes": 5}},
            {"id": "ce", "type": "CrossEntropyLoss"},
            {"id": "acc", "type": "Accuracy"},
        ],
        "edges": [
            ["x", "fc"],
            ["fc", "fork"],
            ["fork:1", "soft"],
            ["fork:1", "ce", "input"],
            ["y", "ce", "target"],
            ["soft", "acc", "input"],
            ["y", "acc", "target"],
        ],
        "inputs": ["x"],
        "outputs": {"mean": "fork:0", "logits": "fork:1", "probabilities": "soft"},
    }
    assert codegen.validate(graph).ok
    package = load(graph, tmp_path, "named_heads")
    model = package.build_model()
    outputs = model(torch.randn(4, 6))
    assert list(outputs) == ["mean", "logits", "probabilities"]
    assert outputs["mean"].shape == (4, 3) and outputs["logits"].shape == (4, 5)
    y = torch.randint(0, 5, (4,))
    terms = package.build_loss()(outputs, {"y": y})
    torch.testing.assert_close(terms["ce"], F.cross_entropy(outputs["logits"], y))
    measured = package.build_metrics()(outputs, {"y": y})
    torch.testing.assert_close(measured["acc"], (outputs["probabilities"].argmax(1) == y).float().mean())


# --- what the validator refuses, with its sentence --------------------------------------------------------


def test_the_model_never_reads_a_target():
    graph = recipe_graph({"id": "ce", "type": "CrossEntropyLoss"})
    graph["nodes"].append({"id": "add", "type": "Add"})
    graph["edges"] += [["fc", "add"], ["y", "add"]]
    codes = {(d["code"], d.get("node")) for d in diagnostics(graph)}
    assert ("STAGE", "add") in codes
    message = next(d["message"] for d in diagnostics(graph) if d["code"] == "STAGE")
    assert message == (
        "`add` is in the model but reads `y`, a Target: the model runs without targets, losses and metrics"
    )


def test_a_loss_reads_an_output_and_the_fix_adds_it():
    graph = recipe_graph()
    graph["nodes"] += [{"id": "relu", "type": "ReLU"}, {"id": "ce", "type": "CrossEntropyLoss"}]
    graph["edges"] += [["fc", "relu"], ["relu", "ce", "input"], ["y", "ce", "target"]]
    found = [d for d in diagnostics(graph) if d["code"] == "STAGE"]
    assert found == [
        {
            "severity": "error",
            "code": "STAGE",
            "message": "`ce` (loss) reads `relu`, which is not an output of the model: losses and metrics read "
            "the model's outputs, so add it to them",
            "node": "ce",
            "edge": ["relu", "ce"],
            "suggestion": {"action": "set_outputs", "outputs": ["fc", "relu"]},
        }
    ]


def test_losses_feed_nothing_and_are_not_outputs():
    graph = recipe_graph({"id": "ce", "type": "CrossEntropyLoss"})
    graph["nodes"].append({"id": "twice", "type": "Scalar", "params": {"op": "mul", "value": 2.0}})
    graph["edges"].append(["ce", "twice"])
    messages = [d["message"] for d in diagnostics(graph) if d["code"] == "STAGE"]
    assert "`ce` is a CrossEntropyLoss: losses and metrics feed nothing" in messages
    listed = recipe_graph({"id": "ce", "type": "CrossEntropyLoss"}, outputs=["fc", "ce"])
    assert [d["message"] for d in diagnostics(listed) if d["code"] == "STAGE"] == [
        "outputs[1] names `ce`, a CrossEntropyLoss: the model returns its own values; runs report losses and metrics"
    ]


def test_a_loss_node_stays_in_the_loss_stage():
    graph = recipe_graph({"id": "ce", "type": "CrossEntropyLoss", "stage": "metrics"})
    assert any(
        d["message"] == "CrossEntropyLoss `ce` belongs to the loss stage, not metrics" for d in diagnostics(graph)
    )


def test_targets_and_losses_belong_to_the_model_graph_not_a_block():
    graph = recipe_graph()
    graph["composites"] = {
        "Head": {
            "nodes": [{"id": "i", "type": "Input"}, {"id": "t", "type": "Target"}, {"id": "o", "type": "ReLU"}],
            "edges": [["i", "o"]],
            "inputs": ["i"],
            "outputs": ["o"],
        }
    }
    graph["nodes"].append({"id": "head", "type": "Head"})
    graph["edges"].append(["fc", "head"])
    graph["outputs"] = ["head"]
    assert any(
        "has a Target: targets, losses and metrics belong to the model's graph, not to a block" in d["message"]
        for d in diagnostics(graph)
    )


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            {"shape": [3]},
            "CrossEntropyLoss takes class indices (B) for scores rank 2 BF (B, 4); target `y` gives rank 2 BF (B, 3)",
        ),
        ({"dtype": "float32", "shape": [3]}, "CrossEntropyLoss compares values of equal shape"),
    ],
)
def test_a_target_that_does_not_fit_the_scores_is_a_shape_error(target, message):
    graph = recipe_graph({"id": "ce", "type": "CrossEntropyLoss"})
    graph["nodes"][2]["params"] = target
    found = [d for d in diagnostics(graph) if d["code"] == "SHAPE"]
    assert found and found[0]["message"].startswith(message), found
    assert found[0]["node"] == "ce"


def test_regression_losses_need_float_targets():
    graph = recipe_graph({"id": "mse", "type": "MSELoss"})
    assert [d["message"] for d in diagnostics(graph) if d["code"] == "DTYPE"] == [
        "MSELoss needs a float target, `y` gives int64"
    ]


def test_top_k_beyond_the_classes_is_a_range_error():
    graph = recipe_graph(metric={"id": "top", "type": "TopKAccuracy", "params": {"k": 5}})
    assert [d["message"] for d in diagnostics(graph) if d["code"] == "PARAM_RANGE"] == [
        "k=5 is more than the 4 classes"
    ]


def test_a_parameter_free_node_may_compute_for_a_metric_in_its_stage(tmp_path):
    graph = recipe_graph(metric={"id": "acc", "type": "Accuracy"})
    graph["nodes"].append({"id": "probs", "type": "Softmax", "params": {"dim": 1}, "stage": "metrics"})
    graph["edges"] = [e for e in graph["edges"] if e != ["fc", "acc", "input"]] + [
        ["fc", "probs"],
        ["probs", "acc", "input"],
    ]
    graph["nodes"][2]["params"] = {"num_classes": 4}
    assert codegen.validate(graph).ok
    package = load(graph, tmp_path, "metric_softmax")
    model_source = (tmp_path / "metric_softmax" / "model.py").read_text()
    assert "nn.Softmax" not in model_source  # computed by the metrics, not by the model
    scores, y = torch.randn(8, 4), torch.randint(0, 4, (8,))
    measured = package.build_metrics()(scores, {"y": y})
    torch.testing.assert_close(measured["acc"], (scores.softmax(1).argmax(1) == y).float().mean())


def test_a_node_with_parameters_stays_in_the_model():
    graph = recipe_graph(metric={"id": "acc", "type": "Accuracy"})
    graph["nodes"].append({"id": "extra", "type": "Linear", "params": {"out_features": 4}, "stage": "metrics"})
    graph["edges"] = [e for e in graph["edges"] if e != ["fc", "acc", "input"]] + [
        ["fc", "extra"],
        ["extra", "acc", "input"],
    ]
    found = [d for d in diagnostics(graph) if d["code"] == "STAGE"]
    assert [d["message"] for d in found] == [
        "`extra` has 20 parameters, and nothing trains a node of the metrics stage: keep it in the model"
    ]
    assert found[0]["suggestion"] == {"action": "set_stage", "node": "extra", "stage": "model"}


def test_a_graph_without_a_loss_stage_generates_what_it_did():
    plain = recipe_graph()
    plain["nodes"] = plain["nodes"][:2]
    files = codegen.generate(plain, name="plain", layout="package", with_train=True)
    assert "plain/recipe.py" not in files
    assert "torch.optim.AdamW(model.parameters(), lr=args.lr)" in files["plain/train.py"]
