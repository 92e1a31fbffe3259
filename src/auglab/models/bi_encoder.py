"""A bi-encoder for search: queries and documents embedded by one pretrained encoder (mean pooling, unit
length), scored by their dot product, fine-tuned with in-batch negatives (the multiple-negatives ranking
loss: Henderson et al. 2017, arXiv 1705.00652; Karpukhin et al. 2020, DPR) plus any BM25-mined hard negatives
the data adds (``data.hard_negatives``). The corpus is embedded in length-sorted chunks once per state of the
weights (kept while they do not change, on disk for a checkpoint that never trains, and split across DDP
ranks, each embedding its share), and queries are scored against it a chunk of documents at a time
(``models/retriever.py``), or through an approximate index (``model.index``, ``models/vector_index.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from auglab.errors import check_choice, check_count, check_positive
from auglab.metrics.mean_loss import MeanLoss
from auglab.models.retriever import Retriever
from auglab.models.sentence_embedding import mean_pool
from auglab.models.vector_index import INDEXES, VectorIndex
from auglab.models.warmup import check_warmup, warmup_then_decay
from auglab.pretrained import hf_checkpoint
from auglab.pretrained.text_batch import padded
from auglab.storage.artefact_cache import load_or_compute
from auglab.storage.fingerprint import fingerprint


class BiEncoder(Retriever):
    """``scale``: the logits' temperature for unit vectors (20, as sentence-transformers); ``zero_shot``: rank
    with the checkpoint as it is, no training; ``corpus_batch_size``: documents per encoder call."""

    def __init__(self, *, documents: Sequence[str], checkpoint: str, max_length: int = 32, scale: float = 20.0,
                 zero_shot: bool = False, corpus_batch_size: int = 256, warmup_fraction: float = 0.1,
                 index: str = "exact", index_probes: int = 16, cache_dir: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(documents=documents, **kwargs)
        self.index_kind = check_choice("model.index", index, INDEXES)
        self.index_probes = check_count("model.index_probes", index_probes)
        self.cache_dir = cache_dir
        self.checkpoint, self.max_length = checkpoint, max_length
        self.scale = check_positive("model.scale", scale)
        self.corpus_batch_size = check_count("model.corpus_batch_size", corpus_batch_size)
        self.warmup_fraction = check_warmup(warmup_fraction)
        self.trains = self.trains and not zero_shot
        self.tokenizer = hf_checkpoint.load_tokenizer(checkpoint)
        # from_pretrained returns eval mode, which Lightning would keep: dropout off while fine-tuning
        self.encoder = hf_checkpoint.load_base_model(checkpoint).train()
        pooler = getattr(self.encoder, "pooler", None)  # BERT's [CLS] head: mean pooling never uses it, and DDP
        for p in pooler.parameters() if pooler is not None else ():  # refuses parameters that get no gradient
            p.requires_grad_(False)
        self.corpus_embeddings: torch.Tensor | None = None  # [N, D] for the weights' state in embedded_state
        self.embedded_state: str | None = None
        self.vectors: Any = None  # the approximate index over the embeddings (model.index), None: exact
        self.train_loss = MeanLoss()

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token ids ``[B, L]`` -> unit vectors ``[B, D]``."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # [B, L, D]
        return mean_pool(hidden, attention_mask)

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str], *, progress: bool = False) -> torch.Tensor:
        """``[N, D]`` for ``texts``, in the input's order. All texts are tokenised first (one batched call) and
        embedded in chunks of equal token counts, so a chunk carries almost no padding (sorting by characters,
        as sentence-transformers does, leaves more)."""
        ids = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        pad = self.tokenizer.pad_token_id or 0
        out = torch.empty(len(texts), self.encoder.config.hidden_size, device=self.device)
        chunks = range(0, len(texts), self.corpus_batch_size)
        for start in tqdm(chunks, desc="embedding the corpus", unit="chunk", disable=not progress, leave=False):
            rows = order[start:start + self.corpus_batch_size]
            chunk = [ids[i] for i in rows]
            width = len(chunk[-1])  # the longest of the chunk: rows are in token-count order
            batch = padded(chunk, width, fill=pad)  # [chunk, width]
            mask = (torch.arange(width) < torch.tensor([len(c) for c in chunk])[:, None]).long()
            embedded = self.embed(batch.to(self.device), mask.to(self.device)).float()  # [chunk, D]
            out[torch.tensor(rows, device=self.device)] = embedded
        return out

    def weights_state(self) -> str:
        """A fingerprint of the encoder's weights: the embeddings of one state serve every evaluation of it."""
        return fingerprint([p for p in self.encoder.state_dict().values()])

    def index_corpus(self) -> None:
        state = self.weights_state()
        if self.corpus_embeddings is not None and state == self.embedded_state:  # same weights: same embeddings
            return
        # the trainer's own progress bar says whether bars are wanted (run/build.py removes it in a sweep)
        progress = self._trainer is not None and self.trainer.progress_bar_callback is not None
        progress = progress and self.global_rank == 0
        path = None
        if self.cache_dir is not None and not self.trains:  # a checkpoint as it is: the same for every job
            key = fingerprint(state, self.documents, self.max_length)
            path = Path(self.cache_dir) / "corpus_embeddings" / f"{key}.pt"
        embeddings, _ = load_or_compute(path, lambda: self.shared_embeddings(progress), what="corpus embeddings")
        self.corpus_embeddings, self.embedded_state = embeddings.to(self.device), state
        self.vectors = None if self.index_kind == "exact" else VectorIndex(self.corpus_embeddings, self.index_kind,
                                                                           probes=self.index_probes)

    def shared_embeddings(self, progress: bool) -> torch.Tensor:
        """``[N, D]``; under DDP each rank embeds a contiguous share and the shares are gathered."""
        trainer = self._trainer
        world = trainer.world_size if trainer is not None else 1
        if world == 1:
            return self.encode_texts(self.documents, progress=progress).cpu()
        bounds = [len(self.documents) * r // world for r in range(world + 1)]
        mine = self.encode_texts(self.documents[bounds[self.global_rank]:bounds[self.global_rank + 1]],
                                 progress=progress)
        widest = max(b - a for a, b in zip(bounds, bounds[1:], strict=False))
        padded_share = torch.zeros(widest, mine.shape[1], device=self.device)
        padded_share[:len(mine)] = mine
        everyone = self.all_gather(padded_share)  # [W, widest, D]
        return torch.cat([everyone[r, :bounds[r + 1] - bounds[r]] for r in range(world)]).cpu()

    def encode_queries(self, x: dict[str, Any]) -> torch.Tensor:
        assert self.corpus_embeddings is not None
        return self.embed(x["input_ids"], x["attention_mask"]).float()  # [B, D]

    def score_chunk(self, queries: torch.Tensor, start: int, end: int) -> torch.Tensor:
        return queries @ self.corpus_embeddings[start:end].T  # [B, C]

    def rank(self, x: dict[str, Any], relevant: torch.Tensor,
             gains: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        if self.vectors is None:
            return super().rank(x, relevant, gains)
        return self.vectors.rank(self.encode_queries(x), relevant, gains, self.top)

    def training_step(self, batch: tuple[dict[str, Any], torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        q = self.embed(x["input_ids"], x["attention_mask"])  # [B, D]
        d = self.embed(x["doc_input_ids"], x["doc_attention_mask"])  # [C, D]: B positives, then hard negatives
        logits = (self.scale * q @ d.T).float().masked_fill(x["false_negatives"], float("-inf"))  # [B, C]
        loss = F.cross_entropy(logits, torch.arange(len(y), device=logits.device))  # row i's positive: column i
        self.check_finite(loss, "train")
        self.train_loss.update(loss, len(y))
        return loss

    def on_train_epoch_end(self) -> None:
        self.log_epoch("train", self.train_loss)

    def configure_optimizers(self) -> Any:
        return warmup_then_decay(self, self.warmup_fraction)
