"""auglab's search metrics equal trec_eval's (pytrec_eval) on the same rankings: graded
relevance, many ties, several relevant documents, scores arriving in chunks; the pessimistic tie rule equals
a brute-force count."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from auglab.metrics.ranking import RankCounter, per_query, tie_keys

pytrec_eval = pytest.importorskip("pytrec_eval")


def _collection(rng: np.random.Generator, queries: int = 40, documents: int = 300):
    """Scores with many ties (a few distinct values), graded qrels, string ids that sort unlike their order."""
    ids = [f"d{rng.integers(10**6)}-{i}" for i in range(documents)]
    scores = rng.integers(0, 6, (queries, documents)).astype(np.float32) / 2  # ties everywhere
    qrels, relevant, gains = {}, [], []
    for q in range(queries):
        docs = rng.choice(documents, rng.integers(1, 12), replace=False)
        grades = rng.integers(1, 4, len(docs))
        qrels[f"q{q}"] = {ids[d]: int(g) for d, g in zip(docs, grades, strict=True)}
        relevant.append(docs.tolist())
        gains.append(grades.astype(float).tolist())
    return ids, scores, qrels, relevant, gains


def _auglab(ids, scores, relevant, gains, k, chunk):
    keys = tie_keys(ids)
    width = max(len(r) for r in relevant)
    rel = torch.full((len(relevant), width), -1, dtype=torch.long)
    gain = torch.zeros(len(relevant), width, dtype=torch.float64)
    for i, (r, g) in enumerate(zip(relevant, gains, strict=True)):
        rel[i, :len(r)], gain[i, :len(g)] = torch.tensor(r), torch.tensor(g)
    s = torch.from_numpy(scores)
    own = s.gather(1, rel.clamp_min(0))
    counter = RankCounter(own, keys[rel.clamp_min(0)], rel >= 0, "trec_eval")
    for start in range(0, s.shape[1], chunk):
        counter.add(s[:, start:start + chunk], keys[start:start + chunk])
    ranks, order = counter.ranks()
    return per_query(ranks, k, gain.gather(1, order))


@pytest.mark.parametrize("chunk", [1000, 37])
def test_metrics_equal_trec_eval_on_graded_tied_rankings(chunk):
    rng = np.random.default_rng(0)
    ids, scores, qrels, relevant, gains = _collection(rng)
    run = {f"q{q}": {ids[d]: float(scores[q, d]) for d in range(len(ids))} for q in range(len(scores))}
    # one entry per measure, its cut-offs together (pytrec_eval keeps one parameter set per measure)
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.10,100", "map_cut.100", "P.5"})
    expected = evaluator.evaluate(run)
    for name, measure, k in (("ndcg", "ndcg_cut_10", 10), ("recall", "recall_100", 100), ("map", "map_cut_100", 100),
                             ("precision", "P_5", 5), ("recall", "recall_10", 10)):
        got = _auglab(ids, scores, relevant, gains, k, chunk)[name].numpy()
        want = np.array([expected[f"q{q}"][measure] for q in range(len(scores))])
        np.testing.assert_allclose(got, want, atol=1e-12, err_msg=measure)
    # MRR@10: trec_eval's recip_rank (the first relevant document's reciprocal rank), 0 beyond rank 10
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(run)
    got = _auglab(ids, scores, relevant, gains, 10, chunk)["mrr"].numpy()
    want = [rr[f"q{q}"]["recip_rank"] if rr[f"q{q}"]["recip_rank"] >= 0.1 else 0.0 for q in range(len(scores))]
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_graded_ndcg_differs_from_binary_where_trec_eval_says():
    # qrels {A: 2, B: 1} ranked B, A: trec_eval 0.86; binary gains would give 1.0
    ranks = torch.tensor([[1.0, 0.0]])  # A second, B first
    graded = per_query(ranks, 10, torch.tensor([[2.0, 1.0]]))["ndcg"]
    expected = (1 / np.log2(2) + 2 / np.log2(3)) / (2 / np.log2(2) + 1 / np.log2(3))
    assert float(graded) == pytest.approx(expected) and round(expected, 2) == 0.86
    assert float(per_query(ranks, 10)["ndcg"]) == 1.0


def test_pessimistic_ties_count_every_equal_document_ahead():
    rng = np.random.default_rng(1)
    scores = torch.from_numpy(rng.integers(0, 4, (20, 50)).astype(np.float32))
    relevant = torch.stack([torch.from_numpy(rng.choice(50, 5, replace=False)) for _ in range(20)])
    counter = RankCounter(scores.gather(1, relevant), torch.zeros_like(relevant), torch.ones_like(relevant, dtype=bool),
                          "pessimistic")
    for start in range(0, 50, 13):
        chunk = scores[:, start:start + 13]
        counter.add(chunk, torch.zeros(chunk.shape[1], dtype=torch.long))
    ranks, order = counter.ranks()
    for b in range(20):
        rel = relevant[b, order[b]]
        for j, d in enumerate(rel):
            s = scores[b, d]
            others = int(((scores[b] >= s).sum()) - ((scores[b, relevant[b]] >= s).sum()))
            assert ranks[b, j] == j + others  # after every equal non-relevant one, and the better relevant ones
