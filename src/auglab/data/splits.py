"""Seeded, stratified index selection: validation hold-out and low-data subsamples."""

from __future__ import annotations

import numpy as np

from auglab.errors import AuglabError


def _per_class_indices(labels: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled example indices of each class, classes in sorted order."""
    return [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (keep, holdout) with ``fraction`` of every class held out (at least one)."""
    if not 0 < fraction < 1:
        raise AuglabError(f"data.val_fraction must be between 0 and 1, got {fraction}")
    rng = np.random.default_rng(seed)
    keep, hold = [], []
    for idx in _per_class_indices(labels, rng):
        n_hold = max(1, round(len(idx) * fraction))
        if n_hold >= len(idx):
            raise AuglabError(
                f"a class has only {len(idx)} example(s): too few to hold out {fraction:.0%} for validation"
            )
        hold.append(idx[:n_hold])
        keep.append(idx[n_hold:])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(hold))


def subsample(
    labels: np.ndarray, seed: int, *, per_class: int | None = None, fraction: float | None = None
) -> np.ndarray:
    """Indices of a low-data train subset: ``per_class`` examples of each class, or a stratified ``fraction``."""
    if per_class is not None and fraction is not None:
        raise AuglabError("set data.train_per_class or data.train_fraction, not both")
    all_idx = np.arange(len(labels))
    if per_class is None and fraction is None:
        return all_idx
    if fraction is not None and not 0 < fraction <= 1:
        raise AuglabError(f"data.train_fraction must be in (0, 1], got {fraction}")
    if per_class is not None and per_class < 1:
        raise AuglabError(f"data.train_per_class must be >= 1, got {per_class}")
    rng = np.random.default_rng(seed + 1)  # independent of the hold-out draw
    chosen = []
    for idx in _per_class_indices(labels, rng):
        n = per_class if per_class is not None else max(1, round(len(idx) * fraction))
        chosen.append(idx[:n])  # a class with fewer than per_class examples keeps them all
    return np.sort(np.concatenate(chosen))
