"""GRU4Rec (Hidasi et al. 2016) in RecBole's form: item embedding -> dropout -> GRU -> linear to the
embedding size, the state at the last real item scores every item."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from auglab.models.recommender import SequentialRecommender, last_position


class GRU4Rec(SequentialRecommender):
    def __init__(self, *, hidden_size: int = 128, num_layers: int = 1, dropout: float = 0.3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        d = self.item_embedding.embedding_dim
        self.dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(d, hidden_size, num_layers=num_layers, bias=False, batch_first=True)
        self.dense = nn.Linear(hidden_size, d)
        nn.init.xavier_normal_(self.item_embedding.weight)  # RecBole's initialisation
        for name, weight in self.gru.named_parameters():
            if "weight" in name:
                nn.init.xavier_uniform_(weight)

    def encode_from(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:  # [B, L], [B, L, D] -> [B, D]
        states, _ = self.gru(self.dropout(e))  # [B, L, H]; causal, so padding after
        return last_position(self.dense(states), x)  # the last real item does not reach it
