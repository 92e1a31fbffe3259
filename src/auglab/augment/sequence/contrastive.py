"""Contrastive views of training histories (``model`` stage): beside the next-item loss, an InfoNCE loss pulls
together the representations of two views of each history and pushes apart those of the other histories in
the batch (NT-Xent over the 2B views, as SimCLR and the papers below).

- CL4SRec (Xie et al. 2022, arXiv 2010.14395): two views made by crop, mask or reorder (``views``).
- CoSeRec (Liu et al. 2021, arXiv 2108.06479): views also by substituting and inserting correlated items.
- DuoRec (Qiu et al. 2022, arXiv 2110.05730): ``views: {}`` gives the history itself twice, which the encoder's
  dropout makes two views (its unsupervised objective); ``same_target_weight`` adds its supervised one, a
  training history drawn from the whole train split with the same next item as the positive; and
  ``mask_same_target`` removes in-batch negatives with the anchor's own next item (false negatives).

Views come from the device-stage transforms (``augment/sequence/device.py``): whole batches on the device, no
loop over sequences. Their random draws come from the run's resumable stream, like the device stage's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from auglab.augment.context import RunContext, setup_transforms
from auglab.augment.sequence import device
from auglab.augment.sequence.prefixes import prefix_bounds, windows
from auglab.errors import AuglabError, OptionError, check_choice, check_positive

SIMILARITIES = ("dot", "cosine")


def info_nce(a: torch.Tensor, b: torch.Tensor, *, temperature: float, similarity: str,
             same: torch.Tensor | None = None) -> torch.Tensor:
    """NT-Xent of the pairs ``(a[i], b[i])``, ``a, b [B, D]``: each of the 2B views has its pair as positive and
    the other 2B - 2 as negatives; ``same [B, B]`` (bool) marks pairs of histories that are not negatives."""
    z = torch.cat([a, b]).float()  # [2B, D]
    if similarity == "cosine":
        z = F.normalize(z, dim=1)
    logits = z @ z.T / temperature  # [2B, 2B]
    n = len(a)
    excluded = torch.eye(2 * n, dtype=torch.bool, device=z.device)  # a view is not its own negative
    if same is not None:
        excluded = excluded | same.repeat(2, 2)
    positive = torch.arange(2 * n, device=z.device).roll(n)  # i <-> i + B
    excluded[torch.arange(2 * n, device=z.device), positive] = False  # the positive stays, whatever `same` says
    return F.cross_entropy(logits.masked_fill(excluded, float("-inf")), positive)


class SameTargetHistories:
    """Training histories by next item, on the device (DuoRec's supervised positives): the examples sorted by
    target, with each target's first row and count, so a draw is two gathers."""

    def __init__(self) -> None:
        self.tables: dict[str, torch.Tensor] = {}

    def setup(self, items: np.ndarray, offsets: np.ndarray, num_items: int) -> None:
        starts, ends = prefix_bounds(offsets)
        targets = items[ends]
        order = np.argsort(targets, kind="stable")
        count = np.bincount(targets, minlength=num_items + 2)
        self.tables = {"items": torch.as_tensor(items, dtype=torch.int64),
                       "starts": torch.as_tensor(starts[order]), "ends": torch.as_tensor(ends[order]),
                       "first": torch.as_tensor(np.cumsum(count) - count), "count": torch.as_tensor(count)}

    def draw(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """A history ``[B, L]`` per row of ``x [B, L]`` whose next item is ``y``; ``x``'s own row where no training
        history has that next item (never for training batches, whose targets are training targets)."""
        if not self.tables:
            raise RuntimeError("setup must run before draw")
        t = {k: v.to(y.device) for k, v in self.tables.items()}
        self.tables = t  # moved once, kept on the batches' device
        count = t["count"][y]  # [B]
        pick = t["first"][y] + (torch.rand(len(y), device=y.device) * count).long()  # [B]
        pick = torch.where(count > 0, pick, 0)
        drawn = windows(t["items"], t["starts"][pick], t["ends"][pick], x.shape[1])
        return torch.where((count > 0)[:, None], drawn, x)


class ContrastiveViews:
    """``weight`` x InfoNCE of two views of each history (``views``: device-stage transforms applied in order,
    independently for each view; empty: the history itself, views by dropout) plus ``same_target_weight`` x
    InfoNCE of the history and a training history with the same next item; ``temperature`` divides the
    similarities (``dot`` or ``cosine``)."""

    def __init__(self, *, views: dict | None = None, weight: float = 0.1, same_target_weight: float = 0.0,
                 temperature: float = 1.0, similarity: str = "dot", mask_same_target: bool = False) -> None:
        self.views = [t for t in (views or {}).values() if t is not None]
        for name, view in (views or {}).items():
            if view is not None and type(view).__module__ != device.__name__:
                raise OptionError(f"views.{name}", type(view).__name__,
                                  "a sequence transform of auglab.augment.sequence (SeqCrop, SeqMask, SeqReorder, ...)")
        for name, value in (("weight", weight), ("same_target_weight", same_target_weight)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise OptionError(name, value, "a number >= 0")
        self.weight, self.same_target_weight = float(weight), float(same_target_weight)
        self.temperature = check_positive("temperature", temperature)
        self.similarity = check_choice("similarity", similarity, SIMILARITIES)
        if not isinstance(mask_same_target, bool):
            raise OptionError("mask_same_target", mask_same_target, "true or false")
        self.mask_same_target = mask_same_target
        self.same_target = SameTargetHistories()

    def setup(self, context: RunContext) -> None:
        setup_transforms(self.views, context)
        if self.same_target_weight > 0:  # context.train: the final train split's sequences
            train = context.train
            self.same_target.setup(train.items, train.offsets, int(train.num_items))

    def view(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        for transform in self.views:
            x, _ = transform(x, y)
        return x

    def __call__(self, module: Any, x: torch.Tensor, y: torch.Tensor, loss: torch.Tensor,
                 z: torch.Tensor | None = None) -> torch.Tensor:
        if self.weight == 0 and self.same_target_weight == 0:  # switched off: no pass, no draw, the plain run
            return loss
        if not hasattr(module, "encode"):
            raise AuglabError(f"augment: contrastive views need a model that encodes histories; "
                              f"{type(module).__name__} does not")
        options = {"temperature": self.temperature, "similarity": self.similarity,
                   "same": (y[:, None] == y[None, :]) if self.mask_same_target else None}
        extra = loss.new_zeros(())
        if self.weight > 0:
            a, b = module.encode(self.view(x, y)), module.encode(self.view(x, y))  # [B, D] each
            extra = extra + self.weight * info_nce(a, b, **options)
        if self.same_target_weight > 0:
            positive = self.same_target.draw(x, y)  # [B, L]
            extra = extra + self.same_target_weight * info_nce(module.encode(x), module.encode(positive), **options)
        module.record_contrastive_loss(extra, len(y))
        return loss + extra
