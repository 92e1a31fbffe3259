"""Long work over many items, computed and kept a chunk at a time (``<folder>/chunk-000012.pt``), so a run
killed half-way continues where it stopped: written chunks are loaded, the rest computed. Each chunk's
result must depend only on its own items and its index (seed the chunk from its index, not from a running
stream), so a resumed run gives what an uninterrupted one gives. Used for a language model writing over a
whole corpus (``augment/corpus/``).

Under DDP the ranks share the work. auglab builds the data in every rank before the process group exists
(``sweep/ddp.py`` starts the ranks with ``RANK`` and ``WORLD_SIZE`` set), so the ranks meet through the
folder: rank r computes the chunks whose index is r modulo the world size, then loads the others' as they
appear. N processes finish about N times sooner, with the result one process writes. A chunk that does not
appear within ``PATIENCE_S`` (its rank died, or was never started) is computed by the waiting rank."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from auglab.storage.atomic import write_atomic

log = logging.getLogger(__name__)
PATIENCE_S = 900.0  # how long a rank waits for another rank's chunk before computing it itself


def _load(path: Path, expected: int) -> list[Any] | None:
    try:
        value = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a damaged chunk is computed again
        log.warning("%s is unreadable (%s); computing it again", path, err)
        return None
    return value if isinstance(value, list) and len(value) == expected else None


def process_group() -> tuple[int, int]:
    """This process's rank and the world size, from the launcher's environment (0 and 1 outside DDP)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def _wait_for(path: Path, expected: int, what: str) -> list[Any] | None:
    """Another rank's chunk, once it is on disk; None after ``PATIENCE_S``."""
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        if path.is_file() and (part := _load(path, expected)) is not None:
            return part
        time.sleep(0.2)
    log.warning("%s: %s did not appear within %.0f s; computing it here", what, path.name, PATIENCE_S)
    return None


def chunked(folder: Path | None, items: Sequence[Any], compute: Callable[[int, Sequence[Any]], list[Any]], *,
            chunk_size: int, what: str, unit: str = "item") -> tuple[list[Any], dict[str, int]]:
    """``compute(chunk_index, chunk_items)`` over ``items`` in chunks of ``chunk_size``, one result per item,
    each chunk saved under ``folder`` as soon as it is done (``folder=None``: nothing kept). Also how many
    chunks were loaded and how many computed. A progress bar (and, when stderr is no terminal, a log line per
    chunk) gives the rate and the time left. Under DDP, with a folder, each rank computes its share of the
    chunks (see the module docstring)."""
    bounds = [(i, start, min(start + chunk_size, len(items)))
              for i, start in enumerate(range(0, len(items), chunk_size))]
    rank, world = process_group() if folder is not None else (0, 1)
    if world == 1:
        parts, counts = _chunks(folder, items, compute, bounds, what, unit)
        return [x for index, _, _ in bounds for x in parts[index]], counts
    parts, counts = _chunks(folder, items, compute, [b for b in bounds if b[0] % world == rank], what, unit)
    results: list[Any] = []
    for index, start, end in bounds:
        part = parts.get(index) or _wait_for(folder / f"chunk-{index:06d}.pt", end - start, what)
        if part is None:  # never written by its rank: computed here
            part = _chunks(folder, items, compute, [(index, start, end)], what, unit)[0][index]
            counts["chunks_computed"] += 1
        results += part
    return results, {"chunks": len(bounds), "chunks_loaded": len(bounds) - counts["chunks_computed"],
                     "chunks_computed": counts["chunks_computed"], "ranks": world}


def _chunks(folder: Path | None, items: Sequence[Any], compute: Callable[[int, Sequence[Any]], list[Any]],
            bounds: list[tuple[int, int, int]], what: str, unit: str) -> tuple[dict[int, list[Any]], dict[str, int]]:
    """Loads or computes each chunk ``(index, start, end)`` of ``bounds``: the results by chunk index, and the
    counts."""
    by_index: dict[int, list[Any]] = {}
    total = sum(end - start for _, start, end in bounds)
    counts = {"chunks": len(bounds), "chunks_loaded": 0, "chunks_computed": 0}
    started, done_here, passed = time.perf_counter(), 0, 0
    with tqdm(total=total, desc=what, unit=unit, leave=False) as bar:
        for index, start, end in bounds:
            path = folder / f"chunk-{index:06d}.pt" if folder is not None else None
            part = _load(path, end - start) if path is not None and path.is_file() else None
            passed += end - start
            if part is None:
                part = list(compute(index, items[start:end]))
                if len(part) != end - start:
                    raise RuntimeError(f"{what}: chunk {index} gave {len(part)} results for {end - start} items")
                if path is not None:
                    write_atomic(path, lambda tmp, part=part: torch.save(part, tmp))
                counts["chunks_computed"] += 1
                done_here += end - start
                rate = done_here / max(time.perf_counter() - started, 1e-9)
                left = (total - passed) / rate if rate > 0 else float("nan")
                if not sys.stderr.isatty():
                    log.info("%s: %d / %d %ss (chunk %d of %d), %.1f %ss/s, about %.0f min left", what, passed,
                             total, unit, index + 1, len(bounds), rate, unit, left / 60)
            else:
                counts["chunks_loaded"] += 1
            by_index[index] = part
            bar.update(end - start)
    return by_index, counts
