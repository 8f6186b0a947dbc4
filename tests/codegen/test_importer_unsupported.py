"""What cannot be imported says so: an IMPORT diagnostic naming the op, the module path and the source line."""

from __future__ import annotations

import inspect

import pytest
import torch
from torch import nn

from codegen.api import validate
from codegen.diagnostics import GraphError
from codegen.importer import from_module


def line_of(cls: type, snippet: str) -> str:
    """``test_importer_unsupported.py:<n>`` of the line in ``cls`` that contains ``snippet``."""
    lines, start = inspect.getsourcelines(cls)
    offset = next(i for i, text in enumerate(lines) if snippet in text)
    return f"test_importer_unsupported.py:{start + offset}"


class DataDependentIf(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


class UnknownFunction(nn.Module):
    def forward(self, x):
        return torch.erf(x)


class UnknownMethod(nn.Module):
    def forward(self, x):
        return x.cumsum(1)


class Stage(nn.Module):
    def __init__(self):
        super().__init__()
        self.unfold = nn.PixelUnshuffle(2)

    def forward(self, x):
        return self.unfold(x)


class UnknownModule(nn.Module):
    def __init__(self):
        super().__init__()
        self.stage = Stage()

    def forward(self, x):
        return self.stage(x)


class InPlaceTrick(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        a = self.conv(x)
        b = a.relu_()
        return a + b * 2


class SharedWeights(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.conv(self.conv(x))


class FreeParameter(nn.Module):
    """A parameter used as none of the learned-tensor nodes uses theirs (class token, position embedding, scale)."""

    def __init__(self):
        super().__init__()
        self.mix = nn.Parameter(torch.ones(4, 4))

    def forward(self, x):
        return torch.matmul(x, self.mix)


class WrongScale(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(4))  # per width, not per channel: no LayerScale has it

    def forward(self, x):
        return self.scale * x


class FreeBuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mask", torch.ones(3, 1, 1))

    def forward(self, x):
        return x * self.mask


class NumberMinusTensor(nn.Module):
    def forward(self, x):
        return 1 - x


class BatchLosingView(nn.Module):
    def forward(self, x):
        return x.view(-1)


class BatchArithmetic(nn.Module):
    def forward(self, x):
        return x.reshape(x.size(0) * 2, -1)


class FailingAssertion(nn.Module):
    def forward(self, x):
        torch._assert(x.shape[-1] == 8, "Wrong image width!")
        return x


class ReflectPadding(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect")

    def forward(self, x):
        return self.conv(x)


class ChannelMean(nn.Module):
    def forward(self, x):
        return x.mean(1)


class SequenceFirstLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16)

    def forward(self, x):
        out, _ = self.lstm(x)
        return out


class Slicing(nn.Module):
    def forward(self, x):
        return x[:, :, 0]


CASES = [
    (DataDependentIf, "if x.sum() > 0:", "`if`", None),
    (UnknownFunction, "torch.erf(x)", "function `torch.erf`", None),
    (UnknownMethod, "x.cumsum(1)", "method `.cumsum()`", None),
    (UnknownModule, "self.unfold(x)", "PixelUnshuffle", "stage.unfold"),
    (InPlaceTrick, "a.relu_()", "method `.relu_()`", None),
    (SharedWeights, "self.conv(self.conv(x))", "called more than once", "conv"),
    (FreeParameter, "torch.matmul(x, self.mix)", "parameter `mix` is used other than as a class token", None),
    (WrongScale, "self.scale * x", "parameter `scale` of shape [4] as a layer scale", None),
    (FreeBuffer, "x * self.mask", "buffer `mask` is used other than as the sinusoid table", None),
    (NumberMinusTensor, "1 - x", "function `operator.sub`", None),
    (BatchLosingView, "x.view(-1)", "method `.view()`", None),
    (BatchArithmetic, "x.size(0) * 2", "`mul` of the batch size", None),
    (FailingAssertion, "torch._assert(", "it fails on inputs of shapes {'x': [3, 4, 4]}: Wrong image width!", None),
    (ReflectPadding, "self.conv(x)", 'padding_mode="reflect"', "conv"),
    (ChannelMean, "x.mean(1)", "method `.mean()`", None),
    (SequenceFirstLSTM, "self.lstm(x)", "batch_first=False", "lstm"),
    (Slicing, "x[:, :, 0]", "function `operator.getitem`", None),
]


@pytest.mark.parametrize(("cls", "snippet", "op", "path"), CASES, ids=[c[0].__name__ for c in CASES])
def test_it_names_the_op_the_path_and_the_line(cls: type, snippet: str, op: str, path: str | None) -> None:
    shape = [5, 8] if cls is SequenceFirstLSTM else [3, 4, 4]
    with pytest.raises(GraphError) as caught:
        from_module(cls(), shape)
    diagnostics = caught.value.diagnostics
    assert [d.code for d in diagnostics] == ["IMPORT"]
    message = diagnostics[0].message
    assert op in message
    owner = Stage if cls is UnknownModule else cls
    assert line_of(owner, snippet) in message
    assert snippet in message
    if path is not None:
        assert f"in `{path}`" in message
        assert diagnostics[0].path == path


def test_it_reports_every_unsupported_op_once_and_not_what_follows_from_it() -> None:
    class Two(nn.Module):
        def forward(self, x):
            return torch.erf(x) + x.cumsum(1)  # the + is not reported: it only follows from the two

    with pytest.raises(GraphError) as caught:
        from_module(Two(), [3])
    messages = [d.message for d in caught.value.diagnostics]
    assert len(messages) == 2
    assert "torch.erf" in messages[0] and ".cumsum()" in messages[1]


def test_it_names_the_layer_that_fails_on_the_given_shape() -> None:
    class Wrong(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(x)

    with pytest.raises(GraphError) as caught:
        from_module(Wrong(), [5])
    message = caught.value.diagnostics[0].message
    assert message.startswith("cannot import module `fc`: it fails on inputs of shapes {'x': [5]}: mat1 and mat2")
    assert f"{line_of(Wrong, 'return self.fc(x)')} `return self.fc(x)`" in message


def test_it_takes_the_input_size_from_a_first_linear_layer_and_asks_for_others() -> None:
    graph = from_module(nn.Sequential(nn.Linear(7, 3), nn.ReLU()))
    assert graph["nodes"][0]["params"] == {"shape": [7]}
    with pytest.raises(GraphError) as caught:
        from_module(nn.Sequential(nn.Conv2d(3, 4, 3)))
    assert caught.value.diagnostics[0].message == (
        "input `input_1` needs a shape (sizes without the batch axis): give input_shapes (--input-shape on the "
        "command line)"
    )


def test_it_refuses_weights_that_forward_never_uses() -> None:
    class AuxHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(4, 4)
            self.aux = nn.Linear(4, 2)  # only used in training, as GoogLeNet's aux heads

        def forward(self, x):
            return self.aux(x) if self.training else self.body(x)

    with pytest.raises(GraphError) as caught:
        from_module(AuxHead(), [4])
    assert caught.value.diagnostics[0].message.startswith("`aux` hold weights that forward() never uses in eval mode")


class Partly(nn.Module):
    """A model with two parts that have no node, between parts that do."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.unfold = nn.PixelUnshuffle(2)
        self.fc = nn.Linear(16 * 2 * 2, 5)

    def forward(self, x):
        x = torch.erf(self.conv(x))
        return self.fc(torch.flatten(self.unfold(x), 1))


def test_with_placeholders_the_rest_is_imported_and_each_part_is_a_marked_node() -> None:
    graph = from_module(Partly(), [3, 4, 4], placeholders=True)
    marked = {n["id"]: n["params"] for n in graph["nodes"] if n["type"] == "NotImported"}
    assert marked == {
        "erf": {
            "op": "function `torch.erf`",
            "reason": "no node type does this",
            "source": f"tests/codegen/{line_of(Partly, 'torch.erf(')} `x = torch.erf(self.conv(x))`",
            "shape": [4, 4, 4],
        },
        "unfold": {
            "op": "module `unfold`",
            "reason": "no node type for `torch.nn.modules.pixelshuffle.PixelUnshuffle`",
            "source": f"tests/codegen/{line_of(Partly, 'self.unfold(x)')} `return self.fc(torch.flatten(self.unfold(x), 1))`",
            "shape": [16, 2, 2],
        },
    }
    assert [n["type"] for n in graph["nodes"]] == ["Input", "Conv2d", "NotImported", "NotImported", "Flatten", "Linear"]
    assert ["conv", "erf"] in graph["edges"] and ["unfold", "flatten"] in graph["edges"]
    result = validate(graph)
    assert [(d.code, d.node) for d in result.errors] == [("NOT_IMPORTED", "erf"), ("NOT_IMPORTED", "unfold")]
    assert result.analysis.info["fc"].out.to_json() == ["B", 5]  # the rest is sized through the placeholders


def test_a_part_that_gives_no_single_tensor_stays_an_error_with_placeholders() -> None:
    with pytest.raises(GraphError) as caught:
        from_module(DataDependentIf(), [3, 4, 4], placeholders=True)
    assert "`if`" in caught.value.diagnostics[0].message
