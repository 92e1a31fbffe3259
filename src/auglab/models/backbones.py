"""Image backbones: a small CNN for 28-64 px product images, or a torchvision ResNet."""

from __future__ import annotations

import torch
import torchvision
from torch import nn

from auglab.errors import AuglabError

RESNET_DEPTHS = (18, 34, 50, 101, 152)


class SmallCNN(nn.Module):
    """Three conv-BN-ReLU blocks (two pooled), global average pooling and a linear head."""

    def __init__(self, *, in_channels: int, num_classes: int, width: int = 32, dropout: float = 0.3) -> None:
        super().__init__()

        def block(c_in: int, c_out: int, pool: bool) -> list[nn.Module]:
            layers = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
            return layers + ([nn.MaxPool2d(2)] if pool else [])

        w = width
        self.features = nn.Sequential(
            *block(in_channels, w, True), *block(w, 2 * w, True), *block(2 * w, 4 * w, False),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * w, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, H, W] -> [B, K]
        return self.head(self.features(x))


def resnet(
    *, in_channels: int, num_classes: int, depth: int = 18, weights: str | None = None, small_stem: bool = True
) -> nn.Module:
    """A torchvision ResNet with a new ``num_classes`` head.

    ``small_stem`` swaps the 7x7 stride-2 stem and max-pool for a 3x3 stride-1 conv (as for CIFAR) so
    28-64 px product images keep their resolution. ``weights`` (e.g. ``IMAGENET1K_V1``) downloads
    ImageNet weights and needs internet.
    """
    if depth not in RESNET_DEPTHS:
        raise AuglabError(f"model.net.depth={depth}: torchvision has ResNets of depth "
                          f"{', '.join(map(str, RESNET_DEPTHS))}")
    net = getattr(torchvision.models, f"resnet{depth}")(weights=weights)
    if small_stem or in_channels != 3:
        net.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
    net.fc = nn.Linear(net.fc.in_features, num_classes)
    return net
