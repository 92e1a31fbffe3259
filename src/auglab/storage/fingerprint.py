"""Content hashes: the 'sha256 of the data read' in a run's provenance, and cache keys."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch


def _update(digest: Any, part: Any) -> None:
    if isinstance(part, torch.Tensor):
        part = part.detach().cpu().contiguous().numpy()
    if isinstance(part, np.ndarray):
        digest.update(str(part.shape).encode())  # the shape too: a reshaped array is other data
        digest.update(np.ascontiguousarray(part).tobytes())
    elif isinstance(part, list | tuple):  # by content, element by element: repr() would abbreviate arrays
        digest.update(f"{type(part).__name__}{len(part)}".encode())
        for item in part:
            _update(digest, item)
    else:
        digest.update(repr(part).encode())


def fingerprint(*parts: Any) -> str:
    """sha256 over tensors, arrays, strings and (nested) lists of them."""
    digest = hashlib.sha256()
    for part in parts:
        _update(digest, part)
    return digest.hexdigest()
