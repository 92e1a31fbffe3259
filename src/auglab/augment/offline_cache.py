"""The offline stage's cache: its output is stored under a key made of the exact input examples and
the stage's resolved config (seed included), so a sweep computes each expansion once and a changed
input or parameter can never pick up a stale result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from auglab.storage.artefact_cache import load_or_compute
from auglab.storage.fingerprint import fingerprint

FORMAT = "examples+reports"


def cached_offline(compute: Callable[[Any], Any], examples: Any, *, signature: str, cache_dir: Path | None,
                   name: str) -> Any:
    """``compute(examples)``, loaded from ``cache_dir`` when the same input and config ran before."""
    path = None
    if cache_dir is not None:
        # FORMAT: the cached object's layout; a new layout gets new keys instead of misreading old files
        path = Path(cache_dir) / "offline" / f"{name}-{fingerprint(FORMAT, signature, examples)[:20]}.pt"
    # weights_only=False: the stage's output is examples of any kind (texts, arrays), not only tensors
    out, _ = load_or_compute(path, lambda: compute(examples), what=f"offline stage of {name}", weights_only=False)
    return out
