"""Product-image classifier: normalise with the train split's statistics, then a backbone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from auglab.models.classifier import Classifier


class ImageClassifier(Classifier):
    """``net`` is a backbone factory called with ``in_channels`` and ``num_classes``."""

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
        return self.net((x - self.mean) / self.std)
