"""Vision transformers and their convolutional answer: torchvision's swin_t, vit_b_16 and convnext_tiny as graphs.

Each graph is drawn as torchvision builds the model, with ``path`` on every node that holds weights so that the
generated module's ``state_dict`` keys are torchvision's: Swin's and ConvNeXt's ``features.<stage>.<block>``,
ViT's ``encoder.layers.encoder_layer_<i>``. Stochastic depth rises linearly over the blocks, as torchvision
computes it.
"""

from __future__ import annotations

from typing import Any

from tests.support.graph_builder import GraphBuilder
from tests.support.torchvision_models import torchvision_model

from . import ReferenceModel

IMAGENET = [3, 224, 224]
CLASSES = 1000
TAGS = ("vision", "classification", "2d", "imagenet", "paper")


def linear_ramp(probability: float, blocks: int) -> list[float]:
    """torchvision's per-block stochastic depth: ``probability * i / (blocks - 1)`` for block i."""
    return [probability * float(i) / (blocks - 1) for i in range(blocks)]


def swin_t() -> dict[str, Any]:
    depths, heads, dim = (2, 2, 6, 2), (3, 6, 12, 24), 96
    g = GraphBuilder(
        "SwinT",
        description=(
            "Swin-T for 224x224 ImageNet images: 4x4 patches embedded to 96 channels, four stages of 2, 2, 6 and 2 "
            "Swin Transformer blocks (7x7 windows, every second one shifted) joined by patch merging, and a "
            "1000-way head. 28,288,354 parameters, as torchvision's swin_t. Liu et al., ICCV 2021."
        ),
        tags=(*TAGS, "transformer", "attention", "composite"),
    )
    g.input("input", IMAGENET)
    g.node("Conv2d", "patchify", path="features.0.0", out_channels=dim, kernel_size=4, stride=4)
    g.node("Permute", "channels_last", dims=[0, 2, 3, 1])
    g.node("LayerNorm", "patch_norm", path="features.0.2")
    drop = iter(linear_ramp(0.2, sum(depths)))
    for stage, (depth, num_heads) in enumerate(zip(depths, heads)):
        if stage:
            g.node("PatchMerging", f"merge{stage}", path=f"features.{2 * stage}")
            dim *= 2
        for i in range(depth):
            g.node(
                "SwinTransformerBlock",
                f"stage{stage + 1}_{i}",
                path=f"features.{2 * stage + 1}.{i}",
                num_heads=num_heads,
                shift_size=0 if i % 2 == 0 else 3,
                stochastic_depth_prob=next(drop),
            )
    g.node("LayerNorm", "norm", path="norm")
    g.node("Permute", "channels_first", dims=[0, 3, 1, 2])
    g.node("GlobalAvgPool", "avgpool")
    g.node("Linear", "head", path="head", out_features=CLASSES)
    return g.document()


def vit_b_16() -> dict[str, Any]:
    hidden, layers = 768, 12
    g = GraphBuilder(
        "ViTB16",
        description=(
            "ViT-B/16 for 224x224 ImageNet images: 16x16 patches embedded to 768 features, a class token and learned "
            "position embeddings, 12 Transformer encoder blocks with 12 heads and a 1000-way head on the class "
            "token. 86,567,656 parameters, as torchvision's vit_b_16. Dosovitskiy et al., ICLR 2021."
        ),
        tags=(*TAGS, "transformer", "attention", "composite"),
    )
    g.input("input", IMAGENET)
    g.node("Conv2d", "conv_proj", path="conv_proj", out_channels=hidden, kernel_size=16, stride=16)
    g.node("Flatten", "patches", start_dim=2)
    g.node("Permute_BCT_to_BTH", "tokens")
    g.node("ClassToken", "class_token", path="class_token")
    g.node("PositionEmbedding", "pos_embedding", path="encoder.pos_embedding")
    g.node("Dropout", "dropout", path="encoder.dropout", p=0.0)
    for i in range(layers):
        g.node(
            "TransformerEncoderBlock",
            f"encoder_layer_{i}",
            path=f"encoder.layers.encoder_layer_{i}",
            num_heads=12,
            eps=1e-6,
        )
    g.node("LayerNorm", "ln", path="encoder.ln", eps=1e-6)
    g.node("SelectToken", "class_feature", index=0)
    g.node("Linear", "head", path="heads.head", out_features=CLASSES)
    return g.document()


def convnext_tiny() -> dict[str, Any]:
    depths, widths = (3, 3, 9, 3), (96, 192, 384, 768)
    g = GraphBuilder(
        "ConvNeXtTiny",
        description=(
            "ConvNeXt-T for 224x224 ImageNet images: a 4x4 patchify stem, four stages of 3, 3, 9 and 3 ConvNeXt "
            "blocks (7x7 depthwise conv, LayerNorm, inverted MLP; 96 to 768 channels) joined by 2x2 downsampling, "
            "and a 1000-way head. 28,589,128 parameters, as torchvision's convnext_tiny. Liu et al., CVPR 2022."
        ),
        tags=(*TAGS, "convnext", "residual", "composite"),
    )
    g.input("input", IMAGENET)
    g.node("Conv2d", "stem", path="features.0.0", out_channels=widths[0], kernel_size=4, stride=4)
    g.node("LayerNorm2d", "stem_norm", path="features.0.1", eps=1e-6)
    drop = iter(linear_ramp(0.1, sum(depths)))
    for stage, (depth, width) in enumerate(zip(depths, widths)):
        if stage:
            g.node("LayerNorm2d", f"downsample{stage}_norm", path=f"features.{2 * stage}.0", eps=1e-6)
            g.node(
                "Conv2d",
                f"downsample{stage}",
                path=f"features.{2 * stage}.1",
                out_channels=width,
                kernel_size=2,
                stride=2,
            )
        for i in range(depth):
            g.node(
                "CNBlock",
                f"stage{stage + 1}_{i}",
                path=f"features.{2 * stage + 1}.{i}",
                stochastic_depth_prob=next(drop),
            )
    g.node("AdaptiveAvgPool2d", "avgpool", output_size=1)
    g.node("LayerNorm2d", "norm", path="classifier.0", eps=1e-6)
    g.node("Flatten", "flatten")
    g.node("Linear", "head", path="classifier.2", out_features=CLASSES)
    return g.document()


MODELS = {
    "swin_t": ReferenceModel(swin_t, lambda: torchvision_model("swin_t"), template="swin_t", batch=1),
    "vit_b_16": ReferenceModel(vit_b_16, lambda: torchvision_model("vit_b_16"), template="vit_b_16", batch=1),
    "convnext_tiny": ReferenceModel(
        convnext_tiny, lambda: torchvision_model("convnext_tiny"), template="convnext_tiny", batch=1
    ),
}
