"""Seeded, stratified index selection: test and validation hold-outs and low-data subsamples.

With ``groups`` (e.g. the product each PriceRunner offer belongs to) a group never straddles two splits:
near-duplicate examples of one product would otherwise leak from training into evaluation. A group's
examples share a label."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from auglab.errors import AuglabError, check_count, check_fraction, check_open_fraction


def _per_class_indices(labels: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled example indices of each class, classes in sorted order."""
    return [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]


def _class_name(labels: np.ndarray, k: int, class_names: Sequence[str] | None) -> str:
    label = int(np.unique(labels)[k])
    return repr(class_names[label]) if class_names is not None else str(label)


def _check_holdout(option: str, per_class: int | None, fraction: float | None) -> None:
    if per_class is not None:
        check_count(option, per_class)
    else:
        check_open_fraction(option, fraction)


def _check_subsample(per_class: int | None, fraction: float | None) -> None:
    if per_class is not None and fraction is not None:
        raise AuglabError("set data.train_per_class or data.train_fraction, not both")
    if fraction is not None:
        check_fraction("data.train_fraction", fraction, above_zero=True)
    if per_class is not None:
        check_count("data.train_per_class", per_class)


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
    _check_holdout(option, per_class, fraction)
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
    _check_subsample(per_class, fraction)
    all_idx = np.arange(len(labels))
    if per_class is None and fraction is None:
        return all_idx
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


def _class_groups(labels: np.ndarray, groups: np.ndarray,
                  rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per class (sorted): its example indices and its groups in a shuffled order."""
    out = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        out.append((idx, rng.permutation(np.unique(groups[idx]))))
    return out


def _one_per_group(idx: np.ndarray, groups: np.ndarray, chosen: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One example of each chosen group, drawn at random."""
    return np.array([rng.choice(idx[groups[idx] == g]) for g in chosen], dtype=np.int64)


def grouped_holdout(labels: np.ndarray, groups: np.ndarray, seed: int, *, fraction: float | None = None,
                    per_class: int | None = None, option: str = "data.val_fraction") -> tuple[np.ndarray, np.ndarray]:
    """(keep, holdout) by whole groups: ``per_class`` groups of every class, one example of each (the rest of
    those groups is dropped), else ``fraction`` of every class's groups with all their examples."""
    _check_holdout(option, per_class, fraction)
    rng = np.random.default_rng(seed)
    keep, hold = [], []
    for idx, order in _class_groups(labels, groups, rng):
        n = per_class if per_class is not None else max(1, round(len(order) * fraction))
        if n >= len(order):
            raise AuglabError(f"{option}={per_class if per_class is not None else fraction}: a class has only "
                              f"{len(order)} product(s), too few to hold that many out and still train; lower it")
        held = np.isin(groups[idx], order[:n])
        hold.append(_one_per_group(idx, groups, order[:n], rng) if per_class is not None else idx[held])
        keep.append(idx[~held])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(hold))


def grouped_subsample(labels: np.ndarray, groups: np.ndarray, seed: int, *, per_class: int | None = None,
                      fraction: float | None = None, class_names: Sequence[str] | None = None) -> np.ndarray:
    """A low-data train subset by groups: ``per_class`` groups of each class, one example of each (diverse
    products, not offers of one), or ``fraction`` of each class's groups with all their examples."""
    _check_subsample(per_class, fraction)
    if per_class is None and fraction is None:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed + 1)  # independent of the hold-out draws
    chosen = []
    for k, (idx, order) in enumerate(_class_groups(labels, groups, rng)):
        if per_class is not None and per_class > len(order):
            raise AuglabError(f"data.train_per_class={per_class} but class {_class_name(labels, k, class_names)} has "
                              f"only {len(order)} products after the hold-outs; use at most {len(order)}, or "
                              "data.train_fraction")
        if per_class is not None:
            chosen.append(_one_per_group(idx, groups, order[:per_class], rng))
        else:
            chosen.append(idx[np.isin(groups[idx], order[:max(1, round(len(order) * fraction))])])
    return np.sort(np.concatenate(chosen))
