"""Search datamodules: queries split three ways, a corpus that stays whole, and train batches of (query,
relevant document) pairs for in-batch negatives (``models/bi_encoder.py``).

The queries are split by a seeded permutation (test, then validation, then the train pool); ``train_queries``
takes the first N of the pool, so for one seed 100 training queries are a subset of 1,000. The offline stage
sees the train queries as labelled texts ``(queries, labels)``: label ``i`` is train query ``i``, and a query
an augmentation writes (EDA copy, typo, LLM query) carries the label, hence the relevant documents, of the one
it came from. Each time a train query is drawn, one of its relevant documents is drawn as its positive.
Evaluation batches carry the query texts (for BM25), their tokens (for encoders) and the relevant documents
``[B, R]``, -1 padded; every model ranks the whole corpus (``metrics/ranking.py``).
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
from auglab.errors import AuglabError, check_count, check_open_fraction
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
    def __init__(self, queries: list[str], relevant: Sequence[Sequence[int]]) -> None:
        self.queries, self.relevant = queries, relevant

    def __len__(self) -> int:
        return len(self.queries)

    def __getitem__(self, i: int) -> tuple[str, Sequence[int]]:
        return self.queries[i], self.relevant[i]


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

    def eval(self, items: list[tuple[str, Sequence[int]]]) -> tuple[dict[str, Any], torch.Tensor]:
        queries, relevant = zip(*items, strict=True)
        x: dict[str, Any] = {"text": list(queries)}
        if self.tokenizer is not None:
            x.update(self.tokens(list(queries)))
        return x, padded(relevant, self.max_relevant)


class SearchDataModule(AugmentedDataModule):
    """Queries, a corpus, qrels; subclasses load a ``SearchCollection``. ``tokenizer``: the encoder's checkpoint
    (null for BM25: batches then hold texts only)."""

    kind = "search"

    def __init__(self, *, tokenizer: str | None, max_length: int, test_fraction: float, val_fraction: float,
                 val_queries: int | None, train_queries: int | None, hard_negatives: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_open_fraction("data.test_fraction", test_fraction)
        check_open_fraction("data.val_fraction", val_fraction)
        check_count("data.max_length", max_length, minimum=2)
        self.tokenizer_name, self.max_length = tokenizer, max_length
        self.test_fraction, self.val_fraction = test_fraction, val_fraction
        self.val_queries = None if val_queries is None else check_count("data.val_queries", val_queries)
        self.train_queries = None if train_queries is None else check_count("data.train_queries", train_queries)
        self.hard_negatives = check_count("data.hard_negatives", hard_negatives, minimum=0)
        self.tokenizer: Any = None
        self.documents: list[str] = []
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

    def _split(self, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        order = np.random.default_rng(self.split_seed).permutation(count)
        n_test = max(1, round(self.test_fraction * count))
        n_val = self.val_queries if self.val_queries is not None else max(1, round(self.val_fraction * count))
        pool = order[n_test + n_val:]
        if len(pool) == 0 or (self.train_queries or 0) > len(pool):
            raise AuglabError(f"data.train_queries={self.train_queries}: {count} queries leave {len(pool)} for "
                              f"training after {n_test} test and {n_val} validation queries; ask for at most "
                              f"{len(pool)}")
        return order[:n_test], order[n_test:n_test + n_val], pool[:self.train_queries]

    def build_splits(self) -> tuple[Dataset, Dataset, Dataset]:
        collection = self.load_collection()
        self.documents = collection.documents
        self.max_relevant = max(len(r) for r in collection.relevant)
        self.data_hash = fingerprint(collection.queries, collection.documents, collection.relevant)
        test_idx, val_idx, train_idx = self._split(len(collection.queries))
        test, val = ([collection.queries[i] for i in idx] for idx in (test_idx, val_idx))
        self.held_out_inputs = val + test
        self.train_relevant = [collection.relevant[i] for i in train_idx]
        self.train_names = [collection.queries[i] for i in train_idx]
        train = (list(self.train_names), torch.arange(len(train_idx)))
        train = self.augment.apply_offline(train, self.transform_context(train))
        self.augment.setup(self.transform_context(train))
        negatives = (self.mine_negatives(train) if self.hard_negatives else
                     torch.zeros(len(train[0]), 0, dtype=torch.long))
        self.split_sizes = {"train": len(train[0]), "val": len(val), "test": len(test),
                            "documents": len(self.documents)}
        return (TrainQueries(*train, self.train_relevant, negatives,
                             self.augment.apply_sample if self.augment.sample else None),
                EvalQueries(val, [collection.relevant[i] for i in val_idx]),
                EvalQueries(test, [collection.relevant[i] for i in test_idx]))

    def mine_negatives(self, train: tuple[list[str], torch.Tensor]) -> torch.Tensor:
        """``[N, hard_negatives]``: each train query's best-scoring BM25 documents that are not relevant to it."""
        from auglab.models.bm25 import BM25Index

        index = BM25Index(self.documents)
        out = torch.empty(len(train[0]), self.hard_negatives, dtype=torch.long)
        for i, (query, label) in enumerate(zip(*train, strict=True)):
            relevant = set(self.train_relevant[int(label)])
            top = index.top(query, self.hard_negatives + len(relevant))
            out[i] = torch.tensor([d for d in top if d not in relevant][:self.hard_negatives])
        return out

    def collate(self, *, train: bool) -> Callable:
        self.prepare_data()
        if train and self.tokenizer is None:
            raise AuglabError("training a retriever needs its encoder's tokenizer; choose model=bi_encoder")
        make = SearchCollate(self.tokenizer, self.max_length, self.documents, self.train_relevant, self.max_relevant,
                             self.augment if train else None)
        return make.train if train else make.eval

    def data_facts(self) -> dict[str, Any]:
        return {"documents": self.documents}


class PriceRunnerSearchDataModule(SearchDataModule):
    """PriceRunner: a product's canonical name finds its merchants' offer titles (``pricerunner.search_collection``);
    ``categories`` keeps only those categories' products and offers."""

    def __init__(self, *, root: str | None = None, categories: Sequence[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root, self.categories = root, list(categories) if categories else None

    def load_collection(self) -> SearchCollection:
        return pricerunner.search_collection(pricerunner.load(self.root), self.categories)


class SearchFilesDataModule(SearchDataModule):
    """A user's queries, corpus and qrels in BEIR's layout (``data/sources/search_files.py``)."""

    def __init__(self, *, path: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not path:
            raise AuglabError("data.path is not set; point it at a folder with corpus.jsonl, queries.jsonl and qrels/")
        self.path = path

    def load_collection(self) -> SearchCollection:
        return read_folder(self.path)
