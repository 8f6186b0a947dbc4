"""Hand-written PyTorch models that tests import, as a user's own code would be (no TorchCanvas involved)."""

from __future__ import annotations

from torch import nn


def _stage(cin: int, cout: int, depth: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index in range(depth):
        stride = 2 if index == 0 and cin != cout else 1
        layers += [
            nn.Conv2d(cin if index == 0 else cout, cout, 3, stride, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
        ]
    return nn.Sequential(*layers)


class StagedNet(nn.Module):
    """A plain CNN laid out like torchvision's: a stem, four stages (``layer1``…``layer4``) and a head."""

    def __init__(self, num_classes: int = 10, width: int = 8, depth: int = 3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        widths = [width, width * 2, width * 4, width * 8]
        self.layer1 = _stage(width, widths[0], depth)
        self.layer2 = _stage(widths[0], widths[1], depth)
        self.layer3 = _stage(widths[1], widths[2], depth)
        self.layer4 = _stage(widths[2], widths[3], depth)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[3], num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))
