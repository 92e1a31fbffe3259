"""How many new examples of each class an offline strategy that makes examples adds (generated images,
generated texts): ``ratio`` new ones per real one, in the real split's class proportions, or with
``class_balance`` to the smallest classes first, until every class has as many as the largest, then evenly."""

from __future__ import annotations

import torch


def labels_to_generate(labels: torch.Tensor, num_classes: int, *, ratio: float, class_balance: bool) -> torch.Tensor:
    """The class of each example to make, sorted: ``round(ratio * N)`` of them."""
    counts = torch.bincount(labels, minlength=num_classes)
    total = int(round(ratio * len(labels)))
    if not class_balance:  # the real split's class proportions
        return labels.repeat(int(ratio) + 1)[:total].sort().values
    extra = torch.zeros(num_classes, dtype=torch.long)
    for _ in range(total):  # one at a time to the class with the fewest examples so far
        extra[torch.argmin(counts + extra)] += 1
    return torch.repeat_interleave(torch.arange(num_classes), extra)
