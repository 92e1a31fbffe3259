"""Sentence embeddings from an encoder's hidden states: the mean over real tokens, L2-normalised (Reimers &
Gurevych 2019; how all-MiniLM-L6-v2 was trained). Used by the bi-encoder and the generated-text judge."""

from __future__ import annotations

import torch


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """``hidden [B, L, D]``, ``attention_mask [B, L]`` -> unit vectors ``[B, D]``."""
    mask = attention_mask[..., None].to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1)
    return torch.nn.functional.normalize(pooled, dim=1)
