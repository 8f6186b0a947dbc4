"""torchvision's efficient CNN classifiers drawn as graphs: GoogLeNet, MobileNetV2, ShuffleNetV2, SqueezeNet,
DenseNet-121 and RegNetY-400MF.

Each is torchvision's configuration at 224×224 with 1000 classes, built from the built-in blocks that carry
torchvision's submodule names (``Inception``, ``InvertedResidualV2``, ``ShuffleNetV2Unit``, ``Fire``,
``DenseLayer``/``DenseTransition``, ``ResBottleneckBlock``). Every node that holds weights, and every
weightless module at an index of one of torchvision's ``nn.Sequential`` (ReLU, pooling, dropout), carries
torchvision's module path, so ``torchvision.models.<name>()``'s ``state_dict`` loads by name.
"""

from __future__ import annotations

from ..graph_builder import GraphBuilder
from ..torchvision_models import torchvision_model
from . import ReferenceModel
from .classic import conv_norm_activation

IMAGENET = [3, 224, 224]
TAGS = ("vision", "classification", "2d", "imagenet", "paper")


# ---------------------------------------------------------------------------------------------
# GoogLeNet


GOOGLENET_INCEPTIONS = {  # in_channels are inferred; c1, c3_reduce, c3, c5_reduce, c5, pool_proj
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
INCEPTION_PARAMS = ("c1", "c3_reduce", "c3", "c5_reduce", "c5", "pool_proj")


def googlenet() -> dict:
    """torchvision's ``googlenet`` without its auxiliary classifiers (they only run in training)."""
    g = GraphBuilder("GoogLeNet")
    g.input("input", IMAGENET)
    g.node("BasicConv2d", "conv1", path="conv1", out_channels=64, kernel_size=7, stride=2, padding=3)
    g.node("MaxPool2d", "maxpool1", kernel_size=3, stride=2, ceil_mode=True)
    g.node("BasicConv2d", "conv2", path="conv2", out_channels=64, kernel_size=1)
    g.node("BasicConv2d", "conv3", path="conv3", out_channels=192, kernel_size=3, padding=1)
    g.node("MaxPool2d", "maxpool2", kernel_size=3, stride=2, ceil_mode=True)
    for name, channels in GOOGLENET_INCEPTIONS.items():
        if name == "4a":
            g.node("MaxPool2d", "maxpool3", kernel_size=3, stride=2, ceil_mode=True)
        elif name == "5a":
            g.node("MaxPool2d", "maxpool4", kernel_size=2, stride=2, ceil_mode=True)
        g.node("Inception", f"inception{name}", path=f"inception{name}", **dict(zip(INCEPTION_PARAMS, channels)))
    g.node("GlobalAvgPool", "avgpool")
    g.node("Dropout", "dropout", p=0.2)
    g.node("Linear", "fc", path="fc", out_features=1000)
    return g.document()


# ---------------------------------------------------------------------------------------------
# MobileNetV2


MOBILENET_V2_STAGES = [  # expand_ratio, out_channels, blocks, stride of the first block
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


def mobilenet_v2() -> dict:
    g = GraphBuilder(
        "MobileNetV2",
        description="MobileNetV2 for 224x224 ImageNet images: a stride-2 stem, 17 inverted residual blocks "
        "(1x1 expand, 3x3 depthwise, linear 1x1 projection; ReLU6), a 1x1 convolution to 1280 channels and a "
        "1000-way classifier. 3,504,872 parameters, as torchvision's mobilenet_v2. Sandler et al., CVPR 2018.",
        tags=(*TAGS, "mobile", "inverted-residual", "composite"),
    )
    g.input("input", IMAGENET)
    conv_norm_activation(g, "stem", "features.0", 32, 3, "ReLU6", 2)
    index = 1
    for expand_ratio, channels, blocks, first_stride in MOBILENET_V2_STAGES:
        for block in range(blocks):
            params = {"out_channels": channels, "stride": first_stride if block == 0 else 1}
            params |= {"expand_ratio": expand_ratio}
            g.node("InvertedResidualV2", f"block{index}", path=f"features.{index}", **params)
            index += 1
    conv_norm_activation(g, "head", f"features.{index}", 1280, 1, "ReLU6")
    g.node("GlobalAvgPool", "avgpool")
    g.node("Dropout", "dropout", path="classifier.0", p=0.2)
    g.node("Linear", "fc", path="classifier.1", out_features=1000)
    return g.document()


# ---------------------------------------------------------------------------------------------
# ShuffleNetV2


def shufflenet_v2_x1_0() -> dict:
    g = GraphBuilder("ShuffleNetV2")
    g.input("input", IMAGENET)
    conv_norm_activation(g, "stem", "conv1", 24, 3, "ReLU", 2)
    g.node("MaxPool2d", "maxpool", kernel_size=3, stride=2, padding=1)
    for stage, (repeats, channels) in enumerate(zip((4, 8, 4), (116, 232, 464)), 2):
        for index in range(repeats):
            stride = {"stride": 2} if index == 0 else {}
            g.node(
                "ShuffleNetV2Unit",
                f"stage{stage}_{index}",
                path=f"stage{stage}.{index}",
                out_channels=channels,
                **stride,
            )
    conv_norm_activation(g, "conv5", "conv5", 1024, 1, "ReLU")
    g.node("GlobalAvgPool", "globalpool")
    g.node("Linear", "fc", path="fc", out_features=1000)
    return g.document()


# ---------------------------------------------------------------------------------------------
# SqueezeNet 1.1


# features.<index>: Fire(squeeze, expand, expand); the indices between are 3×3 max pooling.
SQUEEZENET_FIRES = {3: (16, 64), 4: (16, 64), 6: (32, 128), 7: (32, 128), 9: (48, 192), 10: (48, 192)}
SQUEEZENET_FIRES |= {11: (64, 256), 12: (64, 256)}


def squeezenet1_1() -> dict:
    g = GraphBuilder("SqueezeNet")
    g.input("input", IMAGENET)
    g.node("Conv2d", "conv1", path="features.0", out_channels=64, kernel_size=3, stride=2)
    g.node("ReLU", "relu1", path="features.1")
    for index in range(2, 13):
        if index in SQUEEZENET_FIRES:
            squeeze, expand = SQUEEZENET_FIRES[index]
            params = {"squeeze_channels": squeeze, "expand1x1_channels": expand, "expand3x3_channels": expand}
            g.node("Fire", f"fire{index}", path=f"features.{index}", **params)
        else:
            g.node("MaxPool2d", f"maxpool{index}", path=f"features.{index}", kernel_size=3, stride=2, ceil_mode=True)
    g.node("Dropout", "dropout", path="classifier.0", p=0.5)
    g.node("Conv2d", "final_conv", path="classifier.1", out_channels=1000, kernel_size=1)
    g.node("ReLU", "relu", path="classifier.2")
    g.node("AdaptiveAvgPool2d", "avgpool", path="classifier.3", output_size=1)
    g.node("Flatten", "flatten")
    return g.document()


# ---------------------------------------------------------------------------------------------
# DenseNet-121


def densenet121() -> dict:
    g = GraphBuilder(
        "DenseNet121",
        description="DenseNet-121 for 224x224 ImageNet images: a 7x7 stride-2 stem, dense blocks of 6, 12, 24 "
        "and 16 DenseLayers (32 new channels each) joined by halving transitions, and a 1000-way classifier. "
        "7,978,856 parameters, as torchvision's densenet121. Huang et al., CVPR 2017.",
        tags=(*TAGS, "dense", "composite"),
    )
    g.input("input", IMAGENET)
    g.node("Conv2d", "conv0", path="features.conv0", out_channels=64, kernel_size=7, stride=2, padding=3, bias=False)
    g.node("BatchNorm2d", "norm0", path="features.norm0")
    g.node("ReLU", "relu0", path="features.relu0")
    g.node("MaxPool2d", "pool0", path="features.pool0", kernel_size=3, stride=2, padding=1)
    channels = 64
    for block, layers in enumerate((6, 12, 24, 16), 1):
        for layer in range(1, layers + 1):
            path = f"features.denseblock{block}.denselayer{layer}"
            g.node("DenseLayer", f"denseblock{block}_layer{layer}", path=path)
        channels += 32 * layers
        if block < 4:
            channels //= 2
            g.node("DenseTransition", f"transition{block}", path=f"features.transition{block}", out_channels=channels)
    g.node("BatchNorm2d", "norm5", path="features.norm5")
    g.node("ReLU", "relu")
    g.node("GlobalAvgPool", "avgpool")
    g.node("Linear", "classifier", path="classifier", out_features=1000)
    return g.document()


# ---------------------------------------------------------------------------------------------
# RegNetY-400MF


REGNET_Y_400MF_STAGES = [(1, 48), (3, 104), (6, 208), (6, 440)]  # depth, width (BlockParams.from_init_params)


def regnet_y_400mf() -> dict:
    """torchvision names a stage's blocks ``block1-0``…, not an identifier: a ``RegNetStage`` node holds each stage."""
    g = GraphBuilder("RegNetY400MF")
    g.input("input", IMAGENET)
    conv_norm_activation(g, "stem", "stem", 32, 3, "ReLU", 2)
    for index, (depth, width) in enumerate(REGNET_Y_400MF_STAGES, 1):
        params = {"out_channels": width, "depth": depth, "group_width": 8, "se_ratio": 0.25, "stage_index": index}
        g.node("RegNetStage", f"block{index}", path=f"trunk_output.block{index}", **params)
    g.node("GlobalAvgPool", "avgpool")
    g.node("Linear", "fc", path="fc", out_features=1000)
    return g.document()


MODELS = {
    "googlenet": ReferenceModel(googlenet, lambda: torchvision_model("googlenet", aux_logits=False, init_weights=True)),
    "mobilenet_v2": ReferenceModel(mobilenet_v2, lambda: torchvision_model("mobilenet_v2"), template="mobilenet_v2"),
    "shufflenet_v2_x1_0": ReferenceModel(shufflenet_v2_x1_0, lambda: torchvision_model("shufflenet_v2_x1_0")),
    "squeezenet1_1": ReferenceModel(squeezenet1_1, lambda: torchvision_model("squeezenet1_1")),
    "densenet121": ReferenceModel(densenet121, lambda: torchvision_model("densenet121"), template="densenet121"),
    "regnet_y_400mf": ReferenceModel(regnet_y_400mf, lambda: torchvision_model("regnet_y_400mf")),
}
