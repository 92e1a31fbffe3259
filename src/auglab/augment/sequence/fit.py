"""What sequence transforms learn from the train split before training (``setup(context)`` with
``context.train``, the final train split): the catalogue size, and item neighbours by co-occurrence."""

from __future__ import annotations

import numpy as np
import torch

from auglab.augment.context import RunContext
from auglab.errors import check_count


class ItemCatalogue:
    """Knows ``num_items`` (ids 1..num_items) and the mask item ``num_items + 1`` after ``setup``."""

    def __init__(self) -> None:
        self.num_items = 0

    @property
    def mask_item(self) -> int:
        return self.num_items + 1

    def setup(self, context: RunContext) -> None:  # context.train: UserSequences
        self.num_items = int(context.train.num_items)


def cooccurrence_neighbours(items: np.ndarray, offsets: np.ndarray, num_items: int, *, window: int,
                            top_k: int) -> np.ndarray:
    """``[num_items + 2, top_k]``: each item's ``top_k`` most frequent neighbours within ``window``
    positions in the same sequence (ties by smaller id); missing neighbours repeat the item itself."""
    seq_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    rows, cols = [], []
    for d in range(1, window + 1):
        same = seq_of[d:] == seq_of[:-d]
        a, b = items[:-d][same], items[d:][same]
        rows += [a, b]
        cols += [b, a]
    rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    cols = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    off_diag = rows != cols
    pair = rows[off_diag] * (num_items + 2) + cols[off_diag]
    pairs, counts = np.unique(pair, return_counts=True)
    r, c = pairs // (num_items + 2), pairs % (num_items + 2)
    order = np.lexsort((c, -counts, r))  # per row: most frequent first
    r, c = r[order], c[order]
    rank = np.arange(len(r)) - np.searchsorted(r, r)  # position within its row
    table = np.repeat(np.arange(num_items + 2)[:, None], top_k, axis=1)
    first = rank < top_k
    table[r[first], rank[first]] = c[first]
    # Rows with fewer than top_k neighbours: cycle through the ones they have instead of self.
    have = np.bincount(r, minlength=num_items + 2).clip(max=top_k)
    for j in range(1, top_k):
        short = (have > 0) & (have <= j)
        table[short, j] = table[short, j % np.maximum(have[short], 1)]
    return table


class CooccurrenceNeighbours(ItemCatalogue):
    """Item neighbour table from the train split; kept on the device of the batches it serves."""

    def __init__(self, *, top_k: int, window: int) -> None:
        super().__init__()
        self.top_k, self.window = check_count("top_k", top_k), check_count("window", window)
        self._table: torch.Tensor | None = None

    def setup(self, context: RunContext) -> None:
        super().setup(context)
        train = context.train
        self._table = torch.as_tensor(cooccurrence_neighbours(
            train.items, train.offsets, self.num_items, window=self.window, top_k=self.top_k))

    def table(self, device: torch.device) -> torch.Tensor:
        if self._table is None:
            raise RuntimeError("setup(context) must run before the transform is used")
        if self._table.device != device:
            self._table = self._table.to(device)
        return self._table
