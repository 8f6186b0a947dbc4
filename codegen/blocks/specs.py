"""Node declarations for the built-in composite blocks: parameters, shape rules and render rules.

A block node renders as one constructor call of its class from :mod:`codegen.blocks.library`,
input channels first and positional, required parameters positional, and the rest as keywords
left out when they equal the declared default (which is also the class's default). Shape rules
are arithmetic only: they never build the module.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from ..diagnostics import insert_node, set_param
from ..dims import Dim, Sym, add, floordiv, is_known, mul
from ..ir import call, kw_unless
from ..nodes._common import check_divisible, window_out
from ..nodes.recurrent import sequence_input
from ..params import Bool, Choice, Float, Int, Param
from ..spec import EmitCtx, InferCtx, NodeCode, NodeSpec, apply_module, register
from ..tensor import SEQUENCE, TensorType, unknown_of_rank
from .library import (
    BasicConv2d,
    Bottleneck,
    CNBlock,
    DenseLayer,
    DenseTransition,
    Fire,
    Inception,
    InceptionBlock,
    InvertedResidual,
    InvertedResidualV2,
    MBConv,
    PatchMerging,
    PositionalEncoding,
    RegNetStage,
    ResBottleneckBlock,
    ResidualBlock,
    SEBlock,
    ShuffleNetV2Unit,
    SwinTransformerBlock,
    TransformerEncoderBlock,
    VGGBlock,
)

# ---------------------------------------------------------------------------------------------
# Shared pieces of the shape rules


def channels_first_input(
    ctx: InferCtx, what: str, ranks: tuple[int, ...] = (4,), lazy: bool = False
) -> TensorType:
    """Input 0 as (B, C, ...), with its channel count known unless the block can go ``lazy``."""
    x = ctx.input(0, ranks=ranks)
    if x.layout == SEQUENCE:
        raise ctx.fail(
            "LAYOUT",
            f"{what} reads channels on axis 1 but receives {x.describe()}; insert Permute_BTH_to_BCT",
            insert_node("Permute_BTH_to_BCT", ctx.edge(0)),
            edge_index=0,
        )
    if not lazy and x.features is None:
        raise ctx.fail(
            "NEEDS_SHAPE",
            f"cannot infer {what}'s input channels without input shapes: set `shape` on the Input node",
        )
    return x


def require_odd_kernel(ctx: InferCtx, kernel: Any, name: str = "kernel_size") -> None:
    if is_known(kernel) and kernel % 2 == 0:
        raise ctx.fail(
            "PARAM_RANGE",
            f"{name} must be odd so that padding {name} // 2 keeps the size, got {kernel}",
            set_param(ctx.node, name, kernel + 1),
        )


def strided(size: Dim, stride: Any) -> Dim:
    """Output size of a same-padded odd kernel (or a 1×1 kernel) at ``stride``: ceil(size / stride)."""
    return (size - 1) // stride + 1 if is_known(size, stride) else None


def spatial(x: TensorType) -> tuple[Dim, ...]:
    return x.dims[1:] if x.dims else (None, None)


# ---------------------------------------------------------------------------------------------
# Shape rules


def infer_se(ctx: InferCtx) -> TensorType:
    x = channels_first_input(ctx, "SEBlock", ranks=(3, 4, 5))
    channels, reduction = x.features, ctx.params["reduction"]
    if is_known(channels, reduction) and channels // reduction < 1:
        raise ctx.fail(
            "PARAM_RANGE",
            f"reduction {reduction} leaves no hidden units for {channels} channels; use a reduction ≤ {channels}",
            set_param(ctx.node, "reduction", channels),
        )
    return x


def infer_residual(ctx: InferCtx) -> TensorType:
    x = channels_first_input(ctx, "ResidualBlock")
    p = ctx.params
    require_odd_kernel(ctx, p["kernel_size"])
    return x.with_dims(
        (p["out_channels"], *(strided(size, p["stride"]) for size in spatial(x)))
    )


def infer_bottleneck(ctx: InferCtx) -> TensorType:
    x = channels_first_input(ctx, "Bottleneck")
    p = ctx.params
    out, expansion = p["out_channels"], p["expansion"]
    if is_known(out, expansion) and out // expansion < 1:
        raise ctx.fail(
            "PARAM_RANGE",
            f"out_channels {out} leaves no inner width at expansion {expansion}; use out_channels ≥ {expansion}",
            set_param(ctx.node, "out_channels", expansion),
        )
    planes, per_group = (
        out // expansion if is_known(out, expansion) else None,
        p["width_per_group"],
    )
    if is_known(planes, per_group) and planes * per_group // 64 < 1:
        least = -(-64 // planes)
        raise ctx.fail(
            "PARAM_RANGE",
            f"width_per_group {per_group} leaves no inner width: (out_channels // expansion) * width_per_group // 64 "
            f"is {planes} * {per_group} // 64 = 0; use width_per_group ≥ {least}",
            set_param(ctx.node, "width_per_group", least),
        )
    return x.with_dims((out, *(strided(size, p["stride"]) for size in spatial(x))))


def infer_vgg(ctx: InferCtx) -> TensorType:
    x = channels_first_input(ctx, "VGGBlock", lazy=True)
    p = ctx.params
    kernel, convs, pool = p["k"], p["convs"], p["pool"]
    if is_known(convs):
        channels = p["c1"] if convs == 1 else p["c2"]
    else:
        channels = p["c1"] if p["c1"] == p["c2"] else None
    # Padding k // 2 keeps the size for odd kernels and adds one per convolution for even ones.
    if is_known(kernel) and kernel % 2:
        growth: Dim = 0
    else:
        growth = convs if is_known(kernel, convs) else None
    sizes: list[Dim] = []
    for axis, size in zip(("height", "width"), spatial(x)):
        if growth != 0:
            size = add(size, growth)
        if isinstance(pool, Sym) or (pool and not is_known(size)):
            size = None
        elif pool:
            if size < 2:
                raise ctx.fail(
                    "IMPOSSIBLE_OUTPUT",
                    f"2×2 max pooling needs a {axis} of at least 2 after the convolutions, got {size}",
                    set_param(ctx.node, "pool", False),
                )
            size //= 2
        sizes.append(size)
    return x.with_dims((channels, *sizes))


def infer_inception(ctx: InferCtx, what: str = "InceptionBlock") -> TensorType:
    x = channels_first_input(ctx, what)
    p = ctx.params
    channels = add(add(add(p["c1"], p["c3"]), p["c5"]), p["pool_proj"])
    return x.with_dims((channels, *spatial(x)))


def infer_dense_layer(ctx: InferCtx) -> TensorType:
    x = channels_first_input(ctx, "DenseLayer")
    return x.with_dims((add(x.features, ctx.params["growth_rate"]), *spatial(x)))


def infer_mbconv(ctx: InferCtx) -> TensorType:
    x = channels_first_input(ctx, "MBConv")
    p = ctx.params
    require_odd_kernel(ctx, p["kernel_size"])
    drop, residual = (
        p["stochastic_depth_prob"],
        p["stride"] == 1 and x.features == p["out_channels"],
    )
    if (
        is_known(p["stride"], x.features, p["out_channels"])
        and isinstance(drop, float)
        and drop > 0
        and not residual
    ):
        ctx.warn(
            "PARAM_RANGE",
            f"stochastic_depth_prob {drop} has no effect: stochastic depth drops the residual branch, and a block "
            f"with stride {p['stride']} from {x.features} to {p['out_channels']} channels has none",
            set_param(ctx.node, "stochastic_depth_prob", 0.0),
        )
    return x.with_dims(
        (p["out_channels"], *(strided(size, p["stride"]) for size in spatial(x)))
    )


def infer_inverted_residual(ctx: InferCtx) -> TensorType:
    x = channels_first_input(ctx, "InvertedResidual")
    p = ctx.params
    require_odd_kernel(ctx, p["kernel_size"])
    return x.with_dims(
        (p["out_channels"], *(strided(size, p["stride"]) for size in spatial(x)))
    )


def infer_transformer(ctx: InferCtx) -> TensorType:
    x = sequence_input(ctx, "TransformerEncoderBlock")
    p = ctx.params
    dim, heads, ratio = x.features, p["num_heads"], p["mlp_ratio"]
    check_divisible(
        ctx, dim, heads, f"embedding size {dim} is not divisible by num_heads={heads}"
    )
    if is_known(dim) and isinstance(ratio, float) and int(dim * ratio) < 1:
        raise ctx.fail(
            "PARAM_RANGE",
            f"mlp_ratio {ratio} leaves the MLP no hidden units for embedding size {dim}",
        )
    return x


def infer_positional_encoding(ctx: InferCtx) -> TensorType:
    x = sequence_input(ctx, "PositionalEncoding")
    length, max_len = x.dims[0] if x.dims else None, ctx.params["max_len"]
    if is_known(length, max_len) and length > max_len:
        raise ctx.fail(
            "PARAM_RANGE",
            f"max_len {max_len} is shorter than the sequence's {length} steps; use a max_len ≥ {length}",
            set_param(ctx.node, "max_len", length),
        )
    return x


# ---------------------------------------------------------------------------------------------
# Render rule, shared: ``Block(in_channels, *required, **non_default)``


def render(cls: type, params: tuple[Param, ...], positional: tuple[str, ...]):
    """Render rule calling ``cls`` with the input size first, then ``positional`` params, then keywords."""
    keywords = tuple(param for param in params if param.name not in positional)

    def emit(ctx: EmitCtx) -> NodeCode:
        p = ctx.params
        args = (ctx.in_features(), *(p[name] for name in positional))
        kwargs = {
            param.name: kw_unless(p[param.name], param.default) for param in keywords
        }
        return apply_module(ctx, call(cls.__name__, *args, **kwargs))

    return emit


def block(
    cls: type,
    doc: str,
    infer: Any,
    params: tuple[Param, ...],
    paper: str,
    positional: tuple[str, ...] = (),
    summary: tuple[str, ...] = (),
    requires: tuple[str, ...] = (),
) -> NodeSpec:
    return NodeSpec(
        cls.__name__,
        "block",
        doc,
        infer,
        render(cls, params, positional),
        params=params,
        summary=summary,
        paper=paper,
        composite=True,
        block_class=cls,
        requires=requires,
    )


def _channels(name: str, doc: str, default: Any = None) -> Int:
    if default is None:
        return Int(name, min=1, max=1_000_000, doc=doc)
    return Int(name, default=default, min=1, max=1_000_000, doc=doc)


def _dropout(name: str, doc: str) -> Float:
    return Float(name, default=0.0, min=0.0, max=1.0, max_exclusive=True, doc=doc)


_STRIDE = Int(
    "stride",
    default=1,
    min=1,
    max=64,
    doc="Stride of the block; 2 halves height and width.",
)
_KERNEL = Int(
    "kernel_size",
    default=3,
    min=1,
    max=31,
    doc="Odd kernel size; padding kernel_size // 2 keeps the size.",
)

SE_PARAMS = (
    Int(
        "reduction",
        default=16,
        min=1,
        max=100_000,
        doc="Reduction ratio r: the gate's MLP is C → C // r → C.",
    ),
)

RESIDUAL_PARAMS = (_channels("out_channels", "Output channels."), _KERNEL, _STRIDE)

BOTTLENECK_PARAMS = (
    _channels(
        "out_channels", "Output channels; the inner width is out_channels // expansion."
    ),
    _STRIDE,
    Int(
        "expansion",
        default=4,
        min=1,
        max=1024,
        doc="Ratio of output channels to the inner width at width_per_group 64.",
    ),
    Int(
        "groups",
        default=1,
        min=1,
        max=1024,
        doc="Groups of the 3×3 convolution (ResNeXt's cardinality, 32 in ResNeXt-50 32×4d).",
    ),
    Int(
        "width_per_group",
        default=64,
        min=1,
        max=100_000,
        doc="Inner width is (out_channels // expansion) * width_per_group // 64 * groups "
        "(4 in ResNeXt-50 32×4d, 128 in Wide ResNet-50-2).",
    ),
)

VGG_PARAMS = (
    _channels("c1", "Output channels of the first convolution."),
    _channels("c2", "Output channels of the other convolutions."),
    Int(
        "k",
        default=3,
        min=1,
        max=31,
        doc="Kernel size of every convolution (padding k // 2).",
    ),
    Bool(
        "pool", default=True, doc="End with 2×2 max pooling (halves height and width)."
    ),
    Bool(
        "lrn",
        default=False,
        doc="Local response normalisation after each ReLU (VGG's A-LRN).",
    ),
    Int(
        "convs",
        default=2,
        min=1,
        max=16,
        doc="Number of convolutions (VGG-16 uses 2, 2, 3, 3, 3).",
    ),
    Bool(
        "batch_norm",
        default=False,
        doc="BatchNorm between each convolution and its ReLU (torchvision's vgg*_bn).",
    ),
)

INCEPTION_PARAMS = (  # defaults: GoogLeNet's inception (3a)
    _channels("c1", "Output channels of the 1×1 branch.", 64),
    _channels("c3_reduce", "1×1 reduction before the 3×3 convolution.", 96),
    _channels("c3", "Output channels of the 3×3 branch.", 128),
    _channels("c5_reduce", "1×1 reduction before the 5×5 convolution.", 16),
    _channels("c5", "Output channels of the 5×5 branch.", 32),
    _channels(
        "pool_proj", "Output channels of the 1×1 projection after max pooling.", 32
    ),
)

DENSE_LAYER_PARAMS = (
    _channels(
        "growth_rate", "Channels the layer adds to its input (k in the paper).", 32
    ),
    Int(
        "bn_size",
        default=4,
        min=1,
        max=64,
        doc="Width of the 1×1 bottleneck, in multiples of growth_rate.",
    ),
    _dropout("drop_rate", "Dropout on the new features."),
)

MBCONV_PARAMS = (
    _channels("out_channels", "Output channels."),
    Int(
        "expand_ratio",
        default=4,
        min=1,
        max=64,
        doc="Width of the depthwise stage, in multiples of the input.",
    ),
    _KERNEL,
    _STRIDE,
    Float(
        "se_ratio",
        default=0.25,
        min=0.0,
        max=1.0,
        doc="Squeeze-excitation width relative to the input; 0 = none.",
    ),
    Float(
        "stochastic_depth_prob",
        default=0.0,
        min=0.0,
        max=1.0,
        doc="Probability of dropping the residual branch per sample in training "
        "(EfficientNet-B0: 0.2 × block index / blocks); needs a residual.",
    ),
)

INVERTED_RESIDUAL_PARAMS = (
    _channels(
        "expanded_channels",
        "Width of the depthwise stage; equal to the input's skips the expansion.",
    ),
    _channels("out_channels", "Output channels."),
    _KERNEL,
    _STRIDE,
    Bool(
        "use_se",
        default=False,
        doc="Squeeze-excitation (ReLU, Hardsigmoid) after the depthwise convolution.",
    ),
    Choice(
        "activation",
        default="relu",
        choices=("relu", "hardswish"),
        doc="Activation of the expansion and depthwise stages (MobileNetV3's RE or HS).",
    ),
)

TRANSFORMER_PARAMS = (
    Int(
        "num_heads",
        default=8,
        min=1,
        max=1024,
        doc="Attention heads; must divide the embedding size.",
    ),
    Float(
        "mlp_ratio",
        default=4.0,
        min=0.0,
        max=64.0,
        doc="Hidden size of the MLP relative to the embedding size.",
    ),
    _dropout("dropout", "Dropout on attention and MLP outputs."),
    Float(
        "eps",
        default=1e-5,
        min=0.0,
        max=1.0,
        doc="Epsilon of both LayerNorms (torchvision's ViT uses 1e-6).",
    ),
)

POSITIONAL_ENCODING_PARAMS = (
    Int(
        "max_len",
        default=5000,
        min=1,
        max=1_000_000,
        doc="Longest sequence the table covers; longer inputs are an error.",
    ),
    _dropout("dropout", "Dropout on the input plus its encoding."),
)

# ---------------------------------------------------------------------------------------------
# The blocks of torchvision's CNN classifiers: GoogLeNet, MobileNetV2, ShuffleNetV2, SqueezeNet,
# DenseNet and RegNet. Each class keeps torchvision's submodule names, so its weights load by name.


def infer_basic_conv(ctx: InferCtx) -> TensorType:
    x = channels_first_input(ctx, "BasicConv2d")
    p = ctx.params
    sizes = tuple(
        window_out(
            ctx, size, p["kernel_size"], p["stride"], p["padding"], axis_name=axis
        )
        for size, axis in zip(spatial(x), ("height", "width"))
    )
    return x.with_dims((p["out_channels"], *sizes))


def infer_inverted_residual_v2(ctx: InferCtx) -> TensorType:
    x = channels_first_input(ctx, "InvertedResidualV2")
    p = ctx.params
    return x.with_dims(
        (p["out_channels"], *(strided(size, p["stride"]) for size in spatial(x)))
    )


def infer_shufflenet_unit(ctx: InferCtx) -> TensorType:
    x = channels_first_input(ctx, "ShuffleNetV2Unit")
    p = ctx.params
    channels, out, stride = x.features, p["out_channels"], p["stride"]
    if is_known(out) and out % 2:
        raise ctx.fail(
            "PARAM_RANGE",
            f"out_channels must be even (two branches of out_channels // 2 each), got {out}; use {out + 1}",
            set_param(ctx.node, "out_channels", out + 1),
        )
    if stride == 1 and is_known(channels, out) and channels != out:
        raise ctx.fail(
            "PARAM_RANGE",
            f"at stride 1 half the input passes through unchanged, so out_channels must equal the input's "
            f"{channels} channels, got {out}; set out_channels to {channels}, or stride to 2 to change the width",
            set_param(ctx.node, "out_channels", channels),
        )
    return x.with_dims((out, *(strided(size, stride) for size in spatial(x))))


def infer_fire(ctx: InferCtx) -> TensorType:
    x = channels_first_input(ctx, "Fire")
    p = ctx.params
    return x.with_dims(
        (add(p["expand1x1_channels"], p["expand3x3_channels"]), *spatial(x))
    )


def infer_dense_transition(ctx: InferCtx) -> TensorType:
    x = channels_first_input(ctx, "DenseTransition")
    sizes: list[Dim] = []
    for axis, size in zip(("height", "width"), spatial(x)):
        if is_known(size) and size < 2:
            raise ctx.fail(
                "IMPOSSIBLE_OUTPUT",
                f"2×2 average pooling needs a {axis} of at least 2, got {size}; "
                "remove a downsampling layer before this transition",
            )
        sizes.append(floordiv(size, 2))
    return x.with_dims((ctx.params["out_channels"], *sizes))


def check_regnet_widths(ctx: InferCtx, channels: Dim) -> None:
    """The bottleneck, group and squeeze-excitation widths of a RegNet block reading ``channels``."""
    p = ctx.params
    out, multiplier, group_width = (
        p["out_channels"],
        p["bottleneck_multiplier"],
        p["group_width"],
    )
    if is_known(out) and isinstance(multiplier, float):
        width = int(round(out * multiplier))
        if width < 1:
            raise ctx.fail(
                "PARAM_RANGE",
                f"bottleneck_multiplier {multiplier} leaves no bottleneck width for {out} output channels; "
                "use bottleneck_multiplier 1.0",
                set_param(ctx.node, "bottleneck_multiplier", 1.0),
            )
        if is_known(group_width) and (group_width > width or width % group_width):
            fit = max(
                d for d in range(1, min(group_width, width) + 1) if width % d == 0
            )
            raise ctx.fail(
                "PARAM_RANGE",
                f"group_width {group_width} must divide the bottleneck width {width} "
                f"(out_channels {out} × bottleneck_multiplier {multiplier}); use group_width {fit}",
                set_param(ctx.node, "group_width", fit),
            )
    se_ratio = p["se_ratio"]
    if is_known(channels) and isinstance(se_ratio, float) and se_ratio > 0:
        if int(round(se_ratio * channels)) < 1:
            least = 1.0 / channels
            raise ctx.fail(
                "PARAM_RANGE",
                f"se_ratio {se_ratio} leaves the squeeze-excitation no channels for {channels} input channels; "
                f"use se_ratio ≥ {least:.3g}, or 0 for none",
                set_param(ctx.node, "se_ratio", 0.0),
            )


def infer_res_bottleneck(ctx: InferCtx) -> TensorType:
    x = channels_first_input(ctx, "ResBottleneckBlock")
    p = ctx.params
    check_regnet_widths(ctx, x.features)
    return x.with_dims(
        (p["out_channels"], *(strided(size, p["stride"]) for size in spatial(x)))
    )


def infer_regnet_stage(ctx: InferCtx) -> TensorType:
    x = channels_first_input(ctx, "RegNetStage")
    p = ctx.params
    check_regnet_widths(ctx, x.features)
    if p["depth"] != 1:  # the later blocks read out_channels
        check_regnet_widths(ctx, p["out_channels"])
    return x.with_dims(
        (p["out_channels"], *(strided(size, p["stride"]) for size in spatial(x)))
    )


BASIC_CONV_PARAMS = (
    _channels("out_channels", "Output channels."),
    Int("kernel_size", min=1, max=31, doc="Kernel size."),
    Int("stride", default=1, min=1, max=64, doc="Stride."),
    Int("padding", default=0, min=0, max=64, doc="Zero padding on each side."),
)

INVERTED_RESIDUAL_V2_PARAMS = (
    _channels("out_channels", "Output channels."),
    _STRIDE,
    Int(
        "expand_ratio",
        default=6,
        min=1,
        max=64,
        doc="Width of the depthwise stage, in multiples of the input; 1 skips the expansion.",
    ),
)

SHUFFLENET_UNIT_PARAMS = (
    _channels(
        "out_channels",
        "Output channels, even; equal to the input's at stride 1.",
    ),
    Int(
        "stride",
        default=1,
        min=1,
        max=3,
        doc="1 keeps the size (half the channels pass through); 2 halves height and width.",
    ),
)

FIRE_PARAMS = (
    _channels("squeeze_channels", "Output channels of the 1×1 squeeze convolution."),
    _channels("expand1x1_channels", "Output channels of the 1×1 expand convolution."),
    _channels("expand3x3_channels", "Output channels of the 3×3 expand convolution."),
)

DENSE_TRANSITION_PARAMS = (
    _channels("out_channels", "Output channels (DenseNet-BC: half the input's)."),
)

RES_BOTTLENECK_PARAMS = (
    _channels("out_channels", "Output channels."),
    _STRIDE,
    Int(
        "group_width",
        default=1,
        min=1,
        max=100_000,
        doc="Channels per group of the 3×3 convolution; must divide the bottleneck width.",
    ),
    Float(
        "bottleneck_multiplier",
        default=1.0,
        min=0.0,
        max=64.0,
        doc="Bottleneck width relative to out_channels (1.0 in torchvision's RegNets).",
    ),
    Float(
        "se_ratio",
        default=0.0,
        min=0.0,
        max=1.0,
        doc="Squeeze-excitation width relative to the input channels (RegNetY: 0.25); 0 = none.",
    ),
)

REGNET_STAGE_PARAMS = (
    _channels("out_channels", "Output channels of every block."),
    Int("depth", min=1, max=1024, doc="Number of blocks."),
    Int(
        "stride",
        default=2,
        min=1,
        max=64,
        doc="Stride of the first block; 2 halves height and width.",
    ),
    *RES_BOTTLENECK_PARAMS[2:],
    Int(
        "stage_index",
        default=1,
        min=1,
        max=1024,
        doc="Position of the stage, 1 for the first: its blocks are named block<stage_index>-<i>, as torchvision's.",
    ),
)

CLASSIFIER_SPECS = (
    block(
        BasicConv2d,
        "GoogLeNet's Conv-BN-ReLU (no conv bias, BN eps 0.001), as torchvision's googlenet; (B, C, H, W).",
        infer_basic_conv,
        BASIC_CONV_PARAMS,
        "Szegedy et al., Going Deeper with Convolutions, CVPR 2015 (arXiv:1409.4842)",
        positional=("out_channels", "kernel_size"),
        summary=("out_channels", "kernel_size", "stride"),
    ),
    block(
        Inception,
        "GoogLeNet inception module as torchvision builds it: Conv-BN-ReLU branches (3×3 in the 5×5 branch).",
        partial(infer_inception, what="Inception"),
        INCEPTION_PARAMS,
        "Szegedy et al., Going Deeper with Convolutions, CVPR 2015 (arXiv:1409.4842)",
        positional=tuple(param.name for param in INCEPTION_PARAMS),
        summary=("c1", "c3", "c5", "pool_proj"),
        requires=("BasicConv2d",),
    ),
    block(
        InvertedResidualV2,
        "MobileNetV2 inverted residual: 1×1 expand, 3×3 depthwise (ReLU6), linear 1×1 projection; (B, C, H, W).",
        infer_inverted_residual_v2,
        INVERTED_RESIDUAL_V2_PARAMS,
        "Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, CVPR 2018 (arXiv:1801.04381)",
        positional=("out_channels",),
        summary=("out_channels", "expand_ratio", "stride"),
        requires=("Conv2dNormActivation",),
    ),
    block(
        ShuffleNetV2Unit,
        "ShuffleNet V2 unit: split (or downsample) into two branches, concatenate, shuffle channels; (B, C, H, W).",
        infer_shufflenet_unit,
        SHUFFLENET_UNIT_PARAMS,
        "Ma, Zhang, Zheng and Sun, ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design, "
        "ECCV 2018 (arXiv:1807.11164)",
        positional=("out_channels",),
        summary=("out_channels", "stride"),
    ),
    block(
        Fire,
        "SqueezeNet fire module: 1×1 squeeze, then 1×1 and 3×3 expand convolutions concatenated; (B, C, H, W).",
        infer_fire,
        FIRE_PARAMS,
        "Iandola et al., SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size, "
        "2016 (arXiv:1602.07360)",
        positional=tuple(param.name for param in FIRE_PARAMS),
        summary=tuple(param.name for param in FIRE_PARAMS),
    ),
    block(
        DenseTransition,
        "DenseNet transition: BN-ReLU-1×1 convolution, then 2×2 average pooling; (B, C, H, W).",
        infer_dense_transition,
        DENSE_TRANSITION_PARAMS,
        "Huang, Liu, van der Maaten and Weinberger, Densely Connected Convolutional Networks, CVPR 2017 "
        "(arXiv:1608.06993)",
        positional=("out_channels",),
        summary=("out_channels",),
    ),
    block(
        ResBottleneckBlock,
        "RegNet residual bottleneck: 1×1, grouped 3×3, optional SE, 1×1 Conv-BN with a shortcut; (B, C, H, W).",
        infer_res_bottleneck,
        RES_BOTTLENECK_PARAMS,
        "Radosavovic et al., Designing Network Design Spaces, CVPR 2020 (arXiv:2003.13678)",
        positional=("out_channels",),
        summary=("out_channels", "stride", "group_width"),
        requires=("Conv2dNormActivation", "SqueezeExcitation"),
    ),
    block(
        RegNetStage,
        "RegNet stage: depth ResBottleneckBlocks, the first changing width and size, named as torchvision's.",
        infer_regnet_stage,
        REGNET_STAGE_PARAMS,
        "Radosavovic et al., Designing Network Design Spaces, CVPR 2020 (arXiv:2003.13678)",
        positional=("out_channels", "depth"),
        summary=("out_channels", "depth", "group_width"),
        requires=("ResBottleneckBlock",),
    ),
)


# ---------------------------------------------------------------------------------------------
# ConvNeXt and Swin Transformer blocks, as torchvision's

CHANNELS_LAST = "BHWC"


def channels_last_input(ctx: InferCtx, what: str) -> TensorType:
    """Input 0 as a (B, H, W, C) image with known channels, as Swin's blocks read it."""
    x = ctx.input(0)
    if not x.rank_known:
        x = unknown_of_rank(4, CHANNELS_LAST)
    if x.rank != 4:
        raise ctx.fail(
            "RANK",
            f"{what} expects a rank 4 channels-last image (B, H, W, C), got {x.describe()}",
            edge_index=0,
        )
    if x.letters != CHANNELS_LAST:
        order = [x.letters.index(letter) for letter in CHANNELS_LAST]
        raise ctx.fail(
            "LAYOUT",
            f"{what} reads channels last (B, H, W, C) but receives {x.describe()}; "
            f"insert a Permute with dims {order}",
            insert_node("Permute", ctx.edge(0), {"dims": order}),
            edge_index=0,
        )
    if x.features is None:
        raise ctx.fail(
            "NEEDS_SHAPE",
            f"cannot infer {what}'s channels without input shapes: set `shape` on the Input node",
        )
    return x


def infer_cnblock(ctx: InferCtx) -> TensorType:
    return channels_first_input(ctx, "CNBlock")


def infer_swin_block(ctx: InferCtx) -> TensorType:
    x = channels_last_input(ctx, "SwinTransformerBlock")
    p = ctx.params
    channels, heads, ratio = x.features, p["num_heads"], p["mlp_ratio"]
    if is_known(channels, heads) and channels % heads:
        fits = max(h for h in range(1, heads + 1) if channels % h == 0)
        raise ctx.fail(
            "SHAPE",
            f"{channels} channels cannot be split into {heads} attention heads; "
            f"use a num_heads that divides {channels}, such as {fits}",
            set_param(ctx.node, "num_heads", fits),
        )
    window, shift = p["window_size"], p["shift_size"]
    if is_known(window, shift) and shift >= window:
        raise ctx.fail(
            "PARAM_RANGE",
            f"shift_size {shift} must be smaller than window_size {window}; Swin shifts by window_size // 2",
            set_param(ctx.node, "shift_size", window // 2),
        )
    if is_known(channels) and isinstance(ratio, float) and int(channels * ratio) < 1:
        raise ctx.fail(
            "PARAM_RANGE",
            f"mlp_ratio {ratio} leaves the MLP no hidden units for {channels} channels",
            set_param(ctx.node, "mlp_ratio", 4.0),
        )
    return x


def infer_patch_merging(ctx: InferCtx) -> TensorType:
    x = channels_last_input(ctx, "PatchMerging")
    height, width, channels = x.dims
    # Odd sizes are padded by one, so each 2×2 patch is whole: ceil(size / 2).
    return x.with_dims((strided(height, 2), strided(width, 2), mul(channels, 2)))


def _stochastic_depth(example: str) -> Float:
    return Float(
        "stochastic_depth_prob",
        default=0.0,
        min=0.0,
        max=1.0,
        doc=f"Probability of dropping each residual branch per sample in training ({example}).",
    )


_EPS_6 = Float(
    "eps",
    default=1e-6,
    min=0.0,
    max=1.0,
    doc="Epsilon of the LayerNorm (torchvision's ConvNeXt: 1e-6).",
)

CNBLOCK_PARAMS = (
    Float(
        "layer_scale",
        default=1e-6,
        min=0.0,
        max=1e6,
        doc="Initial value of the learned per-channel scale of the branch.",
    ),
    _stochastic_depth("ConvNeXt-T: 0.1 × block index / (blocks - 1)"),
    _EPS_6,
)

SWIN_PARAMS = (
    Int(
        "num_heads",
        min=1,
        max=1024,
        doc="Attention heads; must divide the channels (Swin-T: 3, 6, 12, 24 by stage).",
    ),
    Int(
        "window_size",
        default=7,
        min=1,
        max=128,
        doc="Side of the square attention windows; the map is padded to whole windows.",
    ),
    Int(
        "shift_size",
        default=0,
        min=0,
        max=127,
        doc="Cyclic shift of the windows, below window_size: 0, then window_size // 2, alternately.",
    ),
    Float(
        "mlp_ratio",
        default=4.0,
        min=0.0,
        max=64.0,
        doc="Hidden size of the MLP relative to the channels.",
    ),
    _dropout("dropout", "Dropout on the attention projection and the MLP outputs."),
    _dropout("attention_dropout", "Dropout on the attention weights."),
    _stochastic_depth("Swin-T: 0.2 × block index / (blocks - 1)"),
    Float(
        "eps",
        default=1e-5,
        min=0.0,
        max=1.0,
        doc="Epsilon of both LayerNorms.",
    ),
)

PATCH_MERGING_PARAMS = (
    Float("eps", default=1e-5, min=0.0, max=1.0, doc="Epsilon of the LayerNorm."),
)

SWIN_PAPER = (
    "Liu et al., Swin Transformer: Hierarchical Vision Transformer using Shifted Windows, ICCV 2021 "
    "(arXiv:2103.14030)"
)

SWIN_CONVNEXT_SPECS = (
    block(
        CNBlock,
        "ConvNeXt block: 7×7 depthwise conv, LayerNorm, Linear-GELU-Linear, layer scale, stochastic depth, residual.",
        infer_cnblock,
        CNBLOCK_PARAMS,
        "Liu et al., A ConvNet for the 2020s, CVPR 2022 (arXiv:2201.03545)",
        summary=("stochastic_depth_prob",),
        requires=("PermuteAxes", "StochasticDepth"),
    ),
    block(
        SwinTransformerBlock,
        "Swin Transformer block: (shifted) window attention with relative position bias and a GELU MLP, "
        "over (B, H, W, C).",
        infer_swin_block,
        SWIN_PARAMS,
        SWIN_PAPER,
        positional=("num_heads",),
        summary=("num_heads", "window_size", "shift_size"),
        requires=("ShiftedWindowAttention", "StochasticDepth"),
    ),
    block(
        PatchMerging,
        "Swin patch merging: each 2×2 patch's pixels concatenated, LayerNorm, Linear to 2C; "
        "(B, H, W, C) → (B, H/2, W/2, 2C).",
        infer_patch_merging,
        PATCH_MERGING_PARAMS,
        SWIN_PAPER,
    ),
)


SPECS = (
    block(
        SEBlock,
        "Squeeze-and-excitation: rescales each channel by a learned gate; (B, C, ...) in and out.",
        infer_se,
        SE_PARAMS,
        "Hu, Shen and Sun, Squeeze-and-Excitation Networks, CVPR 2018 (arXiv:1709.01507)",
        summary=("reduction",),
    ),
    block(
        ResidualBlock,
        "ResNet basic block: two k×k Conv-BN with an identity or 1×1 projection shortcut, over (B, C, H, W).",
        infer_residual,
        RESIDUAL_PARAMS,
        "He, Zhang, Ren and Sun, Deep Residual Learning for Image Recognition, CVPR 2016 (arXiv:1512.03385)",
        positional=("out_channels",),
        summary=("out_channels", "stride"),
    ),
    block(
        Bottleneck,
        "ResNet/ResNeXt/Wide ResNet bottleneck: 1×1 → grouped 3×3 → 1×1 Conv-BN with a shortcut, over (B, C, H, W).",
        infer_bottleneck,
        BOTTLENECK_PARAMS,
        "He, Zhang, Ren and Sun, Deep Residual Learning for Image Recognition, CVPR 2016 (arXiv:1512.03385)",
        positional=("out_channels",),
        summary=("out_channels", "stride"),
    ),
    block(
        VGGBlock,
        "VGG stage: same-padded Conv(-BN)-ReLU layers, optional LRN, then 2×2 max pooling; input channels may be unknown.",
        infer_vgg,
        VGG_PARAMS,
        "Simonyan and Zisserman, Very Deep Convolutional Networks for Large-Scale Image Recognition, ICLR 2015 "
        "(arXiv:1409.1556)",
        positional=("c1", "c2"),
        summary=("c1", "c2", "convs"),
    ),
    block(
        InceptionBlock,
        "GoogLeNet inception module: 1×1, 3×3, 5×5 and pooling branches concatenated on channels.",
        infer_inception,
        INCEPTION_PARAMS,
        "Szegedy et al., Going Deeper with Convolutions, CVPR 2015 (arXiv:1409.4842)",
        positional=tuple(param.name for param in INCEPTION_PARAMS),
        summary=("c1", "c3", "c5", "pool_proj"),
    ),
    block(
        DenseLayer,
        "DenseNet layer: BN-ReLU-1×1-BN-ReLU-3×3, concatenated to its input (C + growth_rate channels).",
        infer_dense_layer,
        DENSE_LAYER_PARAMS,
        "Huang, Liu, van der Maaten and Weinberger, Densely Connected Convolutional Networks, CVPR 2017 "
        "(arXiv:1608.06993)",
        summary=("growth_rate",),
    ),
    block(
        MBConv,
        "EfficientNet inverted residual: expand, depthwise, squeeze-excite, project, stochastic depth; (B, C, H, W).",
        infer_mbconv,
        MBCONV_PARAMS,
        "Tan and Le, EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks, ICML 2019 "
        "(arXiv:1905.11946)",
        positional=("out_channels",),
        summary=("out_channels", "expand_ratio", "stride"),
        requires=("SqueezeExcitation", "StochasticDepth"),
    ),
    block(
        InvertedResidual,
        "MobileNetV3 inverted residual: expand, depthwise, optional SE (Hardsigmoid), project; ReLU or Hardswish.",
        infer_inverted_residual,
        INVERTED_RESIDUAL_PARAMS,
        "Howard et al., Searching for MobileNetV3, ICCV 2019 (arXiv:1905.02244)",
        positional=("expanded_channels", "out_channels"),
        summary=("expanded_channels", "out_channels", "stride"),
        requires=("SqueezeExcitation",),
    ),
    *CLASSIFIER_SPECS,
    block(
        TransformerEncoderBlock,
        "Pre-norm Transformer encoder block (ViT): self-attention and a GELU MLP with residuals, over (B, T, E).",
        infer_transformer,
        TRANSFORMER_PARAMS,
        "Vaswani et al., Attention Is All You Need, NeurIPS 2017 (arXiv:1706.03762); Dosovitskiy et al., "
        "An Image is Worth 16x16 Words, ICLR 2021 (arXiv:2010.11929)",
        summary=("num_heads", "mlp_ratio"),
    ),
    block(
        PositionalEncoding,
        "Fixed sinusoidal positional encoding (Transformer), added to (B, T, E); no learned weights.",
        infer_positional_encoding,
        POSITIONAL_ENCODING_PARAMS,
        "Vaswani et al., Attention Is All You Need, NeurIPS 2017 (arXiv:1706.03762)",
        summary=("max_len",),
    ),
    *SWIN_CONVNEXT_SPECS,
)


register(*SPECS)
