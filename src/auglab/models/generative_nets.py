"""Convolutional nets of the image generators, shaped by the data's image size and channels.

DCGAN's recipe (Radford et al. 2015): strided (transposed) convolutions, BatchNorm except on the
discriminator's input and the generator's output, ReLU in the generator, LeakyReLU(0.2) in the
discriminator, weights N(0, 0.02). A 28 px image grows 7 -> 14 -> 28; 32 and 64 px grow from 4.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from auglab.errors import AuglabError


def upsampling_steps(image_size: int) -> tuple[int, int]:
    """(start size, doublings) for ``image_size``: 7 * 2**k (28, 56) or 4 * 2**k (32, 64, 128)."""
    for start in (7, 4):
        steps = math.log2(image_size / start) if image_size >= start else -1
        if steps >= 1 and steps == int(steps):
            return start, int(steps)
    raise AuglabError(f"image generators need data.image_size = 7 or 4 times a power of 2 (28, 32, 64, ...), "
                      f"got {image_size}")


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation: conv weights N(0, 0.02), BatchNorm scale N(1, 0.02) and bias 0."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class ConvDecoder(nn.Module):
    """A code ``[B, code_dim]`` to an image ``[B, C, H, W]``: linear to ``[B, w*2**k, s, s]``, then k
    transposed convolutions that double the size; the caller picks the output activation."""

    def __init__(self, *, code_dim: int, channels: int, image_size: int, width: int = 64) -> None:
        super().__init__()
        start, steps = upsampling_steps(image_size)
        self.start, self.top = start, width * 2 ** (steps - 1)
        self.project = nn.Sequential(nn.Linear(code_dim, self.top * start * start, bias=False),
                                     nn.BatchNorm1d(self.top * start * start), nn.ReLU(inplace=True))
        layers: list[nn.Module] = []
        c = self.top
        for i in range(steps):
            last = i == steps - 1
            c_out = channels if last else c // 2
            layers.append(nn.ConvTranspose2d(c, c_out, 4, stride=2, padding=1, bias=last))
            if not last:
                layers += [nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
            c = c_out
        self.up = nn.Sequential(*layers)

    def forward(self, code: torch.Tensor) -> torch.Tensor:  # [B, code_dim] -> [B, C, H, W] (logits)
        h = self.project(code).view(len(code), self.top, self.start, self.start)
        return self.up(h)


class ConvEncoder(nn.Module):
    """An image ``[B, C, H, W]`` to features ``[B, feature_dim]``: strided convolutions that halve the
    size, LeakyReLU(0.2), no BatchNorm on the input layer (``norm=False``: none at all, e.g. with
    spectral norm)."""

    def __init__(self, *, channels: int, image_size: int, width: int = 64, norm: bool = True,
                 spectral_norm: bool = False) -> None:
        super().__init__()
        _, steps = upsampling_steps(image_size)
        wrap = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        layers: list[nn.Module] = []
        c = channels
        for i in range(steps):
            c_out = width * 2**i
            layers.append(wrap(nn.Conv2d(c, c_out, 4, stride=2, padding=1, bias=not norm or i == 0)))
            if norm and i > 0:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c = c_out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.net = nn.Sequential(*layers)
        self.feature_dim = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, H, W] -> [B, feature_dim]
        return self.net(x)
