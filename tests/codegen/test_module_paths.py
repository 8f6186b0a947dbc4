"""Module paths: a node's ``path`` puts its module at that place in the generated module tree.

The rules (codegen/hierarchy.py): malformed, shared or clashing paths are refused with a PATH diagnostic
naming the node; chains of modules under one prefix become one ``nn.Sequential`` called once; runs of equal
or evenly growing blocks are written as loops; anything else is a plain container read member by member.
In every case the generated module and the reference interpreter have the same state_dict keys and outputs.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
import torch

import codegen
from codegen.analysis import analyze
from codegen.api import load_graph
from codegen.interpreter import build_reference
from codegen.spec import NODE_SPECS
from tests.codegen.test_equivalence import RUFF
from tests.support.graph_builder import GraphBuilder


def chain(paths: list[str | None], *, widths: list[int] | None = None) -> dict:
    """Input (8 features) → one Linear per entry of ``paths`` (its path, or none)."""
    g = GraphBuilder("Paths")
    g.input("input", [8])
    for k, path in enumerate(paths):
        g.node("Linear", f"fc{k}", path=path, out_features=(widths or [8] * len(paths))[k])
    return g.document()


def path_errors(document: dict) -> list[tuple[str | None, str]]:
    return [(d.node, d.message) for d in codegen.validate(document).diagnostics if d.code == "PATH"]


def generated(document: dict, tmp_path, name: str = "paths_model"):
    ((filename, text),) = codegen.generate(document, name=name, layout="file").items()
    target = tmp_path / filename
    target.write_text(text, encoding="utf-8")
    if RUFF:  # formatted as ruff formats it, with ruff's defaults
        for command in (["check"], ["format", "--check", "--diff"]):
            done = subprocess.run(
                [RUFF, *command, "--isolated", "--no-cache", str(target)], capture_output=True, text=True
            )
            assert done.returncode == 0, done.stdout[-3000:]
    spec = importlib.util.spec_from_file_location(name, target)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return text, module.build_model()


def assert_matches_interpreter(document: dict, model: torch.nn.Module, *shape: int) -> None:
    reference = build_reference(analyze(load_graph(document)))
    assert list(model.state_dict()) == list(reference.state_dict()) or set(model.state_dict()) == set(
        reference.state_dict()
    )
    reference.load_state_dict(model.state_dict(), strict=True)
    model.eval(), reference.eval()
    x = torch.randn(3, *shape)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x))


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("features..0", "has the segment ``"),
        ("features.01", "has the segment `01`"),
        ("features.conv-1", "has the segment `conv-1`"),
        ("Linear.é", "has the segment `é`"),
        ("blocks.class", "uses `class`"),
        ("training", "uses `training`"),
        ("head.forward", "uses `forward`"),
        ("__dict__", "uses `__dict__`"),
        ("blocks.10000", "indices go up to 9999"),
        ("a." * 100 + "b", "longer than 200 characters"),
        (".".join("a" * 17), "more than 16 levels"),
        ("", "is empty"),
    ],
)
def test_a_malformed_path_is_refused_naming_the_node_and_the_rule(path, fragment):
    (error,) = path_errors(chain([path]))
    assert error[0] == "fc0"
    assert fragment in error[1]


def test_two_nodes_cannot_share_a_path():
    assert path_errors(chain(["head.fc", "head.fc"])) == [
        ("fc1", "module path `head.fc` is already used by `fc0`; paths are unique")
    ]


def test_a_path_cannot_be_both_a_layer_and_the_container_of_another():
    ((node, message),) = path_errors(chain(["head", "head.fc"]))
    assert node == "fc0" and "is also the container of `fc1` (`head.fc`)" in message


def test_a_container_cannot_mix_numbered_and_named_members():
    errors = path_errors(chain(["head.0", "head.fc"]))
    assert errors and all("mixes numbered and named members" in m for _, m in errors)


def test_an_input_takes_no_path():
    document = chain(["fc"])
    document["nodes"][0]["path"] = "stem"
    assert path_errors(document) == [("input", "an Input node holds no module, so it takes no module path; clear it")]


@pytest.mark.parametrize("node_type", sorted(NODE_SPECS))
def test_a_node_with_a_path_and_bad_params_gets_param_errors_not_an_exception(node_type):
    """The unused-path check asks each node for its constructor: only nodes whose params are usable."""
    document = {
        "version": "0.2",
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [4, 8]}},
            {"id": "n", "type": node_type, "params": {"no_such_param": "bad"}, "path": "blk.n"},
        ],
        "edges": [["x", "n"]] if node_type != "Input" else [],
        "inputs": ["x"],
        "outputs": ["n"],
    }
    codes = {d.code for d in codegen.validate(document).diagnostics}
    assert "UNKNOWN_PARAM" in codes


def test_a_path_on_a_function_in_forward_is_a_warning_that_it_places_nothing():
    g = GraphBuilder("Functional")
    g.input("input", [4, 6, 6])
    g.node("Flatten", "flat", path="features.0")
    g.node("Linear", "fc", out_features=2)
    (warning,) = codegen.validate(g.document()).diagnostics
    assert (warning.code, warning.severity, warning.node) == ("PATH", "warning", "flat")
    assert warning.message == (
        "Flatten is a function in forward, with no module or learned tensor of its own, so its module path "
        "`features.0` places nothing; clear it"
    )


def test_a_path_that_is_not_a_string_is_a_parse_error():
    document = chain([None])
    document["nodes"][1]["path"] = 3
    with pytest.raises(codegen.GraphError, match=r"nodes\[1\]\.path: expected string"):
        codegen.generate(document)


def test_a_chain_under_one_prefix_is_one_sequential_called_once(tmp_path):
    document = chain(["body.0", "body.1", "body.2", "head"], widths=[8, 8, 8, 4])
    text, model = generated(document, tmp_path)
    assert "self.body = nn.Sequential(" in text and "x = self.body(x)" in text
    assert "self.body[" not in text
    assert list(model.state_dict())[:2] == ["body.0.weight", "body.0.bias"]
    assert_matches_interpreter(document, model, 8)


def test_equal_blocks_become_a_loop_and_evenly_growing_ones_a_loop_over_i(tmp_path):
    document = chain(["same.0", "same.1", "same.2", "grow.0", "grow.1", "grow.2"], widths=[8, 8, 8, 12, 16, 20])
    text, model = generated(document, tmp_path)
    assert "*[nn.Linear(8, 8) for _ in range(3)]" in text
    assert "*[nn.Linear(8 + 4 * i, 12 + 4 * i) for i in range(3)]" in text
    assert_matches_interpreter(document, model, 8)


def test_a_run_ends_where_its_step_changes_and_the_next_run_starts_there(tmp_path):
    widths = [12, 16, 20, 24, 32, 40, 48]
    document = chain([f"grow.{k}" for k in range(len(widths))], widths=widths)
    text, model = generated(document, tmp_path)
    assert "*[nn.Linear(8 + 4 * i, 12 + 4 * i) for i in range(4)]" in text
    assert "*[nn.Linear(24 + 8 * i, 32 + 8 * i) for i in range(3)]" in text
    assert_matches_interpreter(document, model, 8)


def test_two_different_blocks_are_not_forced_into_a_loop(tmp_path):
    text, _ = generated(chain(["pair.0", "pair.1"], widths=[16, 4]), tmp_path)
    assert "for i in range" not in text and "nn.Linear(8, 16)" in text and "nn.Linear(16, 4)" in text


def test_named_members_numbered_in_a_run_are_one_generator_of_names(tmp_path):
    document = chain([f"encoder.layers.encoder_layer_{k}" for k in range(4)])
    text, model = generated(document, tmp_path)
    assert '(f"encoder_layer_{i}", nn.Linear(8, 8))\n' in text and "for i in range(4)" in text
    assert "encoder.layers.encoder_layer_3.weight" in model.state_dict()
    assert_matches_interpreter(document, model, 8)


def test_a_member_read_from_outside_the_chain_makes_the_container_a_namespace(tmp_path):
    g = GraphBuilder("Skip")
    g.input("input", [8])
    g.node("Linear", "a", path="block.0", out_features=8)
    g.node("Linear", "b", path="block.1", out_features=8)
    g.node("Add", "sum", ["a", "b"])  # reads the middle of block.0 → block.1
    document = g.document()
    text, model = generated(document, tmp_path)
    assert "self.block = nn.ModuleList([nn.Linear(8, 8) for _ in range(2)])" in text
    assert "self.block[0](x)" in text and "self.block[1](" in text
    assert_matches_interpreter(document, model, 8)


def test_a_numbered_member_that_is_a_function_leaves_an_empty_slot(tmp_path):
    g = GraphBuilder("Head")
    g.input("input", [8])
    g.node("Linear", "fc1", path="classifier.0", out_features=16)
    g.node("Dropout", "drop", p=0.5)  # a module, but drawn without a path: torchvision's index 1 is a ReLU
    g.node("Linear", "fc2", path="classifier.2", out_features=4)
    document = g.document()
    text, model = generated(document, tmp_path)
    assert "[nn.Linear(8, 16), nn.Identity(), nn.Linear(16, 4)]" in text
    assert set(model.state_dict()) == {f"classifier.{k}.{p}" for k in (0, 2) for p in ("weight", "bias")}
    assert_matches_interpreter(document, model, 8)


def test_learned_tensors_sit_in_named_containers_beside_modules(tmp_path):
    g = GraphBuilder("Tokens")
    g.input("input", [16, 6])
    g.node("Permute_BCT_to_BTH", "tokens")
    g.node("ClassToken", "cls", path="class_token")
    g.node("PositionEmbedding", "pos", path="encoder.pos_embedding", init="normal")
    g.node("LayerNorm", "ln", path="encoder.ln")
    g.node("SelectToken", "first", index=0)
    g.node("Linear", "head", path="heads.head", out_features=3)
    document = g.document()
    text, model = generated(document, tmp_path)
    assert "self.encoder = nn.Module()" in text
    assert "self.encoder.pos_embedding = nn.Parameter(" in text
    assert 'self.heads = nn.Sequential(OrderedDict([("head", nn.Linear(16, 3))]))' in text
    assert set(model.state_dict()) == {
        "class_token",
        "encoder.pos_embedding",
        "encoder.ln.weight",
        "encoder.ln.bias",
        "heads.head.weight",
        "heads.head.bias",
    }
    assert_matches_interpreter(document, model, 16, 6)


def test_a_block_parameter_named_i_keeps_the_blocks_written_out(tmp_path):
    g = GraphBuilder("Shadow")
    g.input("input", [8])
    for k in range(3):
        g.node("Wide", f"w{k}", path=f"stage.{k}")
    document = g.document()
    document["composites"] = {
        "Wide": {
            "params": [{"name": "i", "type": "int", "default": 8}],
            "nodes": [
                {"id": "x", "type": "Input", "params": {}},
                {"id": "fc", "type": "Linear", "params": {"out_features": "$i"}},
            ],
            "edges": [["x", "fc"]],
            "inputs": ["x"],
            "outputs": ["fc"],
        }
    }
    text, model = generated(document, tmp_path)
    assert "for _ in range" not in text and text.count("Wide(8, i=8)") == 3
    assert_matches_interpreter(document, model, 8)


def test_flat_names_avoid_the_first_segment_of_every_path(tmp_path):
    g = GraphBuilder("Clash")
    g.input("input", [8])
    g.node("Linear", "features", out_features=8)  # its own id is a path's first segment elsewhere
    g.node("Linear", "fc", path="features_x.0", out_features=8)
    g.node("Linear", "other", path="features.0", out_features=8)
    document = g.document()
    text, model = generated(document, tmp_path)
    assert "self.features_1 = nn.Linear(8, 8)" in text
    assert_matches_interpreter(document, model, 8)


def test_a_numbered_container_inside_a_numbered_one_keeps_its_members(tmp_path):
    # Swin's stem: features.0 is Conv2d, Permute (a function here), LayerNorm; features.1 the next stage.
    g = GraphBuilder("Stem")
    g.input("input", [3, 8, 8])
    g.node("Conv2d", "patchify", path="features.0.0", out_channels=4, kernel_size=2, stride=2)
    g.node("Permute", "channels_last", dims=[0, 2, 3, 1])
    g.node("LayerNorm", "norm", path="features.0.2")
    g.node("Linear", "fc", path="features.1", out_features=6)
    document = g.document()
    text, model = generated(document, tmp_path)
    assert "nn.Conv2d(3, 4, kernel_size=2, stride=2),\n" in text and "nn.LayerNorm(4),\n" in text
    assert set(model.state_dict()) == {f"features.{k}.{p}" for k in ("0.0", "0.2", "1") for p in ("weight", "bias")}
    assert_matches_interpreter(document, model, 3, 8, 8)
