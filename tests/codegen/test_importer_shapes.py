"""The importer's shape pass: its shortcuts agree with torch's meta kernels, and a failing meta run falls back."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from codegen.diagnostics import GraphError
from codegen.importer import _trace, from_module
from codegen.importer_shapes import SIZES, MetaShapes, meta_weights, propagate_meta


def kernel(module: nn.Module, size: tuple[int, ...], dtype: torch.dtype = torch.float32) -> tuple[int, ...] | None:
    """The size torch's own kernel gives on the meta device, or None where it raises."""
    with torch.no_grad(), meta_weights(module):
        try:
            return tuple(module(torch.empty(size, dtype=dtype, device="meta")).shape)
        except Exception:
            return None


def shortcut(module: nn.Module, size: tuple[int, ...], dtype: torch.dtype = torch.float32) -> tuple[int, ...] | None:
    found = SIZES[type(module)](module, torch.empty(size, dtype=dtype, device="meta"))
    return None if found is None else tuple(found)


CASES = [
    (nn.Conv1d(4, 6, 3), (2, 4, 10)),
    (nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2), (2, 4, 11)),
    (nn.Conv1d(4, 8, 5, padding="same"), (2, 4, 9)),
    (nn.Conv1d(4, 6, 3), (2, 5, 10)),  # wrong channels: the kernel raises
    (nn.Conv1d(4, 6, 3), (4, 10)),  # unbatched: left to the kernel
    (nn.Conv2d(3, 8, 3), (2, 3, 9, 9)),
    (nn.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2)), (2, 3, 9, 8)),
    (nn.Conv2d(4, 8, 3, groups=2, bias=False), (2, 4, 7, 7)),
    (nn.Conv2d(4, 8, 3, groups=4, dilation=2, padding=3), (2, 4, 7, 6)),
    (nn.Conv2d(3, 8, 4, padding="same"), (2, 3, 7, 6)),
    (nn.Conv2d(3, 8, 4, padding="valid", stride=3), (2, 3, 10, 11)),
    (nn.Conv2d(3, 8, 7), (2, 3, 5, 5)),  # kernel larger than the input
    (nn.Conv2d(3, 8, 3, padding_mode="reflect", padding=1), (2, 3, 5, 5)),  # left to the kernel
    (nn.Conv2d(3, 8, 3), (2, 3, 9)),
    (nn.Conv3d(2, 4, 3, stride=2, padding=1), (2, 2, 5, 6, 7)),
    (nn.Linear(6, 4), (2, 6)),
    (nn.Linear(6, 4), (2, 3, 5, 6)),
    (nn.Linear(6, 4, bias=False), (6,)),
    (nn.Linear(6, 4), (2, 5)),
    (nn.LayerNorm(6), (2, 3, 6)),
    (nn.LayerNorm([3, 6]), (2, 3, 6)),
    (nn.LayerNorm([4, 6]), (2, 3, 6)),
    (nn.LayerNorm(6, elementwise_affine=False), (2, 6)),
    (nn.LayerNorm(6), (2, 5)),
    (nn.BatchNorm1d(4), (2, 4)),
    (nn.BatchNorm1d(4), (2, 4, 7)),
    (nn.BatchNorm1d(4), (2, 5, 7)),
    (nn.BatchNorm2d(4), (2, 4, 5, 5)),
    (nn.BatchNorm2d(4, affine=False), (2, 4, 5, 5)),
    (nn.BatchNorm2d(4), (2, 3, 5, 5)),
    (nn.BatchNorm2d(4), (4, 5, 5)),
    (nn.BatchNorm3d(4), (2, 4, 3, 3, 3)),
    (nn.AdaptiveAvgPool1d(3), (2, 4, 9)),
    (nn.AdaptiveAvgPool1d(3), (4, 9)),
    (nn.AdaptiveAvgPool2d(1), (2, 4, 9, 7)),
    (nn.AdaptiveAvgPool2d((None, 3)), (2, 4, 9, 7)),
    (nn.AdaptiveAvgPool2d((2, 3)), (4, 9, 7)),
    (nn.AdaptiveAvgPool2d((2, 3)), (9, 7)),
    (nn.GELU(), (2, 3, 4)),
    (nn.GELU(approximate="tanh"), (2, 3)),
    (nn.ReLU(inplace=True), (2, 3)),
    (nn.Hardtanh(-2.0, 2.0), (2, 3)),
    (nn.Softplus(beta=2.0), (2, 3)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize(("module", "size"), CASES, ids=[f"{type(m).__name__}-{s}" for m, s in CASES])
def test_each_shortcut_gives_the_kernels_size_or_leaves_it_to_the_kernel(module: nn.Module, size) -> None:
    module.eval()
    expected = kernel(module, size)
    found = shortcut(module, size)
    # Where the shortcut declines (None), the kernel runs and decides; where it answers, it must agree.
    assert found is None or found == expected, (found, expected)
    if expected is None:
        assert found is None  # the kernel would raise: the shortcut must not cover that up


def test_the_shortcuts_cover_the_common_layers() -> None:
    """Where they answer at all: a shortcut that always declined would pass the test above."""
    assert shortcut(nn.Conv2d(3, 8, 3, stride=2, padding=1).eval(), (2, 3, 9, 9)) == (2, 8, 5, 5)
    assert shortcut(nn.BatchNorm2d(4).eval(), (2, 4, 5, 5)) == (2, 4, 5, 5)
    assert shortcut(nn.Linear(6, 4), (2, 3, 6)) == (2, 3, 4)
    assert shortcut(nn.LayerNorm(6), (2, 3, 6)) == (2, 3, 6)
    assert shortcut(nn.AdaptiveAvgPool2d((None, 1)), (2, 4, 9, 7)) == (2, 4, 9, 1)
    assert shortcut(nn.Linear(6, 4), (2, 6), torch.float64) is None  # dtypes differ: the kernel decides


def test_a_training_batch_norm_is_left_to_the_kernel() -> None:
    assert shortcut(nn.BatchNorm2d(4).train(), (2, 4, 5, 5)) is None


def graph_shapes(module: nn.Module, *sizes: tuple[int, ...]) -> dict[str, tuple[int, ...]] | None:
    module.eval()
    graph = _trace(module)
    inputs = [torch.empty(size, device="meta") for size in sizes]
    if not propagate_meta(module, graph, inputs):
        return None
    return {n.name: tuple(n.meta["tensor_meta"].shape) for n in graph.nodes if "tensor_meta" in n.meta}


class Mixed(nn.Module):
    """Shortcut layers, kernel layers (max pool, flatten) and a parameter read in forward()."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.norm = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)
        self.scale = nn.Parameter(torch.ones(4, 1, 1))
        self.fc = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        y = self.pool(torch.relu(self.norm(self.conv(x)))) * self.scale
        return self.fc(torch.flatten(y + y, 1))


def test_the_meta_run_records_each_nodes_size_and_puts_the_weights_back() -> None:
    model = Mixed()
    before = {name: tensor for name, tensor in model.state_dict(keep_vars=True).items()}
    shapes = graph_shapes(model, (2, 3, 8, 8))
    assert shapes == {
        "x": (2, 3, 8, 8),
        "conv": (2, 4, 8, 8),
        "norm": (2, 4, 8, 8),
        "relu": (2, 4, 8, 8),
        "pool": (2, 4, 4, 4),
        "scale": (4, 1, 1),
        "mul": (2, 4, 4, 4),
        "add": (2, 4, 4, 4),
        "flatten": (2, 64),
        "fc": (2, 5),
        "output": (2, 5),
    }
    after = model.state_dict(keep_vars=True)
    assert all(after[name] is tensor and tensor.device.type == "cpu" for name, tensor in before.items())


def test_tensors_that_forward_makes_itself_land_on_the_meta_device() -> None:
    class Offsets(nn.Module):
        def forward(self, x):
            return x + torch.arange(x.shape[-1])

    assert graph_shapes(Offsets(), (2, 5)) == {"x": (2, 5), "arange": (5,), "add": (2, 5), "output": (2, 5)}


def test_the_real_run_stands_in_where_the_meta_run_cannot_go() -> None:
    class ReadsAValue(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return self.fc(x) * x.sum().item()  # .item() has no meta answer

    model = ReadsAValue()
    assert graph_shapes(model, (2, 4)) is None
    with pytest.raises(GraphError) as caught:
        from_module(model, [4])  # the real run gives the shapes; the conversion then names what has no node
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.message.startswith("cannot import method `.sum()`: no node type does this")  # not the run
    assert "`return self.fc(x) * x.sum().item()  # .item() has no meta answer`" in diagnostic.message
    assert all(p.device.type == "cpu" for p in model.parameters())


def test_meta_shapes_is_an_fx_interpreter_of_the_traced_graph() -> None:
    model = nn.Sequential(nn.Linear(3, 2)).eval()
    graph = _trace(model)
    with torch.no_grad():
        out = MetaShapes(model, graph=graph).run(torch.empty(4, 3, device="meta"))
    assert out.shape == (4, 2) and out.device.type == "meta"


def test_a_layer_with_forward_hooks_runs_its_kernel() -> None:
    """A hook may change what the layer returns; its size is then the hook's, not the layer's."""
    model = nn.Sequential(nn.Linear(6, 4))
    model[0].register_forward_hook(lambda module, args, out: out.unsqueeze(1))
    assert graph_shapes(model, (2, 6))["_0"] == (2, 1, 4)


def test_no_meta_tensor_stays_in_the_module_after_the_meta_run() -> None:
    """weight_norm's hook stores the weight it computes as a plain attribute of the layer."""
    model = nn.Sequential(nn.Linear(4, 3))
    with pytest.warns(FutureWarning):
        torch.nn.utils.weight_norm(model[0])
    with torch.no_grad():
        expected = model(torch.ones(1, 4))
    assert graph_shapes(model, (2, 4))["_0"] == (2, 3)
    assert not model[0].weight.is_meta
    assert all(not t.is_meta for t in model.state_dict().values())
    with torch.no_grad():
        assert torch.equal(model(torch.ones(1, 4)), expected)
