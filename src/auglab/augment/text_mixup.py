"""MixUp on sentence representations (Guo et al. 2019, arXiv 1905.08941, their "senMixup").

Token ids cannot be blended, so the work is split: the device-stage transform draws the mixing
weight ``lam ~ Beta(alpha, alpha)`` and a partner for each text (a permutation of the batch), mixes
the soft labels and leaves both draws in the batch; each text model then blends the representation
it feeds to its classification head with ``mix_sentences`` (the pooled output for ``bert``, the
body's output for ``text_cnn`` / ``text_bilstm``). Evaluation batches carry no draw and are not mixed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from auglab.augment.mixing import LabelMixer
from auglab.errors import AuglabError

TextBatch = dict[str, torch.Tensor]


class SentenceMixUp(LabelMixer):
    """Mixes labels ``lam * y + (1 - lam) * y[partner]`` and puts ``mixup_partner [B]`` and
    ``mixup_lambda`` (a 0-d tensor) in the batch for the model; a share ``p`` of batches is mixed."""

    def __init__(self, *, alpha: float = 1.0, p: float = 1.0) -> None:
        super().__init__(alpha=alpha, p=p)

    def mix(self, x: TextBatch, y: torch.Tensor, lam: float, perm: torch.Tensor) -> tuple[TextBatch, torch.Tensor]:
        drawn = {"mixup_partner": perm, "mixup_lambda": torch.tensor(lam, device=y.device)}
        return {**x, **drawn}, lam * y + (1 - lam) * y[perm]


def mix_sentences(h: torch.Tensor, x: TextBatch) -> torch.Tensor:
    """``h [B, ...]`` blended with its partners' rows when the batch carries SentenceMixUp's draw, else ``h``."""
    if "mixup_partner" not in x:
        return h
    lam = x["mixup_lambda"]
    return lam * h + (1 - lam) * h[x["mixup_partner"]]


@contextmanager
def mixing_head_input(head: nn.Module | None, x: TextBatch, checkpoint: str) -> Iterator[None]:
    """While active, ``head``'s input is passed through ``mix_sentences``: how a Hugging Face model's own
    classification head (``classifier``) gets the blend without copying the model's forward."""
    if "mixup_partner" not in x:
        yield
        return
    if not isinstance(head, nn.Module):
        raise AuglabError(f"augment=text_mixup blends the input of the checkpoint's classification head "
                          f"(a `classifier` module), which {checkpoint} does not have; choose another strategy "
                          "or a BERT / RoBERTa / DistilBERT-style checkpoint")
    handle = head.register_forward_pre_hook(lambda _module, args: (mix_sentences(args[0], x), *args[1:]))
    try:
        yield
    finally:
        handle.remove()
