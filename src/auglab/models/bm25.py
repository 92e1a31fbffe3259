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
    """A BM25 index of ``documents``; ``scores(query)`` for every document, ``top(query, k)`` the best ids."""

    def __init__(self, documents: Sequence[str], *, k1: float = 1.5, b: float = 0.75, method: str = "lucene",
                 stopwords: str | None = None) -> None:
        import bm25s

        self.stopwords = stopwords
        self.index = bm25s.BM25(k1=k1, b=b, method=method)
        self.index.index(self._words(list(documents)), show_progress=False)
        self.vocabulary = set(self.index.vocab_dict)
        self.size = len(documents)

    def _words(self, texts: list[str]) -> Any:
        import bm25s

        return bm25s.tokenize(texts, token_pattern=TOKENS, stopwords=self.stopwords, show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        """``[N]`` float32; 0 for documents sharing no word with the query."""
        import bm25s

        words = bm25s.tokenize([query], token_pattern=TOKENS, stopwords=self.stopwords, return_ids=False,
                               show_progress=False)[0]
        known = [w for w in words if w in self.vocabulary]
        return self.index.get_scores(known) if known else np.zeros(self.size, dtype=np.float32)

    def top(self, query: str, k: int) -> list[int]:
        s = self.scores(query)
        k = min(k, len(s))
        best = np.argpartition(-s, k - 1)[:k]
        return best[np.argsort(-s[best], kind="stable")].tolist()


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

    def score(self, x: dict[str, Any]) -> torch.Tensor:
        assert self.bm25 is not None
        return torch.from_numpy(np.stack([self.bm25.scores(q) for q in x["text"]])).to(self.device)  # [B, N]
