"""One home for next-item recommenders: item embeddings, full-ranking scores, the loss, ranking metrics.

A subclass encodes a padded history ``x [B, L]`` (left-aligned, 0 = padding) into ``h [B, D]``;
the score of every item is ``h @ E^T`` with ``E`` the item embedding table (tied, as in RecBole).
Row 0 of ``E`` is padding and row ``num_items + 1`` the mask item of ``seq_mask``: neither is ever
scored, so ranks run over the ``num_items`` real items.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from auglab.errors import AuglabError, check_choice, check_count
from auglab.metrics.mean_loss import MeanLoss
from auglab.metrics.per_example import PerExample
from auglab.metrics.ranking import group_metrics, target_ranks, validation_and_test_metrics
from auglab.models.attack_surface import AttackSurface, embedding_rms
from auglab.models.base import AuglabModule

LOSSES = ("ce", "bpr", "sampled_softmax")


def last_index(x: torch.Tensor) -> torch.Tensor:
    """Position of each row's last real item: ``x [B, L]`` (left-aligned) -> ``[B]`` (0 for an empty row)."""
    return ((x > 0).sum(1) - 1).clamp_min(0)


def last_position(states: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The state at each row's last real item: ``states [B, L, D]``, ``x [B, L]`` -> ``[B, D]``."""
    return states[torch.arange(len(x), device=x.device), last_index(x)]


class SequentialRecommender(AttackSurface, AuglabModule):
    """Cross-entropy over all items by default; ``bpr`` (one negative) and ``sampled_softmax`` as options.
    Adversarial examples perturb the item embeddings of the history (never padding), epsilon relative to the
    embeddings' RMS (APR's perturbation of embeddings, for a sequence encoder)."""

    data_kinds = ("sequence",)

    def __init__(
        self,
        *,
        num_items: int,
        max_len: int,
        embedding_size: int = 64,
        loss: str = "ce",
        num_negatives: int = 100,
        ks: Sequence[int],
        monitor: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(monitor=monitor, **kwargs)
        check_choice("model.loss", loss, LOSSES)
        check_count("model.num_negatives", num_negatives)
        if loss != "ce" and num_items < 2:
            raise AuglabError(f"model.loss={loss} samples negatives but the data has {num_items} item; use loss=ce")
        self.num_items, self.max_len, self.loss_name, self.num_negatives = num_items, max_len, loss, num_negatives
        self.mask_item = num_items + 1
        self.item_embedding = nn.Embedding(num_items + 2, embedding_size, padding_idx=0)
        self.val_metrics, self.test_metrics = validation_and_test_metrics(ks, monitor)
        self.train_loss, self.val_loss, self.test_loss = MeanLoss(), MeanLoss(), MeanLoss()
        self.test_examples = PerExample()  # each test user's target and its rank

    def encode_from(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """``x [B, L]`` and its item embeddings ``e [B, L, D]`` -> ``h [B, D]``."""
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, L]`` -> ``h [B, D]``."""
        return self.encode_from(x, self.item_embedding(x))

    def attack_input(self, x: torch.Tensor) -> torch.Tensor:  # [B, L, D]
        return self.item_embedding(x)

    def attack_output(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:  # the state h [B, D]
        return self.encode_from(x, z)

    def attack_loss(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self._loss_from_state(h, y)

    def attack_mask(self, x: torch.Tensor) -> torch.Tensor:  # [B, L, 1]: padding is never perturbed
        return (x > 0)[..., None].to(torch.float32)

    def attack_scale(self) -> float:
        return embedding_rms(self.item_embedding.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scores of every item ``[B, num_items + 2]``; padding and mask columns are ``-inf``."""
        return self._scores(self.encode(x))

    def _scores(self, h: torch.Tensor) -> torch.Tensor:  # [B, D] -> [B, num_items + 2]
        with torch.autocast(h.device.type, enabled=False):  # float32 scores: low precision would tie many items
            scores = h.float() @ self.item_embedding.weight.float().T
        scores[:, 0] = float("-inf")
        scores[:, self.mask_item] = float("-inf")
        return scores

    def _negatives(self, y: torch.Tensor, n: int) -> torch.Tensor:
        """Uniform items 1..num_items ``[B, n]``; one equal to the target is moved to the next id."""
        neg = torch.randint(1, self.num_items + 1, (len(y), n), device=y.device)
        clash = neg == y[:, None]
        return torch.where(clash, neg % self.num_items + 1, neg)

    def next_item_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The configured training loss of histories ``x [B, L]`` for next items ``y [B]`` (no augmentation)."""
        return self._loss_from_state(self.encode(x), y)

    def _loss_from_state(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The configured training loss of states ``h [B, D]`` for next items ``y [B]``."""
        if self.loss_name == "ce":
            return F.cross_entropy(self._scores(h), y)
        n = 1 if self.loss_name == "bpr" else self.num_negatives
        items = torch.cat([y[:, None], self._negatives(y, n)], 1)  # [B, 1 + n], target first
        logits = (h[:, None, :] * self.item_embedding(items)).sum(-1)  # [B, 1 + n]
        if self.loss_name == "bpr":
            return -F.logsigmoid(logits[:, 0] - logits[:, 1]).mean()
        return F.cross_entropy(logits, torch.zeros_like(y))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        z = self.clean_input(x)  # None: no model-stage transform needs the clean pass's input
        clean = self.next_item_loss(x, y) if z is None else self.attack_loss(self.attack_output(x, z), y)
        loss = self.model_stage(x, y, clean, z)  # e.g. adversarial examples; train/loss stays the clean one
        self.check_finite(loss, "train")
        self.train_loss.update(clean, len(y))
        return loss

    def _eval_step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> None:
        x, y = batch
        scores = self(x)  # [B, N + 2]
        loss = F.cross_entropy(scores, y)
        self.check_finite(loss, stage)
        getattr(self, f"{stage}_loss").update(loss, len(y))
        ranks = target_ranks(scores, y)
        getattr(self, f"{stage}_metrics").update(ranks)
        if stage == "test":
            self.test_examples.add(target=y, rank=ranks)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def on_train_epoch_end(self) -> None:
        self.log_epoch("train", self.train_loss)

    def on_validation_epoch_end(self) -> None:
        self.log_epoch("val", self.val_loss, self.val_metrics)

    def on_test_epoch_end(self) -> None:
        self.log_epoch("test", self.test_loss, self.test_metrics)
        self.test_predictions = self.test_examples.gather(self)  # every rank: all users, in dataset order
        groups = getattr(getattr(self._trainer, "datamodule", None), "test_groups", dict)()  # e.g. short/long users
        if groups and self.test_predictions:
            ranks = torch.as_tensor(self.test_predictions["rank"])
            masks = {name: torch.as_tensor(mask) for name, mask in groups.items()}
            self.log_dict(group_metrics(ranks, masks, self.test_metrics.ks, "test/"))
            self.test_predictions.update({f"group_{name}": mask for name, mask in groups.items()})  # for the report
