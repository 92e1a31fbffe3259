"""Artefacts computed once and kept under a content key (``<cache_dir>/<kind>/<key>.pt``): offline-stage
results, trained generators, feature classifiers, embedding-neighbour tables. A sweep's other jobs and a
re-run load them instead of computing them again; a damaged file is computed again and replaced."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from auglab.storage.atomic import write_atomic

log = logging.getLogger(__name__)


def load_or_compute(path: Path | None, compute: Callable[[], Any], *, what: str,
                    weights_only: bool = True) -> tuple[Any, bool]:
    """``(value, loaded)``: ``torch.load(path)`` when a readable copy is there, else ``compute()`` saved at
    ``path``. ``path=None`` caches nothing. ``weights_only=False`` for artefacts that are not tensors."""
    if path is not None and path.is_file():
        try:
            value = torch.load(path, map_location="cpu", weights_only=weights_only)
        except Exception as err:  # a damaged or foreign file: compute again and overwrite it
            log.warning("%s: %s is unreadable (%s); computing it again", what, path, err)
        else:
            log.info("%s: loaded from %s", what, path)
            return value, True
    value = compute()
    if path is not None:
        write_atomic(path, lambda tmp: torch.save(value, tmp))
        log.info("%s: cached in %s", what, path)
    return value, False
