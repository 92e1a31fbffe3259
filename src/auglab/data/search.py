"""Search datamodules: queries split three ways, a corpus that stays whole, and train batches of (query,
relevant document) pairs for in-batch negatives (``models/bi_encoder.py``).

A collection with splits of its own (BEIR's ``qrels/train``, ``dev``, ``test``) is trained on train,
selected on dev (drawn from train when there is none) and tested on test; ``split=seeded``, or a collection
without them, splits the queries by a seeded permutation (test, then validation, then the train pool).
``train_queries`` takes the first N of the seeded train pool, so for one seed 100 training queries are a
subset of 1,000. The offline stage
sees the train queries as labelled texts ``(queries, labels)``: label ``i`` is train query ``i``, and a query
an augmentation writes (EDA copy, typo, LLM query) carries the label, hence the relevant documents, of the one
it came from. Each time a train query is drawn, one of its relevant documents is drawn as its positive.
A strategy's corpus stage (document expansion) runs first, on the documents alone: models index, embed and
train against its output (``documents``), and the collection's own texts stay as ``titles``.
Evaluation batches carry the query texts (for BM25), their tokens (for encoders), the relevant documents
``[B, R]`` (-1 padded) and their graded ``gains`` ``[B, R]``, and with ``ignore_identical_ids`` the document
each query must not retrieve (its own id, ``exclude [B]``); every model ranks the whole corpus
(``metrics/ranking.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from auglab.augment import AugmentationStrategy, RunContext
from auglab.data.base import AugmentedDataModule
from auglab.data.sources import pricerunner
from auglab.data.sources.search_files import SearchCollection, read_folder
from auglab.data.sources.shopper_queries import shopper_collection
from auglab.errors import AuglabError, check_choice, check_count, check_open_fraction
from auglab.pretrained import hf_checkpoint
from auglab.pretrained.text_batch import padded
from auglab.storage.fingerprint import fingerprint


class TrainQueries(Dataset):
    """Train queries with labels; item ``i``: the (sample-stage edited) query, its label, a relevant document
    drawn at random, and its mined hard negatives."""

    def __init__(self, queries: list[str], labels: torch.Tensor, relevant: Sequence[Sequence[int]],
                 negatives: torch.Tensor, transform: Callable | None = None) -> None:
        self.queries, self.labels, self.relevant, self.negatives = queries, labels, relevant, negatives
        self.transform = transform

    def __len__(self) -> int:
        return len(self.queries)

    def __getitem__(self, i: int) -> tuple[str, int, int, torch.Tensor]:
        label = int(self.labels[i])
        docs = self.relevant[label]
        positive = docs[int(torch.randint(len(docs), ()))] if len(docs) > 1 else docs[0]
        query = self.transform(self.queries[i]) if self.transform is not None else self.queries[i]
        return query, label, positive, self.negatives[i]


class EvalQueries(Dataset):
    """Item ``i``: the query, its relevant documents, their grades, the document to leave out (-1: none) and the
    query's index in the collection (which tells the report two runs tested the same queries)."""

    def __init__(self, queries: list[str], relevant: Sequence[Sequence[int]], grades: Sequence[Sequence[float]],
                 exclude: Sequence[int], index: Sequence[int]) -> None:
        self.queries, self.relevant, self.grades, self.exclude, self.index = queries, relevant, grades, exclude, index

    def __len__(self) -> int:
        return len(self.queries)

    def __getitem__(self, i: int) -> tuple[str, Sequence[int], Sequence[float], int, int]:
        return self.queries[i], self.relevant[i], self.grades[i], self.exclude[i], self.index[i]


class SearchCollate:
    """Tokenise queries (and, for training, their positives then hard negatives as one document batch)."""

    def __init__(self, tokenizer: Any, max_length: int, documents: Sequence[str],
                 train_relevant: Sequence[Sequence[int]], max_relevant: int,
                 strategy: AugmentationStrategy | None = None) -> None:
        self.tokenizer, self.max_length, self.documents = tokenizer, max_length, documents
        self.max_relevant = max_relevant  # every eval batch as wide: per-query outcomes of all batches stack
        self.train_relevant = [set(r) for r in train_relevant]
        self.strategy = strategy

    def tokens(self, texts: list[str], prefix: str = "") -> dict[str, torch.Tensor]:
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                             return_special_tokens_mask=True, return_tensors="pt")
        keys = ("input_ids", "attention_mask", "special_tokens_mask") if not prefix else ("input_ids", "attention_mask")
        return {prefix + key: enc[key] for key in keys}  # [B, L] each

    def train(self, items: list[tuple[str, int, int, torch.Tensor]]) -> tuple[dict[str, Any], torch.Tensor]:
        queries, labels, positives, negatives = zip(*items, strict=True)
        doc_ids = torch.cat([torch.tensor(positives), torch.cat(negatives)])  # [C]: B positives, then B * h negatives
        # a column relevant to a row other than its own positive must not count as that row's negative
        false = torch.tensor([[c != i and int(d) in self.train_relevant[label] for c, d in enumerate(doc_ids)]
                              for i, label in enumerate(labels)], dtype=torch.bool)  # [B, C]
        x = {**self.tokens(list(queries)), **self.tokens([self.documents[int(d)] for d in doc_ids], "doc_"),
             "doc_ids": doc_ids, "false_negatives": false}
        y = torch.tensor(labels)
        return self.strategy.apply_batch(x, y) if self.strategy is not None else (x, y)

    def eval(self, items: list[tuple[str, Sequence[int], Sequence[float], int, int]]) -> tuple[dict[str, Any], Any]:
        queries, relevant, grades, exclude, index = zip(*items, strict=True)
        gains = torch.zeros(len(grades), self.max_relevant)
        for i, row in enumerate(grades):
            gains[i, :len(row)] = torch.tensor(row, dtype=torch.float32)
        x: dict[str, Any] = {"text": list(queries), "gains": gains, "exclude": torch.tensor(exclude),
                             "query_index": torch.tensor(index)}
        if self.tokenizer is not None:
            x.update(self.tokens(list(queries)))
        return x, padded(relevant, self.max_relevant)


class SearchDataModule(AugmentedDataModule):
    """Queries, a corpus, qrels; subclasses load a ``SearchCollection``. ``tokenizer``: the encoder's checkpoint
    (null for BM25: batches then hold texts only)."""

    kind = "search"

    def __init__(self, *, tokenizer: str | None, max_length: int, split: str, test_fraction: float,
                 val_fraction: float, val_queries: int | None, train_queries: int | None, hard_negatives: int,
                 ignore_identical_ids: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.split = check_choice("data.split", split, ("own", "seeded"))
        self.ignore_identical_ids = bool(ignore_identical_ids)
        check_open_fraction("data.test_fraction", test_fraction)
        check_open_fraction("data.val_fraction", val_fraction)
        check_count("data.max_length", max_length, minimum=2)
        self.tokenizer_name, self.max_length = tokenizer, max_length
        self.test_fraction, self.val_fraction = test_fraction, val_fraction
        self.val_queries = None if val_queries is None else check_count("data.val_queries", val_queries)
        self.train_queries = None if train_queries is None else check_count("data.train_queries", train_queries)
        self.hard_negatives = check_count("data.hard_negatives", hard_negatives, minimum=0)
        self.tokenizer: Any = None
        self.documents: list[str] = []  # what models index: the titles after the corpus stage
        self.titles: list[str] = []  # the collection's documents as written
        self.document_ids: list[str] = []
        self.max_relevant = 1
        self.train_relevant: list[list[int]] = []  # per train label: its relevant documents
        self.train_names: list[str] = []  # per train label: the query
        self.held_out_inputs: list[str] = []

    def load_collection(self) -> SearchCollection:
        raise NotImplementedError

    def prepare_data(self) -> None:
        if self.tokenizer is None and self.tokenizer_name is not None:
            self.tokenizer = hf_checkpoint.load_tokenizer(self.tokenizer_name)

    def transform_context(self, train: Any) -> RunContext:
        self.prepare_data()
        # label i's name: train query i, as written (what generated queries are reported against)
        return replace(super().transform_context(train), held_out=self.held_out_inputs, tokenizer=self.tokenizer,
                       checkpoint=self.tokenizer_name, corpus=self.documents, relevant=self.train_relevant,
                       class_names=self.train_names)

    def _seeded(self, count: int, n_test: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A seeded permutation of ``count`` queries: test (``n_test`` of them; 0 when the test set is given),
        validation, then the train pool."""
        order = np.random.default_rng(self.split_seed).permutation(count)
        n_test = max(1, round(self.test_fraction * count)) if n_test is None else n_test
        n_val = self.val_queries if self.val_queries is not None else max(1, round(self.val_fraction * count))
        if n_test + n_val >= count:
            raise AuglabError(f"data.val_queries / val_fraction: {count} queries leave none for training after "
                              f"{n_test} test and {n_val} validation queries; ask for fewer")
        return order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]

    def _split(self, collection: SearchCollection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Test, validation and train query indices (see the module docstring)."""
        own = collection.splits if self.split == "own" else None
        if own is None:
            test, val, pool = self._seeded(len(collection.queries), None)
        elif "test" not in own:
            raise AuglabError("the collection's qrels name train / dev but no test split; add qrels/test.tsv, or "
                              "re-split every query with data.split=seeded")
        else:
            test = np.array(own["test"], dtype=np.int64)
            train = np.array(own.get("train", []), dtype=np.int64)
            if "dev" in own:
                val = np.array(own["dev"], dtype=np.int64)
                pool = train[np.random.default_rng(self.split_seed).permutation(len(train))]
            elif len(train):  # no dev split: validation drawn from train
                _, v, p = self._seeded(len(train), 0)
                val, pool = train[v], train[p]
            else:  # a test-only collection (BEIR's zero-shot sets): validate on test, train on nothing
                val, pool = test, train
        if (self.train_queries or 0) > len(pool):
            raise AuglabError(f"data.train_queries={self.train_queries}: the collection leaves {len(pool)} training "
                              f"queries; ask for at most {len(pool)}")
        return test, val, pool[:self.train_queries]

    def _excluded(self, collection: SearchCollection, idx: np.ndarray) -> list[int]:
        """Per query of ``idx``: the document with its id, when ``ignore_identical_ids`` (BEIR's ArguAna, Quora)."""
        if not self.ignore_identical_ids:
            return [-1] * len(idx)
        by_id = {d: i for i, d in enumerate(collection.document_ids)}
        return [by_id.get(collection.query_ids[i], -1) for i in idx]

    def _eval_set(self, collection: SearchCollection, idx: np.ndarray) -> EvalQueries:
        exclude = self._excluded(collection, idx)
        relevant, grades = [], []
        for i, left_out in zip(idx, exclude, strict=True):
            pairs = [(d, g) for d, g in zip(collection.relevant[i], collection.grades[i], strict=True) if d != left_out]
            relevant.append([d for d, _ in pairs])
            grades.append([g for _, g in pairs])
        return EvalQueries([collection.queries[i] for i in idx], relevant, grades, exclude, [int(i) for i in idx])

    def build_splits(self) -> tuple[Dataset, Dataset, Dataset]:
        collection = self.load_collection()
        # the corpus stage (document expansion) changes what every model indexes, embeds and trains against;
        # a user still sees the original titles
        self.titles, self.document_ids = list(collection.documents), collection.document_ids
        self.documents = self.augment.apply_corpus(self.titles, self.context)
        self.max_relevant = max(len(r) for r in collection.relevant)
        self.data_hash = fingerprint(collection.queries, collection.documents, collection.relevant, collection.grades)
        test_idx, val_idx, train_idx = self._split(collection)
        test, val = self._eval_set(collection, test_idx), self._eval_set(collection, val_idx)
        self.held_out_inputs = val.queries + test.queries
        self.train_relevant = [collection.relevant[i] for i in train_idx]
        self.train_names = [collection.queries[i] for i in train_idx]
        train = (list(self.train_names), torch.arange(len(train_idx)))
        if len(train_idx):
            train = self.augment.apply_offline(train, self.transform_context(train))
            self.augment.setup(self.transform_context(train))
        negatives = (self.mine_negatives(train) if self.hard_negatives and len(train_idx) else
                     torch.zeros(len(train[0]), 0, dtype=torch.long))
        self.split_sizes = {"train": len(train[0]), "val": len(val), "test": len(test),
                            "documents": len(self.documents)}
        return (TrainQueries(*train, self.train_relevant, negatives,
                             self.augment.apply_sample if self.augment.sample else None), val, test)

    def mine_negatives(self, train: tuple[list[str], torch.Tensor]) -> torch.Tensor:
        """``[N, hard_negatives]``: each train query's best-scoring BM25 documents that are not relevant to it."""
        from auglab.models.bm25 import BM25Index

        widest = max(len(r) for r in self.train_relevant)
        found = BM25Index(self.documents).top(train[0], self.hard_negatives + widest)
        out = torch.empty(len(train[0]), self.hard_negatives, dtype=torch.long)
        for i, (top, label) in enumerate(zip(found, train[1], strict=True)):
            relevant = set(self.train_relevant[int(label)])
            kept = [d for d in top if d not in relevant][:self.hard_negatives]
            if len(kept) < self.hard_negatives:  # a query sharing no word with the corpus: any other documents
                kept += [d for d in range(len(self.documents)) if d not in relevant and d not in kept]
            out[i] = torch.tensor(kept[:self.hard_negatives])
        return out

    def collate(self, *, train: bool) -> Callable:
        self.prepare_data()
        if train and self.tokenizer is None:
            raise AuglabError("training a retriever needs its encoder's tokenizer; choose model=bi_encoder")
        make = SearchCollate(self.tokenizer, self.max_length, self.documents, self.train_relevant, self.max_relevant,
                             self.augment if train else None)
        return make.train if train else make.eval

    def data_facts(self) -> dict[str, Any]:
        return {"documents": self.documents, "document_ids": self.document_ids}


class PriceRunnerSearchDataModule(SearchDataModule):
    """PriceRunner's offer titles as the corpus; ``queries``: ``canonical`` (a product's canonical name finds its
    merchants' offers, ``pricerunner.search_collection``) or ``shopper`` (broad and attribute queries derived
    from the catalogue, with graded relevance, ``shopper_queries.py``); ``categories`` keeps only those
    categories' products and offers."""

    def __init__(self, *, root: str | None = None, categories: Sequence[str] | None = None,
                 queries: str = "canonical", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root, self.categories = root, list(categories) if categories else None
        self.queries = check_choice("data.queries", queries, ("canonical", "shopper"))

    def load_collection(self) -> SearchCollection:
        offers = pricerunner.load(self.root)
        if self.queries == "shopper":
            return shopper_collection(pricerunner.select_categories(offers, self.categories))
        return pricerunner.search_collection(offers, self.categories)


class SearchFilesDataModule(SearchDataModule):
    """A user's queries, corpus and qrels in BEIR's layout (``data/sources/search_files.py``)."""

    def __init__(self, *, path: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not path:
            raise AuglabError("data.path is not set; point it at a folder with corpus.jsonl, queries.jsonl and qrels/")
        self.path = path

    def load_collection(self) -> SearchCollection:
        return read_folder(self.path)
