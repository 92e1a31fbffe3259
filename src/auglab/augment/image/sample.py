"""Sample-stage image transforms that torchvision lacks in a size-agnostic form."""

from __future__ import annotations

import torch
from torchvision.transforms import v2


class PadCrop:
    """Zero-pad by ``padding`` and crop back to the input's own size at a random offset.

    ``v2.RandomCrop`` needs the output size up front; this works for any dataset's image size.
    """

    def __init__(self, *, padding: int = 4, fill: int = 0) -> None:
        self.padding, self.fill = padding, fill

    def __call__(self, x: torch.Tensor) -> torch.Tensor:  # [C, H, W] -> [C, H, W]
        return v2.RandomCrop(tuple(x.shape[-2:]), padding=self.padding, fill=self.fill)(x)
