"""The classic convolutional classifiers, a U-Net and a Transformer text classifier, drawn as graphs.

The ImageNet models are torchvision's configurations at 224×224 with 1000 classes; every node that holds
weights, and every weightless module that sits at an index of one of torchvision's ``nn.Sequential``
(ReLU, max pooling, dropout), carries torchvision's module path, so ``torchvision.models.<name>()``'s
``state_dict`` loads by name. The U-Net and the text classifier have no torchvision twin: their references
are written out below the way a person would write them.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..graph_builder import GraphBuilder
from ..torchvision_models import torchvision_model
from . import ReferenceModel

IMAGENET = [3, 224, 224]
IMAGENET_TAGS = ("vision", "classification", "2d", "imagenet", "paper")


# ---------------------------------------------------------------------------------------------
# Shared pieces: torchvision's stems, heads and Conv2dNormActivation


def conv_norm_activation(
    g: GraphBuilder,
    name: str,
    path: str,
    out_channels: int,
    kernel_size: int,
    activation: str,
    stride: int = 1,
    **norm: float,
) -> None:
    """torchvision's ``Conv2dNormActivation``: a bias-free same-padded convolution, BatchNorm and an activation."""
    strided = {"stride": stride} if stride != 1 else {}
    padding = {"padding": kernel_size // 2} if kernel_size > 1 else {}
    g.node(
        "Conv2d",
        f"{name}_conv",
        path=f"{path}.0",
        out_channels=out_channels,
        kernel_size=kernel_size,
        **strided,
        **padding,
        bias=False,
    )
    g.node("BatchNorm2d", f"{name}_bn", path=f"{path}.1", **norm)
    g.node(activation, f"{name}_{activation.lower()}", path=f"{path}.2")


def resnet_stem(g: GraphBuilder) -> None:
    g.input("input", IMAGENET)
    g.node("Conv2d", "conv1", path="conv1", out_channels=64, kernel_size=7, stride=2, padding=3, bias=False)
    g.node("BatchNorm2d", "bn1", path="bn1")
    g.node("ReLU", "relu", path="relu")
    g.node("MaxPool2d", "maxpool", path="maxpool", kernel_size=3, stride=2, padding=1)


def classifier(g: GraphBuilder, layers: list[tuple[str, str, dict]], start: int = 0) -> None:
    """``self.classifier = nn.Sequential(...)``: one node per entry, at ``classifier.<index>``."""
    for index, (type_name, node_id, params) in enumerate(layers, start):
        g.node(type_name, node_id, path=f"classifier.{index}", **params)


# ---------------------------------------------------------------------------------------------
# ResNet, ResNeXt and Wide ResNet


def resnet(
    title: str,
    block: str,
    depths: tuple[int, int, int, int],
    *,
    description: str = "",
    tags: tuple[str, ...] = (),
    **block_params: int,
) -> dict:
    """torchvision's ``ResNet``: stages ``layer1`` to ``layer4`` of ``block`` nodes, stride 2 from ``layer2`` on."""
    g = GraphBuilder(title, description=description, tags=tags)
    resnet_stem(g)
    expansion = 4 if block == "Bottleneck" else 1
    for stage, (depth, planes) in enumerate(zip(depths, (64, 128, 256, 512)), 1):
        for index in range(depth):
            stride = {"stride": 2} if stage > 1 and index == 0 else {}
            g.node(
                block,
                f"layer{stage}_{index}",
                path=f"layer{stage}.{index}",
                out_channels=planes * expansion,
                **stride,
                **block_params,
            )
    g.node("GlobalAvgPool", "avgpool")
    g.node("Linear", "fc", path="fc", out_features=1000)
    return g.document()


def resnet18() -> dict:
    return resnet(
        "ResNet18",
        "ResidualBlock",
        (2, 2, 2, 2),
        description="ResNet-18 for 224x224 ImageNet images: a 7x7 stride-2 stem with max pooling, eight "
        "ResidualBlocks (64, 128, 256, 512 channels; stride 2 where the stage changes), global average pooling "
        "and a 1000-way classifier. 11,689,512 parameters, as torchvision's resnet18. He et al., CVPR 2016.",
        tags=(*IMAGENET_TAGS, "residual", "composite"),
    )


def resnet34() -> dict:
    return resnet("ResNet34", "ResidualBlock", (3, 4, 6, 3))


def resnet50() -> dict:
    return resnet(
        "ResNet50",
        "Bottleneck",
        (3, 4, 6, 3),
        description="ResNet-50 (v1.5) for 224x224 ImageNet images: the ResNet stem, 3, 4, 6 and 3 Bottleneck "
        "blocks (1x1, 3x3, 1x1 convolutions; 256 to 2048 channels), global average pooling and a 1000-way "
        "classifier. 25,557,032 parameters, as torchvision's resnet50. He et al., CVPR 2016.",
        tags=(*IMAGENET_TAGS, "residual", "bottleneck", "composite"),
    )


def resnext50_32x4d() -> dict:
    return resnet(
        "ResNeXt50",
        "Bottleneck",
        (3, 4, 6, 3),
        groups=32,
        width_per_group=4,
        description="ResNeXt-50 32x4d for 224x224 ImageNet images: the ResNet stem, 3, 4, 6 and 3 Bottleneck "
        "blocks whose 3x3 convolutions have 32 groups of width 4 and up, global average pooling and a 1000-way "
        "classifier. 25,028,904 parameters, as torchvision's resnext50_32x4d. Xie et al., CVPR 2017.",
        tags=(*IMAGENET_TAGS, "residual", "bottleneck", "grouped", "composite"),
    )


def wide_resnet50_2() -> dict:
    return resnet("WideResNet50x2", "Bottleneck", (3, 4, 6, 3), width_per_group=128)


# ---------------------------------------------------------------------------------------------
# AlexNet and VGG: ``features`` and ``classifier`` as torchvision's flat nn.Sequential


def alexnet() -> dict:
    g = GraphBuilder("AlexNet")
    g.input("input", IMAGENET)
    features = [
        ("Conv2d", "conv1", {"out_channels": 64, "kernel_size": 11, "stride": 4, "padding": 2}),
        ("ReLU", "relu1", {}),
        ("MaxPool2d", "pool1", {"kernel_size": 3, "stride": 2}),
        ("Conv2d", "conv2", {"out_channels": 192, "kernel_size": 5, "padding": 2}),
        ("ReLU", "relu2", {}),
        ("MaxPool2d", "pool2", {"kernel_size": 3, "stride": 2}),
        ("Conv2d", "conv3", {"out_channels": 384, "kernel_size": 3, "padding": 1}),
        ("ReLU", "relu3", {}),
        ("Conv2d", "conv4", {"out_channels": 256, "kernel_size": 3, "padding": 1}),
        ("ReLU", "relu4", {}),
        ("Conv2d", "conv5", {"out_channels": 256, "kernel_size": 3, "padding": 1}),
        ("ReLU", "relu5", {}),
        ("MaxPool2d", "pool5", {"kernel_size": 3, "stride": 2}),
    ]
    for index, (type_name, node_id, params) in enumerate(features):
        g.node(type_name, node_id, path=f"features.{index}", **params)
    g.node("AdaptiveAvgPool2d", "avgpool", path="avgpool", output_size=6)
    g.node("Flatten", "flatten")
    classifier(
        g,
        [
            ("Dropout", "dropout1", {"p": 0.5}),
            ("Linear", "fc1", {"out_features": 4096}),
            ("ReLU", "fc1_relu", {}),
            ("Dropout", "dropout2", {"p": 0.5}),
            ("Linear", "fc2", {"out_features": 4096}),
            ("ReLU", "fc2_relu", {}),
            ("Linear", "fc3", {"out_features": 1000}),
        ],
    )
    return g.document()


def vgg(
    title: str, stages: tuple[int, ...], *, batch_norm: bool, description: str = "", tags: tuple[str, ...] = ()
) -> dict:
    """torchvision's ``VGG``: ``features`` holds every convolution, BatchNorm, ReLU and max pooling, in order."""
    g = GraphBuilder(title, description=description, tags=tags)
    g.input("input", IMAGENET)
    index = 0

    def feature(type_name: str, node_id: str, **params: int) -> None:
        nonlocal index
        g.node(type_name, node_id, path=f"features.{index}", **params)
        index += 1

    for stage, (convs, channels) in enumerate(zip(stages, (64, 128, 256, 512, 512)), 1):
        for conv in range(1, convs + 1):
            feature("Conv2d", f"conv{stage}_{conv}", out_channels=channels, kernel_size=3, padding=1)
            if batch_norm:
                feature("BatchNorm2d", f"bn{stage}_{conv}")
            feature("ReLU", f"relu{stage}_{conv}")
        feature("MaxPool2d", f"pool{stage}", kernel_size=2, stride=2)
    g.node("AdaptiveAvgPool2d", "avgpool", path="avgpool", output_size=7)
    g.node("Flatten", "flatten")
    classifier(
        g,
        [
            ("Linear", "fc1", {"out_features": 4096}),
            ("ReLU", "relu1", {}),
            ("Dropout", "dropout1", {"p": 0.5}),
            ("Linear", "fc2", {"out_features": 4096}),
            ("ReLU", "relu2", {}),
            ("Dropout", "dropout2", {"p": 0.5}),
            ("Linear", "fc3", {"out_features": 1000}),
        ],
    )
    return g.document()


def vgg11_bn() -> dict:
    return vgg("VGG11BN", (1, 1, 2, 2, 2), batch_norm=True)


def vgg16() -> dict:
    return vgg(
        "VGG16",
        (2, 2, 3, 3, 3),
        batch_norm=False,
        description="VGG-16 (configuration D) for 224x224 ImageNet images: five stages of 2, 2, 3, 3 and 3 3x3 "
        "convolutions with ReLU, each ending in max pooling, then a 4096-4096-1000 classifier with dropout. "
        "138,357,544 parameters, as torchvision's vgg16. Simonyan and Zisserman, ICLR 2015.",
        tags=IMAGENET_TAGS,
    )


# ---------------------------------------------------------------------------------------------
# MobileNetV3-Small and EfficientNet-B0: ``features.<i>`` stages, ``classifier.<i>`` head

# torchvision's mobilenet_v3_small: (kernel, expanded, out, SE, activation, stride) per block.
MOBILENET_V3_SMALL = (
    (3, 16, 16, True, "relu", 2),
    (3, 72, 24, False, "relu", 2),
    (3, 88, 24, False, "relu", 1),
    (5, 96, 40, True, "hardswish", 2),
    (5, 240, 40, True, "hardswish", 1),
    (5, 240, 40, True, "hardswish", 1),
    (5, 120, 48, True, "hardswish", 1),
    (5, 144, 48, True, "hardswish", 1),
    (5, 288, 96, True, "hardswish", 2),
    (5, 576, 96, True, "hardswish", 1),
    (5, 576, 96, True, "hardswish", 1),
)
MOBILENET_V3_NORM = {"eps": 0.001, "momentum": 0.01}


def mobilenet_v3_small() -> dict:
    g = GraphBuilder(
        "MobileNetV3Small",
        description="MobileNetV3-Small for 224x224 ImageNet images: a Hardswish stem, 11 inverted residual "
        "blocks (depthwise 3x3 or 5x5, 9 with a Hardsigmoid SE gate), a 1x1 convolution to 576 "
        "channels and a 1024-1000 classifier. 2,542,856 parameters, as torchvision's mobilenet_v3_small. "
        "Howard et al., ICCV 2019.",
        tags=(*IMAGENET_TAGS, "mobile", "efficient", "composite"),
    )
    g.input("input", IMAGENET)
    conv_norm_activation(g, "stem", "features.0", 16, 3, "Hardswish", 2, **MOBILENET_V3_NORM)
    for index, (kernel, expanded, out, se, activation, stride) in enumerate(MOBILENET_V3_SMALL, 1):
        params = {"kernel_size": kernel} if kernel != 3 else {}
        params |= {"stride": stride} if stride != 1 else {}
        params |= {"use_se": True} if se else {}
        params |= {"activation": activation} if activation != "relu" else {}
        g.node(
            "InvertedResidual",
            f"block{index}",
            path=f"features.{index}",
            expanded_channels=expanded,
            out_channels=out,
            **params,
        )
    conv_norm_activation(g, "head", "features.12", 576, 1, "Hardswish", **MOBILENET_V3_NORM)
    g.node("GlobalAvgPool", "avgpool")
    classifier(
        g,
        [
            ("Linear", "fc1", {"out_features": 1024}),
            ("Hardswish", "fc1_hardswish", {}),
            ("Dropout", "dropout", {"p": 0.2}),
            ("Linear", "fc2", {"out_features": 1000}),
        ],
    )
    return g.document()


# torchvision's efficientnet_b0: (expand ratio, kernel, stride, out channels, blocks) per stage.
EFFICIENTNET_B0 = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
EFFICIENTNET_STOCHASTIC_DEPTH = 0.2  # reached by the last block; block i of n drops with 0.2 * i / n


def efficientnet_b0() -> dict:
    g = GraphBuilder(
        "EfficientNetB0",
        description="EfficientNet-B0 for 224x224 ImageNet images: a SiLU stem, 16 MBConv blocks in 7 stages "
        "(depthwise 3x3 or 5x5, squeeze-excitation, stochastic depth up to 0.2), a 1x1 convolution to 1280 "
        "channels and a 1000-way classifier. 5,288,548 parameters, as torchvision's efficientnet_b0. "
        "Tan and Le, ICML 2019.",
        tags=(*IMAGENET_TAGS, "mobile", "efficient", "composite"),
    )
    g.input("input", IMAGENET)
    conv_norm_activation(g, "stem", "features.0", 32, 3, "SiLU", 2)
    blocks = sum(stage[-1] for stage in EFFICIENTNET_B0)
    block, channels = 0, 32
    for stage, (expand, kernel, stride, out, depth) in enumerate(EFFICIENTNET_B0, 1):
        for index in range(depth):
            params = {"kernel_size": kernel} if kernel != 3 else {}
            params |= {"stride": stride} if stride != 1 and index == 0 else {}
            # torchvision gives every block its probability; only blocks with a residual branch use it.
            if index > 0 or (stride == 1 and channels == out):
                # Rounded only to drop float noise (0.07500000000000001) from the template.
                params["stochastic_depth_prob"] = round(EFFICIENTNET_STOCHASTIC_DEPTH * block / blocks, 6)
            g.node(
                "MBConv",
                f"block{stage}_{index}",
                path=f"features.{stage}.{index}",
                out_channels=out,
                expand_ratio=expand,
                **params,
            )
            block, channels = block + 1, out
    conv_norm_activation(g, "head", "features.8", 1280, 1, "SiLU")
    g.node("GlobalAvgPool", "avgpool")
    classifier(g, [("Dropout", "dropout", {"p": 0.2}), ("Linear", "fc", {"out_features": 1000})])
    return g.document()


# ---------------------------------------------------------------------------------------------
# A small U-Net


class DoubleConv(nn.Sequential):
    """(3×3 convolution, BatchNorm, ReLU) twice: one U-Net level."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class UNetSmall(nn.Module):
    def __init__(self, in_channels: int = 1, num_classes: int = 2) -> None:
        super().__init__()
        self.enc1 = DoubleConv(in_channels, 32)
        self.pool1 = nn.MaxPool2d(2)
        self.enc2 = DoubleConv(32, 64)
        self.pool2 = nn.MaxPool2d(2)
        self.bottleneck = DoubleConv(64, 128)
        self.up2 = nn.ConvTranspose2d(128, 64, 2, stride=2)
        self.dec2 = DoubleConv(128, 64)
        self.up1 = nn.ConvTranspose2d(64, 32, 2, stride=2)
        self.dec1 = DoubleConv(64, 32)
        self.head = nn.Conv2d(32, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip1 = self.enc1(x)
        skip2 = self.enc2(self.pool1(skip1))
        x = self.bottleneck(self.pool2(skip2))
        x = self.dec2(torch.cat([skip2, self.up2(x)], dim=1))
        x = self.dec1(torch.cat([skip1, self.up1(x)], dim=1))
        return self.head(x)


def double_conv(g: GraphBuilder, name: str, path: str, channels: int) -> None:
    for conv in (1, 2):
        offset = 3 * (conv - 1)
        g.node(
            "Conv2d",
            f"{name}_conv{conv}",
            path=f"{path}.{offset}",
            out_channels=channels,
            kernel_size=3,
            padding=1,
            bias=False,
        )
        g.node("BatchNorm2d", f"{name}_bn{conv}", path=f"{path}.{offset + 1}")
        g.node("ReLU", f"{name}_relu{conv}", path=f"{path}.{offset + 2}")


def unet_small() -> dict:
    g = GraphBuilder(
        "UNetSmall",
        description="A small U-Net for 64x64 one-channel images: two encoder levels of Conv-BN-ReLU x2 and max "
        "pooling, a bottleneck, two decoder levels that upsample, concatenate the skip from the encoder and "
        "convolve, then a 1x1 convolution to 2 classes per pixel. Ronneberger et al., MICCAI 2015.",
        tags=("vision", "segmentation", "2d", "encoder-decoder", "skip-connections", "paper"),
    )
    g.input("input", [1, 64, 64])
    double_conv(g, "enc1", "enc1", 32)
    g.node("MaxPool2d", "pool1", path="pool1", kernel_size=2)
    double_conv(g, "enc2", "enc2", 64)
    g.node("MaxPool2d", "pool2", path="pool2", kernel_size=2)
    double_conv(g, "mid", "bottleneck", 128)
    g.node("ConvTranspose2d", "up2", path="up2", out_channels=64, kernel_size=2, stride=2)
    g.node("Concat", "cat2", ["enc2_relu2", "up2"], dim=1)
    double_conv(g, "dec2", "dec2", 64)
    g.node("ConvTranspose2d", "up1", path="up1", out_channels=32, kernel_size=2, stride=2)
    g.node("Concat", "cat1", ["enc1_relu2", "up1"], dim=1)
    double_conv(g, "dec1", "dec1", 32)
    g.node("Conv2d", "head", path="head", out_channels=2, kernel_size=1)
    return g.document()


# ---------------------------------------------------------------------------------------------
# A Transformer text classifier


class TextClassifier(nn.Module):
    """Token embeddings plus sinusoidal positions, a post-norm Transformer encoder, mean pooling, a linear head."""

    def __init__(
        self,
        vocab_size: int = 1000,
        dim: int = 128,
        heads: int = 4,
        layers: int = 2,
        num_classes: int = 4,
        max_len: int = 64,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim)
        self.encoder = nn.Sequential(
            *[nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, batch_first=True) for _ in range(layers)]
        )
        self.classifier = nn.Linear(dim, num_classes)
        self.register_buffer("positions", self.sinusoids(max_len, dim), persistent=False)

    @staticmethod
    def sinusoids(length: int, dim: int) -> torch.Tensor:
        position = torch.arange(length).unsqueeze(1)
        frequency = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
        table = torch.zeros(length, dim)
        table[:, 0::2] = torch.sin(position * frequency)
        table[:, 1::2] = torch.cos(position * frequency)
        return table

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embedding(tokens) + self.positions[: tokens.shape[1]]
        return self.classifier(self.encoder(x).mean(dim=1))


def transformer_classifier() -> dict:
    g = GraphBuilder(
        "TransformerClassifier",
        description="A small text classifier: 64 token ids (vocabulary 1000) embedded to 128 features plus fixed "
        "sinusoidal positions, two Transformer encoder layers (4 heads, feed-forward 256), mean pooling over time "
        "and a 4-way classifier.",
        tags=("text", "classification", "sequence", "attention", "transformer"),
    )
    g.input("tokens", [64], dtype="int64", vocab_size=1000)
    g.node("Embedding", "embedding", path="embedding", num_embeddings=1000, embedding_dim=128)
    g.node("PositionalEncoding", "position", max_len=64)
    for layer in (1, 2):
        g.node(
            "TransformerEncoderLayer",
            f"encoder{layer}",
            path=f"encoder.{layer - 1}",
            nhead=4,
            dim_feedforward=256,
        )
    g.node("GlobalAvgPool", "pool")
    g.node("Linear", "classifier", path="classifier", out_features=4)
    return g.document()


# ---------------------------------------------------------------------------------------------


def torchvision_reference(name: str, graph, template: str | None = None) -> ReferenceModel:
    return ReferenceModel(graph, lambda: torchvision_model(name), template)


MODELS = {
    "alexnet": torchvision_reference("alexnet", alexnet),
    "vgg11_bn": torchvision_reference("vgg11_bn", vgg11_bn),
    "vgg16": torchvision_reference("vgg16", vgg16, "vgg16"),
    "resnet18": torchvision_reference("resnet18", resnet18, "resnet18"),
    "resnet34": torchvision_reference("resnet34", resnet34),
    "resnet50": torchvision_reference("resnet50", resnet50, "resnet50"),
    "resnext50_32x4d": torchvision_reference("resnext50_32x4d", resnext50_32x4d, "resnext50_32x4d"),
    "wide_resnet50_2": torchvision_reference("wide_resnet50_2", wide_resnet50_2),
    "mobilenet_v3_small": torchvision_reference("mobilenet_v3_small", mobilenet_v3_small, "mobilenet_v3_small"),
    "efficientnet_b0": torchvision_reference("efficientnet_b0", efficientnet_b0, "efficientnet_b0"),
    "unet_small": ReferenceModel(unet_small, UNetSmall, "unet_small"),
    "transformer_classifier": ReferenceModel(transformer_classifier, TextClassifier, "transformer_classifier"),
}
