"""Approximate nearest-neighbour search over a corpus's embeddings (faiss, Johnson et al. 2019), for corpora
too large to score in full at every evaluation: ``model.index=hnsw`` (graph, Malkov & Yashunin 2018) or
``ivf`` (inverted lists over ``sqrt(N)`` k-means cells); ``flat`` is faiss's exact inner-product search.

Only the best ``top`` documents of each query are retrieved, so a relevant document outside them counts as
not found (rank ``inf``), as in a deployed system; no loss over the corpus is computed.
``benchmarks/search_scale.py`` reports each index's recall of the exact top documents."""

from __future__ import annotations

import math

import torch

from auglab.errors import AuglabError

INDEXES = ("exact", "flat", "hnsw", "ivf")


class VectorIndex:
    """``embeddings [N, D]`` (unit vectors: inner product = cosine) in a faiss index of ``kind``."""

    def __init__(self, embeddings: torch.Tensor, kind: str, *, hnsw_neighbours: int = 32, probes: int = 16) -> None:
        try:
            import faiss
        except ImportError as err:
            raise AuglabError(f"model.index={kind} needs faiss: pip install faiss-cpu (or faiss-gpu)") from err
        vectors = embeddings.detach().float().cpu().contiguous().numpy()
        n, d = vectors.shape
        if kind == "flat":
            self.index = faiss.IndexFlatIP(d)
        elif kind == "hnsw":
            self.index = faiss.IndexHNSWFlat(d, hnsw_neighbours, faiss.METRIC_INNER_PRODUCT)
            self.index.hnsw.efSearch = 128
        elif kind == "ivf":
            cells = max(1, int(math.sqrt(n)))
            self.index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, cells, faiss.METRIC_INNER_PRODUCT)
            self.index.train(vectors)
            self.index.nprobe = min(probes, cells)
        else:
            raise AuglabError(f"model.index={kind}: choose one of {', '.join(INDEXES)}")
        self.index.add(vectors)

    def search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores and ids ``[B, k]`` of each query's best documents (ids -1 where fewer exist)."""
        scores, ids = self.index.search(queries.detach().float().cpu().contiguous().numpy(), k)
        return torch.from_numpy(scores), torch.from_numpy(ids).long()

    def rank(self, queries: torch.Tensor, relevant: torch.Tensor, gains: torch.Tensor,
             top: int) -> tuple[torch.Tensor, torch.Tensor, None, torch.Tensor]:
        """As ``Retriever.rank``, from the retrieved ``top`` only: ranks ``[B, R]`` best first, gains, no loss."""
        _, ids = self.search(queries, top)
        ids = ids.to(relevant.device)
        hit = (relevant[:, :, None] == ids[:, None, :]) & (relevant[:, :, None] >= 0)  # [B, R, top]
        position = torch.arange(ids.shape[1], device=relevant.device, dtype=torch.float64)
        ranks = torch.where(hit, position, float("inf")).amin(-1)  # [B, R]
        ranks, order = ranks.sort(1)
        return ranks, gains.gather(1, order), None, ids
