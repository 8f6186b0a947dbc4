"""Every reference architecture drawn as a graph loads its reference's weights by name and computes the same.

The references are torchvision's own model classes (``tests/support/torchvision_models.py``) and, for the
models torchvision has no twin of, modules written out in ``tests/support/reference_graphs``. For each:
the generated module takes ``reference.state_dict()`` with ``strict=True`` (same keys, same shapes), has the
same parameter count, and gives outputs equal to the reference's in eval mode (rtol 1e-4, atol 1e-5).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys

import pytest
import torch

import codegen
from codegen.templates import TEMPLATES_DIR
from tests.support.reference_graphs import all_models
from tests.support.reference_graphs.__main__ import template_text, with_positions_of

MODELS = all_models()


def generated_model(document: dict, tmp_path, module_name: str) -> torch.nn.Module:
    files = codegen.generate(document, name=module_name, layout="file")
    ((path, text),) = files.items()
    target = tmp_path / path
    target.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(module_name, target)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
        return module.build_model().eval()
    finally:
        del sys.modules[module_name]


def example_input(document: dict, batch: int) -> torch.Tensor:
    """A batch for the graph's one Input: token ids for a text model's int64 input, features otherwise."""
    (input_id,) = document["inputs"]
    (params,) = [n["params"] for n in document["nodes"] if n["id"] == input_id]
    size = (batch, *params["shape"])
    return torch.randint(params["vocab_size"], size) if params.get("dtype") == "int64" else torch.randn(size)


@pytest.mark.parametrize("name", list(MODELS))
def test_the_drawn_model_loads_the_reference_weights_and_computes_the_same(name, tmp_path):
    model = MODELS[name]
    torch.manual_seed(0)
    reference = model.reference().eval()
    document = model.graph()
    generated = generated_model(document, tmp_path, f"tc_reference_{name}")

    missing = sorted(set(reference.state_dict()) ^ set(generated.state_dict()))
    assert not missing, f"keys that differ: {missing[:12]}"
    generated.load_state_dict(reference.state_dict(), strict=True)
    count = sum(p.numel() for p in generated.parameters())
    assert count == sum(p.numel() for p in reference.parameters())
    assert codegen.validate(document).params_total == count

    x = example_input(document, model.batch)
    with torch.no_grad():
        torch.testing.assert_close(generated(x), reference(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", [n for n, m in MODELS.items() if m.template])
def test_the_shipped_template_is_what_the_builder_writes(name):
    model = MODELS[name]
    shipped = (TEMPLATES_DIR / f"{model.template}.json").read_text(encoding="utf-8")
    # Node positions are the canvas's Layout, stored by the frontend's templates test: taken as shipped.
    document = with_positions_of(model.graph(), json.loads(shipped))
    assert shipped == template_text(document), "run `python -m tests.support.reference_graphs`"
    assert json.loads(shipped) == document


def without_paths(document: dict) -> dict:
    """The same graph without module paths: what the engine generated before paths existed (flat names)."""
    flat = json.loads(json.dumps(document))
    for body in [flat, *flat.get("composites", {}).values()]:
        for node in body["nodes"]:
            node.pop("path", None)
    return flat


def model_statements(document: dict) -> tuple[int, str]:
    """Statements in the model class's ``__init__`` and ``forward`` (a wrapped statement counts once), and the source."""
    source = codegen.generate(document, name="m")["m/model.py"]
    (model_class,) = [node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)]
    methods = [node for node in model_class.body if isinstance(node, ast.FunctionDef)]
    return sum(1 for method in methods for node in ast.walk(method) if isinstance(node, ast.stmt)) - len(
        methods
    ), source


@pytest.mark.parametrize("name", ["resnet50", "densenet121"])
def test_stages_are_sequentials_and_loops_at_most_half_the_flat_length(name):
    document = MODELS[name].graph()
    shaped, source = model_statements(document)
    flat, _ = model_statements(without_paths(document))
    assert 2 * shaped <= flat, (shaped, flat)
    assert "nn.Sequential(" in source and " in range(" in source
