"""The offline stage's cache: its output is stored under a key made of the exact input examples and
the stage's resolved config (seed included), so a sweep computes each expansion once and a changed
input or parameter can never pick up a stale result."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from auglab.fingerprint import fingerprint

log = logging.getLogger(__name__)


def cached_offline(compute: Callable[[Any], Any], examples: Any, *, signature: str, cache_dir: Path | None,
                   name: str) -> Any:
    """``compute(examples)``, loaded from ``cache_dir`` when the same input and config ran before."""
    if cache_dir is None:
        return compute(examples)
    key = fingerprint(signature, examples)[:20]
    path = Path(cache_dir) / "offline" / f"{name}-{key}.pt"
    if path.is_file():
        try:
            out = torch.load(path, weights_only=False)
            log.info("offline stage of %s: loaded from %s", name, path)
            return out
        except Exception as err:  # a damaged file: compute again and overwrite it
            log.warning("offline cache %s is unreadable (%s); computing again", path, err)
    out = compute(examples)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save(out, tmp)
    os.replace(tmp, path)  # atomic: a killed run or a second process never leaves half a file
    log.info("offline stage of %s: cached in %s", name, path)
    return out
