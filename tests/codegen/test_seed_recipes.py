"""The examples of the seeds' spec-based peers, drawn as TorchCanvas graphs with their whole recipe.

TorchArc's ConvNet, MLP, Hydra (two inputs, FiLM, an 8-wide output split into named ``mean`` and ``std``) and
TSTransformer; TorchBricks' concept example (a frozen preprocessor, named ``logits``/``softmaxed``, a
cross-entropy on the logits), its two heads on a ResNet-18 backbone and ResNet-18 with its accuracy metric.
Each one validates, has the parameter count of the seed's module (its state_dict loads where the layers are
the same), generates a package whose ``train.py`` trains, trains in a smoke run with the document's loss on
the output it names, and reports its metrics.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import seed_modules as seeds
import torch
import torch.nn.functional as F

import codegen
from codegen.loader import generated_package
from codegen.smoke import SmokeSettings, train_package
from codegen.templates import load_template

# TorchBricks' Preprocessor is the user's own module here, allowed as a deployment would allow it.
LIMITS = codegen.Limits(custom_modules=("seed_modules.Preprocessor",))


def node(node_id: str, node_type: str, path: str | None = None, **params: Any) -> dict[str, Any]:
    made: dict[str, Any] = {"id": node_id, "type": node_type, "params": params}
    if path is not None:
        made["path"] = path
    return made


def torcharc_block(prefix: str, path: str, layers: list[tuple[str, dict]], init: Any) -> list[dict[str, Any]]:
    """TorchArc's repeated layer: weight layer (with its init), batch norm, ReLU, dropout; Sequential indices."""
    nodes = []
    for index, (kind, params) in enumerate(layers):
        weighted = node(f"{prefix}{index}", kind, f"{path}.{4 * index}" if path else str(4 * index), **params)
        weighted["init"] = init
        norm = "BatchNorm2d" if kind == "Conv2d" else "BatchNorm1d"
        drop = "Dropout2d" if kind == "Conv2d" else "Dropout"
        base = 4 * index
        nodes += [
            weighted,
            node(f"{prefix}{index}_bn", norm, f"{path}.{base + 1}" if path else str(base + 1)),
            node(f"{prefix}{index}_relu", "ReLU"),
            node(f"{prefix}{index}_drop", drop, p=0.2),
        ]
    return nodes


def chain(ids: list[str]) -> list[list[str]]:
    return [[a, b] for a, b in zip(ids, ids[1:])]


def measured(loss: tuple[str, str, str, str], *metrics: tuple[str, str, str, str]) -> tuple[list, list]:
    """Loss and metric nodes, each ``(id, type, output node, target)``, and their edges."""
    nodes, edges = [], []
    for node_id, kind, output, target in (loss, *metrics):
        nodes.append(node(node_id, kind))
        edges += [[output, node_id, "input"], [target, node_id, "target"]]
    return nodes, edges


CONV_LAYERS = [
    ("Conv2d", {"out_channels": 16, "kernel_size": 4, "stride": 2}),
    ("Conv2d", {"out_channels": 16, "kernel_size": 4}),
]
KAIMING = {"type": "kaiming_uniform_", "nonlinearity": "relu"}


def torcharc_convnet() -> dict[str, Any]:
    body = torcharc_block("conv", "", CONV_LAYERS, KAIMING)
    ids = ["x", *(n["id"] for n in body)]
    recipe, wires = measured(("mse", "MSELoss", ids[-1], "y"), ("mae", "MeanAbsoluteError", ids[-1], "y"))
    return {
        "version": "0.2",
        "metadata": {"name": "ConvNet"},
        "nodes": [node("x", "Input", shape=[3, 20, 20]), *body, node("y", "Target", dtype="float32"), *recipe],
        "edges": chain(ids) + wires,
        "inputs": ["x"],
        "outputs": [ids[-1]],
        "training": {"optimizer": {"type": "Adam", "lr": 0.001}},
    }


def torcharc_mlp() -> dict[str, Any]:
    layers = [("Linear", {"out_features": 64}), ("Linear", {"out_features": 32})]
    body = torcharc_block("fc", "", layers, {"type": "normal_", "std": 0.01})
    ids = ["x", *(n["id"] for n in body)]
    recipe, wires = measured(("ce", "CrossEntropyLoss", ids[-1], "y"), ("accuracy", "Accuracy", ids[-1], "y"))
    return {
        "version": "0.2",
        "metadata": {"name": "MLP"},
        "nodes": [node("x", "Input", shape=[8]), *body, node("y", "Target", num_classes=32), *recipe],
        "edges": chain(ids) + wires,
        "inputs": ["x"],
        "outputs": [ids[-1]],
        "training": {"optimizer": {"type": "Adam", "lr": 0.001}},
    }


def torcharc_hydra(image_size: int = 20) -> dict[str, Any]:
    image = torcharc_block("image", "image", CONV_LAYERS, KAIMING)
    mlp = torcharc_block("mlp", "Linear", [("Linear", {"out_features": 64}), ("Linear", {"out_features": 32})], KAIMING)
    recipe, wires = measured(("mse", "MSELoss", "fork:0", "y"), ("mae", "MeanAbsoluteError", "fork:0", "y"))
    nodes = [
        node("image_in", "Input", shape=[3, image_size, image_size]),
        node("vector", "Input", shape=[8]),
        *image,
        node("merge", "FiLM", "merge"),
        node("flatten", "Flatten"),
        *mlp,
        node("out", "Linear", "out", out_features=8),
        node("fork", "Split", sections=[4, 4], dim=1),
        node("y", "Target", dtype="float32", shape=[4]),
        *recipe,
    ]
    edges = [
        *chain(["image_in", *(n["id"] for n in image)]),
        [image[-1]["id"], "merge", "feature"],
        ["vector", "merge", "conditioner"],
        *chain(["merge", "flatten", *(n["id"] for n in mlp), "out", "fork"]),
        *wires,
    ]
    return {
        "version": "0.2",
        "metadata": {"name": "Hydra"},
        "nodes": nodes,
        "edges": edges,
        "inputs": ["image_in", "vector"],
        "outputs": {"mean": "fork:0", "std": "fork:1"},
        "training": {"optimizer": {"type": "Adam", "lr": 0.001}},
    }


def torcharc_ts_transformer() -> dict[str, Any]:
    graph = load_template("ts_transformer")
    recipe, wires = measured(("mse", "MSELoss", "out_linear", "y"), ("mae", "MeanAbsoluteError", "out_linear", "y"))
    graph["nodes"] += [node("y", "Target", dtype="float32"), *recipe]
    graph["edges"] += wires
    graph["training"] = {"optimizer": {"type": "Adam", "lr": 0.0001}}
    return graph


def torchbricks_concept() -> dict[str, Any]:
    recipe, wires = measured(("loss_ce", "CrossEntropyLoss", "head_fc", "targets"))
    preprocessor = node("preprocessor", "Scalar", op="div", value=2.0)
    return {
        "version": "0.2",
        "metadata": {"name": "Concept"},
        "nodes": [
            node("raw_images", "Input", shape=[3, 100, 200]),
            preprocessor,
            node("backbone", "Conv2d", "backbone.conv", out_channels=10, kernel_size=1),
            node("head_pool", "GlobalAvgPool"),
            node("head_fc", "Linear", "head.fc", out_features=3),
            node("head_softmax", "Softmax", dim=1),
            node("targets", "Target", num_classes=3),
            *recipe,
        ],
        "edges": chain(["raw_images", "preprocessor", "backbone", "head_pool", "head_fc", "head_softmax"]) + wires,
        "inputs": ["raw_images"],
        "outputs": {"logits": "head_fc", "softmaxed": "head_softmax"},
    }


def resnet18_backbone(size: int) -> tuple[list[dict], list[list[str]]]:
    """TorchBricks' BackboneResnet: ResNet-18 up to layer4 (no pooling, no classifier), normalised input."""
    template = load_template("resnet18")
    nodes = [n for n in template["nodes"] if n["id"] not in ("avgpool", "fc")]
    nodes[0]["params"]["shape"] = [3, size, size]
    for n in nodes[1:]:
        n["path"] = f"backbone.{n['path']}" if n.get("path") else None
        if n["path"] is None:
            del n["path"]
    edges = [e for e in template["edges"] if e[1] not in ("avgpool", "fc")]
    preprocessor = node(
        "preprocessor",
        "CustomModule",
        **{"class": "seed_modules.Preprocessor", "output_shape": [-1, -1, -1]},
    )
    nodes.insert(1, preprocessor)
    edges = [["input", "preprocessor"], *(["preprocessor", e[1]] if e[0] == "input" else e for e in edges)]
    return nodes, edges


def image_head(name: str, classes: int, targets: str) -> tuple[list[dict], list[list[str]], dict[str, str]]:
    """TorchBricks' ImageClassifier with its cross-entropy on the logits and accuracy on the predicted class."""
    pool, fc, soft, pred = f"{name}_pool", f"{name}_fc", f"{name}_softmax", f"{name}_prediction"
    nodes = [
        node(pool, "GlobalAvgPool"),
        node(fc, "Linear", f"{name}.fc", out_features=classes),
        node(soft, "Softmax", dim=1),
        node(pred, "ArgMax", dim=1),
        node(targets, "Target", num_classes=classes),
        node(f"{name}/loss_ce", "CrossEntropyLoss"),
        node(f"{name}/accuracy", "Accuracy"),
    ]
    edges = [
        ["layer4_1", pool],
        *chain([pool, fc, soft, pred]),
        [fc, f"{name}/loss_ce", "input"],
        [targets, f"{name}/loss_ce", "target"],
        [pred, f"{name}/accuracy", "input"],
        [targets, f"{name}/accuracy", "target"],
    ]
    outputs = {f"{name}/logits": fc, f"{name}/probabilities": soft, f"{name}/class_prediction": pred}
    return nodes, edges, outputs


def torchbricks_heads(heads: list[tuple[str, int, str]], name: str, size: int = 64) -> dict[str, Any]:
    nodes, edges = resnet18_backbone(size)
    outputs: dict[str, str] = {}
    for head in heads:
        more, wires, named = image_head(*head)
        nodes += more
        edges += wires
        outputs.update(named)
    return {
        "version": "0.2",
        "metadata": {"name": name},
        "nodes": nodes,
        "edges": edges,
        "inputs": ["input"],
        "outputs": outputs,
        "training": {"optimizer": {"type": "SGD", "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4}},
    }


def resnet_backbone_count() -> int:
    from torchvision_models import torchvision_model

    resnet = torchvision_model("resnet18")
    return seeds.parameter_count(resnet) - seeds.parameter_count(resnet.fc)


@dataclass
class Example:
    graph: Callable[[], dict[str, Any]]
    reference: Callable[[], int]  # the seed's parameter count
    loss: tuple[str, str, str, Callable[..., torch.Tensor]]  # loss node, the output it reads, its Target, torch's
    metrics: list[str]
    state_dict: Callable[[], torch.nn.Module] | None = None  # a seed module whose state_dict loads by name


EXAMPLES = {
    "torcharc_convnet": Example(
        torcharc_convnet,
        lambda: seeds.parameter_count(seeds.torcharc_conv()),
        ("mse", "", "y", F.mse_loss),
        ["mae"],
        seeds.torcharc_conv,
    ),
    "torcharc_mlp": Example(
        torcharc_mlp,
        lambda: seeds.parameter_count(seeds.torcharc_mlp()),
        ("ce", "", "y", F.cross_entropy),
        ["accuracy"],
        seeds.torcharc_mlp,
    ),
    "torcharc_hydra": Example(
        torcharc_hydra,
        lambda: seeds.parameter_count(seeds.Hydra()),
        ("mse", "mean", "y", F.mse_loss),
        ["mae"],
        seeds.Hydra,
    ),
    "torcharc_ts_transformer": Example(
        torcharc_ts_transformer,
        lambda: seeds.parameter_count(seeds.TSTransformerLayers()),
        ("mse", "", "y", F.mse_loss),
        ["mae"],
    ),
    "torchbricks_concept": Example(
        torchbricks_concept,
        lambda: seeds.parameter_count(seeds.TinyModel(3, 10)) + seeds.parameter_count(seeds.ClassifierDummy(3, 10)),
        ("loss_ce", "logits", "targets", F.cross_entropy),
        [],
    ),
    "torchbricks_two_heads": Example(
        lambda: torchbricks_heads([("head0", 3, "targets0"), ("head1", 5, "targets1")], "TwoHeads"),
        lambda: (
            resnet_backbone_count()
            + seeds.parameter_count(seeds.ImageClassifier(3, 512))
            + seeds.parameter_count(seeds.ImageClassifier(5, 512))
        ),
        ("head0/loss_ce", "head0/logits", "targets0", F.cross_entropy),
        ["head0/accuracy", "head1/accuracy"],
    ),
    "torchbricks_resnet18_metrics": Example(
        lambda: torchbricks_heads([("head", 10, "targets")], "Resnet18Classifier"),
        lambda: resnet_backbone_count() + seeds.parameter_count(seeds.ImageClassifier(10, 512)),
        ("head/loss_ce", "head/logits", "targets", F.cross_entropy),
        ["head/accuracy"],
    ),
}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_the_seed_example_is_a_graph_with_the_seeds_parameter_count(name):
    example = EXAMPLES[name]
    graph = example.graph()
    validation = codegen.validate(graph, limits=LIMITS)
    assert [d.message for d in validation.errors] == []
    with generated_package(graph, limits=LIMITS) as package:
        model = package.build_model().eval()
        outputs = model(*package.example_inputs(2))
        targets = package.example_targets(2)
        terms = package.build_loss()(outputs, targets)
    assert seeds.parameter_count(model) == example.reference()
    if example.state_dict is not None:  # the same layers under the same names
        model.load_state_dict(example.state_dict().state_dict(), strict=True)
    loss, output, target, reference = example.loss  # the loss is computed on the output it names
    torch.testing.assert_close(terms[loss], reference(outputs[output] if output else outputs, targets[target]))


def test_the_hydra_computes_what_torcharcs_dag_computes_at_any_image_size():
    for size in (20, 18, 32):
        reference = seeds.Hydra(size).eval()
        with generated_package(torcharc_hydra(size)) as package:
            model = package.build_model().eval()
        model.load_state_dict(reference.state_dict(), strict=True)
        image, vector = torch.randn(3, 3, size, size), torch.randn(3, 8)
        got, want = model(image, vector), reference(image, vector)
        assert list(got) == ["mean", "std"]
        for key in want:
            torch.testing.assert_close(got[key], want[key])


def test_the_loss_reaches_only_the_output_it_names():
    """Hydra's loss reads ``mean``: the rows of the last layer that make ``std`` get no gradient from it."""
    with generated_package(torcharc_hydra()) as package:
        model = package.build_model()
        targets = package.example_targets(4)
        outputs = model(*package.example_inputs(4))
        terms = package.build_loss()(outputs, targets)
    torch.testing.assert_close(terms["mse"], F.mse_loss(outputs["mean"], targets["y"]))
    terms["loss"].backward()
    grad = model.out.weight.grad
    assert grad[:4].abs().sum() > 0 and torch.equal(grad[4:], torch.zeros_like(grad[4:]))


def test_two_heads_have_a_loss_each_on_their_own_logits():
    with generated_package(EXAMPLES["torchbricks_two_heads"].graph(), limits=LIMITS) as package:
        model = package.build_model().eval()
        inputs, targets = package.example_inputs(2), package.example_targets(2)
        with torch.no_grad():
            outputs = model(*inputs)
            terms = package.build_loss()(outputs, targets)
            measured_now = package.build_metrics()(outputs, targets)
    assert set(terms) == {"loss", "head0/loss_ce", "head1/loss_ce"}
    torch.testing.assert_close(terms["head0/loss_ce"], F.cross_entropy(outputs["head0/logits"], targets["targets0"]))
    torch.testing.assert_close(terms["head1/loss_ce"], F.cross_entropy(outputs["head1/logits"], targets["targets1"]))
    torch.testing.assert_close(terms["loss"], terms["head0/loss_ce"] + terms["head1/loss_ce"])
    expected = (outputs["head1/class_prediction"] == targets["targets1"]).float().mean()
    torch.testing.assert_close(measured_now["head1/accuracy"], expected)
    assert outputs["head0/logits"].shape == (2, 3) and outputs["head1/probabilities"].shape == (2, 5)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_the_seed_example_trains_with_train_py_and_in_a_smoke_run(name, tmp_path, monkeypatch):
    example = EXAMPLES[name]
    graph = example.graph()
    package_name = f"seed_{name}"
    files = codegen.generate(graph, name=package_name, layout="package", with_train=True, limits=LIMITS)
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        train = importlib.import_module(f"{package_name}.train")
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            last = train.main(["--steps", "2", "--batch-size", "2"])
    finally:
        for module in [m for m in sys.modules if m.split(".")[0] == package_name]:
            del sys.modules[module]
    assert torch.isfinite(torch.tensor(last))
    for metric in example.metrics:
        assert f"{metric} " in printed.getvalue()

    with generated_package(graph, limits=LIMITS) as package:
        metrics = train_package(package, SmokeSettings(batch_size=2, steps=2, epochs=1, seed=0, optimizer="sgd"))
    assert metrics["steps"] == 2 and math.isfinite(metrics["loss"])
    documented = graph.get("training", {}).get("optimizer")
    assert metrics.get("optimizer") == (documented["type"] if documented else None)  # the document's, not sgd
    for metric in example.metrics:
        assert math.isfinite(metrics[f"train_{metric}"])


def test_the_hydra_written_as_yaml_is_the_same_graph():
    """What a user writes by hand, as TorchArc's specs are written: YAML loads as the same document."""
    import yaml

    graph = torcharc_hydra()
    assert codegen.load_graph(yaml.safe_dump(graph, sort_keys=False)).document == json.loads(json.dumps(graph))
