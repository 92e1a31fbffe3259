"""Training examples of a set of sequences, in one home for the datamodule and the transforms that draw
training histories of their own (DuoRec's same-target positives): every prefix ``s[:t] -> s[t]``,
``1 <= t < len(s)``, as the most recent ``max_len`` items, left-aligned, 0 after them."""

from __future__ import annotations

import numpy as np
import torch


def prefix_bounds(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, ends)`` of every example of the sequences ``items[offsets[u]:offsets[u + 1]]``: the history is
    ``items[start:end]`` and the target ``items[end]``."""
    lengths = np.diff(offsets)
    per_seq = np.maximum(lengths - 1, 0)
    seq_of = np.repeat(np.arange(len(lengths)), per_seq)
    t = np.arange(per_seq.sum()) - np.repeat(np.cumsum(per_seq) - per_seq, per_seq) + 1
    starts = offsets[:-1][seq_of]
    return starts, starts + t


def windows(items: torch.Tensor, start: torch.Tensor, end: torch.Tensor, max_len: int) -> torch.Tensor:
    """``items[start:end]``'s last ``max_len`` items per row, left-aligned: ``start, end [B]`` -> ``[B, max_len]``."""
    length = torch.clamp(end - start, max=max_len)  # [B]
    columns = torch.arange(max_len, device=items.device)[None, :]
    pos = (end - length)[:, None] + columns  # [B, L]
    return torch.where(columns < length[:, None], items[pos.clamp(max=len(items) - 1)], 0)
