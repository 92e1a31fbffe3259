"""Image transforms for the ``device`` stage: whole batches, one random draw per image.

torchvision's transforms draw their parameters once per call, so a batched tensor gets the same
flip or crop for every image. These draw a parameter vector of length B instead and apply it with
tensor ops, so they run on the GPU without a Python loop over images.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


class BatchRandomHorizontalFlip:
    """Flip each image left-right with probability ``p``."""

    def __init__(self, *, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flip = torch.rand(x.shape[0], device=x.device) < self.p  # [B]
        return torch.where(flip[:, None, None, None], x.flip(-1), x), y


class BatchRandomCrop:
    """Zero-pad by ``padding`` and crop back to the input size at a per-image random offset.

    The batched twin of ``torchvision.transforms.v2.RandomCrop(size, padding=padding)``.
    """

    def __init__(self, *, padding: int = 4, fill: float = 0.0) -> None:
        self.padding, self.fill = padding, fill

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, c, h, w = x.shape
        p = self.padding
        padded = F.pad(x, (p, p, p, p), value=self.fill)  # [B, C, H+2p, W+2p]
        dy = torch.randint(0, 2 * p + 1, (b, 1), device=x.device)
        dx = torch.randint(0, 2 * p + 1, (b, 1), device=x.device)
        # one gather over the flattened padded image, each image's window as flat offsets: the same pixels as
        # indexing rows and columns, about 4x faster on a CPU than 3-index advanced indexing
        wp = w + 2 * p
        window = torch.arange(h, device=x.device).view(h, 1) * wp + torch.arange(w, device=x.device)  # [H, W]
        index = (window.view(1, h * w) + dy * wp + dx).view(b, 1, h * w).expand(b, c, h * w)
        return padded.flatten(2).gather(2, index).view(b, c, h, w), y  # [B, C, H, W]


class BatchRandomErasing:
    """Random Erasing (Zhong et al., 2020, arXiv 1708.04896) with a box drawn per image.

    Box area is ``scale`` of the image and aspect ratio log-uniform in ``ratio``, as in torchvision.
    """

    def __init__(
        self,
        *,
        p: float = 0.5,
        scale: tuple[float, float] = (0.02, 0.33),
        ratio: tuple[float, float] = (0.3, 3.3),
        value: float = 0.0,
    ) -> None:
        self.p, self.scale, self.ratio, self.value = p, tuple(scale), tuple(ratio), value

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, h, w = x.shape
        dev = x.device
        area = h * w * torch.empty(b, device=dev).uniform_(*self.scale)
        log_r = torch.empty(b, device=dev).uniform_(math.log(self.ratio[0]), math.log(self.ratio[1]))
        aspect = torch.exp(log_r)
        bh = torch.sqrt(area * aspect).round().clamp(1, h)  # [B]
        bw = torch.sqrt(area / aspect).round().clamp(1, w)
        top = (torch.rand(b, device=dev) * (h - bh + 1)).floor()
        left = (torch.rand(b, device=dev) * (w - bw + 1)).floor()
        ys = torch.arange(h, device=dev)[None, :]  # [1, H]
        xs = torch.arange(w, device=dev)[None, :]
        in_rows = (ys >= top[:, None]) & (ys < (top + bh)[:, None])  # [B, H]
        in_cols = (xs >= left[:, None]) & (xs < (left + bw)[:, None])  # [B, W]
        erase = torch.rand(b, device=dev) < self.p
        box = in_rows[:, :, None] & in_cols[:, None, :] & erase[:, None, None]  # [B, H, W]
        return x.masked_fill(box[:, None], self.value), y


class BatchBrightnessContrast:
    """Scale brightness and contrast of each image by its own factor in ``[1-b, 1+b]``, ``[1-c, 1+c]``."""

    def __init__(self, *, brightness: float = 0.2, contrast: float = 0.2) -> None:
        self.brightness, self.contrast = brightness, contrast

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b = x.shape[0]
        shape = (b, 1, 1, 1)
        gain = 1 + torch.empty(shape, device=x.device).uniform_(-self.brightness, self.brightness)
        con = 1 + torch.empty(shape, device=x.device).uniform_(-self.contrast, self.contrast)
        x = x * gain
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        return ((x - mean) * con + mean).clamp(0, 1), y
