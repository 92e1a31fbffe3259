"""SASRec (Kang & McAuley 2018) in RecBole's form: item + learned position embeddings, LayerNorm,
dropout, causal self-attention blocks (post-norm, GELU), the state at the last real item scores
every item. Hyperparameter defaults are RecBole's; ``dropout`` covers its hidden and attention
dropout, which RecBole sets to the same 0.5.

Only the last real position is scored, so the last block computes its query, attention and
feed-forward for that position alone (keys and values still cover the whole history): the same
result as running the block on every position, at about half the model's cost."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from auglab.errors import AuglabError, check_count
from auglab.models.recommender import SequentialRecommender, last_index


class SelfAttentionBlock(nn.Module):
    """Post-norm transformer block: ``LN(h + attn(h))`` then ``LN(h + ffn(h))``."""

    def __init__(self, d: int, num_heads: int, inner_size: int, dropout: float, eps: float) -> None:
        super().__init__()
        self.num_heads, self.p = num_heads, dropout
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ffn = nn.Sequential(nn.Linear(d, inner_size), nn.GELU(), nn.Linear(inner_size, d))
        self.norm1, self.norm2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
        self.dropout = nn.Dropout(dropout)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:  # [B, T, D] -> [B, heads, T, D / heads]
        return t.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)

    def forward(self, h: torch.Tensor, last: torch.Tensor | None = None) -> torch.Tensor:
        """``h [B, L, D]`` -> ``[B, L, D]`` (causal), or ``[B, D]`` at positions ``last [B]`` only."""
        q, k, v = self.qkv(h).chunk(3, -1)  # 3 x [B, L, D]
        p = self.p if self.training else 0.0
        if last is None:
            a = F.scaled_dot_product_attention(self._heads(q), self._heads(k), self._heads(v), dropout_p=p,
                                               is_causal=True)  # [B, heads, L, D / heads]
        else:
            rows = torch.arange(len(h), device=h.device)
            h, q = h[rows, last][:, None], q[rows, last][:, None]  # [B, 1, D]
            visible = torch.arange(k.shape[1], device=h.device) <= last[:, None]  # [B, L]: causal for that row
            a = F.scaled_dot_product_attention(self._heads(q), self._heads(k), self._heads(v),
                                               attn_mask=visible[:, None, None, :], dropout_p=p)  # [B, heads, 1, .]
        h = self.norm1(h + self.dropout(self.out(a.transpose(1, 2).flatten(2))))
        h = self.norm2(h + self.dropout(self.ffn(h)))
        return h if last is None else h[:, 0]


class SASRec(SequentialRecommender):
    def __init__(self, *, num_layers: int = 2, num_heads: int = 2, inner_size: int = 256, dropout: float = 0.5,
                 layer_norm_eps: float = 1e-12, initializer_range: float = 0.02, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        d = self.item_embedding.embedding_dim
        check_count("model.num_layers", num_layers)
        if num_heads < 1 or d % num_heads:
            raise AuglabError(f"model.num_heads={num_heads} must divide model.embedding_size={d}")
        self.position_embedding = nn.Embedding(self.max_len, d)
        self.norm = nn.LayerNorm(d, eps=layer_norm_eps)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(SelfAttentionBlock(d, num_heads, inner_size, dropout, layer_norm_eps)
                                    for _ in range(num_layers))
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.Embedding):
                nn.init.normal_(module.weight, std=initializer_range)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def encode_from(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:  # [B, L], [B, L, D] -> [B, D]
        positions = torch.arange(x.shape[1], device=x.device)
        h = self.dropout(self.norm(e + self.position_embedding(positions)))  # [B, L, D]
        # Causal: position t sees 0..t, so padding (after the last real item) never reaches it.
        for block in self.blocks[:-1]:
            h = block(h)
        return self.blocks[-1](h, last_index(x))
