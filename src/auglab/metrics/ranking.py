"""Full-ranking metrics: each query's (or user's) relevant items are ranked against every item, never
sampled negatives. One home for the recommenders (one relevant item: the next one) and search (every offer
of the product sought: one or many).

Per example, with ``R`` relevant items and ``found@K`` of them in the top ``K``: ``recall@K = found / R``,
``precision@K = found / K``, ``f1@K = 2 P R / (P + R)``, ``ndcg@K = DCG / IDCG`` with binary gains
(``DCG = sum over found of 1 / log2(rank + 2)``, ``IDCG`` the same for the best order, ``min(R, K)`` items),
``mrr@K = 1 / (first rank + 1)`` when that rank is below ``K``; ``acc``: a relevant item ranked first. Each
is averaged over examples. With one relevant item these are ``hit@K``, ``hit@K / K``, ``2 hit@K / (K + 1)``,
``hit@K / log2(r + 2)`` and ``hit@K / (r + 1)``. Ties count against the relevant items (other items scoring
the same are ranked ahead of them), so a model that scores everything alike gets no credit. Sums are states
reduced across DDP processes, and the evaluation sampler is unpadded, so the averages are exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchmetrics import Metric

from auglab.errors import AuglabError, OptionError

PER_K = ("recall", "precision", "f1", "ndcg", "mrr")


def target_ranks(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """0-based rank of each target among all scored items: ``scores [B, N]``, ``targets [B]`` -> ``[B]``."""
    target_score = scores.gather(1, targets[:, None])  # [B, 1]
    return (scores >= target_score).sum(1) - 1  # the target itself is one of the >=


def relevant_ranks(scores: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """0-based ranks of each row's relevant items, best first: ``scores [B, N]``, ``relevant [B, R]`` item ids
    padded with -1 -> ``[B, R]`` float ranks, ``inf`` in padding. The ``j``-th best relevant item is ranked
    after the ``j`` better relevant ones and after every other item scoring at least as high (ties against)."""
    valid = relevant >= 0  # [B, R]
    rel = scores.gather(1, relevant.clamp_min(0)).masked_fill(~valid, float("-inf"))  # [B, R]
    rel, order = rel.sort(1, descending=True)
    valid = valid.gather(1, order)
    # items scoring >= each relevant score, without sorting the N scores: an item is >= rel[j] for every j from
    # the number of relevant scores above it on, so a histogram of that number, summed up, counts them
    above = torch.searchsorted(-rel.contiguous(), -scores.contiguous(), side="left")  # [B, N] in 0..R
    histogram = torch.zeros(rel.shape[0], rel.shape[1] + 1, dtype=torch.long, device=scores.device)
    histogram.scatter_add_(1, above, torch.ones_like(above))
    at_least = histogram.cumsum(1)[:, :-1]  # [B, R]
    relevant_at_least = ((rel[:, None, :] >= rel[:, :, None]) & valid[:, None, :]).sum(-1)  # [B, R]
    j = torch.arange(rel.shape[1], device=rel.device)[None, :]
    ranks = (j + at_least - relevant_at_least).to(torch.float64)
    return ranks.masked_fill(~valid, float("inf"))


def per_query(ranks: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
    """Each metric at cut-off ``k`` per query: ``ranks [..., R]`` (``inf`` padding) -> ``[...]`` float64 each,
    for ``acc``, ``recall``, ``precision``, ``f1``, ``ndcg`` and ``mrr``. The one home of the formulas: the runs'
    metrics and the report's bootstrap over test queries (``report/outcomes.py``) both use it."""
    ranks = ranks.to(torch.float64)
    relevant = torch.isfinite(ranks).sum(-1).clamp_min(1)  # [...]
    inside = ranks < k  # [..., R]
    found = inside.sum(-1).to(torch.float64)
    recall, precision = found / relevant, found / k
    f1 = torch.where(found > 0, 2 * precision * recall / (precision + recall), 0.0)
    dcg = (inside / torch.log2(ranks + 2)).sum(-1)
    ideal = torch.cumsum(1 / torch.log2(torch.arange(k, dtype=torch.float64, device=ranks.device) + 2), 0)  # [k]
    ndcg = dcg / ideal[(torch.minimum(relevant, torch.tensor(k, device=ranks.device)) - 1).long()]
    first = ranks.min(-1).values
    mrr = torch.where(first < k, 1 / (first + 1), 0.0)
    return {"acc": (first == 0).to(torch.float64), "recall": recall, "precision": precision, "f1": f1,
            "ndcg": ndcg, "mrr": mrr}


class RankingMetrics(Metric):
    """``{prefix}recall@K``, ``ndcg@K``, ``mrr@K``, ``precision@K``, ``f1@K`` for each K, and ``{prefix}acc``."""

    full_state_update = False

    def __init__(self, ks: Sequence[int] = (5, 10, 20), prefix: str = "") -> None:
        super().__init__()
        if not ks or any(int(k) < 1 for k in ks):
            raise OptionError("model.ks", list(ks), "cut-offs >= 1, e.g. [5, 10, 20]")
        self.ks, self.prefix = sorted({int(k) for k in ks}), prefix
        for name in PER_K:
            self.add_state(name, default=torch.zeros(len(self.ks), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("top1", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def names(self) -> list[str]:
        """The names ``compute`` returns."""
        return [f"{self.prefix}acc", *(f"{self.prefix}{m}@{k}" for k in self.ks for m in PER_K)]

    def update(self, ranks: torch.Tensor) -> None:
        """``ranks [B]`` (one relevant item each) or ``[B, R]`` (``inf`` where a row has fewer than ``R``)."""
        ranks = ranks[:, None] if ranks.dim() == 1 else ranks  # [B, R]
        for i, k in enumerate(self.ks):
            values = per_query(ranks, k)
            for name in PER_K:
                getattr(self, name)[i] += values[name].sum()
        self.top1 += values["acc"].sum()
        self.count += len(ranks)

    def compute(self) -> dict[str, torch.Tensor]:
        n = self.count.clamp_min(1)
        out = {f"{self.prefix}acc": (self.top1 / n).float()}
        for i, k in enumerate(self.ks):
            for name in PER_K:
                out[f"{self.prefix}{name}@{k}"] = (getattr(self, name)[i] / n).float()
        return out


def validation_and_test_metrics(ks: Sequence[int], monitor: str) -> tuple[RankingMetrics, RankingMetrics]:
    """A ranking model's ``val/`` and ``test/`` metrics; bad ``model.ks`` or a ``monitor`` they do not log fail
    in one line."""
    val, test = RankingMetrics(ks, "val/"), RankingMetrics(ks, "test/")
    if monitor.startswith("val/") and monitor not in [*val.names(), "val/loss"]:
        raise AuglabError(f"model.monitor={monitor} is not logged; with model.ks={list(ks)} use e.g. "
                          f"val/ndcg@{val.ks[0]}")
    return val, test
