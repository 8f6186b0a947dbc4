"""Malformed recipe fields get a sentence with their JSON path, never a traceback."""

from __future__ import annotations

import pytest

import codegen

BASE = {
    "version": "0.2",
    "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [4]}},
        {"id": "fc", "type": "Linear", "params": {"out_features": 2}},
    ],
    "edges": [["x", "fc"]],
    "inputs": ["x"],
    "outputs": ["fc"],
}


def messages(**changes) -> list[str]:
    document = {**BASE, **changes}
    return [d.message for d in codegen.validate(document).diagnostics if d.severity == "error"]


def with_node(**fields) -> list[dict]:
    return [BASE["nodes"][0], {**BASE["nodes"][1], **fields}]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"outputs": {}}, "outputs: expected at least one named output"),
        ({"outputs": {1: "fc"}}, "outputs: output names are text, got int"),
        ({"outputs": {"a b": "fc"}}, 'outputs.a b: output name "a b" must be 1 to 64 letters, digits'),
        ({"outputs": {"logits": 7}}, "outputs.logits: expected node id string (or node:port), got int"),
        ({"outputs": {"logits": "nope"}}, "outputs.logits names `nope`, which is not a node"),
        ({"outputs": ["fc:3"]}, "outputs[0] names output 3 of `fc`, which has 1 output"),
        ({"nodes": with_node(stage="training")}, "nodes[1].stage: expected one of model, loss, metrics"),
        ({"nodes": with_node(trainable="no")}, 'nodes[1].trainable: expected bool, got "no"'),
        ({"nodes": with_node(init=[1, 2])}, "nodes[1].init: expected the weight init as a name or an object"),
        (
            {"nodes": with_node(init={"type": "normal", "std": "wide"})},
            'nodes[1].init.std: expected number, got "wide"',
        ),
        ({"training": []}, "training: expected object with optimizer and scheduler, got list"),
        ({"training": {"optimizer": 5}}, "training.optimizer: expected the optimizer as a name or an object"),
        ({"training": {"optimizer": {"type": "SGD", "lr": 1e308 * 10}}}, "training.optimizer.lr"),
        ({"training": {"epochs": 3}}, "training.epochs: unknown field (allowed: optimizer, scheduler)"),
    ],
)
def test_a_malformed_recipe_field_is_a_sentence_with_its_path(changes, message):
    found = messages(**changes)
    assert any(m.startswith(message) for m in found), found


def test_the_validate_api_answers_hostile_recipes_with_sentences(client):
    """A document of the wrong shape is refused (400, with its path); a recipe that does not fit is a
    diagnostic of a valid request."""
    shape = client.post(
        "/api/validate/", {"graph": {**BASE, "outputs": {"x" * 500: "fc"}}}, content_type="application/json"
    )
    assert shape.status_code == 400 and "must be 1 to 64 letters" in shape.json()["detail"]
    hostile = {**BASE, "training": {"optimizer": {"type": {"nested": True}}}}
    fit = client.post("/api/validate/", {"graph": hostile}, content_type="application/json")
    assert fit.status_code == 200 and fit.json()["ok"] is False
    assert fit.json()["diagnostics"][0]["path"] == "training.optimizer.type"
