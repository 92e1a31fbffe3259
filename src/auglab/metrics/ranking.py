"""Full-ranking metrics: each query's (or user's) relevant items are ranked against every item, never
sampled negatives. One home for the recommenders (one relevant item: the next one) and search (every
relevant document, one or many, with graded relevance).

Per example, with ``R`` relevant items (gain > 0), ``found@K`` of them in the top ``K``: ``recall@K = found / R``,
``precision@K = found / K``, ``f1@K = 2 P R / (P + R)``, ``ndcg@K = DCG / IDCG`` with the items' gains
(``DCG = sum over found of gain / log2(rank + 2)``, ``IDCG`` the same for the gains sorted best first; binary
gains where no grades are given), ``map@K`` (the precision at each relevant item found in the top ``K``,
summed, over ``R``), ``mrr@K = 1 / (first rank + 1)`` when that rank is below ``K``; ``acc``: a relevant item
ranked first. These are trec_eval's ``recall_K``, ``P_K``, ``ndcg_cut_K``, ``map_cut_K`` and ir_measures'
``RR@K`` (tested equal on graded, tied rankings). Each is averaged over examples.

Ties. ``trec_eval`` (the default for search): documents with equal scores are ordered by their ids, in
descending string order, as trec_eval and pytrec_eval order them. ``pessimistic`` (the recommenders', and an
option for search): every item scoring the same as a relevant one is ranked ahead of it, so a model that
scores everything alike gets no credit; with float scores of a learned model ties are rare, with BM25 they
are not. Ranks over a large corpus are counted chunk by chunk (``RankCounter``), never holding a queries x
documents matrix beyond one chunk. Sums are states reduced across DDP processes, and the evaluation sampler
is unpadded, so the averages are exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchmetrics import Metric

from auglab.errors import AuglabError, OptionError

PER_K = ("recall", "precision", "f1", "ndcg", "map", "mrr")
TIES = ("trec_eval", "pessimistic")


def target_ranks(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """0-based rank of each target among all scored items: ``scores [B, N]``, ``targets [B]`` -> ``[B]``."""
    target_score = scores.gather(1, targets[:, None])  # [B, 1]
    return (scores >= target_score).sum(1) - 1  # the target itself is one of the >=


def relevant_ranks(scores: torch.Tensor, relevant: torch.Tensor, *, ties: str = "pessimistic",
                   keys: torch.Tensor | None = None) -> torch.Tensor:
    """0-based ranks of each row's relevant items, best first, from a whole score matrix: ``scores [B, N]``,
    ``relevant [B, R]`` ids padded with -1 -> ``[B, R]`` float ranks, ``inf`` in padding (``RankCounter`` in
    one chunk; ``keys``: trec_eval's tie keys, default the items' positions)."""
    keys = torch.arange(scores.shape[1], device=scores.device) if keys is None else keys
    valid = relevant >= 0
    counter = RankCounter(scores.gather(1, relevant.clamp_min(0)), keys[relevant.clamp_min(0)], valid, ties)
    counter.add(scores, keys)
    return counter.ranks()[0]


def tie_keys(ids: Sequence[str]) -> torch.Tensor:
    """trec_eval's order among equal scores, ``[N]``: 0 for the id that comes first (the largest string)."""
    order = sorted(range(len(ids)), key=lambda i: ids[i], reverse=True)
    keys = torch.empty(len(ids), dtype=torch.long)
    keys[torch.tensor(order, dtype=torch.long)] = torch.arange(len(ids))
    return keys


class RankCounter:
    """0-based ranks of each row's relevant documents over a corpus whose scores arrive in chunks.

    ``scores [B, R]``: the relevant documents' own scores (exactly those the chunks will hold), ``keys [B, R]``
    their tie keys, ``valid [B, R]``. ``add(chunk [B, C], chunk_keys [C])`` per chunk; ``ranks()`` returns the
    ranks ``[B, R]`` best first (``inf`` padding) and ``order [B, R]``, the permutation of the input columns
    into that order. Memory is ``O(B C)`` per chunk: each document is placed among the sorted relevant scores
    with ``searchsorted``; only documents tied with a relevant one are compared one by one."""

    def __init__(self, scores: torch.Tensor, keys: torch.Tensor, valid: torch.Tensor, ties: str = "trec_eval"):
        if ties not in TIES:
            raise OptionError("model.ties", ties, f"one of {', '.join(TIES)}")
        self.ties = ties
        scores = scores.masked_fill(~valid, float("-inf"))
        big = torch.iinfo(torch.long).max
        # best first: score descending, then trec_eval's tie key ascending (padding last)
        by_key = keys.masked_fill(~valid, big).argsort(dim=1, stable=True)
        by_score = scores.gather(1, by_key).argsort(dim=1, descending=True, stable=True)
        self.order = by_key.gather(1, by_score)  # [B, R]
        self.scores, self.valid = scores.gather(1, self.order), valid.gather(1, self.order)
        self.keys = keys.masked_fill(~valid, big).gather(1, self.order)
        self.negated = (-self.scores).contiguous()  # ascending, for searchsorted
        self.ahead = torch.zeros(scores.shape, dtype=torch.long, device=scores.device)  # documents ranked before

    def add(self, chunk: torch.Tensor, chunk_keys: torch.Tensor) -> None:
        rows, width = self.scores.shape
        negated = (-chunk).contiguous()
        # p: relevant scores >= the document's (it is strictly ahead of those after them); lo: relevant scores >
        p = torch.searchsorted(self.negated, negated, side="right")  # [B, C] in 0..R
        lo = torch.searchsorted(self.negated, negated, side="left")
        first = lo if self.ties == "pessimistic" else p  # pessimistic: a tie counts as ahead
        histogram = torch.zeros(rows, width + 1, dtype=torch.long, device=chunk.device)
        histogram.scatter_add_(1, first, torch.ones_like(first))
        self.ahead += histogram.cumsum(1)[:, :width]
        if self.ties == "pessimistic":
            return
        b, c = (lo < p).nonzero(as_tuple=True)  # documents scoring exactly as one or more relevant ones
        if len(b) == 0:
            return
        span = (p - lo)[b, c]
        b, c = b.repeat_interleave(span), c.repeat_interleave(span)
        start = torch.repeat_interleave(lo[lo < p], span)
        offset = torch.arange(len(b), device=chunk.device) - torch.repeat_interleave(span.cumsum(0) - span, span)
        j = start + offset
        before = chunk_keys.to(chunk.device)[c] < self.keys[b, j]
        self.ahead.index_put_((b[before], j[before]), torch.ones_like(b[before]), accumulate=True)

    def ranks(self) -> tuple[torch.Tensor, torch.Tensor]:
        ranks = self.ahead.to(torch.float64)
        if self.ties == "pessimistic":  # the relevant ones counted among the ties sit in their own order
            position = torch.arange(self.scores.shape[1], device=ranks.device)[None, :]
            relevant_at_least = torch.searchsorted(self.negated, self.negated, side="right")  # relevant >= each
            ranks = ranks - 1 + position - (relevant_at_least - 1)
        return ranks.masked_fill(~self.valid, float("inf")), self.order


def per_query(ranks: torch.Tensor, k: int, gains: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Each metric at cut-off ``k`` per query: ``ranks [..., R]`` (``inf``: padding, or not retrieved) and
    ``gains [..., R]`` (> 0: relevant; None: every finite rank is a relevant item of gain 1) -> ``[...]``
    float64 each, for ``acc``, ``recall``, ``precision``, ``f1``, ``ndcg``, ``map`` and ``mrr``. The one home
    of the formulas: the runs' metrics and the report's bootstrap over test queries (``report/outcomes.py``)."""
    ranks = ranks.to(torch.float64)
    gains = torch.isfinite(ranks).to(torch.float64) if gains is None else gains.to(torch.float64)
    relevant = gains > 0
    count = relevant.sum(-1).clamp_min(1)  # [...]
    inside = (ranks < k) & relevant  # [..., R]
    found = inside.sum(-1).to(torch.float64)
    recall, precision = found / count, found / k
    f1 = torch.where(found > 0, 2 * precision * recall / (precision + recall), 0.0)
    discount = torch.log2(torch.arange(k, dtype=torch.float64, device=ranks.device) + 2)  # [k]
    dcg = torch.where(inside, gains / torch.log2(ranks.clamp(max=k) + 2), 0.0).sum(-1)
    best = gains.sort(-1, descending=True).values[..., :k]  # the ideal order's gains
    ideal = (best / discount[:best.shape[-1]]).sum(-1)
    ndcg = torch.where(ideal > 0, dcg / ideal, 0.0)
    ordered = torch.where(relevant, ranks, float("inf")).sort(-1).values  # relevant ranks, best first
    hits = torch.arange(1, ordered.shape[-1] + 1, dtype=torch.float64, device=ranks.device)
    average_precision = torch.where(ordered < k, hits / (ordered + 1), 0.0).sum(-1) / count
    first = ordered[..., 0] if ordered.shape[-1] else torch.full(ranks.shape[:-1], float("inf"))
    mrr = torch.where(first < k, 1 / (first + 1), 0.0)
    return {"acc": (first == 0).to(torch.float64), "recall": recall, "precision": precision, "f1": f1,
            "ndcg": ndcg, "map": average_precision, "mrr": mrr}


class RankingMetrics(Metric):
    """``{prefix}recall@K``, ``ndcg@K``, ``map@K``, ``mrr@K``, ``precision@K``, ``f1@K`` for each K, and
    ``{prefix}acc``."""

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

    def update(self, ranks: torch.Tensor, gains: torch.Tensor | None = None) -> None:
        """``ranks [B]`` (one relevant item each) or ``[B, R]`` (``inf`` where a row has fewer than ``R``), with
        their ``gains [B, R]`` where relevance is graded (``per_query``)."""
        ranks = ranks[:, None] if ranks.dim() == 1 else ranks  # [B, R]
        for i, k in enumerate(self.ks):
            values = per_query(ranks, k, gains)
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


def group_metrics(ranks: torch.Tensor, groups: dict[str, torch.Tensor], ks: Sequence[int],
                  prefix: str) -> dict[str, float]:
    """``RankingMetrics``' values for each group of examples: ``ranks [N]`` (one relevant item each) and a bool
    mask ``[N]`` per group -> ``{prefix}{group}/ndcg@10`` etc. (NaN for an empty group)."""
    out = {}
    for group, mask in groups.items():
        chosen = ranks[mask][:, None]  # [n, 1]
        mean = (lambda v: float(v.mean())) if len(chosen) else (lambda v: float("nan"))
        for k in sorted({int(k) for k in ks}):
            values = per_query(chosen, k)
            out.update({f"{prefix}{group}/{name}@{k}": mean(values[name]) for name in PER_K})
        out[f"{prefix}{group}/acc"] = mean(values["acc"])
        out[f"{prefix}{group}/users"] = float(len(chosen))
    return out


def validation_and_test_metrics(ks: Sequence[int], monitor: str) -> tuple[RankingMetrics, RankingMetrics]:
    """A ranking model's ``val/`` and ``test/`` metrics; bad ``model.ks`` or a ``monitor`` they do not log fail
    in one line."""
    val, test = RankingMetrics(ks, "val/"), RankingMetrics(ks, "test/")
    if monitor.startswith("val/") and monitor not in [*val.names(), "val/loss"]:
        raise AuglabError(f"model.monitor={monitor} is not logged; with model.ks={list(ks)} use e.g. "
                          f"val/ndcg@{val.ks[0]}")
    return val, test
