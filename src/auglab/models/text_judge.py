"""A text classifier trained on the real train split to judge generated texts (``min_confidence`` of the
generated-text strategies), as ``feature_classifier.py`` judges generated images: a frozen encoder's
mean-pooled sentence embeddings (MiniLM-L6 by default, offline) and a softmax regression on them, fitted
with L-BFGS, so the same split gives the same judge. Not a model of any study: it never trains a metric."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from auglab.models.sentence_embedding import mean_pool
from auglab.pretrained import hf_checkpoint

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"


class TextJudge:
    def __init__(self, checkpoint: str = DEFAULT_ENCODER, *, batch_size: int = 64, l2: float = 1e-3) -> None:
        self.tokenizer = hf_checkpoint.load_tokenizer(checkpoint)
        self.encoder = hf_checkpoint.load_base_model(checkpoint).eval()
        self.batch_size, self.l2 = batch_size, l2
        self.weight: torch.Tensor | None = None  # [D + 1, K]

    @torch.no_grad()
    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """Mean-pooled, L2-normalised last hidden states ``[N, D]``."""
        out = []
        for i in range(0, len(texts), self.batch_size):
            enc = self.tokenizer(list(texts[i:i + self.batch_size]), padding=True, truncation=True, max_length=128,
                                 return_tensors="pt")
            out.append(mean_pool(self.encoder(**enc).last_hidden_state, enc["attention_mask"]))  # [B, D]
        return torch.cat(out)

    def fit(self, texts: Sequence[str], labels: torch.Tensor, num_classes: int) -> TextJudge:
        x = torch.cat([self.embed(texts), torch.ones(len(texts), 1)], 1)  # [N, D + 1], a bias column
        weight = torch.zeros(x.shape[1], num_classes, requires_grad=True)
        optimizer = torch.optim.LBFGS([weight], max_iter=200, line_search_fn="strong_wolfe")

        def loss() -> torch.Tensor:
            optimizer.zero_grad()
            value = torch.nn.functional.cross_entropy(x @ weight, labels) + self.l2 * weight[:-1].pow(2).sum()
            value.backward()
            return value

        with torch.enable_grad():
            optimizer.step(loss)
        self.weight = weight.detach()
        return self

    def probabilities(self, texts: Sequence[str]) -> torch.Tensor:
        """``[N, K]`` class probabilities."""
        if self.weight is None:
            raise RuntimeError("fit() the judge first")
        x = torch.cat([self.embed(texts), torch.ones(len(texts), 1)], 1)
        return (x @ self.weight).softmax(1)
