"""One home for search models: every one ranks the whole corpus for each query and is measured the same way
(``metrics/ranking.py``: graded relevance, several relevant documents per query, trec_eval's tie rule or the
pessimistic one, exact under DDP). The corpus is scored ``chunk_size`` documents at a time, so no queries x
documents matrix larger than one chunk is ever held: a first pass takes the relevant documents' own scores,
the softmax normaliser and the best ``top`` documents, a second counts, per relevant document, the documents
ranked ahead of it (one pass when the corpus is one chunk). ``val/loss`` and ``test/loss`` are the listwise
softmax loss of the relevant documents over the corpus, ``-log sum_rel softmax(scores)``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from auglab.errors import AuglabError, check_choice, check_count
from auglab.metrics.mean_loss import MeanLoss
from auglab.metrics.per_example import PerExample
from auglab.metrics.ranking import TIES, RankCounter, tie_keys, validation_and_test_metrics
from auglab.models.base import AuglabModule


class Retriever(AuglabModule):
    """Subclasses build their view of the corpus in ``index_corpus`` (before each validation and test epoch),
    turn a batch's queries into what they score with (``encode_queries``) and score a slice of the corpus
    (``score_chunk -> [B, end - start]``). ``trains``: False when there is nothing to fit (BM25, a zero-shot
    encoder): the run then validates and tests without training. ``document_ids``: the ids trec_eval breaks
    ties by (default: the documents' positions)."""

    data_kinds = ("search",)

    def __init__(self, *, documents: Sequence[str], ks: Sequence[int], monitor: str, ties: str,
                 chunk_size: int, document_ids: Sequence[str] | None = None, optimizer: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(optimizer=optimizer, monitor=monitor, **kwargs)
        if not documents:
            raise AuglabError("the corpus is empty; a search data set needs documents to rank")
        self.documents, self.trains = list(documents), optimizer is not None
        self.ties = check_choice("model.ties", ties, TIES)
        self.chunk_size = check_count("model.chunk_size", chunk_size)
        ids = list(document_ids) if document_ids is not None else [str(i) for i in range(len(self.documents))]
        self.register_buffer("tie_keys", tie_keys(ids), persistent=False)  # [N]
        self.top = max(ks)
        self.val_metrics, self.test_metrics = validation_and_test_metrics(ks, monitor)
        self.val_loss, self.test_loss = MeanLoss(), MeanLoss()
        self.test_examples = PerExample()  # each test query's relevant ranks, gains and best documents

    def index_corpus(self) -> None:
        """Build what ``score_chunk`` needs from ``self.documents``."""

    def encode_queries(self, x: dict[str, Any]) -> Any:
        """What ``score_chunk`` scores the batch's queries with."""
        raise NotImplementedError

    def score_chunk(self, queries: Any, start: int, end: int) -> torch.Tensor:
        """Scores of documents ``start:end`` for each query, ``[B, end - start]``."""
        raise NotImplementedError

    def on_validation_epoch_start(self) -> None:
        self.index_corpus()

    def on_test_epoch_start(self) -> None:
        self.index_corpus()

    def _chunks(self, queries: Any, exclude: torch.Tensor | None) -> Any:
        """``(start, end, scores [B, C])`` over the corpus; a row's ``exclude`` document (its own id, when the
        data ignores identical ids) scores ``-inf``, ranked behind everything and counted nowhere."""
        for start in range(0, len(self.documents), self.chunk_size):
            end = min(start + self.chunk_size, len(self.documents))
            scores = self.score_chunk(queries, start, end).float()
            if exclude is not None:
                inside = (exclude >= start) & (exclude < end)
                rows = inside.nonzero(as_tuple=True)[0]
                scores[rows, exclude[rows] - start] = float("-inf")
            yield start, end, scores

    def rank(self, x: dict[str, Any], relevant: torch.Tensor,
             gains: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """``relevant [B, R]`` document ids (-1 padded) and their ``gains`` -> ranks ``[B, R]`` best first, the
        gains in that order, the listwise loss and the ``top`` best documents ``[B, top]``."""
        queries, exclude = self.encode_queries(x), x.get("exclude")
        valid = relevant >= 0
        own = torch.full(relevant.shape, float("-inf"), device=relevant.device)
        normaliser = torch.full((len(relevant),), float("-inf"), device=relevant.device)
        best = torch.empty(len(relevant), 0, device=relevant.device)
        best_ids = torch.empty(len(relevant), 0, dtype=torch.long, device=relevant.device)
        kept = []
        for start, end, scores in self._chunks(queries, exclude):
            inside = valid & (relevant >= start) & (relevant < end)
            picked = scores.gather(1, (relevant - start).clamp(0, end - start - 1))
            own = torch.where(inside, picked, own)
            normaliser = torch.logaddexp(normaliser, scores.logsumexp(1))
            merged = torch.cat([best, scores], 1)
            ids = torch.cat([best_ids, torch.arange(start, end, device=scores.device).expand(len(scores), -1)], 1)
            best, where = merged.topk(min(self.top, merged.shape[1]), dim=1)
            best_ids = ids.gather(1, where)
            kept.append((start, end, scores) if end == len(self.documents) and start == 0 else None)
        keys = self.tie_keys[relevant.clamp_min(0)]
        counter = RankCounter(own, keys, valid, self.ties)
        chunks = [kept[0]] if kept and kept[0] is not None else self._chunks(queries, exclude)  # one chunk: reuse
        for start, end, scores in chunks:
            counter.add(scores, self.tie_keys[start:end])
        ranks, order = counter.ranks()
        loss = (normaliser - own.masked_fill(~valid, float("-inf")).logsumexp(1)).mean()
        return ranks, gains.gather(1, order), loss, best_ids

    def _eval_step(self, batch: tuple[dict[str, Any], torch.Tensor], stage: str) -> None:
        x, relevant = batch  # relevant [B, R], -1 padded; x["gains"] [B, R]
        gains = x.get("gains", (relevant >= 0).float())
        ranks, gains, loss, best = self.rank(x, relevant, gains)
        if loss is not None:  # None: an approximate index, which scores no full corpus
            self.check_finite(loss, stage)
            getattr(self, f"{stage}_loss").update(loss, len(relevant))
        getattr(self, f"{stage}_metrics").update(ranks, gains)
        if stage == "test":  # [B, R]: R is the collection's most relevant documents of a query
            self.test_examples.add(ranks=ranks, gains=gains, top=best, query=x["query_index"])

    def validation_step(self, batch: tuple[dict[str, Any], torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: tuple[dict[str, Any], torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def on_validation_epoch_end(self) -> None:
        self.log_epoch("val", self.val_loss, self.val_metrics)

    def on_test_epoch_end(self) -> None:
        self.log_epoch("test", self.test_loss, self.test_metrics)
        self.test_predictions = self.test_examples.gather(self)
