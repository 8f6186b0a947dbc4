"""torchvision's own models imported: the generated code loads their state_dict by name and computes the same."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from codegen.importer import from_module
from tests.codegen.test_importer import assert_same_model, module_paths
from tests.support.torchvision_models import torchvision_model

CASES = {
    "resnet18": [3, 32, 32],
    "vgg11_bn": [3, 32, 32],
    "alexnet": [3, 64, 64],
    "mobilenet_v2": [3, 32, 32],
    "densenet121": [3, 32, 32],
    "squeezenet1_1": [3, 64, 64],
    "mnasnet0_5": [3, 32, 32],
    "convnext_tiny": [3, 32, 32],  # LayerNorm2d and StochasticDepth by class name, layer scales as LayerScale
    "swin_t": [3, 32, 32],  # torchvision's Swin blocks as the built-in copies
    "regnet_y_400mf": [3, 32, 32],  # its stages as RegNetStage: block names such as block1-0 are no paths
}


@pytest.mark.parametrize("name", list(CASES))
def test_it_imports_torchvision_models_with_their_weights(name: str, tmp_path: Path) -> None:
    model = torchvision_model(name)
    torch.manual_seed(0)
    for module in model.modules():  # non-trivial running statistics, so BatchNorm really is compared
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
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
