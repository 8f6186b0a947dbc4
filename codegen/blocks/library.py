"""The built-in composite ("paper") blocks as plain ``nn.Module`` classes.

Generated code carries the source of every block it uses, copied from here with
``inspect.getsource``. Each class is therefore self-contained: it refers only to ``torch``, ``nn``
(``torch.nn``), ``F`` (``torch.nn.functional``), builtins and the library classes named in its
node declaration's ``requires``. No module-level helpers or constants, on purpose.

Submodule names are ``state_dict`` keys: they follow torchvision where a torchvision twin exists,
so weights can be compared or copied, and they do not change between releases.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SEBlock(nn.Module):
    """Squeeze-and-excitation: reweights channels by a gate computed from their global average.

    GAP → Linear(C → C // r) → ReLU → Linear(C // r → C) → Sigmoid → scale × input. Works on
    (B, C, T), (B, C, H, W) and (B, C, D, H, W) alike.

    Hu, Shen and Sun, "Squeeze-and-Excitation Networks", CVPR 2018. https://arxiv.org/abs/1709.01507
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = channels // reduction
        if hidden < 1:
            raise ValueError(
                f"channels // reduction must be at least 1, got {channels} // {reduction}"
            )
        self.fc1 = nn.Linear(channels, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(hidden, channels)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Squeeze: one average per channel over every spatial position.
        scale = x.flatten(2).mean(dim=2)
        scale = self.sigmoid(self.fc2(self.relu(self.fc1(scale))))
        # Excite: broadcast the per-channel gate back over the spatial axes.
        return x * scale.view(*scale.shape, *([1] * (x.dim() - 2)))


class ResidualBlock(nn.Module):
    """The basic two-convolution residual block of ResNet-18/34 (torchvision's ``BasicBlock``).

    Conv(k, stride) → BN → ReLU → Conv(k) → BN, plus the input (through a 1×1 convolution and BN, ``downsample``,
    when the channels or the resolution change), then ReLU.

    He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.
    https://arxiv.org/abs/1512.03385
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be odd so both paths keep the same size, got {kernel_size}"
            )
        padding = kernel_size // 2
        self.conv1 = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride, padding, bias=False
        )
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(
            out_channels, out_channels, kernel_size, 1, padding, bias=False
        )
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.downsample = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity  # in place, as torchvision adds: one activation-sized tensor fewer per block
        return self.relu(out)


class Bottleneck(nn.Module):
    """The 1×1 → 3×3 → 1×1 residual block of ResNet-50/101/152 (torchvision's ``Bottleneck``).

    The inner width is ``(out_channels // expansion) * width_per_group // 64 * groups``, as in
    torchvision: the defaults give ``out_channels // expansion`` (ResNet), ``groups=32,
    width_per_group=4`` ResNeXt-50 32×4d and ``width_per_group=128`` Wide ResNet-50-2. The 3×3
    convolution is grouped and carries the stride (ResNet v1.5). A 1×1 projection shortcut
    (``downsample``) is used when the shape changes.

    He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.
    https://arxiv.org/abs/1512.03385
    Xie et al., "Aggregated Residual Transformations for Deep Neural Networks", CVPR 2017.
    https://arxiv.org/abs/1611.05431
    Zagoruyko and Komodakis, "Wide Residual Networks", BMVC 2016. https://arxiv.org/abs/1605.07146
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        expansion: int = 4,
        groups: int = 1,
        width_per_group: int = 64,
    ) -> None:
        super().__init__()
        # Integer form of torchvision's int(planes * (base_width / 64.0)) * groups.
        width = (out_channels // expansion) * width_per_group // 64 * groups
        if width < 1:
            raise ValueError(
                f"the inner width (out_channels // expansion) * width_per_group // 64 * groups "
                f"must be at least 1, got {out_channels}, {expansion}, {width_per_group}, {groups}"
            )
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.downsample = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity  # in place, as torchvision adds: one activation-sized tensor fewer per block
        return self.relu(out)


class VGGBlock(nn.Module):
    """A VGG stage: ``convs`` same-padded convolutions with ReLU (and optional BN or LRN), then max pooling.

    With ``batch_norm`` each convolution is followed by BatchNorm before its ReLU, as in
    torchvision's ``vgg11_bn`` to ``vgg19_bn``.

    The first convolution maps to ``c1`` channels, the others to ``c2``. With ``in_channels=None``
    the first convolution is lazy and takes its input channels from the first batch it sees.

    Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition",
    ICLR 2015. https://arxiv.org/abs/1409.1556
    """

    def __init__(
        self,
        in_channels: int | None,
        c1: int,
        c2: int,
        k: int = 3,
        pool: bool = True,
        lrn: bool = False,
        convs: int = 2,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for i in range(convs):
            out_channels = c1 if i == 0 else c2
            if channels is None:
                layers.append(nn.LazyConv2d(out_channels, k, padding=k // 2))
            else:
                layers.append(nn.Conv2d(channels, out_channels, k, padding=k // 2))
            if batch_norm:
                # torchvision's vgg*_bn: the convolution keeps its bias, BN sits before the ReLU.
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU(inplace=True))
            if lrn:
                # The setting of Krizhevsky et al. (2012), which VGG's A-LRN configuration reuses.
                layers.append(nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0))
            channels = out_channels
        self.layers = nn.Sequential(*layers)
        self.pool = nn.MaxPool2d(2, 2) if pool else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.layers(x))


class InceptionBlock(nn.Module):
    """The GoogLeNet (Inception v1) module: four parallel branches concatenated on channels.

    1×1 | 1×1 → 3×3 | 1×1 → 5×5 | 3×3 max pool → 1×1, each convolution followed by ReLU. The output
    has ``c1 + c3 + c5 + pool_proj`` channels and the input's height and width.

    Szegedy et al., "Going Deeper with Convolutions", CVPR 2015. https://arxiv.org/abs/1409.4842
    """

    def __init__(
        self,
        in_channels: int,
        c1: int,
        c3_reduce: int,
        c3: int,
        c5_reduce: int,
        c5: int,
        pool_proj: int,
    ) -> None:
        super().__init__()
        self.branch1 = nn.Sequential(
            nn.Conv2d(in_channels, c1, 1),
            nn.ReLU(inplace=True),
        )
        self.branch2 = nn.Sequential(
            nn.Conv2d(in_channels, c3_reduce, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c3_reduce, c3, 3, padding=1),
            nn.ReLU(inplace=True),
        )
        self.branch3 = nn.Sequential(
            nn.Conv2d(in_channels, c5_reduce, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c5_reduce, c5, 5, padding=2),
            nn.ReLU(inplace=True),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1),
            nn.Conv2d(in_channels, pool_proj, 1),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1
        )


class DenseLayer(nn.Module):
    """One DenseNet-BC layer: BN → ReLU → 1×1 → BN → ReLU → 3×3, its output appended to its input.

    The output has ``in_channels + growth_rate`` channels; ``bn_size * growth_rate`` is the width
    of the 1×1 bottleneck. Submodule names match torchvision's ``_DenseLayer``.

    Huang, Liu, van der Maaten and Weinberger, "Densely Connected Convolutional Networks",
    CVPR 2017. https://arxiv.org/abs/1608.06993
    """

    def __init__(
        self,
        in_channels: int,
        growth_rate: int = 32,
        bn_size: int = 4,
        drop_rate: float = 0.0,
    ) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(
            bn_size * growth_rate, growth_rate, 3, padding=1, bias=False
        )
        self.dropout = nn.Dropout(drop_rate) if drop_rate > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        new = self.conv1(self.relu1(self.norm1(x)))
        new = self.conv2(self.relu2(self.norm2(new)))
        return torch.cat([x, self.dropout(new)], dim=1)


class SqueezeExcitation(nn.Module):
    """The squeeze-and-excitation gate of MBConv and MobileNetV3 (torchvision.ops.SqueezeExcitation).

    GAP → 1×1 → ``activation`` → 1×1 → ``scale_activation`` → scale: SiLU and Sigmoid in
    EfficientNet, ReLU and Hardsigmoid in MobileNetV3.

    Hu, Shen and Sun, "Squeeze-and-Excitation Networks", CVPR 2018. https://arxiv.org/abs/1709.01507
    """

    def __init__(
        self,
        channels: int,
        squeeze_channels: int,
        activation: type[nn.Module] = nn.SiLU,
        scale_activation: type[nn.Module] = nn.Sigmoid,
    ) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.scale_activation(
            self.fc2(self.activation(self.fc1(self.avgpool(x))))
        )
        return x * scale


class MBConv(nn.Module):
    """The inverted residual block of EfficientNet (torchvision's ``MBConv``), with squeeze-and-excitation.

    ``block``: 1×1 expansion Conv-BN-SiLU (left out when ``expand_ratio`` is 1) → k×k depthwise
    Conv-BN-SiLU (stride here) → SE gate (left out when ``se_ratio`` is 0; its width is relative to
    the block's input channels) → 1×1 linear projection Conv-BN. The input is added back when the
    stride is 1 and the channels do not change, the branch first going through stochastic depth
    (``stochastic_depth_prob``, per sample, training only). Submodule names match torchvision's.

    Tan and Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", ICML 2019.
    https://arxiv.org/abs/1905.11946 (after Sandler et al., "MobileNetV2", CVPR 2018)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expand_ratio: int = 4,
        kernel_size: int = 3,
        stride: int = 1,
        se_ratio: float = 0.25,
        stochastic_depth_prob: float = 0.0,
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        hidden = in_channels * expand_ratio
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(
                nn.Sequential(
                    nn.Conv2d(in_channels, hidden, 1, bias=False),
                    nn.BatchNorm2d(hidden),
                    nn.SiLU(inplace=True),
                )
            )
        layers.append(
            nn.Sequential(
                nn.Conv2d(
                    hidden,
                    hidden,
                    kernel_size,
                    stride,
                    kernel_size // 2,
                    groups=hidden,
                    bias=False,
                ),
                nn.BatchNorm2d(hidden),
                nn.SiLU(inplace=True),
            )
        )
        if se_ratio > 0:
            layers.append(
                SqueezeExcitation(hidden, max(1, int(in_channels * se_ratio)))
            )
        layers.append(
            nn.Sequential(
                nn.Conv2d(hidden, out_channels, 1, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        )
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.use_res_connect = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        if self.use_res_connect:
            out = self.stochastic_depth(out) + x
        return out


class InvertedResidual(nn.Module):
    """MobileNetV3's inverted residual block (torchvision's ``mobilenetv3.InvertedResidual``).

    ``block``: 1×1 expansion to ``expanded_channels`` Conv-BN-act (left out when it equals
    ``in_channels``) → k×k depthwise Conv-BN-act (stride here) → optional SE gate (ReLU, then
    Hardsigmoid; its width is ``expanded_channels // 4`` rounded to a multiple of 8) → 1×1 linear
    projection Conv-BN; act is ReLU or Hardswish. BatchNorm uses MobileNetV3's eps=0.001 and
    momentum=0.01. The input is added back when the stride is 1 and the channels do not change.
    Submodule names match torchvision's.

    Howard et al., "Searching for MobileNetV3", ICCV 2019. https://arxiv.org/abs/1905.02244
    """

    def __init__(
        self,
        in_channels: int,
        expanded_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        use_se: bool = False,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        if activation not in ("relu", "hardswish"):
            raise ValueError(
                f'activation must be "relu" or "hardswish", got {activation!r}'
            )
        act = nn.Hardswish if activation == "hardswish" else nn.ReLU

        def conv_bn(cin: int, cout: int, k: int, s: int, groups: int, last: bool):
            conv = nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False)
            norm = nn.BatchNorm2d(cout, eps=0.001, momentum=0.01)
            return (
                nn.Sequential(conv, norm) if last else nn.Sequential(conv, norm, act())
            )

        hidden = expanded_channels
        layers: list[nn.Module] = []
        if hidden != in_channels:
            layers.append(conv_bn(in_channels, hidden, 1, 1, 1, False))
        layers.append(conv_bn(hidden, hidden, kernel_size, stride, hidden, False))
        if use_se:
            # torchvision's _make_divisible(hidden // 4, 8): nearest multiple of 8, at least 8,
            # and never more than 10% below hidden // 4.
            squeeze = max(8, (hidden // 4 + 4) // 8 * 8)
            if squeeze < 0.9 * (hidden // 4):
                squeeze += 8
            layers.append(SqueezeExcitation(hidden, squeeze, nn.ReLU, nn.Hardsigmoid))
        layers.append(conv_bn(hidden, out_channels, 1, 1, 1, True))
        self.block = nn.Sequential(*layers)
        self.use_res_connect = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        if self.use_res_connect:
            out = out + x
        return out


class Conv2dNormActivation(nn.Sequential):
    """Convolution without bias, BatchNorm, then an activation (torchvision.ops.Conv2dNormActivation).

    Padding ``(kernel_size - 1) // 2`` keeps the size at stride 1; ``activation_layer=None`` leaves
    the activation out (a linear projection). The layers are ``0``, ``1`` and ``2`` in the
    ``state_dict``, as in torchvision.

    Ioffe and Szegedy, "Batch Normalization", ICML 2015. https://arxiv.org/abs/1502.03167
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        activation_layer: type[nn.Module] | None = nn.ReLU,
    ) -> None:
        padding = (kernel_size - 1) // 2
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
        ]
        if activation_layer is not None:
            layers.append(activation_layer(inplace=True))
        super().__init__(*layers)


class BasicConv2d(nn.Module):
    """GoogLeNet's convolution as torchvision trains it: Conv (no bias) → BatchNorm (eps=0.001) → ReLU.

    Szegedy et al., "Going Deeper with Convolutions", CVPR 2015. https://arxiv.org/abs/1409.4842
    Ioffe and Szegedy, "Batch Normalization", ICML 2015. https://arxiv.org/abs/1502.03167
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride, padding, bias=False
        )
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    """GoogLeNet's inception module as torchvision builds it (``googlenet``): four branches, concatenated.

    1×1 | 1×1 → 3×3 | 1×1 → 3×3 | 3×3 max pool → 1×1, every convolution a ``BasicConv2d``
    (Conv-BN-ReLU). The third branch convolves 3×3 where the paper has 5×5 (pytorch/vision#906):
    torchvision's pretrained weights have that shape. The output has ``c1 + c3 + c5 + pool_proj``
    channels and the input's height and width. ``InceptionBlock`` is the paper's module.

    Szegedy et al., "Going Deeper with Convolutions", CVPR 2015. https://arxiv.org/abs/1409.4842
    """

    def __init__(
        self,
        in_channels: int,
        c1: int,
        c3_reduce: int,
        c3: int,
        c5_reduce: int,
        c5: int,
        pool_proj: int,
    ) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, c1, 1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, c3_reduce, 1),
            BasicConv2d(c3_reduce, c3, 3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, c5_reduce, 1),
            BasicConv2d(c5_reduce, c5, 3, padding=1),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1),
            BasicConv2d(in_channels, pool_proj, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1
        )


class InvertedResidualV2(nn.Module):
    """MobileNetV2's inverted residual (torchvision's ``mobilenetv2.InvertedResidual``).

    ``conv``: 1×1 expansion to ``in_channels * expand_ratio`` Conv-BN-ReLU6 (left out when
    ``expand_ratio`` is 1, so the indices shift as in torchvision) → 3×3 depthwise Conv-BN-ReLU6
    (stride here) → 1×1 linear projection Conv, BN. The input is added back when the stride is 1
    and the channels do not change.

    Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018.
    https://arxiv.org/abs/1801.04381
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        expand_ratio: int = 6,
    ) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(
                Conv2dNormActivation(in_channels, hidden, 1, activation_layer=nn.ReLU6)
            )
        layers += [
            Conv2dNormActivation(
                hidden, hidden, 3, stride, groups=hidden, activation_layer=nn.ReLU6
            ),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_res_connect = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class ShuffleNetV2Unit(nn.Module):
    """ShuffleNet V2's unit (torchvision's ``shufflenetv2.InvertedResidual``), then a channel shuffle.

    At stride 1 the input's channels are split in two: the first half passes through, the second
    goes through ``branch2`` (1×1 Conv-BN-ReLU → 3×3 depthwise Conv-BN → 1×1 Conv-BN-ReLU); this
    needs ``in_channels == out_channels``. At stride 2 (or 3) the whole input goes through both
    ``branch1`` (3×3 depthwise Conv-BN → 1×1 Conv-BN-ReLU) and ``branch2``, each giving
    ``out_channels // 2`` channels. The halves are concatenated and shuffled in two groups.

    Ma, Zhang, Zheng and Sun, "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture
    Design", ECCV 2018. https://arxiv.org/abs/1807.11164
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        branch = out_channels // 2
        if out_channels % 2 or (stride == 1 and in_channels != out_channels):
            raise ValueError(
                "out_channels must be even, and equal to in_channels at stride 1; "
                f"got {in_channels} → {out_channels} at stride {stride}"
            )
        self.stride = stride
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(
                    in_channels,
                    in_channels,
                    3,
                    stride,
                    1,
                    groups=in_channels,
                    bias=False,
                ),
                nn.BatchNorm2d(in_channels),
                nn.Conv2d(in_channels, branch, 1, bias=False),
                nn.BatchNorm2d(branch),
                nn.ReLU(inplace=True),
            )
        else:
            self.branch1 = nn.Identity()
        self.branch2 = nn.Sequential(
            nn.Conv2d(in_channels if stride > 1 else branch, branch, 1, bias=False),
            nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True),
            nn.Conv2d(branch, branch, 3, stride, 1, groups=branch, bias=False),
            nn.BatchNorm2d(branch),
            nn.Conv2d(branch, branch, 1, bias=False),
            nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
        else:
            x1 = x2 = x
        out = torch.cat((self.branch1(x1), self.branch2(x2)), dim=1)
        # Channel shuffle in two groups: (B, 2, C / 2, H, W), swapped to (B, C / 2, 2, H, W).
        # F.channel_shuffle computes the same, but its backward is slower on CPU.
        return out.unflatten(1, (2, -1)).transpose(1, 2).flatten(1, 2)


class Fire(nn.Module):
    """SqueezeNet's fire module (torchvision's ``squeezenet.Fire``).

    A 1×1 "squeeze" convolution with ReLU, then 1×1 and 3×3 "expand" convolutions with ReLU side
    by side, concatenated: ``expand1x1_channels + expand3x3_channels`` channels at the input's size.

    Iandola et al., "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model
    size", 2016. https://arxiv.org/abs/1602.07360
    """

    def __init__(
        self,
        in_channels: int,
        squeeze_channels: int,
        expand1x1_channels: int,
        expand3x3_channels: int,
    ) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(in_channels, squeeze_channels, 1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_channels, expand1x1_channels, 1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_channels, expand3x3_channels, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat(
            [
                self.expand1x1_activation(self.expand1x1(x)),
                self.expand3x3_activation(self.expand3x3(x)),
            ],
            dim=1,
        )


class DenseTransition(nn.Module):
    """The transition between DenseNet's dense blocks (torchvision's ``densenet._Transition``).

    BN → ReLU → 1×1 convolution to ``out_channels`` (half the input in DenseNet-BC) → 2×2 average
    pooling, which halves height and width.

    Huang, Liu, van der Maaten and Weinberger, "Densely Connected Convolutional Networks",
    CVPR 2017. https://arxiv.org/abs/1608.06993
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.pool = nn.AvgPool2d(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(self.relu(self.norm(x))))


class ResBottleneckBlock(nn.Module):
    """RegNet's residual bottleneck block (torchvision's ``regnet.ResBottleneckBlock``).

    ``f``: ``a`` 1×1 Conv-BN-ReLU to the bottleneck width ``round(out_channels *
    bottleneck_multiplier)`` → ``b`` 3×3 grouped Conv-BN-ReLU with ``group_width`` channels per
    group (stride here) → ``se`` squeeze-excitation of width ``round(se_ratio * in_channels)``
    (RegNetY; left out when ``se_ratio`` is 0) → ``c`` 1×1 Conv-BN. Added to the input, through a
    1×1 Conv-BN projection (``proj``) when the shape changes, then ReLU.

    Radosavovic et al., "Designing Network Design Spaces", CVPR 2020.
    https://arxiv.org/abs/2003.13678
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        group_width: int = 1,
        bottleneck_multiplier: float = 1.0,
        se_ratio: float = 0.0,
    ) -> None:
        super().__init__()
        width = int(round(out_channels * bottleneck_multiplier))
        if width < group_width or width % group_width:
            raise ValueError(
                f"group_width {group_width} must divide the bottleneck width {width}"
            )
        if in_channels != out_channels or stride != 1:
            self.proj = Conv2dNormActivation(
                in_channels, out_channels, 1, stride, activation_layer=None
            )
        else:
            self.proj = nn.Identity()
        # Named children, so that the state_dict keys read f.a, f.b, f.se, f.c as in torchvision.
        self.f = nn.Sequential()
        self.f.add_module("a", Conv2dNormActivation(in_channels, width, 1))
        self.f.add_module(
            "b",
            Conv2dNormActivation(width, width, 3, stride, groups=width // group_width),
        )
        if se_ratio > 0:
            squeeze = int(round(se_ratio * in_channels))
            self.f.add_module("se", SqueezeExcitation(width, squeeze, nn.ReLU))
        self.f.add_module(
            "c", Conv2dNormActivation(width, out_channels, 1, activation_layer=None)
        )
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.proj(x) + self.f(x))


class RegNetStage(nn.Sequential):
    """One stage of a RegNet (torchvision's ``regnet.AnyStage``): ``depth`` ``ResBottleneckBlock``s.

    The first block changes the width to ``out_channels`` and carries the stride; the others keep
    both. The blocks are named ``block<stage_index>-<i>``, torchvision's names, so that a
    torchvision RegNet's ``trunk_output.block<stage_index>`` weights load by name.

    Radosavovic et al., "Designing Network Design Spaces", CVPR 2020.
    https://arxiv.org/abs/2003.13678
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        depth: int,
        stride: int = 2,
        group_width: int = 1,
        bottleneck_multiplier: float = 1.0,
        se_ratio: float = 0.0,
        stage_index: int = 1,
    ) -> None:
        super().__init__()
        for i in range(depth):
            block = ResBottleneckBlock(
                in_channels if i == 0 else out_channels,
                out_channels,
                stride if i == 0 else 1,
                group_width,
                bottleneck_multiplier,
                se_ratio,
            )
            self.add_module(f"block{stage_index}-{i}", block)


class TransformerEncoderBlock(nn.Module):
    """A pre-norm Transformer encoder block over (B, T, E), as in the Vision Transformer.

    x + Dropout(Attention(LayerNorm(x))), then x + MLP(LayerNorm(x)) with a GELU hidden layer of
    ``int(dim * mlp_ratio)`` units. Submodule names match torchvision's ViT ``EncoderBlock``, which
    uses ``eps=1e-6`` in both LayerNorms.

    Vaswani et al., "Attention Is All You Need", NeurIPS 2017. https://arxiv.org/abs/1706.03762
    Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021. https://arxiv.org/abs/2010.11929
    """

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.ln_1 = nn.LayerNorm(dim, eps=eps)
        self.self_attention = nn.MultiheadAttention(
            dim, num_heads, dropout=dropout, batch_first=True
        )
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = nn.Sequential(
            nn.Linear(dim, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, dim),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln_1(x)
        h, _ = self.self_attention(h, h, h, need_weights=False)
        x = x + self.dropout(h)
        return x + self.mlp(self.ln_2(x))


class PositionalEncoding(nn.Module):
    """The fixed sinusoidal positional encoding of the Transformer, added to (B, T, E), then dropout.

    Position t gets sin(t / 10000^(2i / dim)) on feature 2i and the cosine of the same angle on
    feature 2i + 1. The table is computed once for ``max_len`` positions and kept as a buffer left
    out of the ``state_dict``: it is not a weight.

    Vaswani et al., "Attention Is All You Need", NeurIPS 2017. https://arxiv.org/abs/1706.03762
    """

    def __init__(self, dim: int, max_len: int = 5000, dropout: float = 0.0) -> None:
        super().__init__()
        position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
        even = torch.arange(0, dim, 2, dtype=torch.float32)  # 2i, one per sin/cos pair
        angle = position / 10000.0 ** (even / dim)
        table = torch.zeros(max_len, dim)
        table[:, 0::2] = torch.sin(angle)
        # An odd dim ends on a sine: its last angle has no cosine feature.
        table[:, 1::2] = torch.cos(angle[:, : dim // 2])
        self.register_buffer("table", table, persistent=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length, max_len = x.shape[1], self.table.shape[0]
        if length > max_len:
            raise ValueError(
                f"sequence length {length} exceeds max_len={max_len}; "
                "build PositionalEncoding with a larger max_len"
            )
        return self.dropout(x + self.table[:length])


class FiLM(nn.Module):
    """Feature-wise linear modulation of a (B, C, ...) feature map by a (B, F) conditioning vector.

    Two linear layers turn the conditioner into one scale and one shift per channel; viewed as
    (B, C, 1, ...), they broadcast over every axis after the channels, whatever their sizes:
    ``conditioner_scale(z) * x + conditioner_shift(z)``. The submodule names are TorchArc's
    ``FiLMMerge``'s, so its ``state_dict`` loads by name.

    Perez et al., "FiLM: Visual Reasoning with a General Conditioning Layer", AAAI 2018.
    https://arxiv.org/abs/1709.07871
    """

    def __init__(self, channels: int, conditioner_features: int) -> None:
        super().__init__()
        self.conditioner_scale = nn.Linear(conditioner_features, channels)
        self.conditioner_shift = nn.Linear(conditioner_features, channels)

    def forward(self, feature: torch.Tensor, conditioner: torch.Tensor) -> torch.Tensor:
        view = (conditioner.shape[0], -1, *(1,) * (feature.dim() - 2))
        scale = self.conditioner_scale(conditioner).view(view)
        shift = self.conditioner_shift(conditioner).view(view)
        return scale * feature + shift


class LayerNorm2d(nn.LayerNorm):
    """Layer normalisation over the channels of a (B, C, H, W) tensor, at each position.

    ``nn.LayerNorm(C)`` applied channels last, so its weight and bias have shape (C,) and a ConvNeXt
    checkpoint loads by name; being a module of its own, it sits in an ``nn.Sequential`` as
    torchvision's ``LayerNorm2d`` does.

    Liu et al., "A ConvNet for the 2020s", CVPR 2022. https://arxiv.org/abs/2201.03545
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class StochasticDepth(nn.Module):
    """Stochastic depth ("drop path"): in training, drops whole residual branches.

    Each sample's input (mode "row") or the whole batch's (mode "batch") is zeroed with
    probability p and the survivors are scaled by 1 / (1 - p), so the expected value is
    unchanged; in eval mode the input passes through. No parameters or buffers. The same
    algorithm and arguments as torchvision.ops.StochasticDepth.

    Huang et al., "Deep Networks with Stochastic Depth", ECCV 2016.
    https://arxiv.org/abs/1603.09382
    """

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"drop probability has to be between 0 and 1, got {p}")
        if mode not in ("batch", "row"):
            raise ValueError(f'mode has to be "batch" or "row", got {mode!r}')
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival_rate = 1.0 - self.p
        if self.mode == "row":
            size = [x.shape[0]] + [1] * (x.ndim - 1)
        else:
            size = [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device)
        noise = noise.bernoulli_(survival_rate)
        if survival_rate > 0.0:
            noise.div_(survival_rate)
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


class PermuteAxes(nn.Module):
    """``x.permute(*dims)`` as a module, so that a ``nn.Sequential`` can change the axis order.

    ConvNeXt's block goes channels last for its LayerNorm and Linear layers and back; as in
    torchvision (``torchvision.ops.Permute``) the permutes are members of the block's
    ``nn.Sequential``, which keeps the indices of the layers after them, and so their
    ``state_dict`` keys, torchvision's. Not called ``Permute``: that is the name of a node type.

    Liu et al., "A ConvNet for the 2020s", CVPR 2022. https://arxiv.org/abs/2201.03545
    """

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.permute(x, self.dims)


class CNBlock(nn.Module):
    """The ConvNeXt block (torchvision's ``CNBlock``), over (B, C, H, W).

    ``block``: 7×7 depthwise convolution → channels last → LayerNorm → Linear(C → 4C) → GELU →
    Linear(4C → C) → channels first; the result is scaled per channel by the learned ``layer_scale``
    (C, 1, 1), initialised to ``layer_scale``, goes through stochastic depth (per sample, training
    only) and is added to the input. Submodule names match torchvision's.

    Liu et al., "A ConvNet for the 2020s", CVPR 2022. https://arxiv.org/abs/2201.03545
    """

    def __init__(
        self,
        dim: int,
        layer_scale: float = 1e-6,
        stochastic_depth_prob: float = 0.0,
        eps: float = 1e-6,
    ) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, 7, padding=3, groups=dim),
            PermuteAxes([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=eps),
            nn.Linear(dim, 4 * dim),
            nn.GELU(),
            nn.Linear(4 * dim, dim),
            PermuteAxes([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), layer_scale))
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.stochastic_depth(self.layer_scale * self.block(x))


class ShiftedWindowAttention(nn.Module):
    """Window multi-head self-attention with relative position bias (Swin's W-MSA and SW-MSA), on (B, H, W, C).

    The map is padded on the right and bottom to whole ``window_size`` × ``window_size`` windows,
    rolled up and left by ``shift_size`` (shifted windows, when the padded map is larger than one
    window), and attention runs inside each window, biased by a learned value per head and relative
    offset. Tokens that the roll brought together from opposite edges are masked from each other.
    The result is rolled back, unpadded and projected. The same computation and ``state_dict`` as
    torchvision's ``ShiftedWindowAttention`` with square windows.

    Liu et al., "Swin Transformer: Hierarchical Vision Transformer using Shifted Windows", ICCV 2021.
    https://arxiv.org/abs/2103.14030
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window_size: int = 7,
        shift_size: int = 0,
        attention_dropout: float = 0.0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads={num_heads}")
        if not 0 <= shift_size < window_size:
            raise ValueError(
                f"shift_size must be in [0, window_size), got {shift_size} for window_size {window_size}"
            )
        self.num_heads = num_heads
        self.window_size = window_size
        self.shift_size = shift_size
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        # One bias per head for each of the (2w - 1)² offsets between two tokens of a window.
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size - 1) ** 2, num_heads)
        )
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        # For every (query, key) pair of a window's tokens, the row of that table.
        coords = torch.stack(
            torch.meshgrid(
                torch.arange(window_size), torch.arange(window_size), indexing="ij"
            )
        ).flatten(1)
        offsets = coords[:, :, None] - coords[:, None, :] + (window_size - 1)
        index = offsets[0] * (2 * window_size - 1) + offsets[1]
        self.register_buffer("relative_position_index", index.flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, height, width, channels = x.shape
        size, heads = self.window_size, self.num_heads
        # Zeros on the right and bottom up to whole windows (-n % size is what n lacks).
        x = F.pad(x, (0, 0, 0, -width % size, 0, -height % size))
        padded_h, padded_w = x.shape[1], x.shape[2]
        # A window that covers a whole axis has nowhere to shift along it.
        shift_h = self.shift_size if padded_h > size else 0
        shift_w = self.shift_size if padded_w > size else 0
        if shift_h or shift_w:
            x = torch.roll(x, shifts=(-shift_h, -shift_w), dims=(1, 2))

        # Partition: (B · windows, w², C), windows in row-major order.
        rows, cols, tokens = padded_h // size, padded_w // size, size * size
        x = x.reshape(batch, rows, size, cols, size, channels)
        x = x.permute(0, 1, 3, 2, 4, 5).reshape(-1, tokens, channels)

        qkv = self.qkv(x).reshape(x.size(0), tokens, 3, heads, channels // heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn = (q * (channels // heads) ** -0.5).matmul(k.transpose(-2, -1))
        bias = self.relative_position_bias_table[self.relative_position_index]
        attn = attn + bias.view(tokens, tokens, heads).permute(2, 0, 1).contiguous()
        if shift_h or shift_w:
            # The roll brought tokens from the far edges into the last row and column of windows.
            # Along each axis, label a position by its region (before the last window, the last
            # window's own part, the part rolled in) and mask attention across regions.
            ys = torch.arange(padded_h, device=x.device)
            xs = torch.arange(padded_w, device=x.device)
            ys = (ys >= padded_h - size).long() + (ys >= padded_h - shift_h).long()
            xs = (xs >= padded_w - size).long() + (xs >= padded_w - shift_w).long()
            region = (ys[:, None] * 3 + xs[None, :]).view(rows, size, cols, size)
            region = region.permute(0, 2, 1, 3).reshape(rows * cols, tokens)
            mask = torch.zeros(
                region.shape + (tokens,), dtype=attn.dtype, device=x.device
            )
            mask = mask.masked_fill(region[:, :, None] != region[:, None, :], -100.0)
            attn = attn.view(batch, rows * cols, heads, tokens, tokens) + mask[:, None]
            attn = attn.view(-1, heads, tokens, tokens)
        attn = F.dropout(attn.softmax(dim=-1), self.attention_dropout, self.training)

        x = attn.matmul(v).transpose(1, 2).reshape(-1, tokens, channels)
        x = F.dropout(self.proj(x), self.dropout, self.training)

        # Reverse the partition, the roll and the padding.
        x = x.view(batch, rows, cols, size, size, channels)
        x = x.permute(0, 1, 3, 2, 4, 5).reshape(batch, padded_h, padded_w, channels)
        if shift_h or shift_w:
            x = torch.roll(x, shifts=(shift_h, shift_w), dims=(1, 2))
        return x[:, :height, :width].contiguous()


class SwinTransformerBlock(nn.Module):
    """The Swin Transformer block (torchvision's v1 ``SwinTransformerBlock``), over (B, H, W, C).

    x + StochasticDepth(ShiftedWindowAttention(LayerNorm(x))), then x + StochasticDepth(MLP(LayerNorm(x)))
    with a GELU hidden layer of ``int(dim * mlp_ratio)`` units. Consecutive blocks alternate
    ``shift_size`` 0 and ``window_size // 2``. Submodule names and initialisation match torchvision's.

    Liu et al., "Swin Transformer: Hierarchical Vision Transformer using Shifted Windows", ICCV 2021.
    https://arxiv.org/abs/2103.14030
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window_size: int = 7,
        shift_size: int = 0,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        stochastic_depth_prob: float = 0.0,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = ShiftedWindowAttention(
            dim, num_heads, window_size, shift_size, attention_dropout, dropout
        )
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = nn.Sequential(
            nn.Linear(dim, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, dim),
            nn.Dropout(dropout),
        )
        for layer in (self.mlp[0], self.mlp[3]):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.normal_(layer.bias, std=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.stochastic_depth(self.attn(self.norm1(x)))
        return x + self.stochastic_depth(self.mlp(self.norm2(x)))


class PatchMerging(nn.Module):
    """Swin's downsampling between stages (torchvision's ``PatchMerging``): (B, H, W, C) → (B, ⌈H/2⌉, ⌈W/2⌉, 2C).

    Odd heights and widths are padded with zeros; the four pixels of each 2×2 patch are
    concatenated on the channels (4C), normalised and projected to 2C by a Linear without bias.

    Liu et al., "Swin Transformer: Hierarchical Vision Transformer using Shifted Windows", ICCV 2021.
    https://arxiv.org/abs/2103.14030
    """

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-3], x.shape[-2]
        x = F.pad(x, (0, 0, 0, width % 2, 0, height % 2))
        # torchvision's order: (even row, even column), (odd, even), (even, odd), (odd, odd).
        x = torch.cat(
            [
                x[..., 0::2, 0::2, :],
                x[..., 1::2, 0::2, :],
                x[..., 0::2, 1::2, :],
                x[..., 1::2, 1::2, :],
            ],
            dim=-1,
        )
        return self.reduction(self.norm(x))
