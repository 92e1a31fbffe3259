"""Label-mixing image transforms for the ``batch`` or ``device`` stage: images ``[B, C, H, W]`` and soft
labels ``[B, K]``, each example paired with another one of the same batch, as in the papers they follow."""

from __future__ import annotations

import torch

from auglab.augment.label_mixing import LabelMixer


class MixUp(LabelMixer):
    """MixUp (Zhang et al., 2018, arXiv 1710.09412): x = lam*x_i + (1-lam)*x_j, same for labels."""

    def __init__(self, *, alpha: float = 0.2, p: float = 1.0) -> None:
        super().__init__(alpha=alpha, p=p)

    def mix(self, x: torch.Tensor, y: torch.Tensor, lam: float, perm: torch.Tensor):
        return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]


class CutMix(LabelMixer):
    """CutMix (Yun et al., 2019, arXiv 1905.04899): paste a box from x_j; labels mix by box area."""

    def __init__(self, *, alpha: float = 1.0, p: float = 1.0) -> None:
        super().__init__(alpha=alpha, p=p)

    def mix(self, x: torch.Tensor, y: torch.Tensor, lam: float, perm: torch.Tensor):
        _, _, h, w = x.shape
        # Box with area (1 - lam) * h * w, centred uniformly, clipped at the border.
        cut = (1 - lam) ** 0.5
        bh, bw = int(h * cut), int(w * cut)
        cy, cx = int(torch.randint(h, ())), int(torch.randint(w, ()))
        y0, y1 = max(cy - bh // 2, 0), min(cy + bh // 2, h)
        x0, x1 = max(cx - bw // 2, 0), min(cx + bw // 2, w)
        mixed = x.clone()
        mixed[:, :, y0:y1, x0:x1] = x[perm, :, y0:y1, x0:x1]
        kept = 1 - (y1 - y0) * (x1 - x0) / (h * w)  # the label weight follows the real clipped area
        return mixed, kept * y + (1 - kept) * y[perm]
