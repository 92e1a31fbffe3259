"""Evaluation sampling under DDP that counts every example exactly once."""

from __future__ import annotations

from collections.abc import Iterator

import torch.distributed as dist
from torch.utils.data import Dataset, DistributedSampler


class UnpaddedDistributedSampler(DistributedSampler):
    """Rank r takes examples r, r+W, r+2W, ...: no padding, so ranks may get one example fewer.

    ``DistributedSampler`` repeats examples to even out ranks, which counts them twice in test
    metrics. Lightning leaves a loader alone when its sampler is already a ``DistributedSampler``.
    """

    def __init__(self, dataset: Dataset, num_replicas: int | None = None, rank: int | None = None) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False, drop_last=False)
        self.num_samples = len(range(self.rank, len(dataset), self.num_replicas))  # type: ignore[arg-type]
        self.total_size = len(dataset)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.total_size, self.num_replicas))


def eval_sampler(dataset: Dataset) -> UnpaddedDistributedSampler | None:
    """The sampler for a validation or test loader: unpadded under DDP, default otherwise."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return UnpaddedDistributedSampler(dataset)
    return None
