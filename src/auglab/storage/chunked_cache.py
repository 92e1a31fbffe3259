"""Long work over many items, computed and kept a chunk at a time (``<folder>/chunk-000012.pt``), so a run
killed half-way continues where it stopped: written chunks are loaded, the rest computed. Each chunk's
result must depend only on its own items and its index (seed the chunk from its index, not from a running
stream), so a resumed run gives what an uninterrupted one gives. Used for a language model writing over a
whole corpus (``augment/corpus/``)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from auglab.storage.atomic import write_atomic

log = logging.getLogger(__name__)


def _load(path: Path, expected: int) -> list[Any] | None:
    try:
        value = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a damaged chunk is computed again
        log.warning("%s is unreadable (%s); computing it again", path, err)
        return None
    return value if isinstance(value, list) and len(value) == expected else None


def chunked(folder: Path | None, items: Sequence[Any], compute: Callable[[int, Sequence[Any]], list[Any]], *,
            chunk_size: int, what: str, unit: str = "item") -> tuple[list[Any], dict[str, int]]:
    """``compute(chunk_index, chunk_items)`` over ``items`` in chunks of ``chunk_size``, one result per item,
    each chunk saved under ``folder`` as soon as it is done (``folder=None``: nothing kept). Also how many
    chunks were loaded and how many computed. A progress bar (and, when stderr is no terminal, a log line per
    chunk) gives the rate and the time left."""
    bounds = [(start, min(start + chunk_size, len(items))) for start in range(0, len(items), chunk_size)]
    results: list[Any] = []
    counts = {"chunks": len(bounds), "chunks_loaded": 0, "chunks_computed": 0}
    started, done_here = time.perf_counter(), 0
    with tqdm(total=len(items), desc=what, unit=unit, leave=False) as bar:
        for index, (start, end) in enumerate(bounds):
            path = folder / f"chunk-{index:06d}.pt" if folder is not None else None
            part = _load(path, end - start) if path is not None and path.is_file() else None
            if part is None:
                part = list(compute(index, items[start:end]))
                if len(part) != end - start:
                    raise RuntimeError(f"{what}: chunk {index} gave {len(part)} results for {end - start} items")
                if path is not None:
                    write_atomic(path, lambda tmp, part=part: torch.save(part, tmp))
                counts["chunks_computed"] += 1
                done_here += end - start
                rate = done_here / max(time.perf_counter() - started, 1e-9)
                left = (len(items) - end) / rate if rate > 0 else float("nan")
                if not sys.stderr.isatty():
                    log.info("%s: %d / %d %ss (chunk %d of %d), %.1f %ss/s, about %.0f min left", what, end,
                             len(items), unit, index + 1, len(bounds), rate, unit, left / 60)
            else:
                counts["chunks_loaded"] += 1
            results += part
            bar.update(end - start)
    return results, counts
