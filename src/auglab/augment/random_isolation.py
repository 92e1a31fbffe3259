"""Work that must not move the run's random streams: an offline stage that trains a model of its own (a
generator, a behaviour simulator) draws from its own seed, so the recommender or classifier trained after it
sees the same random stream with or without that stage."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


@contextmanager
def isolated_random_state() -> Iterator[None]:
    """Whatever runs inside leaves torch's, numpy's and Python's random states as they were."""
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
