"""Keyboard typos, a noise model of misspelt queries and reviews (after the "key", "swap" and drop
noise of Belinkov & Bisk 2018, arXiv 1711.02173): each whitespace-separated word, with probability
``word_rate``, gets one character edit, drawn from ``ops``:

- ``keyboard``: a letter becomes a neighbouring QWERTY key, in the same case;
- ``swap``: two adjacent, different characters trade places;
- ``drop``: one character is removed.

Words of one character are left alone by swap and drop, so no word disappears. Whitespace is kept.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

import torch

from auglab.augment.text.expansion import expand_offline, torch_seeded_rng
from auglab.errors import OptionError, check_count, check_fraction

OPS = ("keyboard", "swap", "drop")
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours(row: int, col: int) -> str:
    """Keys touching ``_ROWS[row][col]``: both sides, and, as each row sits half a key right of the one
    above, columns ``col, col + 1`` of the row above and ``col - 1, col`` of the row below."""
    spots = [(row, col - 1), (row, col + 1), (row - 1, col), (row - 1, col + 1), (row + 1, col - 1), (row + 1, col)]
    return "".join(_ROWS[r][c] for r, c in spots if 0 <= r < len(_ROWS) and 0 <= c < len(_ROWS[r]))


NEIGHBOURS = {key: _neighbours(r, c) for r, keys in enumerate(_ROWS) for c, key in enumerate(keys)}


def typo(word: str, op: str, rng: random.Random) -> str:
    """``word`` with one ``op`` edit; unchanged when the edit does not apply (no letter, too short)."""
    if op == "keyboard":
        spots = [i for i, ch in enumerate(word) if ch.lower() in NEIGHBOURS]
        if not spots:
            return word
        i = rng.choice(spots)
        key = rng.choice(NEIGHBOURS[word[i].lower()])
        return word[:i] + (key.upper() if word[i].isupper() else key) + word[i + 1:]
    if len(word) < 2:
        return word
    if op == "swap":
        spots = [i for i in range(len(word) - 1) if word[i] != word[i + 1]]  # a swap of "ll" changes nothing
        if not spots:
            return word
        i = rng.choice(spots)
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    i = rng.randrange(len(word))
    return word[:i] + word[i + 1:]


def _check_ops(ops: Sequence[str]) -> tuple[str, ...]:
    ops = (ops,) if isinstance(ops, str) else tuple(ops)  # a config may give one name or a list
    if not ops or any(op not in OPS for op in ops):
        raise OptionError("ops", list(ops), f"a non-empty list of {', '.join(OPS)}")
    return ops


class Typo:
    """Sample stage: ``text`` with typos in about ``word_rate`` of its words, fresh each call (seeded
    from torch's global RNG)."""

    def __init__(self, *, word_rate: float = 0.1, ops: Sequence[str] = OPS) -> None:
        self.word_rate = check_fraction("word_rate", word_rate)
        self.ops = _check_ops(ops)

    def apply(self, text: str, rng: random.Random) -> str:
        """``text`` with typos drawn from ``rng``."""
        parts = re.split(r"(\s+)", text)  # words at even positions, whitespace runs between them
        for i in range(0, len(parts), 2):
            if parts[i] and rng.random() < self.word_rate:
                parts[i] = typo(parts[i], rng.choice(self.ops), rng)
        return "".join(parts)

    def __call__(self, text: str) -> str:
        return self.apply(text, torch_seeded_rng())


class TypoOffline:
    """Offline stage: the texts plus ``n_aug`` typo copies of each, with its label; the same input and
    ``seed`` give the same output."""

    def __init__(self, *, n_aug: int = 1, seed: int = 0, word_rate: float = 0.1, ops: Sequence[str] = OPS) -> None:
        self.typo = Typo(word_rate=word_rate, ops=ops)
        self.n_aug, self.seed = check_count("n_aug", n_aug), seed

    def __call__(self, examples: tuple[list[str], torch.Tensor]) -> tuple[list[str], torch.Tensor]:
        rng = random.Random(self.seed)
        return expand_offline(examples, self.n_aug,
                              lambda text: [self.typo.apply(text, rng) for _ in range(self.n_aug)], "typos")
