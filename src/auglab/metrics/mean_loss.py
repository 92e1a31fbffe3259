"""The epoch's loss: the example-weighted mean of the per-batch losses, summed over DDP ranks."""

from __future__ import annotations

import torch
from torchmetrics import Metric


class MeanLoss(Metric):
    """``sum(loss_b * n_b) / sum(n_b)``. torchmetrics' MeanMetric checks every update for NaN, which makes
    the host wait for the GPU each step (the models' check_finite guards NaN already), and with
    ``nan_strategy="disable"`` it drops the weights (torchmetrics 1.9), so it would average batches."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("total", default=torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, loss: torch.Tensor, count: int) -> None:
        self.total += loss.detach() * count  # same float32 products as MeanMetric(value, weight=count)
        self.count += count

    def compute(self) -> torch.Tensor:
        return self.total / self.count
