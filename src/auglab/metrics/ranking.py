"""Full-ranking next-item metrics: the target is ranked against every item, never sampled negatives.

Per example, with ``r`` the target's 0-based rank and one relevant item: ``hit@K = [r < K]``,
``recall@K = hit@K``, ``precision@K = hit@K / K``, ``f1@K = 2 P R / (P + R) = hit@K * 2 / (K + 1)``,
``ndcg@K = hit@K / log2(r + 2)``, ``mrr@K = hit@K / (r + 1)``; ``acc = hit@1``. Each is averaged over
examples. Ties count against the target (items scoring the same are ranked ahead of it), so a model
that scores everything alike gets no credit. Sums are states reduced across DDP processes, and the
evaluation sampler is unpadded, so the averages are exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchmetrics import Metric


def target_ranks(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """0-based rank of each target among all scored items: ``scores [B, N]``, ``targets [B]`` -> ``[B]``."""
    target_score = scores.gather(1, targets[:, None])  # [B, 1]
    return (scores >= target_score).sum(1) - 1  # the target itself is one of the >=


class RankingMetrics(Metric):
    """``{prefix}recall@K``, ``ndcg@K``, ``mrr@K``, ``precision@K``, ``f1@K`` for each K, and ``{prefix}acc``."""

    full_state_update = False

    def __init__(self, ks: Sequence[int] = (5, 10, 20), prefix: str = "") -> None:
        super().__init__()
        if not ks or any(int(k) < 1 for k in ks):
            raise ValueError(f"model.ks={list(ks)}: give cut-offs >= 1, e.g. [5, 10, 20]")
        self.ks, self.prefix = sorted({int(k) for k in ks}), prefix
        for name in ("hit", "ndcg", "mrr"):
            self.add_state(name, default=torch.zeros(len(self.ks), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("top1", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def names(self) -> list[str]:
        """The names ``compute`` returns."""
        per_k = [f"{self.prefix}{m}@{k}" for k in self.ks for m in ("recall", "precision", "f1", "ndcg", "mrr")]
        return [f"{self.prefix}acc", *per_k]

    def update(self, ranks: torch.Tensor) -> None:
        ranks = ranks.to(torch.float64)[:, None]  # [B, 1]
        k = torch.tensor(self.ks, dtype=torch.float64, device=ranks.device)[None, :]  # [1, nK]
        hit = (ranks < k).to(torch.float64)  # [B, nK]
        self.hit += hit.sum(0)
        self.ndcg += (hit / torch.log2(ranks + 2)).sum(0)
        self.mrr += (hit / (ranks + 1)).sum(0)
        self.top1 += (ranks == 0).sum()
        self.count += len(ranks)

    def compute(self) -> dict[str, torch.Tensor]:
        n = self.count.clamp_min(1)
        out = {f"{self.prefix}acc": (self.top1 / n).float()}
        for i, k in enumerate(self.ks):
            recall = self.hit[i] / n
            out[f"{self.prefix}recall@{k}"] = recall.float()
            out[f"{self.prefix}precision@{k}"] = (recall / k).float()
            out[f"{self.prefix}f1@{k}"] = (recall * 2 / (k + 1)).float()
            out[f"{self.prefix}ndcg@{k}"] = (self.ndcg[i] / n).float()
            out[f"{self.prefix}mrr@{k}"] = (self.mrr[i] / n).float()
        return out
