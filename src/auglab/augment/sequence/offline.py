"""Offline sequence expansion (Song & Suh 2022, arXiv 2203.14037; DA4Rec): new training sequences
added beside the originals before prefix expansion, so every new example still predicts the item
that really came next in its own sequence. Seeded by ``seed``; the input is the train split's
list of item arrays (validation and test targets are not in it)."""

from __future__ import annotations

import numpy as np

from auglab.errors import check_count, check_open_fraction


class SubsetSplit:
    """``n_aug`` copies of each sequence with every item but the last dropped with ``drop_rate``."""

    def __init__(self, *, n_aug: int = 1, drop_rate: float = 0.25, seed: int = 0) -> None:
        self.n_aug, self.drop_rate = check_count("n_aug", n_aug), check_open_fraction("drop_rate", drop_rate)
        self.seed = seed

    def __call__(self, sequences: list[np.ndarray]) -> list[np.ndarray]:
        rng = np.random.default_rng(self.seed)
        new = []
        for _ in range(self.n_aug):
            for seq in sequences:
                if len(seq) < 3:
                    continue  # nothing to drop that leaves a prefix example
                keep = rng.random(len(seq)) >= self.drop_rate
                keep[-1] = True
                if keep.sum() >= 2:
                    new.append(seq[keep])
        return list(sequences) + new


class SlidingWindow:
    """Windows of ``window`` consecutive items every ``stride`` items of sequences longer than
    ``window``: short, recent-context copies of long histories."""

    def __init__(self, *, window: int = 10, stride: int = 5) -> None:
        self.window, self.stride = check_count("window", window, minimum=2), check_count("stride", stride)

    def __call__(self, sequences: list[np.ndarray]) -> list[np.ndarray]:
        new = []
        for seq in sequences:
            for start in range(1, len(seq) - self.window + 1, self.stride):  # start 0 is the original's prefix
                new.append(seq[start:start + self.window])
        return list(sequences) + new
