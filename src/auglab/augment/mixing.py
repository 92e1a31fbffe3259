"""Label-mixing batch transforms for the ``batch`` or ``device`` stage.

Both take images ``[B, C, H, W]`` and soft labels ``[B, K]`` and pair each example with another
one of the same batch (a random permutation), as in the papers they follow.
"""

from __future__ import annotations

import torch


class LabelMixer:
    """Draws the mixing weight from Beta(alpha, alpha) and the partners; mixes a share ``p`` of batches."""

    def __init__(self, *, alpha: float, p: float) -> None:
        if alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {alpha}")
        self.alpha, self.p = alpha, p

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if torch.rand(()) >= self.p:
            return x, y
        lam = float(torch.distributions.Beta(self.alpha, self.alpha).sample())
        perm = torch.randperm(y.shape[0], device=y.device)  # from y: x may be a dict (text_mixup)
        return self.mix(x, y, lam, perm)

    def mix(self, x: torch.Tensor, y: torch.Tensor, lam: float, perm: torch.Tensor):
        raise NotImplementedError


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
