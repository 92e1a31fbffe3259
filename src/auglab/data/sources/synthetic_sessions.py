"""Seeded synthetic e-commerce sessions with known structure, at any scale.

Items belong to categories and have Zipf popularity within them. Each user prefers a few categories
(Dirichlet). A sequence is a Markov chain: after an item, its co-purchase partner follows with
``p_copurchase``, an earlier item of the sequence recurs with ``p_repeat``, the user moves to another
preferred category with ``p_switch``, else a popular item of the current category comes next. So the
next item is partly predictable from the last one (co-purchase), from the history (repeats) and from
the category: strategies that break order (reorder) or context (crop) can be seen to help or hurt.
Generated step by step over all users at once (numpy), 10^6 interactions in about a second.
"""

from __future__ import annotations

import numpy as np

from auglab.data.user_sequences import UserSequences
from auglab.errors import AuglabError


def _check(name: str, value: float, low: float, high: float | None = None) -> None:
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f">= {low}"
        raise AuglabError(f"data.{name}={value}: must be {bound}")


def generate(
    *,
    num_users: int = 2000,
    num_items: int = 1000,
    num_categories: int = 20,
    mean_length: float = 20.0,
    min_length: int = 5,
    max_length: int = 200,
    p_copurchase: float = 0.3,
    p_repeat: float = 0.1,
    p_switch: float = 0.15,
    seed: int = 0,
) -> UserSequences:
    """Sequences of item ids 1..num_items (every user has at least ``min_length``)."""
    for name, value, low in (("num_users", num_users, 1), ("num_items", num_items, 2),
                             ("num_categories", num_categories, 1), ("min_length", min_length, 3)):
        _check(name, value, low)
    _check("max_length", max_length, min_length)
    _check("mean_length", mean_length, min_length, max_length)
    for name, value in (("p_copurchase", p_copurchase), ("p_repeat", p_repeat), ("p_switch", p_switch)):
        _check(name, value, 0.0, 1.0)
    if p_switch + p_copurchase + p_repeat > 1:
        raise AuglabError(f"data.p_switch + data.p_copurchase + data.p_repeat = {p_switch + p_copurchase + p_repeat:g} "
                          "exceeds 1 (they share one draw per step); lower them")
    if num_categories > num_items:
        raise AuglabError(f"data.num_categories={num_categories} exceeds data.num_items={num_items}")
    rng = np.random.default_rng(seed)
    category = rng.permutation(np.arange(num_items) % num_categories)  # [I]
    members = [np.flatnonzero(category == c) for c in range(num_categories)]
    sizes = np.array([len(m) for m in members])
    table = np.full((num_categories, sizes.max()), -1)  # [C, max members], members by popularity
    for c, m in enumerate(members):
        table[c, : len(m)] = rng.permutation(m)
    partner = table[category, (rng.random(num_items) * sizes[category]).astype(np.int64)]  # [I] co-purchase
    prefs = rng.dirichlet(np.full(num_categories, 0.3), size=num_users)  # [U, C]

    lengths = np.clip(rng.geometric(1.0 / (mean_length - min_length + 1), num_users) + min_length - 1,
                      min_length, max_length)
    seqs = np.zeros((num_users, lengths.max()), dtype=np.int64)  # [U, T]
    users = np.arange(num_users)
    cur_cat = (prefs.cumsum(1) > rng.random((num_users, 1))).argmax(1)

    def popular_in(cats: np.ndarray) -> np.ndarray:  # Zipf(1.1) rank within the category
        rank = np.minimum(rng.zipf(1.1, len(cats)) - 1, sizes[cats] - 1)
        return table[cats, rank]

    seqs[:, 0] = popular_in(cur_cat)
    for t in range(1, seqs.shape[1]):
        u = rng.random(num_users)
        switch = u < p_switch
        cur_cat = np.where(switch, (prefs.cumsum(1) > rng.random((num_users, 1))).argmax(1), cur_cat)
        nxt = popular_in(cur_cat)
        copurchase = (u >= p_switch) & (u < p_switch + p_copurchase)
        nxt = np.where(copurchase, partner[seqs[:, t - 1]], nxt)
        repeat = (u >= p_switch + p_copurchase) & (u < p_switch + p_copurchase + p_repeat)
        earlier = seqs[users, (rng.random(num_users) * t).astype(np.int64)]
        seqs[:, t] = np.where(repeat, earlier, nxt)
    mask = np.arange(seqs.shape[1])[None, :] < lengths[:, None]
    return UserSequences(seqs[mask] + 1, np.concatenate([[0], np.cumsum(lengths)]), num_items)
