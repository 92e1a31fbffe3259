"""Random-generator states in every checkpoint, one stream per DDP rank (docs/architecture.md, "Resume").

A run resumed from an epoch-end checkpoint continues the same random stream as a run that was
never interrupted: shuffling (the train sampler draws its seed from torch's global generator when
the epoch's iterator is created), DataLoader worker seeds (drawn the same way; workers are not
persistent), and every augmentation draw in the main process. The states are taken when Lightning
builds a checkpoint at an epoch end and put back when it restores one, before the next epoch's
iterator exists.
"""

from __future__ import annotations

import logging
import random
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


def rank_seed(seed: int, rank: int) -> int:
    """A seed for rank ``rank`` of a run seeded ``seed``: independent of other runs' ranks (not seed + rank)."""
    return int(np.random.SeedSequence([seed, rank]).generate_state(1)[0])


def seed_generators(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def collect_states() -> dict[str, Any]:
    """This process's generator states, as tensors and plain values (loadable with ``weights_only``)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
    }


def restore_states(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class RandomStateCheckpoint(L.Callback):
    """Seeds ranks 1..N-1 with their own streams and saves/restores every rank's generator states."""

    def __init__(self, *, seed: int) -> None:
        self.seed = seed
        self.rank, self.world_size, self.fitting = 0, 1, False

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.rank, self.world_size = trainer.global_rank, trainer.world_size
        self.fitting = stage == "fit"  # testing a checkpoint needs no generator states
        if self.fitting and self.rank > 0:
            # Rank 0 keeps the stream of a one-process run; without this every rank would draw the
            # same augmentation parameters for its own examples.
            seed_generators(rank_seed(self.seed, self.rank))

    def state_dict(self) -> dict[str, Any]:
        mine = collect_states()
        if self.world_size > 1 and dist.is_available() and dist.is_initialized():
            ranks: list[Any] = [None] * self.world_size
            dist.all_gather_object(ranks, mine)  # every rank builds the checkpoint; rank 0 writes it
        else:
            ranks = [mine]
        return {"ranks": ranks}

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        if self.fitting:
            log.info("rank %d resumes after epoch %d (global step %d)", trainer.global_rank,
                     checkpoint.get("epoch", -1), checkpoint.get("global_step", -1))

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not self.fitting:
            return
        ranks = state_dict.get("ranks", [])
        if len(ranks) != self.world_size:
            log.warning("checkpoint holds random states for %d process(es), this run has %d: resuming without them, "
                        "so the random draws after resuming differ from an uninterrupted run", len(ranks),
                        self.world_size)
            return
        restore_states(ranks[self.rank])
