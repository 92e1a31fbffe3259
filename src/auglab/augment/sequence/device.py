"""Device-stage sequence augmentations: whole padded batches on the accelerator, one random draw per
sequence, no Python loop over sequences.

Input ``x`` int64 ``[B, L]``: each row's history left-aligned (oldest first), 0 as padding after it;
``y [B]`` is the next item and is never changed. Every transform keeps that layout, keeps at least
one item and keeps item ids in ``1..num_items + 1`` (``num_items + 1`` is the mask item). ``p`` is
the chance that a sequence is augmented at all. References: CL4SRec (Xie et al. 2022) for crop,
mask, reorder; Song & Suh 2022 (arXiv 2203.14037) for insertion of repeated items (redundancy) and of
random items (noise) and for similar-item substitution.
"""

from __future__ import annotations

import torch

from auglab.augment.context import RunContext, setup_transforms
from auglab.augment.sequence.fit import CooccurrenceNeighbours, ItemCatalogue
from auglab.errors import AuglabError, check_fraction


def _chosen(x: torch.Tensor, p: float) -> torch.Tensor:
    """Which rows to augment ``[B]`` (bool)."""
    return torch.rand(len(x), device=x.device) < p


def _positions(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``pos [1, L]`` and lengths ``n [B, 1]``."""
    return torch.arange(x.shape[1], device=x.device)[None, :], (x > 0).sum(1, keepdim=True)


def _by_key(values: torch.Tensor, key: torch.Tensor, keep: torch.Tensor, length: int) -> torch.Tensor:
    """Kept values ordered by ``key`` and left-aligned in ``length`` columns; beyond ``length``
    the oldest are dropped (as the data keeps the most recent ``max_len`` items)."""
    span = (key.max() - key.min() + 1) if key.numel() else 0
    order = torch.where(keep, key, key + span).argsort(dim=1, stable=True)  # kept first, in key order
    packed = values.gather(1, order)  # [B, M]
    count = keep.sum(1, keepdim=True)  # [B, 1]
    offset = (count - length).clamp_min(0)
    idx = offset + torch.arange(length, device=values.device)[None, :]
    out = packed.gather(1, idx.clamp(max=values.shape[1] - 1))
    return torch.where(idx < count, out, 0)


def _window_start(n: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """A uniform start ``[B, 1]`` for a window of ``k`` items inside a history of ``n`` (both ``[B, 1]``)."""
    start = (torch.rand_like(n, dtype=torch.float) * (n - k + 1)).long()
    return torch.minimum(start, n - k)  # a draw rounded up to 1.0 would reach past the history


def _k_random_positions(x: torch.Tensor, n: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``k [B, 1]`` distinct real (non-padding) positions per row of histories of ``n [B, 1]`` items,
    uniformly at random: ``positions [B, max(k)]`` (distinct within a row) and ``chosen [B, max(k)]``,
    whether each is one of the k.

    A partial Fisher-Yates shuffle run on the whole batch at once: step ``i`` swaps position ``i``
    with a uniform draw from ``i..n-1``, and the first ``k`` positions are the sample. ``max(k)`` steps
    of a few batched ops cost less than ranking ``L`` random keys per row (topk or sort)."""
    most = int(k.max()) if k.numel() else 0
    order = torch.arange(x.shape[1], device=x.device).expand(len(x), -1).clone()  # [B, L]
    step = torch.arange(most, device=x.device)[None, :]  # [1, most]
    swap = (step + torch.rand((len(x), most), device=x.device) * (n - step)).long()
    # a draw rounded up to n stays inside the history; a row shorter than the step swaps in place,
    # so padding is never drawn into the sample
    swap = torch.minimum(swap, n - 1).maximum(step)  # [B, most]
    for i in range(most):
        j = swap[:, i : i + 1]  # [B, 1]
        here = order[:, i : i + 1].clone()
        order[:, i : i + 1] = order.gather(1, j)
        order.scatter_(1, j, here)
    return order[:, :most], step < k


def _replace_at(x: torch.Tensor, positions: torch.Tensor, chosen: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """``x`` with ``values [B, m]`` written at the chosen ones of ``positions [B, m]`` (distinct per row)."""
    return x.clone().scatter_(1, positions, torch.where(chosen, values, x.gather(1, positions)))


class SeqCrop:
    """Keep a random contiguous ``eta`` share of each history (at least one item)."""

    def __init__(self, *, eta: float = 0.6, p: float = 1.0) -> None:
        self.eta, self.p = check_fraction("eta", eta), check_fraction("p", p)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pos, n = _positions(x)
        k = torch.where(_chosen(x, self.p)[:, None], (n * self.eta).floor().long().clamp_min(1), n)
        start = _window_start(n, k)
        idx = (start + pos).clamp(max=x.shape[1] - 1)  # a shift to the left: a gather, no sort
        return torch.where(pos < k, x.gather(1, idx), 0), y


class SeqMask(ItemCatalogue):
    """Replace a random ``gamma`` share of each history's items with the mask item."""

    def __init__(self, *, gamma: float = 0.3, p: float = 1.0) -> None:
        super().__init__()
        self.gamma, self.p = check_fraction("gamma", gamma), check_fraction("p", p)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, n = _positions(x)
        k = (n * self.gamma).floor().long() * _chosen(x, self.p)[:, None]  # [B, 1] items to mask
        positions, chosen = _k_random_positions(x, n, k)
        return _replace_at(x, positions, chosen, torch.full_like(positions, self.mask_item)), y


class SeqReorder:
    """Shuffle a random contiguous ``beta`` share of each history."""

    def __init__(self, *, beta: float = 0.3, p: float = 1.0) -> None:
        self.beta, self.p = check_fraction("beta", beta), check_fraction("p", p)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pos, n = _positions(x)
        k = (n * self.beta).floor().long() * _chosen(x, self.p)[:, None]  # [B, 1] window sizes
        most = int(k.max()) if len(x) else 0
        if most < 2:
            return x, y
        start = _window_start(n, k)  # [B, 1]
        slot = torch.arange(most, device=x.device)[None, :]
        # a random permutation of 0..k-1 in each row's first k slots: only the window is ranked,
        # not the whole history
        shuffle = torch.rand((len(x), most), device=x.device).masked_fill_(slot >= k, 2.0).argsort(dim=1)
        inside = (pos >= start) & (pos < start + k)  # [B, L]
        moved = start + shuffle.gather(1, (pos - start).clamp(0, most - 1))
        return x.gather(1, torch.where(inside, moved, pos)), y


class _Insert:
    """Insert ``rate`` x length new items (at least one when rate > 0) at random places before the
    most recent item, which stays last; the oldest items give way when the history is full."""

    def __init__(self, *, rate: float, p: float) -> None:
        self.rate, self.p = check_fraction("rate", rate), check_fraction("p", p)

    def new_items(self, x: torch.Tensor, n: torch.Tensor, m: int) -> torch.Tensor:
        """``m`` items per row ``[B, m]``; ``n [B, 1]`` holds the history lengths."""
        raise NotImplementedError

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pos, n = _positions(x)
        k = (n * self.rate).ceil().long() * _chosen(x, self.p)[:, None]  # [B, 1]
        m = int(k.max()) if len(x) else 0
        if m == 0:
            return x, y
        slot = torch.arange(m, device=x.device)[None, :]
        new_key = torch.rand((len(x), m), device=x.device) * n - 1  # in (-1, n - 1): before the last item
        values = torch.cat([x, self.new_items(x, n, m)], 1)  # [B, L + m]
        key = torch.cat([pos.float().expand_as(x), new_key], 1)
        keep = torch.cat([pos < n, slot < k], 1)
        return _by_key(values, key, keep, x.shape[1]), y


class SeqInsert(_Insert):
    """Redundancy injection: insert copies of items already in the history."""

    def __init__(self, *, rate: float = 0.2, p: float = 1.0) -> None:
        super().__init__(rate=rate, p=p)

    def new_items(self, x: torch.Tensor, n: torch.Tensor, m: int) -> torch.Tensor:
        pick = (torch.rand((len(x), m), device=x.device) * n).long()  # [B, m] positions in the history
        return x.gather(1, pick)


class SeqNoise(_Insert, ItemCatalogue):
    """Noise injection: insert items drawn uniformly from the catalogue."""

    def __init__(self, *, rate: float = 0.1, p: float = 1.0) -> None:
        _Insert.__init__(self, rate=rate, p=p)
        ItemCatalogue.__init__(self)

    def new_items(self, x: torch.Tensor, n: torch.Tensor, m: int) -> torch.Tensor:
        return torch.randint(1, self.num_items + 1, (len(x), m), device=x.device)


class SeqCorrelatedInsert(_Insert, CooccurrenceNeighbours):
    """Correlated insertion (CoSeRec, Liu et al. 2021): insert, for random items of the history, one of their
    ``top_k`` most co-occurring items in the train split (placed at random before the last item, as the other
    insertions are; CoSeRec places each beside the item it correlates with)."""

    def __init__(self, *, rate: float = 0.2, top_k: int = 5, window: int = 3, p: float = 1.0) -> None:
        _Insert.__init__(self, rate=rate, p=p)
        CooccurrenceNeighbours.__init__(self, top_k=top_k, window=window)

    def new_items(self, x: torch.Tensor, n: torch.Tensor, m: int) -> torch.Tensor:
        table = self.table(x.device)  # [num_items + 2, top_k]
        source = x.gather(1, (torch.rand((len(x), m), device=x.device) * n).long())  # [B, m] history items
        choice = (torch.rand((len(x), m), device=x.device) * table.shape[1]).long()
        return table[source, choice]


class SeqSubstitute(CooccurrenceNeighbours):
    """Replace a random ``rate`` share of each history's items with one of their ``top_k`` most
    co-occurring items in the train split (an item with no neighbour stays)."""

    def __init__(self, *, rate: float = 0.2, top_k: int = 5, window: int = 3, p: float = 1.0) -> None:
        super().__init__(top_k=top_k, window=window)
        self.rate, self.p = check_fraction("rate", rate), check_fraction("p", p)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        table = self.table(x.device)  # [num_items + 2, top_k]
        _, n = _positions(x)
        k = (n * self.rate).ceil().long() * _chosen(x, self.p)[:, None]
        positions, chosen = _k_random_positions(x, n, k)  # [B, m]
        choice = (torch.rand(positions.shape, device=x.device) * table.shape[1]).long()
        similar = table[x.gather(1, positions)].gather(2, choice[..., None])[..., 0]  # [B, m]
        return _replace_at(x, positions, chosen, similar), y


class SeqOneOf:
    """Each sequence gets one of ``transforms``, chosen uniformly per sequence (CL4SRec draws one of
    crop, mask and reorder per view); every transform runs on the whole batch, rows are then picked."""

    def __init__(self, *, transforms: dict, p: float = 1.0) -> None:
        self.transforms = [t for t in transforms.values() if t is not None]
        if not self.transforms:
            raise AuglabError("SeqOneOf needs at least one transform")
        self.p = check_fraction("p", p)

    def setup(self, context: RunContext) -> None:
        setup_transforms(self.transforms, context)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outs = torch.stack([t(x, y)[0] for t in self.transforms])  # [T, B, L]
        pick = torch.randint(len(self.transforms), (len(x),), device=x.device)
        out = outs[pick, torch.arange(len(x), device=x.device)]
        return torch.where(_chosen(x, self.p)[:, None], out, x), y
