"""torchvision's own models imported: the generated code loads their state_dict by name and computes the same."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from codegen.importer import from_module
from tests.codegen.test_importer import assert_same_model, module_paths
from tests.support.torchvision_models import torchvision_model

# The model zoo's architectures are imported by tests/codegen/test_importer_reference_models.py; these
# are other torchvision models.
CASES = {"mnasnet0_5": [3, 32, 32]}


def randomise_running_stats(model: torch.nn.Module) -> None:
    """Non-trivial BatchNorm statistics, so that the comparison really covers them."""
    torch.manual_seed(0)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)


@pytest.mark.parametrize("name", list(CASES))
def test_it_imports_torchvision_models_with_their_weights(name: str, tmp_path: Path) -> None:
    model = torchvision_model(name)
    randomise_running_stats(model)
    graph = from_module(model, CASES[name])
    paths = module_paths(graph)
    for key in model.state_dict():  # keys come from paths: a layer's, or a block's that holds it
        assert any(key == p or key.startswith(f"{p}.") for p in paths), key
    assert_same_model(model, graph, tmp_path, [torch.randn(2, *CASES[name])])


def test_it_maps_torchvisions_stochastic_depth_function(tmp_path: Path) -> None:
    torchvision_model("alexnet")  # imports torchvision the way the helper makes it work here
    from torchvision.ops import StochasticDepth

    class Residual(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 3, 1)
            self.drop = StochasticDepth(0.2, "row")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.drop(self.conv(x))

    model = Residual()
    graph = from_module(model, [3, 4, 4])
    drop = next(n for n in graph["nodes"] if n["type"] == "StochasticDepth")
    assert drop["params"] == {"p": 0.2}
    assert_same_model(model, graph, tmp_path, [torch.randn(2, 3, 4, 4)])
