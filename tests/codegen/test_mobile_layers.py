"""The layers MobileNet, ShuffleNet and the stochastic-depth models need: ReLU6, Hardsigmoid, Hardtanh,
PReLU, Softplus, ChannelShuffle and StochasticDepth (DropPath).

Each is checked against an independent statement of what it computes (the formula in PyTorch's
documentation, torchvision's ``channel_shuffle`` and ``stochastic_depth`` written out here), its
generated code against the reference interpreter, and its cross-parameter checks for the exact
diagnostic. Shape rules and single-parameter ranges are covered for every type in test_node_specs.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from test_equivalence import chain_graph, check_case, forget, import_fresh, write
from test_node_specs import ex, one_node_graph, run_node

import codegen
from codegen.analysis import analyze
from codegen.schema import parse_graph


def run(node_type: str, x: torch.Tensor, **params: Any) -> torch.Tensor:
    """Node ``node_type`` built by its render rule and run (eval mode) on ``x``."""
    graph = one_node_graph(node_type, ex(list(x.shape[1:]), **params))
    analysis = analyze(parse_graph(graph))
    assert analysis.diagnostics == []
    _, [y] = run_node(analysis, [x])
    return y


# ---------------------------------------------------------------------------------------------
# Activations: what PyTorch's documentation says each computes, with the node's params passed through

X = torch.linspace(-8, 8, 161).reshape(1, 7, 23)  # every region of every activation, 0 and ±3 included


@pytest.mark.parametrize(
    ("node_type", "params", "formula"),
    [
        ("ReLU6", {}, lambda x: torch.minimum(torch.clamp(x, min=0), torch.tensor(6.0))),
        ("Hardsigmoid", {}, lambda x: torch.clamp(x + 3, 0, 6) / 6),
        ("Hardtanh", {}, lambda x: torch.clamp(x, -1.0, 1.0)),
        ("Hardtanh", {"min_val": -0.5, "max_val": 2.5}, lambda x: torch.clamp(x, -0.5, 2.5)),
        ("PReLU", {}, lambda x: torch.where(x >= 0, x, 0.25 * x)),
        ("PReLU", {"init": 0.1}, lambda x: torch.where(x >= 0, x, 0.1 * x)),
        ("Softplus", {}, lambda x: torch.where(x > 20, x, torch.log1p(torch.exp(x)))),
        (
            "Softplus",
            {"beta": 2.0, "threshold": 5.0},
            lambda x: torch.where(2 * x > 5, x, torch.log1p(torch.exp(2 * x)) / 2),
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_each_activation_computes_its_documented_formula(node_type, params, formula):
    torch.testing.assert_close(run(node_type, X, **params), formula(X))


def test_prelu_learns_one_slope_per_channel_when_asked():
    graph = one_node_graph("PReLU", ex([3, 4], num_parameters=3))
    analysis = analyze(parse_graph(graph))
    module = run_node(analysis, [torch.randn(2, 3, 4)])[0].n
    with torch.no_grad():
        module.weight.copy_(torch.tensor([0.1, 0.2, 0.3]))
    x = -torch.ones(1, 3, 4)
    torch.testing.assert_close(module(x), -torch.tensor([0.1, 0.2, 0.3]).view(1, 3, 1).expand(1, 3, 4))
    assert analysis.info["n"].param_count == 3


# ---------------------------------------------------------------------------------------------
# ChannelShuffle: torchvision's shufflenetv2.channel_shuffle


def torchvision_channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    batchsize, num_channels, height, width = x.size()
    channels_per_group = num_channels // groups
    x = x.view(batchsize, groups, channels_per_group, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batchsize, num_channels, height, width)


@pytest.mark.parametrize(("channels", "groups"), [(12, 3), (12, 4), (116, 2), (6, 1), (6, 6)])
def test_channel_shuffle_is_torchvisions(channels, groups):
    x = torch.randn(2, channels, 3, 5)
    assert torch.equal(run("ChannelShuffle", x, groups=groups), torchvision_channel_shuffle(x, groups))


# ---------------------------------------------------------------------------------------------
# StochasticDepth: torchvision.ops.stochastic_depth, as documented


def torchvision_stochastic_depth(x: torch.Tensor, p: float, mode: str, training: bool) -> torch.Tensor:
    """torchvision's algorithm: one Bernoulli(1 - p) draw per sample (row) or per batch, survivors / (1 - p)."""
    if not training or p == 0.0:
        return x
    survival_rate = 1.0 - p
    size = [x.shape[0]] + [1] * (x.ndim - 1) if mode == "row" else [1] * x.ndim
    noise = torch.empty(size, dtype=x.dtype).bernoulli_(survival_rate)
    if survival_rate > 0.0:
        noise.div_(survival_rate)
    return x * noise


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """``build(p, mode)``: the StochasticDepth module of a generated package (one node, 2-D input)."""
    folder = tmp_path_factory.mktemp("stochastic_depth")
    built = []

    def build(p: float, mode: str) -> torch.nn.Module:
        name = f"droppath{len(built)}"
        graph = chain_graph("2d", [3, 4, 4], ("StochasticDepth", {"p": p, "mode": mode})).graph
        write(codegen.generate(graph, name=name), folder)
        built.append(name)
        return import_fresh(name, folder).build_model().n0

    yield build
    for name in built:
        forget(name)


@pytest.mark.parametrize("mode", ["row", "batch"])
@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
def test_stochastic_depth_in_training_draws_as_torchvision_does(generated, p, mode):
    module = generated(p, mode)
    x = torch.randn(64, 3, 4, 4)
    torch.manual_seed(7)
    expected = torchvision_stochastic_depth(x, p, mode, training=True)
    torch.manual_seed(7)
    assert torch.equal(module.train()(x), expected)
    assert torch.equal(module.eval()(x), x)


def test_stochastic_depth_drops_whole_samples_with_probability_p(generated):
    module = generated(0.25, "row").train()
    torch.manual_seed(0)
    y = module(torch.ones(4000, 2, 3))
    per_sample = y.flatten(1)
    assert per_sample.unique().tolist() == [0.0, torch.tensor(1 / 0.75).item()]
    assert (per_sample == per_sample[:, :1]).all()  # a sample is dropped whole or kept whole
    assert abs((per_sample[:, 0] == 0).float().mean().item() - 0.25) < 0.03


def test_stochastic_depth_in_batch_mode_drops_the_whole_batch_or_nothing(generated):
    module = generated(0.5, "batch").train()
    torch.manual_seed(0)
    outcomes = {tuple(module(torch.ones(8, 3)).unique().tolist()) for _ in range(40)}
    assert outcomes == {(0.0,), (2.0,)}


def test_stochastic_depth_has_no_state_and_renders_both_arguments(generated):
    assert generated(0.2, "row").state_dict() == {}
    source = codegen.generate(chain_graph("2d", [3, 4, 4], ("DropPath", {"p": 0.2})).graph, name="g")
    assert '        self.n0 = StochasticDepth(0.2, "row")\n' in source["g/model.py"]
    assert "class StochasticDepth(nn.Module):" in source["g/blocks.py"]
    assert "torchvision" not in "".join(line for line in source["g/blocks.py"].splitlines() if "import" in line)


# ---------------------------------------------------------------------------------------------
# Generated code vs the reference interpreter, eval and training (same seed)

EQUIVALENCE = {
    "relu6": chain_graph("2d", [3, 5, 5], ("Conv2d", {"out_channels": 4}), ("ReLU6", {})),
    "hardsigmoid": chain_graph("1d", [3, 6], ("Hardsigmoid", {})),
    "hardtanh": chain_graph("flat", [7], ("Hardtanh", {"min_val": -0.2, "max_val": 0.3})),
    "prelu_per_channel": chain_graph("2d", [3, 5, 5], ("PReLU", {"num_parameters": 3, "init": 0.2})),
    "prelu_on_a_sequence": chain_graph("seq", [5, 3], ("PReLU", {})),
    "softplus": chain_graph("1d", [3, 6], ("Softplus", {"beta": 0.5, "threshold": 1.0})),
    "channel_shuffle": chain_graph("2d", [6, 4, 4], ("ChannelShuffle", {"groups": 3}), ("Conv2d", {"out_channels": 2})),
    "drop_path_row": chain_graph("2d", [3, 4, 4], ("Conv2d", {"out_channels": 4}), ("StochasticDepth", {"p": 0.5})),
    "drop_path_batch": chain_graph(
        "seq", [5, 3], ("DropPath", {"p": 0.3, "mode": "batch"}), ("Linear", {"out_features": 2})
    ),
}


@pytest.mark.parametrize("case", EQUIVALENCE.values(), ids=EQUIVALENCE.keys())
def test_generated_code_matches_the_reference_interpreter(case, tmp_path: Path):
    check_case(case, tmp_path)


# ---------------------------------------------------------------------------------------------
# Checks across parameters, or against the input: the diagnostic names the node and the fix


@pytest.mark.parametrize(
    ("layer", "shape", "code", "message", "suggestion"),
    [
        (
            ("Hardtanh", {"min_val": 1.0, "max_val": -1.0}),
            [4, 6],
            "PARAM_RANGE",
            "max_val (-1.0) must be greater than min_val (1.0); swap them",
            None,
        ),
        (
            ("Hardtanh", {"min_val": 0.5, "max_val": 0.5}),
            [4, 6],
            "PARAM_RANGE",
            "max_val (0.5) must be greater than min_val (0.5); raise max_val",
            None,
        ),
        (
            ("PReLU", {"num_parameters": 3}),
            [4, 6],
            "PARAM_RANGE",
            "num_parameters must be 1 or the 4 channels on axis 1 of rank 3 BCT (B, 4, 6), got 3; use 4",
            4,
        ),
        (
            ("Softplus", {"beta": 0}),
            [4],
            "PARAM_RANGE",
            "beta must not be 0 (softplus divides by beta); use 1 for the standard softplus",
            1.0,
        ),
        (
            ("ChannelShuffle", {"groups": 4}),
            [6, 5, 5],
            "SHAPE",
            "6 channels cannot be split into 4 groups; use a divisor of 6, such as 3",
            3,
        ),
    ],
    ids=["hardtanh_reversed", "hardtanh_empty", "prelu_count", "softplus_beta", "shuffle_groups"],
)
def test_a_bad_combination_is_explained_with_its_fix(chain, node, layer, shape, code, message, suggestion):
    node_type, params = layer
    result = codegen.validate(chain(node("act", node_type, **params), shape=shape)).to_dict()
    expected: dict[str, Any] = {"severity": "error", "code": code, "message": message, "node": "act"}
    if suggestion is not None:
        param = {"PReLU": "num_parameters", "Softplus": "beta", "ChannelShuffle": "groups"}[node_type]
        expected["suggestion"] = {"action": "set_param", "node": "act", "param": param, "value": suggestion}
    assert result["diagnostics"] == [expected]


def test_prelu_with_several_slopes_needs_a_channel_axis(chain, node, only):
    graph = chain(node("sq", "Squeeze", dim=-1), node("act", "PReLU", num_parameters=2), shape=[1])
    assert only(codegen.validate(graph), "PARAM_RANGE") == {
        "severity": "error",
        "code": "PARAM_RANGE",
        "message": "num_parameters 2 needs a channel axis, got rank 1 (B,); use 1",
        "node": "act",
        "suggestion": {"action": "set_param", "node": "act", "param": "num_parameters", "value": 1},
    }


def test_channel_shuffle_refuses_a_sequence_with_the_permute_to_insert(chain, node, only):
    graph = chain(node("act", "ChannelShuffle", groups=2), shape=[5, 4], layout="BTH")
    assert only(codegen.validate(graph), "LAYOUT")["suggestion"]["type"] == "Permute_BTH_to_BCT"
