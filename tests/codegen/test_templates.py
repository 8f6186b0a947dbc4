"""The built-in templates: each one validates cleanly, generates, imports, runs and trains.

Generated code is written to a temporary folder and imported like a user would import it. The
ImageNet-size models are counted on the meta device and run at a small resolution (their pooling
allows it), so the whole file stays fast on two CPU cores.
"""

from __future__ import annotations

import copy
import importlib
import json
import math
import os
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from torch import nn

import codegen
from codegen.templates import TEMPLATES_DIR, list_templates, load_template, template_names

ROOT = Path(__file__).resolve().parents[2]
NAMES = template_names()
REQUIRED = (
    "vgg16",
    "resnet18",
    "resnet50",
    "resnext50_32x4d",
    "mobilenet_v3_small",
    "efficientnet_b0",
    "mobilenet_v2",
    "densenet121",
    "hybridcmi",
    "transformer_classifier",
    "unet_small",
)

# torchvision's parameter counts, with 1000 classes.
TORCHVISION_TOTALS = {
    "vgg16": 138_357_544,
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "resnext50_32x4d": 25_028_904,
    "mobilenet_v3_small": 2_542_856,
    "efficientnet_b0": 5_288_548,
    "mobilenet_v2": 3_504_872,
    "densenet121": 7_978_856,
    "swin_t": 28_288_354,
    "vit_b_16": 86_567_656,
    "convnext_tiny": 28_589_128,
}
# The ImageNet models run at a smaller resolution: their adaptive/global pooling makes that legal. ViT's
# position embedding has one row per patch of a 224x224 image, so it runs at its own size.
SMALL_INPUTS = {
    "vgg16": [3, 32, 32],
    "resnet18": [3, 64, 64],
    "resnet50": [3, 64, 64],
    "resnext50_32x4d": [3, 64, 64],
    "mobilenet_v3_small": [3, 64, 64],
    "efficientnet_b0": [3, 64, 64],
    "mobilenet_v2": [3, 64, 64],
    "densenet121": [3, 64, 64],
    "swin_t": [3, 64, 64],
    "vit_b_16": [3, 224, 224],
    "convnext_tiny": [3, 64, 64],
}
# Small enough to train for two steps in a test.
TRAINABLE = [name for name in NAMES if name not in TORCHVISION_TOTALS]


# ---------------------------------------------------------------------------------------------
# Helpers


def generated(name: str, layout: str, tmp_root: Path, cache: dict[tuple[str, str], ModuleType]) -> ModuleType:
    """Generate template ``name`` into ``tmp_root`` and import it (once per template and layout)."""
    key = (name, layout)
    if key not in cache:
        module_name = f"tctpl_{name}_{layout}"
        files = codegen.generate(load_template(name), name=module_name, layout=layout, with_train=True)
        for path, text in files.items():
            target = tmp_root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        importlib.invalidate_caches()
        cache[key] = importlib.import_module(module_name)
    return cache[key]


@pytest.fixture(scope="module", autouse=True)
def _one_thread_per_xdist_worker():
    """Under pytest-xdist, workers share the cores: several intra-op threads each only contend."""
    before = torch.get_num_threads()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def import_template(tmp_path_factory):
    """``import_template(name, layout="package")``: the generated package (or single module), imported."""
    root = tmp_path_factory.mktemp("generated_templates")
    sys.path.insert(0, str(root))
    cache: dict[tuple[str, str], ModuleType] = {}
    yield lambda name, layout="package": generated(name, layout, root, cache)
    sys.path.remove(str(root))
    for module_name in [m for m in sys.modules if m.startswith("tctpl_")]:
        del sys.modules[module_name]


def input_id(document: dict[str, Any]) -> str:
    (only,) = document["inputs"]
    return only


def concrete(shape: list[Any], batch: int) -> tuple[int, ...]:
    """A validator shape such as ``["B", 1000]`` at a given batch size."""
    return tuple(batch if dim == "B" else dim for dim in shape)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------------
# The catalogue


def test_the_required_templates_all_ship():
    assert set(REQUIRED) <= set(NAMES)


def test_list_templates_summarises_every_template_in_name_order():
    summaries = list_templates()
    assert [s["name"] for s in summaries] == NAMES == sorted(NAMES)
    assert summaries == list_templates()  # deterministic
    for summary in summaries:
        document = load_template(summary["name"])
        assert summary["title"] == document["metadata"]["name"]
        assert summary["description"] == document["metadata"]["description"]
        assert summary["tags"] == document["metadata"]["tags"]
        assert summary["node_count"] == len(document["nodes"])
        assert summary["edge_count"] == len(document["edges"])


def test_the_cli_lists_templates_by_name_and_title(capsys):
    from codegen.cli import main

    assert main(["templates"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(NAMES)
    for line, summary in zip(lines, list_templates()):
        assert summary["name"] in line and summary["title"] in line


def test_load_template_returns_a_fresh_copy_each_time():
    first = load_template("resnet18")
    first["nodes"].clear()
    assert load_template("resnet18")["nodes"]


@pytest.mark.parametrize(
    "name", ["nope", "VGG16", "vgg16.json", "../pyproject", "../../pyproject.toml", "/etc/passwd", "", ".", "__init__"]
)
def test_load_template_rejects_unknown_names_with_a_clear_key_error(name):
    with pytest.raises(KeyError) as caught:
        load_template(name)
    message = caught.value.args[0]
    assert repr(name) in message and "vgg16" in message and "resnet18" in message


def test_load_template_rejects_names_that_are_not_strings():
    with pytest.raises(KeyError):
        load_template(None)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        load_template(TEMPLATES_DIR / "vgg16.json")  # type: ignore[arg-type]


def test_templates_ship_as_package_data():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["codegen"]
    assert TEMPLATES_DIR == ROOT / "codegen" / "templates"
    assert any(all(path.match(f"codegen/{pattern}") for path in TEMPLATES_DIR.glob("*.json")) for pattern in patterns)


# ---------------------------------------------------------------------------------------------
# Every template: the document itself


@pytest.mark.parametrize("name", NAMES)
def test_each_template_is_a_tidy_v02_document(name):
    document = load_template(name)
    assert json.loads((TEMPLATES_DIR / f"{name}.json").read_text(encoding="utf-8")) == document
    assert document["version"] == "0.2"
    metadata = document["metadata"]
    assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", metadata["name"])
    # Descriptions end up in the generated model's docstring: short ASCII reads best there.
    assert 40 <= len(metadata["description"]) <= 300 and metadata["description"].isascii()
    assert metadata["tags"] and all(isinstance(tag, str) and tag == tag.lower() for tag in metadata["tags"])
    ids = [node["id"] for node in document["nodes"]]
    assert len(ids) == len(set(ids))
    positions = [(node["ui"]["x"], node["ui"]["y"]) for node in document["nodes"]]
    assert all(isinstance(v, int) for xy in positions for v in xy)
    assert len(positions) == len(set(positions)), "two nodes share a canvas position"


@pytest.mark.parametrize("name", NAMES)
def test_each_template_validates_with_no_errors_and_no_warnings(name):
    result = codegen.validate(load_template(name)).to_dict()
    assert result["diagnostics"] == []
    assert result["ok"] and result["params_total"] > 0
    (output,) = load_template(name)["outputs"]
    assert all(isinstance(d, int) for d in result["shapes"][output][1:])


def test_hybridcmi_is_the_seed_demo_with_its_quick_start_input_shape(demo_graph):
    template = load_template("hybridcmi")
    strip = [{k: v for k, v in node.items() if k in ("id", "type", "params")} for node in template["nodes"]]
    seed = copy.deepcopy(demo_graph["nodes"])
    seed[0]["params"] = {"shape": [9, 256]}  # the seed's quick start: C=9, T=256, 18 classes
    assert strip == seed
    assert [template[k] for k in ("edges", "inputs", "outputs")] == [
        demo_graph[k] for k in ("edges", "inputs", "outputs")
    ]
    assert codegen.validate(template).shapes()["fc"] == ["B", 18]


def test_the_unet_concatenates_each_skip_along_channels_and_keeps_the_input_size():
    template = load_template("unet_small")
    result = codegen.validate(template)
    concats = [n["id"] for n in template["nodes"] if n["type"] == "Concat"]
    assert len(concats) == 2 and all(n["params"]["dim"] == 1 for n in template["nodes"] if n["type"] == "Concat")
    for concat in concats:
        assert len([edge for edge in template["edges"] if edge[1] == concat]) == 2
    assert result.shapes()["head"] == ["B", 2, 64, 64]


def test_the_transformer_classifier_reads_int64_tokens_and_stays_small():
    template = load_template("transformer_classifier")
    params = template["nodes"][0]["params"]
    assert params == {"shape": [64], "dtype": "int64", "vocab_size": 1000}
    result = codegen.validate(template)
    assert result.params_total < 1_000_000
    assert result.shapes()["classifier"] == ["B", 4]


# ---------------------------------------------------------------------------------------------
# Generated code


@pytest.mark.parametrize("name", NAMES)
def test_each_template_generates_a_package_and_a_single_file(name):
    template = load_template(name)
    package = codegen.generate(template, name="pkg", layout="package", with_train=True)
    recipe = {"pkg/recipe.py"} if "training" in template else set()  # a template with a training recipe
    assert set(package) == {"pkg/__init__.py", "pkg/blocks.py", "pkg/model.py", "pkg/train.py", *recipe}
    single = codegen.generate(template, name="single", layout="file", with_train=True)
    assert list(single) == ["single.py"]
    for text in (*package.values(), *single.values()):
        compile(text, "<generated>", "exec")


@pytest.mark.parametrize("name", NAMES)
def test_the_generated_model_runs_forward_to_the_inferred_output_shape(name, import_template):
    template = load_template(name)
    module = import_template(name)
    shapes = None
    if name in SMALL_INPUTS:
        shapes = {input_id(template): SMALL_INPUTS[name]}
    inferred = codegen.validate(template, input_shapes=shapes).to_dict()
    assert inferred["ok"]
    (output,) = template["outputs"]
    (arg,) = module.INPUT_SHAPES
    batch = 1 if name in SMALL_INPUTS else 2
    torch.manual_seed(0)
    model = module.build_model().eval()
    inputs = module.example_inputs(batch, {arg: tuple(SMALL_INPUTS[name])} if shapes else None)
    with torch.no_grad():
        result = model(*inputs)
    assert tuple(result.shape) == concrete(inferred["shapes"][output], batch)
    assert torch.isfinite(result).all()


@pytest.mark.parametrize("name", NAMES)
def test_the_generated_single_file_builds_the_same_model_as_the_package(name, import_template):
    with torch.device("meta"):
        from_file = import_template(name, "file").build_model()
        from_package = import_template(name).build_model()
    assert type(from_file).__name__ == type(from_package).__name__ == load_template(name)["metadata"]["name"]
    file_shapes = {k: tuple(v.shape) for k, v in from_file.state_dict().items()}
    assert file_shapes == {k: tuple(v.shape) for k, v in from_package.state_dict().items()}


@pytest.mark.parametrize("name", NAMES)
def test_the_validator_counts_the_parameters_the_generated_model_has(name, import_template):
    with torch.device("meta"):
        model = import_template(name).build_model()
    assert count_parameters(model) == codegen.validate(load_template(name)).params_total


@pytest.mark.parametrize("name", sorted(TORCHVISION_TOTALS))
def test_the_imagenet_templates_match_torchvision_parameter_counts_exactly(name, import_template):
    assert codegen.validate(load_template(name)).params_total == TORCHVISION_TOTALS[name]
    with torch.device("meta"):
        model = import_template(name).build_model()
    assert count_parameters(model) == TORCHVISION_TOTALS[name]


def test_vgg16_has_thirteen_convolutions_and_three_linear_layers(import_template):
    with torch.device("meta"):
        model = import_template("vgg16").build_model()
    kinds = [type(m) for m in model.modules()]
    assert kinds.count(nn.Conv2d) == 13 and kinds.count(nn.Linear) == 3 and kinds.count(nn.MaxPool2d) == 5


@pytest.mark.parametrize(
    ("name", "block", "count"),
    [
        ("resnet18", "ResidualBlock", 8),
        ("resnet50", "Bottleneck", 16),
        ("resnext50_32x4d", "Bottleneck", 16),
        ("mobilenet_v3_small", "InvertedResidual", 11),
        ("efficientnet_b0", "MBConv", 16),
        ("swin_t", "SwinTransformerBlock", 12),
        ("vit_b_16", "TransformerEncoderBlock", 12),
        ("convnext_tiny", "CNBlock", 18),
    ],
)
def test_the_imagenet_templates_use_their_paper_blocks(name, block, count, import_template):
    with torch.device("meta"):
        model = import_template(name).build_model()
    assert sum(type(m).__name__ == block for m in model.modules()) == count


def test_resnext_groups_its_3x3_convolutions_32_ways(import_template):
    with torch.device("meta"):
        model = import_template("resnext50_32x4d").build_model()
    grouped = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(grouped) == 16 and all(m.groups == 32 for m in grouped)
    assert sorted({m.in_channels for m in grouped}) == [128, 256, 512, 1024]  # 32 groups of 4, 8, 16, 32


def test_mobilenet_v2_and_densenet121_use_their_paper_blocks(import_template):
    with torch.device("meta"):
        mobilenet = import_template("mobilenet_v2").build_model()
        densenet = import_template("densenet121").build_model()
    assert sum(type(m).__name__ == "InvertedResidualV2" for m in mobilenet.modules()) == 17
    assert sum(type(m).__name__ == "DenseLayer" for m in densenet.modules()) == 6 + 12 + 24 + 16
    assert sum(type(m).__name__ == "DenseTransition" for m in densenet.modules()) == 3


@pytest.mark.parametrize("name", TRAINABLE)
def test_the_generated_train_script_runs_two_steps(name, import_template, capsys):
    import_template(name)
    train = importlib.import_module(f"tctpl_{name}_package.train")
    loss = train.main(["--steps", "2", "--batch-size", "2"])
    assert math.isfinite(loss)
    assert "step 2/2" in capsys.readouterr().out


@pytest.mark.parametrize(("layout", "path", "script"), [("package", "pkg/blocks.py", ".train"), ("file", "pkg.py", "")])
def test_the_transformer_classifier_carries_its_positional_encoding_and_trains(layout, path, script, import_template):
    files = codegen.generate(load_template("transformer_classifier"), name="pkg", layout=layout, with_train=True)
    assert "class PositionalEncoding(nn.Module):" in files[path]
    import_template("transformer_classifier", layout)
    train = importlib.import_module(f"tctpl_transformer_classifier_{layout}{script}")
    assert math.isfinite(train.main(["--steps", "2", "--batch-size", "2"]))


def test_the_transformer_classifier_reads_token_order(import_template):
    """Without positions, mean pooling over self-attention would give a reversed sequence the same scores."""
    module = import_template("transformer_classifier")
    torch.manual_seed(0)
    model = module.build_model().eval()
    (tokens,) = module.example_inputs(2)
    with torch.no_grad():
        assert not torch.allclose(model(tokens), model(tokens.flip(1)), atol=1e-4)
