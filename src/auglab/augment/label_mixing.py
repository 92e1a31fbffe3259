"""What every label-mixing transform shares (image MixUp / CutMix, text SentenceMixUp): a mixing weight
drawn from Beta(alpha, alpha), a partner for each example (a permutation of the batch), and the share ``p``
of batches mixed. Subclasses say how inputs mix; soft labels ``[B, K]`` mix by the weight they return."""

from __future__ import annotations

from typing import Any

import torch

from auglab.errors import check_fraction, check_positive


class LabelMixer:
    def __init__(self, *, alpha: float, p: float) -> None:
        self.alpha, self.p = check_positive("alpha", alpha), check_fraction("p", p)

    def __call__(self, x: Any, y: torch.Tensor) -> tuple[Any, torch.Tensor]:
        if torch.rand(()) >= self.p:
            return x, y
        lam = float(torch.distributions.Beta(self.alpha, self.alpha).sample())
        perm = torch.randperm(y.shape[0], device=y.device)  # from y: x may be a dict (text)
        return self.mix(x, y, lam, perm)

    def mix(self, x: Any, y: torch.Tensor, lam: float, perm: torch.Tensor) -> tuple[Any, torch.Tensor]:
        raise NotImplementedError
