"""Built-in composite ("paper") blocks: real ``nn.Module`` classes and their node declarations.

Importing this package registers every block in ``NODE_SPECS``. ``BLOCK_CLASSES`` maps each class
name to its class, helpers included (``SqueezeExcitation``, which ``MBConv`` and ``InvertedResidual`` require,
``Conv2dNormActivation``, which the MobileNetV2 and RegNet blocks require, ``PermuteAxes`` for ``CNBlock`` and
``ShiftedWindowAttention`` for ``SwinTransformerBlock``) and layers declared with the other node types
(``StochasticDepth``, ``LayerNorm2d``, ``FiLM``), so that a spec's ``block_class`` and ``requires`` resolve to source that generated code
can carry.
"""

from __future__ import annotations

from . import specs
from .library import (
    BasicConv2d,
    Bottleneck,
    CNBlock,
    Conv2dNormActivation,
    DenseLayer,
    DenseTransition,
    FiLM,
    Fire,
    Inception,
    InceptionBlock,
    InvertedResidual,
    InvertedResidualV2,
    LayerNorm2d,
    MBConv,
    PatchMerging,
    PermuteAxes,
    PositionalEncoding,
    RegNetStage,
    ResBottleneckBlock,
    ResidualBlock,
    SEBlock,
    ShiftedWindowAttention,
    ShuffleNetV2Unit,
    SqueezeExcitation,
    StochasticDepth,
    SwinTransformerBlock,
    TransformerEncoderBlock,
    VGGBlock,
)

BLOCK_CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        SEBlock,
        ResidualBlock,
        Bottleneck,
        VGGBlock,
        InceptionBlock,
        DenseLayer,
        SqueezeExcitation,
        MBConv,
        InvertedResidual,
        Conv2dNormActivation,
        BasicConv2d,
        Inception,
        InvertedResidualV2,
        ShuffleNetV2Unit,
        Fire,
        DenseTransition,
        ResBottleneckBlock,
        RegNetStage,
        TransformerEncoderBlock,
        PositionalEncoding,
        StochasticDepth,
        LayerNorm2d,
        FiLM,
        PermuteAxes,
        CNBlock,
        ShiftedWindowAttention,
        SwinTransformerBlock,
        PatchMerging,
    )
}

BLOCK_SPECS = specs.SPECS

__all__ = [
    "BLOCK_CLASSES",
    "BLOCK_SPECS",
    "BasicConv2d",
    "Bottleneck",
    "Conv2dNormActivation",
    "CNBlock",
    "DenseLayer",
    "DenseTransition",
    "Fire",
    "Inception",
    "InceptionBlock",
    "InvertedResidual",
    "InvertedResidualV2",
    "MBConv",
    "PatchMerging",
    "PermuteAxes",
    "PositionalEncoding",
    "RegNetStage",
    "ResBottleneckBlock",
    "ResidualBlock",
    "SEBlock",
    "ShuffleNetV2Unit",
    "ShiftedWindowAttention",
    "SqueezeExcitation",
    "StochasticDepth",
    "SwinTransformerBlock",
    "TransformerEncoderBlock",
    "VGGBlock",
]
