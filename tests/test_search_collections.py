"""Search collections as the field lays them out: a BEIR folder's own train / dev / test splits (and their
problems, each one line), graded qrels, identical ids left out, PriceRunner's derived shopper queries, and
ranking in chunks or through faiss giving the numbers of ranking in one piece."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from auglab.data.sources import pricerunner
from auglab.data.sources.search_files import read_folder
from auglab.data.sources.shopper_queries import attributes, shopper_collection
from auglab.errors import AuglabError
from auglab.models.bm25 import BM25Retriever
from tests.conftest import build_data, monitoring
from tests.test_search_data import MINILM, write_collection


def _split_folder(tmp_path, sizes=(("train", 20), ("dev", 8), ("test", 12))):
    root = write_collection(tmp_path / "c")
    rows = (root / "qrels" / "all.tsv").read_text().splitlines()
    (root / "qrels" / "all.tsv").unlink()
    queries = list(dict.fromkeys(r.split("\t")[0] for r in rows[1:]))
    start = 0
    for name, count in sizes:
        mine = set(queries[start:start + count])
        start += count
        (root / "qrels" / f"{name}.tsv").write_text("\n".join([rows[0], *(r for r in rows[1:]
                                                                          if r.split("\t")[0] in mine)]) + "\n")
    return root, queries


def test_a_folders_own_splits_are_trained_selected_and_tested_on(tmp_path):
    root, queries = _split_folder(tmp_path)
    dm = build_data("search_files", path=str(root), train_queries=10)
    dm.setup()
    text = {q: t for q, t in ((json.loads(line)["_id"], json.loads(line)["text"])
                              for line in (root / "queries.jsonl").read_text().splitlines())}
    assert sorted(dm.test_set.queries) == sorted(text[q] for q in queries[28:40])
    assert sorted(dm.val_set.queries) == sorted(text[q] for q in queries[20:28])
    assert set(dm.train_names) <= {text[q] for q in queries[:20]} and len(dm.train_names) == 10
    seeded = build_data("search_files", path=str(root), split="seeded")
    seeded.setup()
    assert sorted(seeded.test_set.queries) != sorted(dm.test_set.queries)  # the seeded re-split pools them


def test_without_dev_validation_comes_from_train_and_a_test_only_folder_trains_nothing(tmp_path):
    root, queries = _split_folder(tmp_path, (("train", 25), ("test", 15)))
    dm = build_data("search_files", path=str(root))
    dm.setup()
    assert not set(dm.val_set.queries) & set(dm.train_names) and len(dm.test_set) == 15
    only_test, _ = _split_folder(tmp_path / "t", (("test", 40),))
    zero = build_data("search_files", path=str(only_test))
    zero.setup()
    assert len(zero.train_names) == 0 and len(zero.test_set) == 40


def test_bad_splits_and_grades_fail_in_one_line(tmp_path):
    root, queries = _split_folder(tmp_path)
    dev = (root / "qrels" / "dev.tsv").read_text()
    (root / "qrels" / "test.tsv").write_text((root / "qrels" / "test.tsv").read_text() + dev.split("\n", 1)[1])
    with pytest.raises(AuglabError, match="8 queries are in both dev and test"):
        read_folder(root)
    (root / "qrels" / "train.tsv").unlink()
    (root / "qrels" / "test.tsv").write_text((root / "qrels" / "dev.tsv").read_text())
    with pytest.raises(AuglabError, match="dev without train"):
        read_folder(root)
    other = write_collection(tmp_path / "g")
    for grade, message in (("-1", "not numbers >= 0"), ("high", "not numbers >= 0")):
        rows = (other / "qrels" / "all.tsv").read_text().splitlines()
        rows[1] = "\t".join([*rows[1].split("\t")[:2], grade])
        (other / "qrels" / "all.tsv").write_text("\n".join(rows) + "\n")
        with pytest.raises(AuglabError, match=message):
            read_folder(other)
    (other / "queries.jsonl").write_text("")
    with pytest.raises(AuglabError, match="queries.jsonl is empty"):
        read_folder(other)


def test_graded_qrels_reach_the_evaluation_batch_and_identical_ids_are_left_out(tmp_path):
    root = write_collection(tmp_path / "c", qrels_score=2)
    corpus = (root / "corpus.jsonl").read_text().splitlines()
    first_query = json.loads((root / "queries.jsonl").read_text().splitlines()[0])
    corpus.append(json.dumps({"_id": first_query["_id"], "title": "", "text": first_query["text"]}))  # itself
    (root / "corpus.jsonl").write_text("\n".join(corpus) + "\n")
    qrels = root / "qrels" / "all.tsv"
    qrels.write_text(qrels.read_text() + f"{first_query['_id']}\t{first_query['_id']}\t1\n")
    for ignore in (False, True):
        dm = build_data("search_files", path=str(root), split="seeded", test_fraction=0.5, ignore_identical_ids=ignore)
        dm.setup()
        where = [i for i, q in enumerate(dm.test_set.queries + dm.val_set.queries) if q == first_query["text"]]
        data = dm.test_set if where[0] < len(dm.test_set) else dm.val_set
        i = data.queries.index(first_query["text"])
        x, relevant = dm.collate(train=False)([data[i]])
        itself = len(corpus) - 1
        assert (itself in relevant[0].tolist()) == (not ignore)
        assert int(x["exclude"][0]) == (itself if ignore else -1)
        assert set(x["gains"][0][relevant[0] >= 0].tolist()) <= {1.0, 2.0}


def test_shopper_queries_are_broad_and_attribute_queries_with_graded_offers():
    offers = pricerunner.select_categories(pricerunner.load(), ["Mobile Phones"])
    collection = shopper_collection(offers)
    by_query = dict(zip(collection.queries, zip(collection.relevant, collection.grades, strict=True), strict=True))
    broad, attribute = by_query["samsung phone"], by_query["samsung 64gb phone"]
    assert set(broad[1]) == {2.0} and set(attribute[1]) == {1.0, 2.0}
    assert set(attribute[0]) == set(broad[0])  # the same brand and type, graded by the attribute
    exact = {d for d, g in zip(*attribute, strict=True) if g == 2.0}
    labels = offers.loc[sorted(exact), "Cluster Label"]
    assert all("64gb" in attributes(label) for label in labels)
    assert attributes("Apple iPhone X 256GB Silver") == {"256gb", "silver"}
    assert attributes("Samsung RB29 Rose Gold") == {"rose gold"}


def _bm25(documents, chunk_size, ties="trec_eval"):
    model = BM25Retriever(documents=documents, **{**monitoring("bm25"), "ties": ties, "chunk_size": chunk_size})
    model.index_corpus()
    return model


@pytest.mark.parametrize("ties", ["trec_eval", "pessimistic"])
def test_ranking_in_chunks_equals_ranking_in_one_piece(ties):
    collection = pricerunner.search_collection(pricerunner.load(), ["Microwaves"])
    queries = collection.queries[:64]
    relevant = torch.full((64, max(len(r) for r in collection.relevant[:64])), -1)
    for i, r in enumerate(collection.relevant[:64]):
        relevant[i, :len(r)] = torch.tensor(r)
    x = {"text": queries}
    gains = (relevant >= 0).float()
    whole = _bm25(collection.documents, 10**6, ties).rank(x, relevant, gains)
    chunked = _bm25(collection.documents, 97, ties).rank(x, relevant, gains)
    assert torch.equal(whole[0], chunked[0]) and torch.equal(whole[1], chunked[1])
    assert float(whole[2]) == pytest.approx(float(chunked[2]), rel=1e-5)
    full = torch.from_numpy(np.stack([_bm25(collection.documents, 10**6).bm25.scores(q) for q in queries]))
    assert torch.allclose(full, _bm25(collection.documents, 97).score_chunk(
        _bm25(collection.documents, 97).encode_queries(x), 0, len(collection.documents)), atol=1e-5)


def test_faiss_flat_finds_what_exact_ranking_ranks_in_its_top():
    from auglab.models.vector_index import VectorIndex

    gen = torch.Generator().manual_seed(0)
    documents = torch.nn.functional.normalize(torch.randn(500, 16, generator=gen), dim=1)
    queries = torch.nn.functional.normalize(torch.randn(20, 16, generator=gen), dim=1)
    relevant = torch.randint(0, 500, (20, 3), generator=gen)
    ranks, _, loss, ids = VectorIndex(documents, "flat").rank(queries, relevant, torch.ones(20, 3), 50)
    exact = (queries @ documents.T).argsort(1, descending=True)[:, :50]
    assert loss is None and torch.equal(ids, exact)
    for b in range(20):
        for d in relevant[b]:
            position = (exact[b] == d).nonzero()
            assert (float(position[0, 0]) if len(position) else float("inf")) in ranks[b].tolist()


@pytest.mark.slow
def test_a_beir_collection_downloads_with_its_own_splits_or_says_why_not(tmp_path):
    from auglab.data.sources import beir

    try:
        folder = beir.download("scifact", tmp_path, timeout=20)
    except AuglabError as err:
        pytest.skip(f"no internet here: {err}")
    collection = read_folder(folder)
    assert {"train", "test"} <= set(collection.splits) and len(collection.documents) == 5183


def test_the_corpus_is_embedded_once_per_state_of_the_weights_and_cached_for_a_fixed_checkpoint(tmp_path,
                                                                                              monkeypatch):
    from auglab.models.bi_encoder import BiEncoder

    documents = ["apple iphone 8 64gb", "samsung galaxy s9 black", "bosch dishwasher", "smeg fridge white"]
    calls = []

    def build(trains: bool):
        model = BiEncoder(documents=documents, checkpoint=MINILM, cache_dir=str(tmp_path), zero_shot=not trains,
                          optimizer=torch.optim.AdamW if trains else None, **monitoring("bi_encoder"))
        original = model.encode_texts
        monkeypatch.setattr(model, "encode_texts", lambda texts, **kw: calls.append(len(texts)) or original(texts))
        return model

    fixed = build(trains=False)
    fixed.index_corpus()
    fixed.index_corpus()
    assert calls == [4]  # the same weights: embedded once
    again = build(trains=False)
    again.index_corpus()
    assert calls == [4] and torch.equal(again.corpus_embeddings, fixed.corpus_embeddings)  # from the disk cache
    training = build(trains=True)
    training.index_corpus()
    training.index_corpus()
    with torch.no_grad():
        next(training.encoder.parameters()).add_(0.01)  # a training step changed the weights
    training.index_corpus()
    assert calls == [4, 4, 4]  # embedded again only after the weights changed
    assert len(list((tmp_path / "corpus_embeddings").glob("*.pt"))) == 1  # a model that trains caches no file
