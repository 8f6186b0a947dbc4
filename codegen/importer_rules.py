"""The importer's inverse of each node type's render rule, one table entry per PyTorch construct.

``MODULES`` maps a module class to the node type it becomes and a reader of that node's params from the
module's attributes; ``FUNCTIONS`` and ``METHODS`` map what ``forward`` calls (``torch.cat``,
``operator.add``, ``x.permute``) to a handler that builds the node. A construct that shares a node type
with another (``F.relu`` and ``nn.ReLU``) shares its handler. Anything a node cannot express exactly
raises :class:`Unsupported` with a sentence saying what, which the importer turns into an ``IMPORT``
diagnostic with the source line.
"""

from __future__ import annotations

import functools
import inspect
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from .blocks import BLOCK_CLASSES
from .blocks import library as blocks
from .spec import NODE_SPECS

if TYPE_CHECKING:
    from .importer import Context


class Unsupported(Exception):
    """The construct has no faithful node; the message says why (the importer adds op, path and line)."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise Unsupported(message)


def _plain(value: Any) -> Any:
    """Module attributes as graph JSON: equal tuple entries collapse to one int, tuples become lists."""
    if isinstance(value, torch.Size):
        value = tuple(value)
    if isinstance(value, tuple):
        return value[0] if len(set(value)) == 1 else list(value)
    return value


def clean_params(node_type: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` without the values equal to their declared defaults, as a hand-drawn graph leaves them."""
    spec = NODE_SPECS[node_type]
    out = {}
    for name, value in params.items():
        value = _plain(value)
        declared = spec.param(name)
        assert declared is not None, (node_type, name)
        if declared.required or not (value == declared.default and _same_kind(value, declared.default)):
            out[name] = value
    return out


def _same_kind(a: Any, b: Any) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and (a is None) == (b is None)


# ---------------------------------------------------------------------------------------------
# Modules


@dataclass(frozen=True)
class ModuleRule:
    """``nn.<cls>`` → ``node_type`` with ``read(module)`` params; ``apply`` wires unusual calls itself."""

    node_type: str
    read: Callable[[nn.Module], dict[str, Any]]
    keeps_path: bool = True  # False for node types that render as a function, not a submodule
    apply: Callable[[Context, str | None, ModuleRule], Any] | None = None

    def __call__(self, ctx: Context, path: str | None) -> Any:
        if self.apply is not None:
            return self.apply(ctx, path, self)
        require(not ctx.node.kwargs, f"keyword arguments {sorted(ctx.node.kwargs)} in the call")
        inputs = [ctx.tensor(arg) for arg in ctx.node.args]
        return ctx.emit(self.node_type, self.read(ctx.module), inputs, path)


def _none(module: nn.Module) -> dict[str, Any]:
    return {}


def _fields(*names: str, **renamed: str) -> Callable[[nn.Module], dict[str, Any]]:
    """A reader copying attributes of the same name (``renamed``: param name → attribute name)."""

    def read(module: nn.Module) -> dict[str, Any]:
        params = {name: getattr(module, name) for name in names}
        params.update({name: getattr(module, attr) for name, attr in renamed.items()})
        return params

    return read


def _conv(transposed: bool) -> Callable[[nn.Module], dict[str, Any]]:
    def read(m: nn.Module) -> dict[str, Any]:
        require(m.padding_mode == "zeros", f'padding_mode="{m.padding_mode}" (only zero padding has a node)')
        params = {
            "out_channels": m.out_channels,
            "kernel_size": m.kernel_size,
            "stride": m.stride,
            "padding": m.padding,
            "dilation": m.dilation,
            "groups": m.groups,
            "bias": m.bias is not None,
        }
        if transposed:
            params["output_padding"] = m.output_padding
        return params

    return read


def _linear(m: nn.Linear) -> dict[str, Any]:
    return {"out_features": m.out_features, "bias": m.bias is not None}


def _batchnorm(m: nn.modules.batchnorm._BatchNorm) -> dict[str, Any]:
    require(m.track_running_stats, "track_running_stats=False (BatchNorm nodes keep running statistics)")
    require(m.momentum is not None, "momentum=None (cumulative averages have no node)")
    return {"eps": m.eps, "momentum": m.momentum, "affine": m.affine}


def _instancenorm(m: nn.modules.instancenorm._InstanceNorm) -> dict[str, Any]:
    require(not m.track_running_stats, "track_running_stats=True (InstanceNorm nodes keep none)")
    return {"eps": m.eps, "affine": m.affine}


def _layernorm(m: nn.LayerNorm) -> dict[str, Any]:
    require(len(m.normalized_shape) == 1, f"normalized_shape {list(m.normalized_shape)} (only the last axis)")
    require(not m.elementwise_affine or m.bias is not None, "bias=False (LayerNorm nodes learn a shift)")
    return {"eps": m.eps, "elementwise_affine": m.elementwise_affine}


def _embedding(m: nn.Embedding) -> dict[str, Any]:
    require(m.max_norm is None and not m.sparse, "max_norm or sparse gradients")
    return {"num_embeddings": m.num_embeddings, "embedding_dim": m.embedding_dim, "padding_idx": m.padding_idx}


def _max_pool(m: nn.Module) -> dict[str, Any]:
    require(_plain(m.dilation) == 1 and not m.return_indices, "dilation or return_indices")
    return _pool_window(m)


def _avg_pool(m: nn.Module) -> dict[str, Any]:
    require(m.count_include_pad and getattr(m, "divisor_override", None) is None, "count_include_pad=False")
    return _pool_window(m)


def _pool_window(m: nn.Module) -> dict[str, Any]:
    # PyTorch stores stride=kernel_size when none was given: leave it out then, as the node's default does.
    stride = None if _plain(m.stride) == _plain(m.kernel_size) else m.stride
    return {"kernel_size": m.kernel_size, "stride": stride, "padding": m.padding, "ceil_mode": m.ceil_mode}


def _adaptive(m: nn.Module) -> dict[str, Any]:
    size = m.output_size
    require(None not in (size if isinstance(size, tuple) else (size,)), "an output_size of None (keep that axis)")
    require(not getattr(m, "return_indices", False), "return_indices")
    return {"output_size": size}


def _upsample(m: nn.Upsample) -> dict[str, Any]:
    require(m.size is None and m.scale_factor is not None, "a fixed output size (only scale_factor has a node)")
    scale = _plain(m.scale_factor)
    require(not isinstance(scale, list), f"different scale factors per axis {scale}")
    require(not m.recompute_scale_factor, "recompute_scale_factor")
    return {"scale_factor": float(scale), "mode": m.mode, "align_corners": bool(m.align_corners)}


def _zero_pad(m: nn.ZeroPad2d) -> dict[str, Any]:
    return {"padding": tuple(m.padding)}


def _softmax(m: nn.Module) -> dict[str, Any]:
    require(m.dim is not None, "dim=None (implicit softmax axis); pass dim")
    return {"dim": m.dim}


def _prelu(m: nn.PReLU) -> dict[str, Any]:
    return {"num_parameters": m.num_parameters}  # the slopes' values are weights, loaded by name


def _hardtanh(m: nn.Hardtanh) -> dict[str, Any]:
    return {"min_val": float(m.min_val), "max_val": float(m.max_val)}


def _dropout(m: nn.Module) -> dict[str, Any]:
    return {"p": float(m.p)}


def _flatten(m: nn.Flatten) -> dict[str, Any]:
    return {"start_dim": m.start_dim, "end_dim": m.end_dim}


def _transformer_layer(m: nn.TransformerEncoderLayer | nn.TransformerDecoderLayer) -> dict[str, Any]:
    attention = m.self_attn
    require(attention.batch_first, "batch_first=False (the node reads (B, T, E))")
    activation = m.activation
    names = {F.relu: "relu", F.gelu: "gelu"}
    kind = names.get(activation) or {nn.ReLU: "relu", nn.GELU: "gelu"}.get(type(activation))
    require(kind is not None, f"activation {activation!r} (relu or gelu)")
    return {
        "nhead": attention.num_heads,
        "dim_feedforward": m.linear1.out_features,
        "dropout": float(m.dropout.p),
        "activation": kind,
        "layer_norm_eps": float(m.norm1.eps),
        "norm_first": m.norm_first,
        "bias": m.linear1.bias is not None,
    }


def _transformer_call(ports: tuple[str, ...], mask: str, hint: str) -> Callable[[Context, str | None, ModuleRule], Any]:
    """A Transformer layer called on its inputs, and where it is causal with the square subsequent mask of its
    (first) input's length as ``mask`` (the ``hint`` may say so or not: the mask alone decides what it computes)."""

    def apply(ctx: Context, path: str | None, rule: ModuleRule) -> Any:
        *tensors, mask_arg, _ = arguments(ctx, *ports, mask, hint, **{mask: None, hint: False})
        params = rule.read(ctx.module)
        if ctx.value(mask_arg) is not None:
            length = ctx.shape(tensors[0])[1]
            require(
                ctx.value(mask_arg) == CausalMask(length),
                f"`{mask}` other than the causal mask of its input's {length} steps "
                "(nn.Transformer.generate_square_subsequent_mask); no node takes other masks",
            )
            params["causal"] = True
        return ctx.emit(rule.node_type, params, [ctx.tensor(t) for t in tensors], path)

    return apply


def _attention(ctx: Context, path: str | None, rule: ModuleRule) -> Any:
    m, node = ctx.module, ctx.node
    require(m.batch_first, "batch_first=False (the node reads (B, T, E))")
    require(m._qkv_same_embed_dim and m.bias_k is None and not m.add_zero_attn, "kdim/vdim, bias_kv or zero_attn")
    query, key, value = (list(node.args) + [None] * 3)[:3]
    extra = {k: v for k, v in node.kwargs.items() if k not in ("need_weights", "key", "value", "query")}
    require(not [v for v in extra.values() if v is not None], f"arguments {sorted(extra)} (masks have no node)")
    key = node.kwargs.get("key", key)
    value = node.kwargs.get("value", value)
    require(query is key is value, "different query, key and value (the node is self-attention)")
    params = {"num_heads": m.num_heads, "dropout": float(m.dropout), "bias": m.in_proj_bias is not None}
    return _Deferred(ctx, path, rule.node_type, params, [ctx.tensor(query)], outputs=2)


@dataclass
class _Deferred:
    """A module returning a tuple (RNNs, attention): the node is made when its first item is read."""

    ctx: Context
    path: str | None
    node_type: str
    params: dict[str, Any]
    inputs: list[str]
    outputs: int
    made: str | None = None

    def output(self, index: int) -> str:
        if self.made is None:
            self.made = self.ctx.emit(self.node_type, self.params, self.inputs, self.path)
        return self.made


@dataclass(frozen=True)
class _LastLayer:
    """``hidden[-2]`` or ``hidden[-1]`` of a bidirectional GRU: one direction of the last layer's state."""

    rnn: _Deferred
    index: int


def _final_state(rnn: _Deferred) -> str:
    rnn.node_type, rnn.params = "GRUBlock", {**rnn.params, "out": "last"}
    return rnn.output(0)


@dataclass
class _Hidden:
    """The final hidden state of a GRU: ``hidden[-1]`` is a ``GRUBlock`` with ``out="last"``."""

    rnn: _Deferred


def _recurrent(ctx: Context, path: str | None, rule: ModuleRule) -> Any:
    m = ctx.module
    require(m.batch_first, "batch_first=False (recurrent nodes read (B, T, H))")
    require(getattr(m, "proj_size", 0) == 0, "proj_size")
    require(len(ctx.node.args) == 1 and not ctx.node.kwargs, "an initial hidden state (the node starts from zeros)")
    params = {
        "hidden_size": m.hidden_size,
        "num_layers": m.num_layers,
        "bidirectional": m.bidirectional,
        "dropout": float(m.dropout),
        "bias": m.bias,
    }
    if rule.node_type == "RNN":
        params["nonlinearity"] = m.nonlinearity
    return _Deferred(ctx, path, rule.node_type, params, [ctx.tensor(ctx.node.args[0])], outputs=2)


# Built-in blocks: read the constructor arguments back from the submodules, then rebuild the block
# with them and compare reprs, so a block whose arguments cannot be recovered exactly is refused.


def _block(cls: type, read: Callable[[Any], tuple[int, dict[str, Any]]]) -> Callable[[nn.Module], dict[str, Any]]:
    def checked(m: nn.Module) -> dict[str, Any]:
        try:
            size, params = read(m)
        except (AttributeError, IndexError, TypeError) as exc:  # a member missing: not the block's structure
            raise Unsupported(f"its submodules are not {cls.__name__}'s ({exc})") from None
        try:
            rebuilt = type(m)(size, **params)
        except (ValueError, TypeError) as exc:
            raise Unsupported(f"its arguments could not be read back ({exc})") from None
        require(
            repr(rebuilt) == repr(m), f"its submodules differ from {cls.__name__}({size}, {params}) (was it edited?)"
        )
        return params

    return checked


def _foreign_block(
    cls: type, read: Callable[[Any], tuple[int, dict[str, Any]]]
) -> Callable[[nn.Module], dict[str, Any]]:
    """torchvision's class of which ``cls`` is the copy: checked by the state_dict the arguments rebuild."""

    def checked(m: nn.Module) -> dict[str, Any]:
        try:
            size, params = read(m)
            rebuilt = cls(size, **params)
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            raise Unsupported(f"its arguments as a {cls.__name__} could not be read back ({exc})") from None
        shapes = [{k: tuple(v.shape) for k, v in module.state_dict().items()} for module in (rebuilt, m)]
        require(shapes[0] == shapes[1], f"its weights differ from {cls.__name__}({size}, {params})'s")
        return params

    return checked


def _square(value: Any) -> int:
    """torchvision's Swin keeps window and shift sizes as [h, w]; the block's are one int."""
    if isinstance(value, (list, tuple)):
        require(len(set(value)) == 1, f"a window of {list(value)} (only square windows)")
        return int(value[0])
    return int(value)


# Several values give one hidden width at small sizes (an SE reduction 2 or 3 of 3 channels): the value
# read back is the first of these that gives it, as people write them, else the exact quotient.
_REDUCTIONS = (16, 4, 8, 2, 32, 1)
_MLP_RATIOS = (4.0, 2.0, 1.0, 0.5, 3.0, 0.25)


def _se(m: blocks.SEBlock) -> tuple[int, dict[str, Any]]:
    channels, hidden = m.fc1.in_features, m.fc1.out_features
    reduction = next((r for r in _REDUCTIONS if channels // r == hidden), channels // hidden)
    return channels, {"reduction": reduction}


def _mlp_ratio(dim: int, hidden: int) -> float:
    return next((r for r in _MLP_RATIOS if int(dim * r) == hidden), hidden / dim)


def _residual(m: blocks.ResidualBlock) -> tuple[int, dict[str, Any]]:
    c = m.conv1
    return c.in_channels, {"out_channels": c.out_channels, "kernel_size": c.kernel_size[0], "stride": c.stride[0]}


def _bottleneck(m: blocks.Bottleneck) -> tuple[int, dict[str, Any]]:
    out, width, groups = m.conv3.out_channels, m.conv1.out_channels, m.conv2.groups
    base = {"out_channels": out, "stride": m.conv2.stride[0], "groups": groups}
    for expansion in (4, 1, 2, 8):  # the usual expansions first, so the common case keeps its defaults
        planes = out // expansion
        if planes and (width // groups * 64) % planes == 0:
            per_group = width // groups * 64 // planes
            if planes * per_group // 64 * groups == width:
                return m.conv1.in_channels, {**base, "expansion": expansion, "width_per_group": per_group}
    raise Unsupported(f"no expansion and width_per_group give its inner width {width}")


def _vgg(m: blocks.VGGBlock) -> tuple[Any, dict[str, Any]]:
    convs = [layer for layer in m.layers if isinstance(layer, (nn.Conv2d, nn.LazyConv2d))]
    first = convs[0]
    params = {
        "c1": first.out_channels,
        "c2": convs[-1].out_channels,
        "k": first.kernel_size[0],
        "pool": isinstance(m.pool, nn.MaxPool2d),
        "lrn": any(isinstance(layer, nn.LocalResponseNorm) for layer in m.layers),
        "convs": len(convs),
        "batch_norm": any(isinstance(layer, nn.BatchNorm2d) for layer in m.layers),
    }
    return (None if isinstance(first, nn.LazyConv2d) else first.in_channels), params


def _inception(m: blocks.InceptionBlock) -> tuple[int, dict[str, Any]]:
    params = {
        "c1": m.branch1[0].out_channels,
        "c3_reduce": m.branch2[0].out_channels,
        "c3": m.branch2[2].out_channels,
        "c5_reduce": m.branch3[0].out_channels,
        "c5": m.branch3[2].out_channels,
        "pool_proj": m.branch4[1].out_channels,
    }
    return m.branch1[0].in_channels, params


def _dense(m: blocks.DenseLayer) -> tuple[int, dict[str, Any]]:
    growth = m.conv2.out_channels
    drop = m.dropout.p if isinstance(m.dropout, nn.Dropout) else 0.0
    return m.conv1.in_channels, {"growth_rate": growth, "bn_size": m.conv1.out_channels // growth, "drop_rate": drop}


def _stages(m: nn.Module) -> tuple[nn.Conv2d, nn.Conv2d, nn.Conv2d, nn.Module | None]:
    """MBConv's and InvertedResidual's first, depthwise and projection convolutions, and the SE gate.

    ``block`` holds Conv-BN(-act) stages, [expansion,] depthwise, [SE,] projection; the SE gate is
    matched by class name, as a generated package carries its own copy of the class.
    """
    se = next((s for s in m.block if type(s).__name__ == "SqueezeExcitation"), None)
    stages = [s[0] for s in m.block if s is not se]
    return stages[0], stages[-2], stages[-1], se


def _se_ratio(squeeze: int, size: int) -> float:
    """The default 0.25 where it gives this gate width (``max(1, int(size * ratio))`` is not one-to-one)."""
    return 0.25 if max(1, int(size * 0.25)) == squeeze else squeeze / size


def _mbconv(m: blocks.MBConv) -> tuple[int, dict[str, Any]]:
    first, depthwise, project, se = _stages(m)
    size = first.in_channels
    params = {
        "out_channels": project.out_channels,
        "expand_ratio": depthwise.in_channels // size,
        "kernel_size": depthwise.kernel_size[0],
        "stride": depthwise.stride[0],
        "se_ratio": _se_ratio(se.fc1.out_channels, size) if se is not None else 0.0,
        "stochastic_depth_prob": float(m.stochastic_depth.p),
    }
    return size, params


def _inverted_residual(m: blocks.InvertedResidual) -> tuple[int, dict[str, Any]]:
    first, depthwise, project, se = _stages(m)
    params = {
        "expanded_channels": depthwise.in_channels,
        "out_channels": project.out_channels,
        "kernel_size": depthwise.kernel_size[0],
        "stride": depthwise.stride[0],
        "use_se": se is not None,
        "activation": "hardswish" if any(isinstance(a, nn.Hardswish) for a in m.modules()) else "relu",
    }
    return first.in_channels, params


def _transformer_block(m: blocks.TransformerEncoderBlock) -> tuple[int, dict[str, Any]]:
    dim = m.ln_1.normalized_shape[0]
    params = {
        "num_heads": m.self_attention.num_heads,
        "mlp_ratio": _mlp_ratio(dim, m.mlp[0].out_features),
        "dropout": float(m.dropout.p),
        "eps": m.ln_1.eps,
    }
    return dim, params


def _positional(m: blocks.PositionalEncoding) -> tuple[int, dict[str, Any]]:
    max_len, dim = m.table.shape
    return dim, {"max_len": max_len, "dropout": float(m.dropout.p)}


def _basic_conv(m: blocks.BasicConv2d) -> tuple[int, dict[str, Any]]:
    c = m.conv
    params = {"out_channels": c.out_channels, "kernel_size": c.kernel_size[0], "stride": c.stride[0]}
    return c.in_channels, {**params, "padding": c.padding[0]}


def _googlenet_inception(m: blocks.Inception) -> tuple[int, dict[str, Any]]:
    params = {
        "c1": m.branch1.conv.out_channels,
        "c3_reduce": m.branch2[0].conv.out_channels,
        "c3": m.branch2[1].conv.out_channels,
        "c5_reduce": m.branch3[0].conv.out_channels,
        "c5": m.branch3[1].conv.out_channels,
        "pool_proj": m.branch4[1].conv.out_channels,
    }
    return m.branch1.conv.in_channels, params


def _inverted_residual_v2(m: blocks.InvertedResidualV2) -> tuple[int, dict[str, Any]]:
    first, depthwise, project = m.conv[0][0], m.conv[-3][0], m.conv[-2]
    params = {
        "out_channels": project.out_channels,
        "stride": depthwise.stride[0],
        "expand_ratio": depthwise.in_channels // first.in_channels,
    }
    return first.in_channels, params


def _shufflenet_unit(m: blocks.ShuffleNetV2Unit) -> tuple[int, dict[str, Any]]:
    stride = m.branch2[3].stride[0]
    size = m.branch2[0].in_channels if stride > 1 else 2 * m.branch2[0].in_channels
    return size, {"out_channels": 2 * m.branch2[-3].out_channels, "stride": stride}


def _fire(m: blocks.Fire) -> tuple[int, dict[str, Any]]:
    params = {
        "squeeze_channels": m.squeeze.out_channels,
        "expand1x1_channels": m.expand1x1.out_channels,
        "expand3x3_channels": m.expand3x3.out_channels,
    }
    return m.squeeze.in_channels, params


def _dense_transition(m: blocks.DenseTransition) -> tuple[int, dict[str, Any]]:
    return m.conv.in_channels, {"out_channels": m.conv.out_channels}


def _res_bottleneck(m: nn.Module) -> tuple[int, dict[str, Any]]:
    a, b, c = m.f.a[0], m.f.b[0], m.f.c[0]
    se = getattr(m.f, "se", None)
    params = {
        "out_channels": c.out_channels,
        "stride": b.stride[0],
        "group_width": b.out_channels // b.groups,
        "bottleneck_multiplier": b.out_channels / c.out_channels,
        "se_ratio": se.fc1.out_channels / a.in_channels if se is not None else 0.0,
    }
    return a.in_channels, params


def _regnet_stage(m: blocks.RegNetStage) -> tuple[int, dict[str, Any]]:
    names = list(m._modules)
    size, params = _res_bottleneck(m[0])
    index = re.fullmatch(r"block(\d+)-0", names[0])
    require(index is not None, f"its first block is called {names[0]!r}, not block<stage_index>-0")
    return size, {**params, "depth": len(names), "stage_index": int(index.group(1))}


def _filled(parameter: torch.Tensor, default: float) -> float:
    """The value a parameter created with ``torch.full`` holds; ``default`` once it was trained or loaded."""
    values = parameter.detach().flatten().unique()
    # The shortest decimal of the float32 value: 1e-06, not 9.999999974752427e-07.
    return float(str(values[0].numpy())) if len(values) == 1 else default


def _cn_block(m: blocks.CNBlock) -> tuple[int, dict[str, Any]]:
    params = {
        "layer_scale": _filled(m.layer_scale, 1e-6),
        "stochastic_depth_prob": float(m.stochastic_depth.p),
        "eps": m.block[2].eps,
    }
    return m.block[0].in_channels, params


def _swin_block(m: blocks.SwinTransformerBlock) -> tuple[int, dict[str, Any]]:
    dim, attn = m.norm1.normalized_shape[0], m.attn
    params = {
        "num_heads": attn.num_heads,
        "window_size": _square(attn.window_size),
        "shift_size": _square(attn.shift_size),
        "mlp_ratio": _mlp_ratio(dim, m.mlp[0].out_features),
        "dropout": float(m.mlp[2].p),
        "attention_dropout": float(attn.attention_dropout),
        "stochastic_depth_prob": float(m.stochastic_depth.p),
        "eps": m.norm1.eps,
    }
    return dim, params


def _patch_merging(m: blocks.PatchMerging) -> tuple[int, dict[str, Any]]:
    return m.reduction.in_features // 4, {"eps": m.norm.eps}


def _stochastic_depth(m: blocks.StochasticDepth) -> dict[str, Any]:
    return {"p": float(m.p), "mode": m.mode}


def _layernorm2d(m: nn.LayerNorm) -> dict[str, Any]:
    affine = m.elementwise_affine and m.bias is not None
    require(len(m.normalized_shape) == 1 and affine, "a LayerNorm2d without a (C,) weight and bias")
    return {"eps": m.eps}


def _activation(node_type: str, read: Callable[[nn.Module], dict[str, Any]] = _none) -> ModuleRule:
    return ModuleRule(node_type, read)


MODULES: dict[type, ModuleRule] = {
    nn.Conv1d: ModuleRule("Conv1d", _conv(False)),
    nn.Conv2d: ModuleRule("Conv2d", _conv(False)),
    nn.Conv3d: ModuleRule("Conv3d", _conv(False)),
    nn.ConvTranspose1d: ModuleRule("ConvTranspose1d", _conv(True)),
    nn.ConvTranspose2d: ModuleRule("ConvTranspose2d", _conv(True)),
    nn.Linear: ModuleRule("Linear", _linear),
    nn.Bilinear: ModuleRule("Bilinear", _linear),
    nn.Embedding: ModuleRule("Embedding", _embedding),
    nn.BatchNorm1d: ModuleRule("BatchNorm1d", _batchnorm),
    nn.BatchNorm2d: ModuleRule("BatchNorm2d", _batchnorm),
    nn.InstanceNorm1d: ModuleRule("InstanceNorm1d", _instancenorm),
    nn.InstanceNorm2d: ModuleRule("InstanceNorm2d", _instancenorm),
    nn.LayerNorm: ModuleRule("LayerNorm", _layernorm),
    nn.GroupNorm: ModuleRule("GroupNorm", _fields("num_groups", "eps", "affine")),
    nn.LocalResponseNorm: ModuleRule("LocalResponseNorm", _fields("size", "alpha", "beta", "k")),
    nn.ReLU: _activation("ReLU"),
    nn.LeakyReLU: _activation("LeakyReLU", _fields("negative_slope")),
    nn.GELU: _activation("GELU", _fields("approximate")),
    nn.SiLU: _activation("SiLU"),
    nn.ELU: _activation("ELU", _fields("alpha")),
    nn.Mish: _activation("Mish"),
    nn.Hardswish: _activation("Hardswish"),
    nn.ReLU6: _activation("ReLU6"),
    nn.Hardsigmoid: _activation("Hardsigmoid"),
    nn.Hardtanh: _activation("Hardtanh", _hardtanh),
    nn.PReLU: _activation("PReLU", _prelu),
    nn.Softplus: _activation("Softplus", _fields("beta", "threshold")),
    nn.Sigmoid: _activation("Sigmoid"),
    nn.Tanh: _activation("Tanh"),
    nn.Identity: _activation("Identity"),
    nn.Softmax: ModuleRule("Softmax", _softmax),
    nn.LogSoftmax: ModuleRule("LogSoftmax", _softmax),
    nn.Dropout: ModuleRule("Dropout", _dropout),
    nn.Dropout2d: ModuleRule("Dropout2d", _dropout),
    nn.MaxPool1d: ModuleRule("MaxPool1d", _max_pool),
    nn.MaxPool2d: ModuleRule("MaxPool2d", _max_pool),
    nn.AvgPool1d: ModuleRule("AvgPool1d", _avg_pool),
    nn.AvgPool2d: ModuleRule("AvgPool2d", _avg_pool),
    nn.AdaptiveAvgPool1d: ModuleRule("AdaptiveAvgPool1d", _adaptive),
    nn.AdaptiveAvgPool2d: ModuleRule("AdaptiveAvgPool2d", _adaptive),
    nn.AdaptiveMaxPool1d: ModuleRule("AdaptiveMaxPool1d", _adaptive),
    nn.AdaptiveMaxPool2d: ModuleRule("AdaptiveMaxPool2d", _adaptive),
    nn.Upsample: ModuleRule("Upsample", _upsample),
    nn.PixelShuffle: ModuleRule("PixelShuffle", _fields("upscale_factor")),
    nn.ZeroPad2d: ModuleRule("ZeroPad2d", _zero_pad),
    nn.ChannelShuffle: ModuleRule("ChannelShuffle", _fields("groups")),
    nn.Flatten: ModuleRule("Flatten", _flatten, keeps_path=False),
    nn.MultiheadAttention: ModuleRule("MultiheadAttention", _none, apply=_attention),
    nn.TransformerEncoderLayer: ModuleRule(
        "TransformerEncoderLayer", _transformer_layer, apply=_transformer_call(("src",), "src_mask", "is_causal")
    ),
    nn.TransformerDecoderLayer: ModuleRule(
        "TransformerDecoderLayer",
        _transformer_layer,
        apply=_transformer_call(("tgt", "memory"), "tgt_mask", "tgt_is_causal"),
    ),
    nn.GRU: ModuleRule("GRU", _none, apply=_recurrent),
    nn.LSTM: ModuleRule("LSTM", _none, apply=_recurrent),
    nn.RNN: ModuleRule("RNN", _none, apply=_recurrent),
    blocks.StochasticDepth: ModuleRule("StochasticDepth", _stochastic_depth),
    blocks.LayerNorm2d: ModuleRule("LayerNorm2d", _layernorm2d),
    blocks.FiLM: ModuleRule("FiLM", _none),
    blocks.SEBlock: ModuleRule("SEBlock", _block(blocks.SEBlock, _se)),
    blocks.ResidualBlock: ModuleRule("ResidualBlock", _block(blocks.ResidualBlock, _residual)),
    blocks.Bottleneck: ModuleRule("Bottleneck", _block(blocks.Bottleneck, _bottleneck)),
    blocks.VGGBlock: ModuleRule("VGGBlock", _block(blocks.VGGBlock, _vgg)),
    blocks.InceptionBlock: ModuleRule("InceptionBlock", _block(blocks.InceptionBlock, _inception)),
    blocks.DenseLayer: ModuleRule("DenseLayer", _block(blocks.DenseLayer, _dense)),
    blocks.MBConv: ModuleRule("MBConv", _block(blocks.MBConv, _mbconv)),
    blocks.InvertedResidual: ModuleRule("InvertedResidual", _block(blocks.InvertedResidual, _inverted_residual)),
    blocks.TransformerEncoderBlock: ModuleRule(
        "TransformerEncoderBlock", _block(blocks.TransformerEncoderBlock, _transformer_block)
    ),
    blocks.PositionalEncoding: ModuleRule("PositionalEncoding", _block(blocks.PositionalEncoding, _positional)),
    blocks.BasicConv2d: ModuleRule("BasicConv2d", _block(blocks.BasicConv2d, _basic_conv)),
    blocks.Inception: ModuleRule("Inception", _block(blocks.Inception, _googlenet_inception)),
    blocks.InvertedResidualV2: ModuleRule(
        "InvertedResidualV2", _block(blocks.InvertedResidualV2, _inverted_residual_v2)
    ),
    blocks.ShuffleNetV2Unit: ModuleRule("ShuffleNetV2Unit", _block(blocks.ShuffleNetV2Unit, _shufflenet_unit)),
    blocks.Fire: ModuleRule("Fire", _block(blocks.Fire, _fire)),
    blocks.DenseTransition: ModuleRule("DenseTransition", _block(blocks.DenseTransition, _dense_transition)),
    blocks.ResBottleneckBlock: ModuleRule("ResBottleneckBlock", _block(blocks.ResBottleneckBlock, _res_bottleneck)),
    blocks.RegNetStage: ModuleRule("RegNetStage", _block(blocks.RegNetStage, _regnet_stage)),
    blocks.CNBlock: ModuleRule("CNBlock", _block(blocks.CNBlock, _cn_block)),
    blocks.SwinTransformerBlock: ModuleRule("SwinTransformerBlock", _block(blocks.SwinTransformerBlock, _swin_block)),
    blocks.PatchMerging: ModuleRule("PatchMerging", _block(blocks.PatchMerging, _patch_merging)),
}


# Classes of packages the engine does not import, by qualified name: torchvision's LayerNorm2d is an
# nn.LayerNorm whose forward permutes around F.layer_norm, which is the LayerNorm2d node's code, and its
# StochasticDepth is the node of that name; RegNet's stage (its block names, block1-0, are no paths) and the
# Swin blocks are built-ins copied from torchvision.
NAMED_MODULES: dict[str, ModuleRule] = {
    "torchvision.models.convnext.LayerNorm2d": ModuleRule("LayerNorm2d", _layernorm2d),
    "torchvision.ops.stochastic_depth.StochasticDepth": ModuleRule("StochasticDepth", _stochastic_depth),
    "torchvision.models.swin_transformer.SwinTransformerBlock": ModuleRule(
        "SwinTransformerBlock", _foreign_block(blocks.SwinTransformerBlock, _swin_block)
    ),
    "torchvision.models.regnet.AnyStage": ModuleRule("RegNetStage", _foreign_block(blocks.RegNetStage, _regnet_stage)),
    "torchvision.models.swin_transformer.PatchMerging": ModuleRule(
        "PatchMerging", _foreign_block(blocks.PatchMerging, _patch_merging)
    ),
}


@functools.cache
def _source(cls: type) -> str | None:
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):
        return None


def module_rule(module: nn.Module) -> ModuleRule | None:
    """The rule for ``module``'s class; a generated package's copy of a built-in block counts as that block.

    Generated code carries the source of the blocks it uses, so its ``ResidualBlock`` is another class
    object; it is the built-in one when its source is unchanged, and a user's own class (traced through)
    once edited.
    """
    cls = type(module)
    rule = MODULES.get(cls) or NAMED_MODULES.get(f"{cls.__module__}.{cls.__qualname__}")
    if rule is not None:
        return rule
    builtin = BLOCK_CLASSES.get(cls.__name__)
    if builtin is not None and builtin in MODULES and _source(cls) is not None and _source(cls) == _source(builtin):
        return MODULES[builtin]
    return None


# ---------------------------------------------------------------------------------------------
# Functions and methods


@dataclass(frozen=True)
class OpRule:
    """A call in ``forward``: ``handle(ctx)`` returns what the fx node becomes."""

    handle: Callable[[Context], Any]
    inplace: bool = False  # changes its first argument: allowed only where nothing reads it afterwards

    def __call__(self, ctx: Context) -> Any:
        return self.handle(ctx)


_MISSING = object()


def arguments(ctx: Context, *names: str, **defaults: Any) -> list[Any]:
    """The call's arguments by name, positional or keyword, with ``defaults`` for the rest."""
    node = ctx.node
    require(len(node.args) <= len(names), f"more than {len(names)} arguments")
    values = dict(zip(names, node.args))
    for key, value in node.kwargs.items():
        require(key in names, f"the argument `{key}`")
        values[key] = value
    result = []
    for name in names:
        value = values.get(name, defaults.get(name, _MISSING))
        require(value is not _MISSING, f"the argument `{name}` is missing")
        result.append(value)
    return result


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Learned:
    """A parameter read in forward() (``get_attr``): a learned-tensor node where its use is one of theirs.

    Their code (codegen/nodes/learned.py) is ``torch.cat([p.expand(x.size(0), -1, -1), x], dim=1)``
    (ClassToken), ``x + p`` (PositionEmbedding) and ``p * x`` (LayerScale); ``p`` is at the node's path.
    """

    path: str
    value: torch.Tensor

    def claim(self, ctx: Context) -> str:
        require(self.path not in ctx.builder.used_paths, f"parameter `{self.path}` is used twice")
        ctx.builder.used_paths.add(self.path)
        return self.path

    def init(self, node_type: str) -> dict[str, Any]:
        """The init choice the values allow: constants are exact; random values keep the node's default kind
        (normal and trunc_normal look alike at small std) with their std to one significant digit."""
        flat = self.value.detach().flatten()
        if flat.numel() == 0:
            return {}
        if bool((flat == flat[0]).all()):
            value = float(str(flat[0].numpy()))  # the float32's shortest decimal: 1e-06, not 9.99…e-07
            if value in (0.0, 1.0):
                return {"init": "zeros" if value == 0.0 else "ones"}
            return {"init": "constant", "value": value}
        default = NODE_SPECS[node_type].param("init").default
        init = default if default in ("normal", "trunc_normal") else "trunc_normal"
        return {"init": init, "std": float(f"{flat.std().item():.1g}")}


@dataclass(frozen=True)
class Fixed:
    """A buffer read in forward() (``get_attr``), maybe cut to the first ``length`` rows: a fixed table.

    ``x + table[: x.shape[1]]`` with the sinusoid table of the Transformer is a ``PositionalEncoding``.
    """

    path: str
    value: torch.Tensor
    length: int | None = None

    def positional(self, ctx: Context, x: fx.Node) -> str:
        rows, dim = self.value.shape if self.value.dim() == 2 else (None, None)
        sizes = ctx.shape(x)[1:]
        require(
            rows is not None and len(sizes) == 2 and sizes == (self.length or rows, dim),
            f"buffer `{self.path}` added to a tensor, other than a (max_len, D) sinusoid table cut to (B, T, D) tokens",
        )
        table = blocks.PositionalEncoding(dim, rows).table
        require(
            torch.allclose(self.value.float(), table, atol=1e-5),
            f"buffer `{self.path}` added to tokens is not the Transformer's sinusoid table (no node holds other values)",
        )
        return ctx.emit("PositionalEncoding", {"max_len": rows}, [ctx.tensor(x)])


@dataclass(frozen=True)
class _Expanded:
    """``p.expand(x.size(0), -1, -1)``: a class token copied over the batch, waiting for its torch.cat."""

    learned: Learned


def _require_shape(learned: Learned, shape: tuple[int, ...], what: str) -> None:
    actual = tuple(learned.value.shape)
    require(actual == shape, f"parameter `{learned.path}` of shape {list(actual)} as {what}, which needs {list(shape)}")


def _learned_term(ctx: Context, merge: str, a: fx.Node, b: fx.Node) -> str:
    """``x + p`` → PositionEmbedding, ``p * x`` → LayerScale (either order: the same values)."""
    learned, x = (ctx.value(a), b) if isinstance(ctx.value(a), Learned) else (ctx.value(b), a)
    require(ctx.is_tensor(x), f"parameter `{learned.path}` combined with a value that is no tensor")
    sizes = ctx.shape(x)[1:]
    if merge == "Add":
        require(len(sizes) == 2, f"parameter `{learned.path}` added to a tensor that is not (B, N, D) tokens")
        _require_shape(learned, (1, *sizes), "a position embedding")
        return ctx.emit("PositionEmbedding", learned.init("PositionEmbedding"), [ctx.tensor(x)], learned.claim(ctx))
    # One value per channel: (C, 1, …) channels first, (D,) for (B, D) vectors and (B, N, D) tokens.
    shapes = [(sizes[0], *(1,) * (len(sizes) - 1))] + ([(sizes[-1],)] if len(sizes) == 2 else [])
    require(
        tuple(learned.value.shape) in shapes,
        f"parameter `{learned.path}` of shape {list(learned.value.shape)} as a layer scale, which needs "
        f"{' or '.join(str(list(s)) for s in shapes)}",
    )
    return ctx.emit("LayerScale", learned.init("LayerScale"), [ctx.tensor(x)], learned.claim(ctx))


def _expand(ctx: Context) -> _Expanded:
    learned, *sizes = ctx.node.args
    value = ctx.value(learned)
    require(isinstance(value, Learned), "expand() of a tensor (only a class token parameter is expanded)")
    batch = len(sizes) == 3 and ctx.is_batch(sizes[0]) and list(sizes[1:]) == [-1, -1]
    require(batch and not ctx.node.kwargs, f"parameter `{value.path}` expanded other than as p.expand(B, -1, -1)")
    return _Expanded(value)


def _binary(merge: str, scalar: str, commutative: bool) -> Callable[[Context], Any]:
    def handle(ctx: Context) -> Any:
        require(len(ctx.node.args) == 2 and not ctx.node.kwargs, "extra arguments (alpha, out)")
        a, b = ctx.node.args
        if _number(ctx.value(a)) and _number(ctx.value(b)):  # sizes: n_h * n_w
            return _NUMBER_OPS[scalar](ctx.value(a), ctx.value(b))
        if merge == "Add" and any(isinstance(ctx.value(arg), Fixed) for arg in (a, b)):
            fixed, x = (ctx.value(a), b) if isinstance(ctx.value(a), Fixed) else (ctx.value(b), a)
            return fixed.positional(ctx, x)
        for arg in (a, b):
            if isinstance(ctx.value(arg), Fixed):
                ctx.tensor(arg)  # says what a buffer may be used as
            require(not isinstance(ctx.value(arg), Batch), f"`{scalar}` of the batch size (it stays what it is)")
        if commutative and any(isinstance(ctx.value(arg), Learned) for arg in (a, b)):
            return _learned_term(ctx, merge, a, b)
        if ctx.is_tensor(a) and ctx.is_tensor(b):
            return _merge(ctx, merge, a, b)
        if commutative and _number(a) and ctx.is_tensor(b):
            a, b = b, a
        require(ctx.is_tensor(a) and _number(b), f"a number on the left of `{scalar}` or a value that is no tensor")
        return ctx.emit("Scalar", {"op": scalar, "value": float(b)}, [ctx.tensor(a)])

    return handle


def _merge(ctx: Context, node_type: str, a: fx.Node, b: fx.Node) -> str:
    """``a + b``; ``(a + b) + c`` extends the first Add when nothing else reads ``a + b``."""
    left, right = ctx.tensor(a), ctx.tensor(b)
    if NODE_SPECS[node_type].variadic and len(a.users) == 1:
        node = ctx.builder.node_named(left)
        edges = [e for e in ctx.builder.edges if e[1] == left]
        unlabelled = all(len(e) == 2 for e in edges)  # an appended edge must not jump labelled positions
        if node is not None and node["type"] == node_type and unlabelled and right not in [e[0] for e in edges]:
            ctx.builder.edges.append([right, left])
            return left
    return ctx.emit(node_type, {}, [left, right])


def _unary(node_type: str, *names: str, **defaults: Any) -> Callable[[Context], Any]:
    """``f(x, <names>)`` → ``node_type`` with those params; ``inplace`` is accepted and dropped."""

    def handle(ctx: Context) -> Any:
        values = arguments(ctx, "input", *names, "inplace", inplace=False, **defaults)
        params = dict(zip(names, values[1:-1]))
        return ctx.emit(node_type, params, [ctx.tensor(values[0])])

    return handle


def _softmax_call(node_type: str) -> Callable[[Context], Any]:
    def handle(ctx: Context) -> Any:
        x, dim, _, dtype = arguments(ctx, "input", "dim", "_stacklevel", "dtype", dim=None, _stacklevel=3, dtype=None)
        require(dim is not None and dtype is None, "dim=None or a dtype")
        return ctx.emit(node_type, {"dim": dim}, [ctx.tensor(x)])

    return handle


def _cat(ctx: Context) -> str:
    tensors, dim = arguments(ctx, "tensors", "dim", dim=0)
    parts = ctx.value(tensors)
    if any(isinstance(part, _LastLayer) for part in parts):
        both = len(parts) == 2 and all(isinstance(part, _LastLayer) for part in parts)
        order = both and parts[0].rnn is parts[1].rnn and (parts[0].index, parts[1].index) == (-2, -1)
        require(order and dim in (1, -1), "a bidirectional GRU's states other than cat([hidden[-2], hidden[-1]], 1)")
        return _final_state(parts[0].rnn)
    if parts and isinstance(parts[0], _Expanded):
        require(len(parts) == 2 and dim == 1, "an expanded parameter other than torch.cat([p.expand(B, -1, -1), x], 1)")
        learned, x = parts[0].learned, tensors[1]
        width = ctx.shape(x)[-1]
        _require_shape(learned, (1, 1, width), "a class token")
        return ctx.emit("ClassToken", learned.init("ClassToken"), [ctx.tensor(x)], learned.claim(ctx))
    if len(tensors) == 1:  # DenseNet's first layer concatenates a list of one: the tensor itself
        return ctx.tensor(tensors[0])
    return ctx.emit("Concat", {"dim": dim}, [ctx.tensor(t) for t in tensors])


def _stack(ctx: Context) -> str:
    tensors, dim = arguments(ctx, "tensors", "dim", dim=0)
    require(dim != 0, "torch.stack along the batch axis (dim=0)")
    return ctx.emit("Stack", {"dim": dim}, [ctx.tensor(t) for t in tensors])


def _argmax(ctx: Context) -> str:
    x, dim, keepdim = arguments(ctx, "input", "dim", "keepdim", dim=None, keepdim=False)
    require(dim is not None, "argmax over all the axes (dim=None)")
    return ctx.emit("ArgMax", {"dim": dim, "keepdim": keepdim}, [ctx.tensor(x)])


def _normalize(ctx: Context) -> str:
    x, p, dim, eps, out = arguments(ctx, "input", "p", "dim", "eps", "out", p=2.0, dim=1, eps=1e-12, out=None)
    require(out is None, "the argument `out`")
    return ctx.emit("Normalize", {"p": float(p), "dim": dim, "eps": float(eps)}, [ctx.tensor(x)])


def _flatten_call(ctx: Context) -> str:
    x, start, end = arguments(ctx, "input", "start_dim", "end_dim", start_dim=0, end_dim=-1)
    return ctx.emit("Flatten", {"start_dim": start, "end_dim": end}, [ctx.tensor(x)])


@dataclass(frozen=True)
class _Multi:
    """A node with several outputs (Chunk, Split); ``value[i]`` is ``"id:i"``."""

    node: str
    count: int


def _chunk(ctx: Context) -> _Multi:
    x, chunks, dim = arguments(ctx, "input", "chunks", "dim", dim=0)
    size = ctx.shape(x)[dim]
    require(size % chunks == 0, f"{size} does not split into {chunks} equal chunks")
    return _Multi(ctx.emit("Chunk", {"chunks": chunks, "dim": dim}, [ctx.tensor(x)]), chunks)


def _split(ctx: Context) -> _Multi:
    x, sizes, dim = arguments(ctx, "tensor", "split_size_or_sections", "dim", dim=0)
    total = ctx.shape(x)[dim]
    if isinstance(sizes, int):
        sections = [sizes] * (total // sizes) + ([total % sizes] if total % sizes else [])
    else:
        sections = list(sizes)
    return _Multi(ctx.emit("Split", {"sections": sections, "dim": dim}, [ctx.tensor(x)]), len(sections))


def _getitem(ctx: Context) -> Any:
    container, index = ctx.node.args
    value = ctx.value(container)
    if isinstance(value, _Multi) and isinstance(index, int):
        return f"{value.node}:{index % value.count}"
    if isinstance(value, _Shape):
        return value.item(index)
    if isinstance(value, Fixed) and isinstance(index, slice):  # table[:length]
        require(
            index.start in (None, 0) and index.step in (None, 1) and isinstance(index.stop, int),
            f"buffer `{value.path}` cut other than to its first rows ([:length])",
        )
        return Fixed(value.path, value.value[: index.stop], length=index.stop)
    if isinstance(value, _Deferred) and isinstance(index, int):
        if not ctx.node.users:  # `_, hidden = self.gru(x)`: the unpacked item nobody reads makes no node
            return None
        if index % value.outputs == 0:
            return value.output(0)
        require(value.node_type == "GRU", f"item {index} of {value.node_type}'s result (only the output sequence)")
        return _Hidden(value)
    if isinstance(value, _Hidden) and index in (-1, -2):
        require(value.rnn.made is None, "both the sequence and the final state of one GRU")
        if value.rnn.params["bidirectional"]:  # torch.cat([hidden[-2], hidden[-1]], dim=1) is GRUBlock's
            return _LastLayer(value.rnn, index)
        require(index == -1, f"hidden[{index}] (only the last layer's state, hidden[-1])")
        return _final_state(value.rnn)
    if isinstance(value, str) and isinstance(index, tuple) and len(index) == 2:
        first, second = index
        if first == slice(None) and isinstance(second, int):
            return ctx.emit("SelectToken", {"index": second}, [value])
    raise Unsupported(f"indexing with {index!r}")


@dataclass(frozen=True)
class Batch:
    """``x.size(0)`` / ``x.shape[0]``: the batch size, as the first size of a batch-keeping reshape."""


@dataclass(frozen=True)
class _Shape:
    """``x.shape`` / ``x.size()``: the batch size, then numbers.

    The graph's input shapes are fixed (the import is given them), so every size but the batch is a
    constant of the graph: ``h // p`` or ``c // groups`` is folded into the number it is at these shapes.
    """

    sizes: tuple[int, ...]

    def item(self, index: Any) -> Any:
        if isinstance(index, int):
            require(-len(self.sizes) <= index < len(self.sizes), f"size {index} of a rank-{len(self.sizes)} tensor")
            return Batch() if index % len(self.sizes) == 0 else self.sizes[index]
        require(isinstance(index, slice), f"indexing a shape with {index!r}")
        positions = range(len(self.sizes))[index]
        return tuple(Batch() if i == 0 else self.sizes[i] for i in positions)


def _size(ctx: Context) -> Any:
    x, dim = arguments(ctx, "self", "dim", dim=None)
    shape = _Shape(ctx.shape(x))
    return shape if dim is None else shape.item(dim)


def _dim(ctx: Context) -> int:
    (x,) = arguments(ctx, "self")
    return ctx.rank(x)


@dataclass(frozen=True)
class _Placement:
    """``x.device`` / ``x.dtype``: where a mask is made, the tensor's own (the node makes it there too)."""

    name: str


@dataclass(frozen=True)
class _Filled:
    """``torch.full((T, T), float("-inf"), ...)``: the table a causal mask is cut from."""

    size: int


@dataclass(frozen=True)
class CausalMask:
    """``nn.Transformer.generate_square_subsequent_mask(T, ...)``, i.e. ``torch.triu`` of a (T, T) table of
    -inf above the diagonal: what a causal Transformer layer's code passes as its mask."""

    size: int


def _full(ctx: Context) -> _Filled:
    size, value, dtype, device = arguments(ctx, "size", "fill_value", "dtype", "device", dtype=None, device=None)
    size, placements = ctx.value(size), [ctx.value(dtype), ctx.value(device)]
    require(
        isinstance(size, tuple)
        and len(size) == 2
        and size[0] == size[1]
        and isinstance(size[0], int)
        and value == -math.inf
        and all(p is None or isinstance(p, _Placement) for p in placements),
        "torch.full other than the (T, T) table of -inf that a causal mask is cut from",
    )
    return _Filled(size[0])


def _triu(ctx: Context) -> CausalMask:
    table, diagonal = arguments(ctx, "input", "diagonal", diagonal=0)
    table = ctx.value(table)
    require(isinstance(table, _Filled) and diagonal == 1, "torch.triu other than the causal mask of a Transformer")
    return CausalMask(table.size)


def _shape_attribute(ctx: Context) -> Any:
    x, name = ctx.node.args
    if name == "ndim":
        return ctx.rank(x)
    if name in ("device", "dtype"):
        return _Placement(name)
    require(name == "shape", f"the attribute `{name}`")
    return _Shape(ctx.shape(x))


def _constant(op: Callable[..., Any], symbol: str) -> Callable[[Context], Any]:
    """Arithmetic and comparisons of sizes (``h // p``, ``h == 224``): folded into their value."""

    def handle(ctx: Context) -> Any:
        values = [ctx.value(arg) for arg in ctx.node.args]
        require(
            not ctx.node.kwargs and all(_number(v) or isinstance(v, bool) for v in values),
            f"`{symbol}` of values that are not sizes or numbers (only sizes other than the batch fold into a number)",
        )
        return op(*values)

    return handle


def _assert(ctx: Context) -> None:
    """``torch._assert(h == 224, ...)``: checked now, at the given shapes; the graph needs no node for it."""
    condition, message = arguments(ctx, "condition", "message")
    condition = ctx.value(condition)
    require(isinstance(condition, bool), "an assertion on a tensor's values (only on sizes)")
    require(condition, f"it fails at the given input shapes: {message}")


def _reshape(ctx: Context) -> str:
    x, *shape = ctx.node.args
    require(not ctx.node.kwargs, "keyword arguments")
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = list(shape[0])
    per_sample = math.prod(ctx.shape(x)[1:])
    first, rest = shape[0], shape[1:]
    require(all(isinstance(s, int) for s in rest), "sizes computed in forward() (only constants and size(0))")
    known = math.prod(s for s in rest if s != -1)
    batch_kept = ctx.is_batch(first) or (first == -1 and -1 not in rest and known == per_sample)
    require(batch_kept, "a reshape that does not keep the batch axis first (write x.reshape(x.size(0), ...))")
    if list(rest) == [-1] or (rest and known == per_sample and len(rest) == 1):
        return ctx.emit("Flatten", {}, [ctx.tensor(x)])
    return ctx.emit("Reshape", {"shape": list(rest)}, [ctx.tensor(x)])


def _permute(ctx: Context) -> str:
    x, *dims = ctx.node.args
    dims = list(dims[0]) if len(dims) == 1 and isinstance(dims[0], (list, tuple)) else dims
    rank = ctx.rank(x)
    return ctx.emit("Permute", {"dims": [d % rank for d in dims]}, [ctx.tensor(x)])


def _transpose(ctx: Context) -> str:
    x, a, b = arguments(ctx, "input", "dim0", "dim1")
    return ctx.emit("Transpose", {"dim0": a, "dim1": b}, [ctx.tensor(x)])


def _squeeze(node_type: str) -> Callable[[Context], Any]:
    def handle(ctx: Context) -> str:
        x, dim = arguments(ctx, "input", "dim", dim=None)
        require(isinstance(dim, int), "no dim, or several (name the one axis)")
        return ctx.emit(node_type, {"dim": dim}, [ctx.tensor(x)])

    return handle


def _mean(ctx: Context) -> str:
    x, dim, keepdim, dtype = arguments(ctx, "input", "dim", "keepdim", "dtype", dim=None, keepdim=False, dtype=None)
    rank = ctx.rank(x)
    dims = sorted(d % rank for d in (dim if isinstance(dim, (list, tuple)) else [dim])) if dim is not None else []
    spatial = list(range(2, rank))
    require(dtype is None and rank >= 3, "a mean other than over spatial axes or time")
    if keepdim:
        require(dims == spatial and rank in (3, 4), "a mean keeping axes other than all spatial ones")
        return ctx.emit(f"AdaptiveAvgPool{rank - 2}d", {"output_size": 1}, [ctx.tensor(x)])
    require(dims == spatial or (rank == 3 and dims == [1]), f"a mean over axes {dims} of a rank-{rank} tensor")
    node = ctx.emit("GlobalAvgPool", {}, [ctx.tensor(x)])
    ctx.builder.mean_axes[node] = dims
    return node


def _passthrough(ctx: Context) -> str:
    require(len(ctx.node.args) == 1 and not ctx.node.kwargs, "arguments (memory format)")
    return ctx.tensor(ctx.node.args[0])


def _matmul(ctx: Context) -> str:
    a, b = arguments(ctx, "input", "other")
    return ctx.emit("MatMul", {}, [ctx.tensor(a), ctx.tensor(b)])


def _adaptive_call(node_type: str) -> Callable[[Context], Any]:
    def handle(ctx: Context) -> str:
        x, size = arguments(ctx, "input", "output_size")
        return ctx.emit(node_type, {"output_size": size}, [ctx.tensor(x)])

    return handle


def _dropout_call(ctx: Context) -> str:
    x, p, _, _ = arguments(ctx, "input", "p", "training", "inplace", p=0.5, training=True, inplace=False)
    return ctx.emit("Dropout", {"p": float(p)}, [ctx.tensor(x)])


def _avg_pool_call(ctx: Context) -> str:
    x, kernel, stride, padding, ceil, include_pad, divisor = arguments(
        ctx,
        "input",
        "kernel_size",
        "stride",
        "padding",
        "ceil_mode",
        "count_include_pad",
        "divisor_override",
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    )
    require(include_pad and divisor is None, "count_include_pad=False or divisor_override")
    params = {"kernel_size": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil}
    return ctx.emit(f"AvgPool{ctx.rank(x) - 2}d", params, [ctx.tensor(x)])


def _stochastic_depth_call(ctx: Context) -> str:
    x, p, mode, _ = arguments(ctx, "input", "p", "mode", "training", training=True)
    return ctx.emit("StochasticDepth", {"p": float(p), "mode": mode}, [ctx.tensor(x)])


def _ops(table: dict[Any, Callable[[Context], Any]], inplace: tuple[Any, ...] = ()) -> dict[Any, OpRule]:
    return {key: OpRule(handle, key in inplace) for key, handle in table.items()}


_NUMBER_OPS = {"add": operator.add, "mul": operator.mul, "sub": operator.sub, "div": operator.truediv}
_ADD, _MUL = _binary("Add", "add", True), _binary("Mul", "mul", True)
_SUB, _DIV = _binary("Sub", "sub", False), _binary("Div", "div", False)
_RELU, _SIGMOID, _TANH = _unary("ReLU"), _unary("Sigmoid"), _unary("Tanh")

FUNCTIONS: dict[Any, OpRule] = _ops(
    {
        operator.add: _ADD,
        operator.iadd: _ADD,
        torch.add: _ADD,
        operator.mul: _MUL,
        operator.imul: _MUL,
        torch.mul: _MUL,
        operator.sub: _SUB,
        torch.sub: _SUB,
        operator.truediv: _DIV,
        torch.div: _DIV,
        operator.matmul: _matmul,
        torch.matmul: _matmul,
        operator.getitem: _getitem,
        getattr: _shape_attribute,
        operator.floordiv: _constant(operator.floordiv, "//"),
        operator.mod: _constant(operator.mod, "%"),
        operator.eq: _constant(operator.eq, "=="),
        operator.ne: _constant(operator.ne, "!="),
        operator.lt: _constant(operator.lt, "<"),
        operator.le: _constant(operator.le, "<="),
        operator.gt: _constant(operator.gt, ">"),
        operator.ge: _constant(operator.ge, ">="),
        torch._assert: _assert,
        torch.full: _full,
        torch.triu: _triu,
        torch.cat: _cat,
        torch.concat: _cat,
        torch.flatten: _flatten_call,
        torch.stack: _stack,
        torch.argmax: _argmax,
        F.normalize: _normalize,
        torch.chunk: _chunk,
        torch.split: _split,
        torch.permute: _permute,
        torch.transpose: _transpose,
        torch.squeeze: _squeeze("Squeeze"),
        torch.unsqueeze: _squeeze("Unsqueeze"),
        torch.mean: _mean,
        torch.relu: _RELU,
        F.relu: _RELU,
        F.relu6: _unary("ReLU6"),
        F.gelu: _unary("GELU", "approximate", approximate="none"),
        F.silu: _unary("SiLU"),
        F.mish: _unary("Mish"),
        F.hardswish: _unary("Hardswish"),
        F.hardsigmoid: _unary("Hardsigmoid"),
        F.elu: _unary("ELU", "alpha", alpha=1.0),
        F.leaky_relu: _unary("LeakyReLU", "negative_slope", negative_slope=0.01),
        torch.sigmoid: _SIGMOID,
        F.sigmoid: _SIGMOID,
        torch.tanh: _TANH,
        F.tanh: _TANH,
        F.softmax: _softmax_call("Softmax"),
        torch.softmax: _softmax_call("Softmax"),
        F.log_softmax: _softmax_call("LogSoftmax"),
        F.adaptive_avg_pool1d: _adaptive_call("AdaptiveAvgPool1d"),
        F.adaptive_avg_pool2d: _adaptive_call("AdaptiveAvgPool2d"),
        F.avg_pool2d: _avg_pool_call,
        F.dropout: _dropout_call,
    },
    inplace=(operator.iadd, operator.imul),
)

# Functions of packages the engine does not import, by qualified name (torchvision's ops are fx-wrapped,
# so they reach the graph as calls).
NAMED_FUNCTIONS: dict[str, OpRule] = _ops({"torchvision.ops.stochastic_depth.stochastic_depth": _stochastic_depth_call})

METHODS: dict[str, OpRule] = _ops(
    {
        "add": _ADD,
        "add_": _ADD,
        "expand": _expand,
        "mul": _MUL,
        "mul_": _MUL,
        "sub": _SUB,
        "div": _DIV,
        "matmul": _matmul,
        "flatten": _flatten_call,
        "argmax": _argmax,
        "chunk": _chunk,
        "split": _split,
        "view": _reshape,
        "reshape": _reshape,
        "permute": _permute,
        "transpose": _transpose,
        "squeeze": _squeeze("Squeeze"),
        "unsqueeze": _squeeze("Unsqueeze"),
        "mean": _mean,
        "relu": _RELU,
        "relu_": _RELU,
        "sigmoid": _SIGMOID,
        "tanh": _TANH,
        "softmax": _softmax_call("Softmax"),
        "size": _size,
        "dim": _dim,
        "contiguous": _passthrough,
    },
    inplace=("add_", "mul_", "relu_"),
)
