"""User-behaviour sequences for next-item recommendation (docs/architecture.md, "Sequences").

Split: chronological leave-one-out per user, RecBole's protocol. For a user's items ``s[0..n-1]``:
test predicts ``s[n-1]`` from ``s[:n-1]``, validation predicts ``s[n-2]`` from ``s[:n-2]``, and
training sees ``s[:n-2]`` only, expanded into one example per prefix (``s[:t] -> s[t]``, t >= 1).
Augmentation works on the training sequences (offline stage) and on padded training batches (batch
and device stages), so it never touches a validation or test target or the history that scores it.

Batches are ``(x, y)``: ``x`` int64 ``[B, L]`` with the most recent ``L = max_len`` history items
left-aligned (oldest first) and 0 as padding after them, ``y`` int64 ``[B]`` the next item. Rows are
built for a whole batch at once (``Dataset.__getitems__``), not item by item.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import Dataset

from auglab.augment.sequence.prefixes import prefix_bounds, windows
from auglab.augment.sequence.simulated import later_interaction_rate
from auglab.data.base import AugmentedDataModule
from auglab.data.sources import interactions, synthetic_sessions
from auglab.data.user_sequences import UserSequences, build_sequences
from auglab.errors import AuglabError, check_count, check_fraction
from auglab.storage.fingerprint import fingerprint

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class PrefixDataset(Dataset):
    """Examples ``(items[start:end][-L:], items[end])`` over a flat item array."""

    def __init__(self, items: np.ndarray, starts: np.ndarray, ends: np.ndarray, max_len: int) -> None:
        self.items = torch.as_tensor(items, dtype=torch.int64)
        self.starts, self.ends = torch.as_tensor(starts), torch.as_tensor(ends)
        self.max_len = max_len

    def __len__(self) -> int:
        return len(self.ends)

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.as_tensor(indices)
        end = self.ends[idx]
        return windows(self.items, self.starts[idx], end, self.max_len), self.items[end]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.__getitems__([i])
        return x[0], y[0]


def prefix_examples(seqs: UserSequences, max_len: int) -> PrefixDataset:
    """Every prefix of every sequence: ``s[:t] -> s[t]`` for 1 <= t < len(s)."""
    return PrefixDataset(seqs.items, *prefix_bounds(seqs.offsets), max_len)


class BatchCollate:
    """The batch is already built by ``__getitems__``; on the train loader run the batch stage."""

    def __init__(self, stage: Callable | None = None) -> None:
        self.stage = stage

    def __call__(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.stage(*batch) if self.stage is not None else batch


class SequenceDataModule(AugmentedDataModule):
    """Leave-one-out next-item data; the low-data option keeps a seeded subset of users' training data."""

    kind = "sequence"

    def __init__(
        self,
        *,
        max_len: int,
        train_users: int | None,
        train_user_fraction: float | None,
        short_history: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_len = check_count("data.max_len", max_len)
        self.short_history = None if short_history is None else check_count("data.short_history", short_history)
        self.train_lengths = np.zeros(0, dtype=np.int64)  # each user's training items, in test order
        self.train_users, self.train_user_fraction = train_users, train_user_fraction
        self.num_items = 0

    def load_sequences(self) -> UserSequences:
        raise NotImplementedError

    def data_facts(self) -> dict[str, Any]:
        return {"num_items": self.num_items, "max_len": self.max_len}

    def preview_figure(self, batch: Any, count: int = 8) -> Figure:
        """The first ``count`` histories as item ids (mask item ``num_items + 1``), then their next item."""
        from auglab.figures.batch_previews import sequence_rows  # matplotlib only when drawing

        x, y = batch
        return sequence_rows(x[:count], y[:count], self.num_items + 1, self.augment.name)

    def collate(self, *, train: bool) -> Callable | None:
        return BatchCollate(self.augment.apply_batch if train and self.augment.batch else None)

    def test_groups(self) -> dict[str, np.ndarray]:
        """Test users (dataset order) by training history, when ``data.short_history`` is set: ``short`` (fewer
        training items than it) and ``long``; the model logs ``test/<group>/<metric>`` for each."""
        if self.short_history is None:
            return {}
        short = self.train_lengths < self.short_history
        return {"short": short, "long": ~short}

    def _training_users(self, num_users: int) -> np.ndarray:
        """All users, or the seeded low-data subset whose training sequences are used."""
        if self.train_users is not None and self.train_user_fraction is not None:
            raise AuglabError("set data.train_users or data.train_user_fraction, not both")
        if self.train_users is not None:
            if not 1 <= self.train_users <= num_users:
                raise AuglabError(f"data.train_users={self.train_users}: the data has {num_users} users; "
                                  f"use 1 to {num_users}")
            count = self.train_users
        elif self.train_user_fraction is not None:
            check_fraction("data.train_user_fraction", self.train_user_fraction, above_zero=True)
            count = max(1, round(num_users * self.train_user_fraction))
        else:
            return np.arange(num_users)
        return np.sort(np.random.default_rng(self.split_seed).permutation(num_users)[:count])

    def build_splits(self) -> tuple[Dataset, Dataset, Dataset]:
        if self.augment.sample:
            raise AuglabError(f"augment={self.augment.name} has sample-stage transforms; sequence strategies run "
                              "offline, batch or device")
        seqs = self.load_sequences()
        self.num_items = seqs.num_items
        self.data_hash = fingerprint(seqs.items, seqs.offsets)
        starts, ends = seqs.offsets[:-1], seqs.offsets[1:]
        self.train_lengths = ends - starts - 2
        val = PrefixDataset(seqs.items, starts, ends - 2, self.max_len)
        test = PrefixDataset(seqs.items, starts, ends - 1, self.max_len)
        users = self._training_users(seqs.num_users)
        train_seqs = [seqs.items[starts[u]:ends[u] - 2] for u in users]
        # list of item arrays -> list of item arrays
        train_seqs = self.augment.apply_offline(train_seqs, self.transform_context(train_seqs))
        for report in self.augment.offline_report.values():
            if "all_prepended" in report:  # simulated behaviour: measured against what the user really did next
                held_out = [seqs.items[ends[u] - 2:ends[u]] for u in users]  # each user's validation, test item
                later_interaction_rate(report, held_out)
        train = UserSequences.from_list(train_seqs, seqs.num_items)
        self.augment.setup(self.transform_context(train))  # e.g. item co-occurrence of the train split
        train_set = prefix_examples(train, self.max_len)
        if len(train_set) == 0:
            raise AuglabError(f"no training example: each of the {len(users)} training users has fewer than 4 "
                              "interactions (one for test, one for validation, two to train); use more users "
                              "(data.train_users / data.train_user_fraction) or a higher data.user_core")
        self.split_sizes = {"train": len(train_set), "val": len(val), "test": len(test),
                            "users": seqs.num_users, "items": seqs.num_items, "train_users": len(users)}
        return train_set, val, test


class InteractionsDataModule(SequenceDataModule):
    """A user's log: RecBole ``.inter``, CSV, TSV or Parquet with configurable fields."""

    def __init__(
        self,
        *,
        path: str | None = None,
        format: str = "auto",
        user_field: str = "user_id",
        item_field: str = "item_id",
        time_field: str = "timestamp",
        rating_field: str | None = None,
        rating_threshold: float | None = None,
        user_core: int = 5,
        item_core: int = 5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path, self.format = path, format
        self.fields = {"user_field": user_field, "item_field": item_field, "time_field": time_field,
                       "rating_field": rating_field}
        self.rating_threshold, self.user_core, self.item_core = rating_threshold, user_core, item_core

    def log_path(self) -> str:
        if not self.path:
            raise AuglabError("data.path is not set; point data.path at an interaction log (.inter, .csv, .tsv, "
                              ".parquet)")
        return self.path

    def load_sequences(self) -> UserSequences:
        path = self.log_path()
        log = interactions.read_interactions(path, fmt=self.format, **self.fields)
        return build_sequences(log, user_core=self.user_core, item_core=self.item_core,
                               rating_threshold=self.rating_threshold, source=str(path))


class MovieLens100kDataModule(InteractionsDataModule):
    """MovieLens-100k: 943 users, 1,682 movies, 100,000 ratings (the embedded default)."""

    def log_path(self) -> str:
        return self.path or str(interactions.movielens_100k_path())


class SyntheticSessionsDataModule(SequenceDataModule):
    """Seeded synthetic sessions (``data/sources/synthetic_sessions.py``), any size."""

    def __init__(self, *, generator_seed: int = 0, num_users: int = 2000, num_items: int = 1000,
                 num_categories: int = 20, mean_length: float = 20.0, p_copurchase: float = 0.3,
                 p_repeat: float = 0.1, p_switch: float = 0.15, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.options = {"seed": generator_seed, "num_users": num_users, "num_items": num_items,
                        "num_categories": num_categories, "mean_length": mean_length,
                        "p_copurchase": p_copurchase, "p_repeat": p_repeat, "p_switch": p_switch}

    def load_sequences(self) -> UserSequences:
        return synthetic_sessions.generate(**self.options)
