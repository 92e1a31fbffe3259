"""Per-example test outcomes (``predictions.npz`` in a run folder): what paired analyses over test examples
need without re-running anything (``report/verdicts.py``). Classifiers keep each example's label,
prediction and class probabilities; recommenders the rank of each user's target.

Under DDP each rank tests its own shard of the unpadded evaluation sampler (rank ``r`` holds examples
``r, r + W, r + 2W, ...``, ``data/samplers.py``); ``gather`` puts them back in dataset order, so one and
two processes write the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from auglab.storage.atomic import write_atomic

FILENAME = "predictions.npz"


class PerExample:
    """Collects named tensors batch by batch (first dimension: examples) during a test epoch."""

    def __init__(self) -> None:
        self.parts: dict[str, list[torch.Tensor]] = {}

    def add(self, **batch: torch.Tensor) -> None:
        for name, value in batch.items():
            self.parts.setdefault(name, []).append(value.detach())

    def gather(self, module: Any) -> dict[str, np.ndarray]:
        """Every rank's examples in dataset order, with ``index``; every rank must call it (a collective)."""
        local = {name: torch.cat(values) for name, values in self.parts.items()}
        self.parts = {}
        trainer = getattr(module, "_trainer", None)
        world = trainer.world_size if trainer is not None else 1
        if world == 1:
            count = len(next(iter(local.values()))) if local else 0
            return {"index": np.arange(count), **{k: v.cpu().numpy() for k, v in local.items()}}
        sizes = module.all_gather(torch.tensor(len(next(iter(local.values()))), device=module.device))  # [W]
        sizes = [int(s) for s in sizes]
        total, widest = sum(sizes), max(sizes)
        position = torch.cat([torch.arange(r, total, world) for r in range(world)])  # dataset index of each row
        out = {"index": np.arange(total)}
        for name, value in local.items():
            padded = torch.zeros((widest, *value.shape[1:]), dtype=value.dtype, device=module.device)
            padded[:len(value)] = value
            everyone = module.all_gather(padded)  # [W, widest, ...]
            rows = torch.cat([everyone[r, :sizes[r]] for r in range(world)])
            ordered = torch.empty_like(rows)
            ordered[position.to(rows.device)] = rows
            out[name] = ordered.cpu().numpy()
        return out


def save(path: Path, outcomes: dict[str, np.ndarray]) -> None:
    write_atomic(path, lambda tmp: np.savez_compressed(tmp.open("wb"), **outcomes))


def load(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError):
        return None
