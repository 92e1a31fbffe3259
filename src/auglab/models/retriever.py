"""One home for search models: every one ranks the whole corpus for each query (``score(x) -> [B, N]``) and
is measured the same way as the recommenders (``metrics/ranking.py``: several relevant documents per query,
ties against them, exact under DDP). ``val/loss`` and ``test/loss`` are the listwise softmax loss of the
relevant documents over the corpus, ``-log sum_rel softmax(scores)``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from auglab.errors import AuglabError
from auglab.metrics.mean_loss import MeanLoss
from auglab.metrics.per_example import PerExample
from auglab.metrics.ranking import relevant_ranks, validation_and_test_metrics
from auglab.models.base import AuglabModule


def listwise_loss(scores: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """Mean over rows of ``-log`` (softmax mass of the relevant documents): ``scores [B, N]``, ``relevant [B, R]``."""
    rel = scores.gather(1, relevant.clamp_min(0)).masked_fill(relevant < 0, float("-inf"))  # [B, R]
    return (scores.logsumexp(1) - rel.logsumexp(1)).mean()


class Retriever(AuglabModule):
    """Subclasses build their view of the corpus in ``index_corpus`` (before each validation and test epoch)
    and score queries against it; ``trains``: False when there is nothing to fit (BM25, a zero-shot encoder):
    the run then validates and tests without training."""

    data_kinds = ("search",)

    def __init__(self, *, documents: Sequence[str], ks: Sequence[int], monitor: str, optimizer: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(optimizer=optimizer, monitor=monitor, **kwargs)
        if not documents:
            raise AuglabError("the corpus is empty; a search data set needs documents to rank")
        self.documents, self.trains = list(documents), optimizer is not None
        self.val_metrics, self.test_metrics = validation_and_test_metrics(ks, monitor)
        self.val_loss, self.test_loss = MeanLoss(), MeanLoss()
        self.test_examples = PerExample()  # each test query's relevant documents' ranks (report/outcomes.py)

    def index_corpus(self) -> None:
        """Build what ``score`` needs from ``self.documents``."""

    def score(self, x: dict[str, Any]) -> torch.Tensor:
        """Scores of every document for each query of the batch, ``[B, N]``."""
        raise NotImplementedError

    def on_validation_epoch_start(self) -> None:
        self.index_corpus()

    def on_test_epoch_start(self) -> None:
        self.index_corpus()

    def _eval_step(self, batch: tuple[dict[str, Any], torch.Tensor], stage: str) -> None:
        x, relevant = batch  # relevant [B, R], -1 padded
        scores = self.score(x).float()  # [B, N]
        loss = listwise_loss(scores, relevant)
        self.check_finite(loss, stage)
        getattr(self, f"{stage}_loss").update(loss, len(relevant))
        ranks = relevant_ranks(scores, relevant)  # [B, R]
        getattr(self, f"{stage}_metrics").update(ranks)
        if stage == "test":
            self.test_examples.add(ranks=ranks)  # [B, R]: R is the collection's most relevant documents of a query

    def validation_step(self, batch: tuple[dict[str, Any], torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: tuple[dict[str, Any], torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def on_validation_epoch_end(self) -> None:
        self.log_epoch("val", self.val_loss, self.val_metrics)

    def on_test_epoch_end(self) -> None:
        self.log_epoch("test", self.test_loss, self.test_metrics)
        self.test_predictions = self.test_examples.gather(self)
