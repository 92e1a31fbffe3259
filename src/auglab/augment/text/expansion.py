"""What the string-editing text transforms (EDA, typos) share: the offline stage's expansion of a train
split into originals plus ``n_aug`` edited copies, and the sample stage's per-call random generator."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable

import torch
from tqdm import tqdm


def torch_seeded_rng() -> random.Random:
    """A Python RNG seeded from one 63-bit draw of torch's global RNG, so that Lightning's seeding, its
    resume and the DataLoader's per-worker seeds govern the sample-stage edits."""
    return random.Random(int(torch.randint(0, 2**63 - 1, ())))


def expand_offline(examples: tuple[list[str], torch.Tensor], n_aug: int, augment: Callable[[str], list[str]],
                   desc: str) -> tuple[list[str], torch.Tensor]:
    """The originals, then ``augment(text)`` (``n_aug`` texts) for each original with its label."""
    texts, labels = list(examples[0]), examples[1]
    quiet = len(texts) < 2000 or not sys.stderr.isatty()  # a bar only where the wait is noticeable
    with tqdm(texts, desc=desc, unit="text", leave=False, disable=quiet) as bar:  # closed before an error prints
        new = [aug for text in bar for aug in augment(text)]
    return texts + new, torch.cat([labels, labels.repeat_interleave(n_aug, dim=0)])
