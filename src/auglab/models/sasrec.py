"""SASRec (Kang & McAuley 2018) in RecBole's form: item + learned position embeddings, LayerNorm,
dropout, causal self-attention blocks (post-norm, GELU), the state at the last real item scores
every item. Hyperparameter defaults are RecBole's; ``dropout`` covers its hidden and attention
dropout, which RecBole sets to the same 0.5."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from auglab.models.recommender import SequentialRecommender, last_position


class SASRec(SequentialRecommender):
    def __init__(self, *, num_layers: int = 2, num_heads: int = 2, inner_size: int = 256, dropout: float = 0.5,
                 layer_norm_eps: float = 1e-12, initializer_range: float = 0.02, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        d = self.item_embedding.embedding_dim
        self.position_embedding = nn.Embedding(self.max_len, d)
        self.norm = nn.LayerNorm(d, eps=layer_norm_eps)
        self.dropout = nn.Dropout(dropout)
        block = nn.TransformerEncoderLayer(d, num_heads, inner_size, dropout, activation="gelu", batch_first=True,
                                           layer_norm_eps=layer_norm_eps)
        self.blocks = nn.TransformerEncoder(block, num_layers, enable_nested_tensor=False)
        self.register_buffer("causal", nn.Transformer.generate_square_subsequent_mask(self.max_len), persistent=False)
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.Embedding):
                nn.init.normal_(module.weight, std=initializer_range)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def encode(self, x: torch.Tensor) -> torch.Tensor:  # [B, L] -> [B, D]
        positions = torch.arange(x.shape[1], device=x.device)
        h = self.dropout(self.norm(self.item_embedding(x) + self.position_embedding(positions)))  # [B, L, D]
        # Causal: position t sees 0..t, so padding (after the last real item) never reaches it.
        h = self.blocks(h, mask=self.causal[: x.shape[1], : x.shape[1]], is_causal=True)
        return last_position(h, x)
