"""Seeded, stratified index selection: test and validation hold-outs and low-data subsamples."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from auglab.errors import AuglabError


def _per_class_indices(labels: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled example indices of each class, classes in sorted order."""
    return [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]


def _class_name(labels: np.ndarray, k: int, class_names: Sequence[str] | None) -> str:
    label = int(np.unique(labels)[k])
    return repr(class_names[label]) if class_names is not None else str(label)


def stratified_holdout(
    labels: np.ndarray,
    seed: int,
    *,
    fraction: float | None = None,
    per_class: int | None = None,
    option: str = "data.val_fraction",
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (keep, holdout): ``per_class`` examples of every class, else ``fraction`` (at least one).

    ``option`` names the setting in error messages.
    """
    if per_class is not None:
        if per_class < 1:
            raise AuglabError(f"{option}={per_class} must be >= 1")
    elif fraction is None or not 0 < fraction < 1:
        raise AuglabError(f"{option} must be between 0 and 1 (exclusive), got {fraction}")
    rng = np.random.default_rng(seed)
    keep, hold = [], []
    for idx in _per_class_indices(labels, rng):
        n_hold = per_class if per_class is not None else max(1, round(len(idx) * fraction))
        if n_hold >= len(idx):
            raise AuglabError(
                f"{option}={per_class if per_class is not None else fraction}: a class has only {len(idx)} "
                "example(s), too few to hold that many out and still train; lower it"
            )
        hold.append(idx[:n_hold])
        keep.append(idx[n_hold:])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(hold))


def subsample(
    labels: np.ndarray,
    seed: int,
    *,
    per_class: int | None = None,
    fraction: float | None = None,
    class_names: Sequence[str] | None = None,
) -> np.ndarray:
    """Indices of a low-data train subset: ``per_class`` examples of each class, or a stratified ``fraction``.

    Asking for more examples of a class than exist is an error: the run would not be the one asked for.
    """
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
    per_class_idx = _per_class_indices(labels, rng)
    if per_class is not None:
        smallest = min(range(len(per_class_idx)), key=lambda k: len(per_class_idx[k]))
        available = len(per_class_idx[smallest])
        if per_class > available:
            raise AuglabError(
                f"data.train_per_class={per_class} but class {_class_name(labels, smallest, class_names)} has only "
                f"{available} training examples after the validation hold-out; use at most {available}, "
                "or data.train_fraction"
            )
    for idx in per_class_idx:
        n = per_class if per_class is not None else max(1, round(len(idx) * fraction))
        chosen.append(idx[:n])
    return np.sort(np.concatenate(chosen))
