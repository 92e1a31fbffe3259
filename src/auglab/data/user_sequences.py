"""From an interaction log to per-user item sequences, with RecBole's pre-processing conventions:
optional rating threshold, iterative k-core filtering, time order per user, items re-indexed from 1
(0 is padding). Stored flat (CSR: ``items`` plus ``offsets``) so millions of interactions stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from auglab.data.sources.interactions import InteractionLog
from auglab.errors import AuglabError


@dataclass
class UserSequences:
    """``items[offsets[u]:offsets[u + 1]]`` is user u's items in time order; ids 1..num_items."""

    items: np.ndarray  # [N] int64
    offsets: np.ndarray  # [U + 1] int64
    num_items: int

    @property
    def num_users(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __getitem__(self, u: int) -> np.ndarray:
        return self.items[self.offsets[u]:self.offsets[u + 1]]

    @classmethod
    def from_list(cls, sequences: list[np.ndarray], num_items: int) -> UserSequences:
        lengths = np.array([len(s) for s in sequences], dtype=np.int64)
        items = np.concatenate(sequences).astype(np.int64) if sequences else np.zeros(0, np.int64)
        return cls(items, np.concatenate([[0], np.cumsum(lengths)]), num_items)


def k_core(user: np.ndarray, item: np.ndarray, user_core: int, item_core: int) -> tuple[np.ndarray, list[str]]:
    """Rows to keep so every user has >= ``user_core`` and every item >= ``item_core`` interactions
    (repeated until stable, as RecBole does); also what each round dropped, for messages."""
    keep = np.ones(len(user), dtype=bool)
    steps = []
    while True:
        _, u_inv, u_count = np.unique(user[keep], return_inverse=True, return_counts=True)
        _, i_inv, i_count = np.unique(item[keep], return_inverse=True, return_counts=True)
        ok = (u_count[u_inv] >= user_core) & (i_count[i_inv] >= item_core)
        if ok.all():
            return keep, steps
        steps.append(f"{(u_count < user_core).sum()} users and {(i_count < item_core).sum()} items "
                     f"({(~ok).sum()} interactions)")
        idx = np.flatnonzero(keep)
        keep[idx[~ok]] = False


def build_sequences(
    log: InteractionLog,
    *,
    user_core: int = 5,
    item_core: int = 5,
    rating_threshold: float | None = None,
    min_length: int = 3,
    source: str = "the log",
) -> UserSequences:
    """Filter, order and re-index; users need ``min_length`` interactions (leave-one-out needs 3)."""
    for name, value in (("data.user_core", user_core), ("data.item_core", item_core)):
        if value < 0:
            raise AuglabError(f"{name}={value} must be >= 0")
    if rating_threshold is not None:
        if log.rating is None:
            raise AuglabError("data.rating_threshold is set but data.rating_field is not; name the rating column")
        log = log.select(log.rating >= rating_threshold)
        if len(log) == 0:
            raise AuglabError(f"data.rating_threshold={rating_threshold} leaves no interaction in {source}; lower it")
    keep, steps = k_core(log.user, log.item, max(user_core, min_length), item_core)
    if not keep.any():
        raise AuglabError(
            f"k-core filtering (data.user_core={user_core}, data.item_core={item_core}, and leave-one-out's minimum "
            f"of {min_length} per user) left no user in {source}: the rounds dropped {'; '.join(steps)}; lower them"
        )
    log = log.select(keep)
    users, user_idx = np.unique(log.user, return_inverse=True)
    items, item_idx = np.unique(log.item, return_inverse=True)
    # Time order within each user; ties keep the log's order (a stable sort), as RecBole does.
    order = np.lexsort((np.arange(len(log)), log.time, user_idx))
    counts = np.bincount(user_idx, minlength=len(users))
    return UserSequences(item_idx[order].astype(np.int64) + 1, np.concatenate([[0], np.cumsum(counts)]),
                         len(items))
