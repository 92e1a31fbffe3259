"""BM25 (Robertson & Zaragoza 2009) through ``bm25s`` (Lù 2024): the lexical baseline of search, with nothing
to train. Words are lower-cased runs of letters and digits, single characters kept (``iphone 8``: the 8
matters); no stop words or stemming by default (product titles and names have few of the first and lose
model numbers to the second)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from auglab.errors import OptionError, check_choice, check_positive
from auglab.models.retriever import Retriever

TOKENS = r"(?u)\b\w+\b"
METHODS = ("lucene", "robertson", "atire", "bm25l", "bm25+")


class BM25Index:
    """A BM25 index of ``documents``: ``scores(query)`` for every document, ``top(queries, k)`` the best ids,
    and ``chunk`` / ``query_vectors`` for scoring a slice of the corpus with one sparse product."""

    def __init__(self, documents: Sequence[str], *, k1: float = 1.5, b: float = 0.75, method: str = "lucene",
                 stopwords: str | None = None) -> None:
        import bm25s

        self.stopwords = stopwords
        self.index = bm25s.BM25(k1=k1, b=b, method=method)
        self.index.index(self._words(list(documents)), show_progress=False)
        self.vocabulary = self.index.vocab_dict
        self.size = len(documents)
        self._chunks: dict[tuple[int, int], Any] = {}

    def _words(self, texts: list[str]) -> Any:
        import bm25s

        return bm25s.tokenize(texts, token_pattern=TOKENS, stopwords=self.stopwords, show_progress=False)

    def _known(self, queries: Sequence[str]) -> list[list[str]]:
        """Each query's words that the corpus has (repeats kept: bm25s sums a word once per occurrence)."""
        import bm25s

        words = bm25s.tokenize(list(queries), token_pattern=TOKENS, stopwords=self.stopwords, return_ids=False,
                               show_progress=False)
        return [[w for w in q if w in self.vocabulary] for q in words]

    def scores(self, query: str) -> np.ndarray:
        """``[N]`` float32; 0 for documents sharing no word with the query."""
        known = self._known([query])[0]
        return self.index.get_scores(known) if known else np.zeros(self.size, dtype=np.float32)

    def top(self, queries: Sequence[str], k: int) -> list[list[int]]:
        """The ``k`` best documents of each query, best first (hard-negative mining, the llm_queries round trip).
        A score vector and ``argpartition`` per query: on PriceRunner's 35,311 offers 9,222 queries/s, against
        6,889 for bm25s' own top-k retrieval with its numba backend and 638 with its numpy one
        (benchmarks/search_retrieval.py)."""
        k = min(k, self.size)
        out = []
        for words in self._known(queries):
            s = self.index.get_scores(words) if words else np.zeros(self.size, dtype=np.float32)
            best = np.argpartition(-s, k - 1)[:k]
            out.append(best[np.argsort(-s[best], kind="stable")].tolist())
        return out

    def chunk(self, start: int, end: int) -> Any:
        """Documents ``start:end`` of the index as a scipy matrix ``[V, C]`` of per-word BM25 scores (kept: every
        evaluation batch scores the same chunks)."""
        if (start, end) not in self._chunks:
            import scipy.sparse as sp

            sc = self.index.scores
            whole = sp.csr_matrix((sc["data"], sc["indices"], sc["indptr"]),
                                  shape=(len(sc["indptr"]) - 1, sc["num_docs"]))
            self._chunks[(start, end)] = whole.tocsc()[:, start:end].tocsr()
        return self._chunks[(start, end)]

    def query_vectors(self, queries: Sequence[str]) -> tuple[Any, np.ndarray]:
        """Word counts ``[B, V]`` (sparse) and each query's constant score for words a document lacks (bm25l and
        bm25+ score absent words; 0 for the other methods)."""
        import scipy.sparse as sp

        rows, cols = [], []
        for i, words in enumerate(self._known(queries)):
            rows += [i] * len(words)
            cols += [self.vocabulary[w] for w in words]
        counts = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                               shape=(len(queries), len(self.index.scores["indptr"]) - 1))
        absent = self.index.nonoccurrence_array
        constant = counts @ absent if absent is not None else np.zeros(len(queries), dtype=np.float32)
        return counts, np.asarray(constant, dtype=np.float32)


class BM25Retriever(Retriever):
    """Scores every document with BM25; ``k1``, ``b``, ``method``: bm25s' options (``lucene`` by default)."""

    def __init__(self, *, documents: Sequence[str], k1: float = 1.5, b: float = 0.75, method: str = "lucene",
                 stopwords: str | None = None, **kwargs: Any) -> None:
        super().__init__(documents=documents, **kwargs)
        if isinstance(b, bool) or not isinstance(b, int | float) or not 0 <= b <= 1:
            raise OptionError("model.b", b, "a number in [0, 1]")
        self.options = {"k1": check_positive("model.k1", k1), "b": float(b),
                        "method": check_choice("model.method", method, METHODS), "stopwords": stopwords}
        self.bm25: BM25Index | None = None

    def index_corpus(self) -> None:
        if self.bm25 is None:  # the corpus never changes: index once
            self.bm25 = BM25Index(self.documents, **self.options)

    def encode_queries(self, x: dict[str, Any]) -> Any:
        assert self.bm25 is not None
        return self.bm25.query_vectors(x["text"])

    def score_chunk(self, queries: Any, start: int, end: int) -> torch.Tensor:
        counts, constant = queries
        scores = (counts @ self.bm25.chunk(start, end)).toarray() + constant[:, None]  # [B, C]
        return torch.from_numpy(np.asarray(scores, dtype=np.float32)).to(self.device)
