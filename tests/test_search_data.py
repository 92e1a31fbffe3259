"""Search: the ranking metrics with several relevant documents and ties, the PriceRunner and BEIR-layout
collections, the query split, the train batches (false negatives, hard negatives) and their bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from auglab.data.search import PriceRunnerSearchDataModule
from auglab.data.sources import pricerunner
from auglab.data.sources.search_files import read_folder
from auglab.errors import AuglabError
from auglab.metrics.ranking import RankingMetrics, per_query, relevant_ranks, target_ranks
from auglab.report.outcomes import metric_function
from tests.conftest import build_data

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def write_collection(root: Path, products: int = 40, seed: int = 0, *, qrels_score: int = 1,
                     qrels: str = "all") -> Path:
    """A BEIR-layout folder of real PriceRunner data: ``products`` phone names as queries, their offers and as
    many other phones' offers as documents; every judgement in ``qrels/<qrels>.tsv`` (``all``: no split of
    the collection's own, so the data module draws one)."""
    full = pricerunner.search_collection(pricerunner.load(), ["Mobile Phones"])
    picked = np.random.default_rng(seed).choice(len(full.queries), 2 * products, replace=False)
    root.mkdir(parents=True, exist_ok=True)
    (root / "qrels").mkdir(exist_ok=True)
    docs = sorted({d for q in picked for d in full.relevant[q]})
    with (root / "corpus.jsonl").open("w") as f:
        for d in docs:
            f.write(json.dumps({"_id": f"d{d}", "title": "", "text": full.documents[d]}) + "\n")
    with (root / "queries.jsonl").open("w") as f:
        for q in picked[:products]:
            f.write(json.dumps({"_id": f"q{q}", "text": full.queries[q]}) + "\n")
    rows = ["query-id\tcorpus-id\tscore"] + [f"q{q}\td{d}\t{qrels_score}" for q in picked[:products]
                                             for d in full.relevant[q]]
    (root / "qrels" / f"{qrels}.tsv").write_text("\n".join(rows) + "\n")
    return root


def test_metrics_with_several_relevant_documents_and_ties_match_hand_computed_values():
    scores = torch.tensor([[0.9, 0.5, 0.5, 0.1, 0.7, 0.5],    # relevant 2 (tied with 1 and 5) and 3
                           [0.2, 0.1, 0.3, 0.3, 0.0, 0.0]])   # relevant 0, behind 2 and 3
    relevant = torch.tensor([[2, 3], [0, -1]])
    ranks = relevant_ranks(scores, relevant)
    # row 0: 0.5 has 0, 4 and both other 0.5s at or above it -> rank 4; 0.1 has all five others above -> 5
    assert ranks.tolist() == [[4.0, 5.0], [2.0, math.inf]]
    metrics = RankingMetrics([1, 5], "test/")
    metrics.update(ranks)
    got = {k: float(v) for k, v in metrics.compute().items()}
    dcg0, idcg0 = 1 / math.log2(4 + 2), 1 + 1 / math.log2(3)  # one of two found at rank 4; ideal: ranks 0 and 1
    expected = {"test/acc": 0.0, "test/recall@1": 0.0, "test/ndcg@1": 0.0, "test/mrr@1": 0.0,
                "test/recall@5": (0.5 + 1.0) / 2, "test/precision@5": (1 / 5 + 1 / 5) / 2,
                "test/f1@5": (2 * 0.2 * 0.5 / 0.7 + 2 * 0.2 * 1.0 / 1.2) / 2,
                "test/ndcg@5": (dcg0 / idcg0 + 1 / math.log2(2 + 2)) / 2, "test/mrr@5": (1 / 5 + 1 / 3) / 2}
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-6), name


def test_relevant_ranks_equal_a_brute_force_count_with_ties_against_the_relevant():
    gen = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 6, (20, 30), generator=gen).float()  # many ties
    relevant = torch.stack([torch.randperm(30, generator=gen)[:4] for _ in range(20)])
    relevant[::3, 2:] = -1
    got = relevant_ranks(scores, relevant)
    for row in range(20):
        rel = [int(d) for d in relevant[row] if d >= 0]
        others = [s for d, s in enumerate(scores[row].tolist()) if d not in rel]
        best_first = sorted((float(scores[row, d]) for d in rel), reverse=True)
        expected = [j + sum(o >= s for o in others) for j, s in enumerate(best_first)]
        assert got[row, :len(rel)].tolist() == expected and torch.isinf(got[row, len(rel):]).all()


def test_one_relevant_item_gives_the_recommenders_numbers_and_the_report_recomputes_them():
    gen = torch.Generator().manual_seed(1)
    scores, targets = torch.randn(50, 200, generator=gen), torch.randint(0, 200, (50,), generator=gen)
    single, several = RankingMetrics([1, 10]), RankingMetrics([1, 10])
    single.update(target_ranks(scores, targets))
    several.update(relevant_ranks(scores, targets[:, None]))
    assert {k: float(v) for k, v in single.compute().items()} == {k: float(v) for k, v in several.compute().items()}
    relevant = torch.randint(0, 200, (50, 3), generator=gen)
    relevant[:, 1:][torch.rand(50, 2, generator=gen) < 0.5] = -1
    ranks = relevant_ranks(scores, relevant)
    logged = RankingMetrics([10])
    logged.update(ranks)
    for name, value in logged.compute().items():
        recompute = metric_function(f"test/{name}", {"ranks": ranks.numpy()})
        assert recompute({"ranks": ranks.numpy()}) == pytest.approx(float(value), abs=1e-6), name
    assert per_query(ranks, 10)["recall"].shape == (50,)


def test_pricerunner_search_has_one_query_per_product_name_and_every_offer_relevant_to_one():
    offers = pricerunner.load()
    full = pricerunner.search_collection(offers)
    assert (len(full.queries), len(full.documents)) == (12849, 35311) and len(set(full.queries)) == 12849
    owners = sorted(d for rel in full.relevant for d in rel)
    assert owners == list(range(35311))  # each offer is relevant to exactly one query
    i = full.queries.index("Apple iPhone 8 Plus 64GB")
    assert all("iphone 8 plus" in full.documents[d] for d in full.relevant[i])
    phones = pricerunner.search_collection(offers, ["Mobile Phones"])
    assert (len(phones.queries), len(phones.documents)) == (1702, 4081)
    with pytest.raises(AuglabError, match="no category 'Phones' in PriceRunner; choose from CPUs, Digital"):
        pricerunner.search_collection(offers, ["Phones"])


def test_the_split_keeps_queries_apart_and_the_corpus_whole_and_small_train_sets_nest():
    def splits(train_queries: int, seed: int = 0) -> PriceRunnerSearchDataModule:
        dm = build_data("pricerunner_search", categories=["Mobile Phones"], train_queries=train_queries,
                        split_seed=seed)
        dm.setup()
        return dm

    small, large = splits(100), splits(1000)
    train, val, test = (set(s.queries) for s in (large.train_set, large.val_set, large.test_set))
    assert not (train & val) and not (train & test) and not (val & test)
    assert len(val) == len(test) == 170 and len(train) == 1000 and len(large.documents) == 4081
    assert set(small.train_set.queries) <= train and small.test_set.queries == large.test_set.queries
    # every offer of a product is on the product's side: relevant documents of train and test queries differ
    train_docs = {d for rel in large.train_relevant for d in rel}
    assert not train_docs & {d for rel in large.test_set.relevant for d in rel}
    assert splits(100, seed=1).test_set.queries != large.test_set.queries
    with pytest.raises(AuglabError, match=r"data.train_queries=5000: the collection leaves 1362 training queries"):
        splits(5000)


def test_train_batches_mask_false_negatives_and_mine_hard_negatives(tmp_path):
    dm = build_data("search_files", path=str(write_collection(tmp_path / "c")), tokenizer=MINILM, hard_negatives=2,
                               batch_size=4)
    dm.setup()
    data = dm.train_set
    for i in range(len(data)):
        query, label, positive, negatives = data[i]
        assert positive in dm.train_relevant[label] and len(negatives) == 2
        assert not set(negatives.tolist()) & set(dm.train_relevant[label])  # mined negatives are never relevant
    collate = dm.collate(train=True)
    # the same query twice: each one's positive is relevant to the other and must not be its negative
    x, y = collate([data[0], data[0], data[1]])
    assert x["input_ids"].shape[0] == 3 and x["doc_input_ids"].shape[0] == 3 * (1 + 2)
    assert x["false_negatives"][0, 1] and x["false_negatives"][1, 0] and not x["false_negatives"][0, 0]
    assert not x["false_negatives"][0, 2] and not x["false_negatives"][2, 0]
    xe, relevant = dm.collate(train=False)([dm.test_set[0], dm.test_set[1]])
    assert relevant.shape == (2, dm.max_relevant) and xe["text"] == dm.test_set.queries[:2]


def test_a_beir_folder_reads_and_its_problems_fail_in_one_line(tmp_path, caplog):
    root = write_collection(tmp_path / "c")
    collection = read_folder(root)
    assert len(collection.queries) == 40 and all(collection.relevant)
    with (root / "queries.jsonl").open("a") as f:  # a query that only another split's qrels would judge
        f.write(json.dumps({"_id": "lonely", "text": "a phone nobody sells"}) + "\n")
    assert len(read_folder(root).queries) == 40 and "1 of 41 queries have no relevant document" in caplog.text

    def fails(match: str) -> None:
        with pytest.raises(AuglabError, match=match):
            read_folder(root)

    (root / "qrels" / "all.tsv").write_text("query-id\tcorpus-id\tscore\nq_unknown\td1\t1\n")
    fails(r"qrels/all.tsv: 1 query ids are not in the query file \(e.g. q_unknown\); fix the qrels")
    (root / "qrels" / "all.tsv").write_text("query\tdoc\nx\ty\n")
    fails(r"all.tsv: no query id column \(query-id or query_id or qid\); columns found: query, doc")
    (root / "queries.jsonl").write_text(json.dumps({"_id": "e", "text": "  "}) + "\n")
    fails(r"queries.jsonl: 1 empty queries \(e.g. id e\); give them text or remove them")
    (root / "queries.jsonl").unlink()
    fails("has no queries.jsonl, queries.csv or queries.tsv; lay it out as BEIR does")
    with pytest.raises(AuglabError, match="is not a folder"):
        read_folder(tmp_path / "missing")
