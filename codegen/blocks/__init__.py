"""Built-in composite ("paper") blocks: real ``nn.Module`` classes and their node declarations.

Importing this package registers every block in ``NODE_SPECS``. ``BLOCK_CLASSES`` maps each class
name to its class, helpers included (``SqueezeExcitation``, which ``MBConv`` and ``InvertedResidual``
require; ``PermuteAxes`` for ``CNBlock``; ``ShiftedWindowAttention`` for ``SwinTransformerBlock``) and
layers declared with the other node types (``StochasticDepth``), so that a spec's ``block_class`` and
``requires`` resolve to source that generated code can carry.
"""

from __future__ import annotations

from . import specs
from .library import (
    Bottleneck,
    CNBlock,
    DenseLayer,
    InceptionBlock,
    InvertedResidual,
    MBConv,
    PatchMerging,
    PermuteAxes,
    PositionalEncoding,
    ResidualBlock,
    SEBlock,
    ShiftedWindowAttention,
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
        TransformerEncoderBlock,
        PositionalEncoding,
        StochasticDepth,
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
    "Bottleneck",
    "CNBlock",
    "DenseLayer",
    "InceptionBlock",
    "InvertedResidual",
    "MBConv",
    "PatchMerging",
    "PermuteAxes",
    "PositionalEncoding",
    "ResidualBlock",
    "SEBlock",
    "ShiftedWindowAttention",
    "SqueezeExcitation",
    "StochasticDepth",
    "SwinTransformerBlock",
    "TransformerEncoderBlock",
    "VGGBlock",
]
