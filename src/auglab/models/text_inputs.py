"""The model-side halves of two text augmentations whose device-stage transforms only annotate the batch
(token ids cannot carry them): embedding noise and sentence MixUp. Every text model calls these on its
training batches; evaluation batches carry no annotation and pass through untouched.

The batch keys are the contract with ``augment/text/``: ``embedding_noise [B]`` (``EmbeddingNoise``),
``mixup_partner [B]`` and ``mixup_lambda`` (``SentenceMixUp``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from auglab.errors import AuglabError
from auglab.pretrained.text_batch import TextBatch


def add_embedding_noise(embeds: torch.Tensor, x: TextBatch, weight: torch.Tensor) -> torch.Tensor:
    """``embeds [B, L, D]`` plus the Gaussian noise ``EmbeddingNoise`` asked for, if it did: per text, its scale
    times the root-mean-square of the embedding ``weight``."""
    scale = x.get("embedding_noise")
    if scale is None:
        return embeds
    rms = weight.detach().pow(2).mean().sqrt()
    return embeds + (scale * rms)[:, None, None] * torch.randn_like(embeds)


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
