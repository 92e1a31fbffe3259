"""MixUp on sentence representations (Guo et al. 2019, arXiv 1905.08941, their "senMixup").

Token ids cannot be blended, so the work is split: the device-stage transform draws the mixing
weight ``lam ~ Beta(alpha, alpha)`` and a partner for each text (a permutation of the batch), mixes
the soft labels and leaves both draws in the batch; each text model then blends the representation
it feeds to its classification head with ``mix_sentences`` (the pooled output for ``bert``, the
body's output for ``text_cnn`` / ``text_bilstm``; ``models/text_inputs.py``). Evaluation batches carry no
draw and are not mixed.
"""

from __future__ import annotations

import torch

from auglab.augment.label_mixing import LabelMixer
from auglab.pretrained.text_batch import TextBatch


class SentenceMixUp(LabelMixer):
    """Mixes labels ``lam * y + (1 - lam) * y[partner]`` and puts ``mixup_partner [B]`` and
    ``mixup_lambda`` (a 0-d tensor) in the batch for the model; a share ``p`` of batches is mixed."""

    def __init__(self, *, alpha: float = 1.0, p: float = 1.0) -> None:
        super().__init__(alpha=alpha, p=p)

    def mix(self, x: TextBatch, y: torch.Tensor, lam: float, perm: torch.Tensor) -> tuple[TextBatch, torch.Tensor]:
        drawn = {"mixup_partner": perm, "mixup_lambda": torch.tensor(lam, device=y.device)}
        return {**x, **drawn}, lam * y + (1 - lam) * y[perm]
