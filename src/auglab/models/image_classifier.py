"""Product-image classifier: normalise with the train split's statistics, then a backbone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from auglab.models.attack_surface import AttackSurface
from auglab.models.classifier import Classifier


class ImageClassifier(AttackSurface, Classifier):
    """``net`` is a backbone factory called with ``in_channels`` and ``num_classes``. Adversarial examples
    perturb the normalised pixels, kept within what pixels in [0, 1] normalise to."""

    data_kinds = ("image",)

    def __init__(
        self,
        *,
        net: Callable[..., nn.Module],
        num_classes: int,
        in_channels: int,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_classes=num_classes, **kwargs)
        self.net = net(in_channels=in_channels, num_classes=num_classes)
        # Buffers, so a checkpoint carries the statistics it was trained with.
        self.register_buffer("mean", torch.tensor(mean or [0.5] * in_channels).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std or [0.5] * in_channels).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, H, W] in [0, 1] -> [B, K]
        return self.net(self.attack_input(x))

    def attack_input(self, x: torch.Tensor) -> torch.Tensor:  # normalised pixels [B, C, H, W]
        return (x - self.mean) / self.std

    def attack_output(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)

    def attack_as_input(self, z: torch.Tensor) -> torch.Tensor:  # back to pixels in [0, 1]
        return z * self.std + self.mean

    def attack_bounds(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return -self.mean / self.std, (1 - self.mean) / self.std  # [1, C, 1, 1]: pixels 0 and 1
