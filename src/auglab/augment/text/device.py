"""Device-stage text augmentations: whole tokenised batches on the accelerator, independent random draws
per text and per token, no Python loop over texts.

Input ``x``: the text collate's dict, ``input_ids`` / ``attention_mask`` / ``special_tokens_mask``, each
``[B, L]``; labels are never changed. Only real tokens are edited, never [CLS], [SEP] or padding.
``p`` is the chance that a text is augmented at all. Transforms that need the checkpoint's tokenizer
or embeddings get them in ``setup(context)`` (``augment/context.py``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from auglab.augment.context import RunContext
from auglab.errors import AuglabError, check_choice, check_count, check_fraction, check_positive
from auglab.pretrained import hf_checkpoint
from auglab.pretrained.text_batch import TextBatch
from auglab.storage.artefact_cache import load_or_compute
from auglab.storage.fingerprint import fingerprint

log = logging.getLogger(__name__)


def tokenizer_of(context: RunContext, transform: str) -> Any:
    """The text model's tokenizer from the run's context; a one-line error when the run has none."""
    if context.tokenizer is None:
        raise AuglabError(f"{transform} edits token ids and needs a text model's tokenizer; use it with text data "
                          "and model=bert, text_cnn or text_bilstm")
    return context.tokenizer


def editable(x: TextBatch, p: float) -> torch.Tensor:
    """``[B, L]`` bool: real, non-special tokens of the texts chosen (each with chance ``p``)."""
    ids = x["input_ids"]
    chosen = torch.rand(len(ids), 1, device=ids.device) < p  # [B, 1]
    return chosen & x["attention_mask"].bool() & ~x["special_tokens_mask"].bool()


class TokenDropout:
    """Each editable token becomes [UNK] (``replace_with: unk``) or [MASK] with chance ``rate``: word
    dropout (Iyyer et al. 2015; Sennrich et al. 2016's token-level noise) on token ids."""

    def __init__(self, *, rate: float = 0.1, p: float = 1.0, replace_with: str = "unk") -> None:
        self.rate = check_fraction("rate", rate, above_zero=True)
        self.p = check_fraction("p", p)
        self.replace_with, self.replace_id = check_choice("replace_with", replace_with, ("unk", "mask")), None

    def setup(self, context: RunContext) -> None:
        tokenizer = tokenizer_of(context, "token_dropout")
        self.replace_id = tokenizer.unk_token_id if self.replace_with == "unk" else tokenizer.mask_token_id
        if self.replace_id is None:
            other = "mask" if self.replace_with == "unk" else "unk"
            raise AuglabError(f"token_dropout replace_with={self.replace_with}: the tokenizer of {context.checkpoint} "
                              f"has no such token; use replace_with={other}")

    def __call__(self, x: TextBatch, y: torch.Tensor) -> tuple[TextBatch, torch.Tensor]:
        ids = x["input_ids"]
        drop = editable(x, self.p) & (torch.rand(ids.shape, device=ids.device) < self.rate)
        return {**x, "input_ids": ids.masked_fill(drop, self.replace_id)}, y


class EmbeddingNoise:
    """Gaussian noise on the input embeddings of the chosen texts (noise injection, as in e-commerce
    query/review classifiers): ``x["embedding_noise"] [B]`` carries each text's noise scale, relative to
    the root-mean-square of the model's embedding weights; the text models add the noise themselves."""

    def __init__(self, *, sigma: float = 0.1, p: float = 1.0) -> None:
        self.sigma, self.p = check_positive("sigma", sigma), check_fraction("p", p)

    def __call__(self, x: TextBatch, y: torch.Tensor) -> tuple[TextBatch, torch.Tensor]:
        ids = x["input_ids"]
        chosen = (torch.rand(len(ids), device=ids.device) < self.p).float()
        return {**x, "embedding_noise": self.sigma * chosen}, y  # [B]; models add it (models/text_inputs.py)


def whole_word_tokens(tokenizer: Any) -> torch.Tensor:
    """Ids of vocabulary entries that are ASCII alphabetic words (no "##" pieces, no special tokens)."""
    special = set(tokenizer.all_special_ids)
    vocab = tokenizer.get_vocab()
    return torch.tensor(sorted(i for token, i in vocab.items()
                               if token.isascii() and token.isalpha() and i not in special))


def continuation_pieces(tokenizer: Any) -> torch.Tensor:
    """``[V]`` bool: WordPiece continuations ("##ing"), which mean the token before is not a whole word."""
    flags = torch.zeros(len(tokenizer), dtype=torch.bool)
    flags[[i for token, i in tokenizer.get_vocab().items() if token.startswith("##")]] = True
    return flags


def neighbour_table(embeddings: torch.Tensor, candidates: torch.Tensor, k: int, chunk: int = 2048) -> torch.Tensor:
    """``[V, k]`` int64: the ``k`` candidates nearest (cosine) to each candidate token, -1 for other tokens."""
    unit = torch.nn.functional.normalize(embeddings[candidates].float(), dim=1)  # [C, D]
    table = torch.full((len(embeddings), k), -1, dtype=torch.long)
    for start in range(0, len(unit), chunk):
        sims = unit[start:start + chunk] @ unit.T  # [c, C]
        rows = torch.arange(start, min(start + chunk, len(unit)))
        sims[torch.arange(len(rows)), rows] = -2.0  # never a token's own neighbour
        nearest = sims.topk(k, dim=1).indices  # [c, k] positions in candidates
        table[candidates[rows]] = candidates[nearest].cpu()
    return table


class EmbeddingSubstitution:
    """Each editable whole-word token becomes, with chance ``rate``, one of its ``k`` nearest neighbours in
    the checkpoint's input-embedding space (cosine). The table is computed once per checkpoint, on the
    accelerator when there is one, and cached. Words split into pieces ("kar ##bos ##i") are left alone;
    the candidates follow WordPiece's conventions (BERT-family vocabularies). Embedding neighbours are
    related words, not always synonyms (stale: outdated, fresh, bland)."""

    def __init__(self, *, rate: float = 0.1, k: int = 10, p: float = 1.0) -> None:
        self.rate = check_fraction("rate", rate, above_zero=True)
        self.p = check_fraction("p", p)
        self.k = check_count("k", k)
        self.table, self.continues = None, None

    def setup(self, context: RunContext) -> None:
        tokenizer = tokenizer_of(context, "embedding_substitution")
        embeddings = hf_checkpoint.input_embeddings(context.checkpoint)  # [V, D]
        self.continues = continuation_pieces(tokenizer)
        key = fingerprint(embeddings, str(self.k))[:20]
        path = Path(context.cache_dir) / "embedding_neighbours" / f"{key}.pt" if context.cache_dir else None

        def compute() -> torch.Tensor:
            device = "cuda" if torch.cuda.is_available() else "cpu"
            candidates = whole_word_tokens(tokenizer)
            log.info("embedding_substitution: %d nearest neighbours of %d whole-word tokens of %s on %s", self.k,
                     len(candidates), context.checkpoint, device)
            return neighbour_table(embeddings.to(device), candidates.to(device), self.k)

        self.table, _ = load_or_compute(path, compute, what="embedding neighbours")

    def __call__(self, x: TextBatch, y: torch.Tensor) -> tuple[TextBatch, torch.Tensor]:
        ids = x["input_ids"]
        if self.table.device != ids.device:
            self.table, self.continues = self.table.to(ids.device), self.continues.to(ids.device)
        options = self.table[ids]  # [B, L, k]
        pick = torch.randint(self.k, ids.shape, device=ids.device)
        new = options.gather(2, pick[..., None]).squeeze(2)  # [B, L]
        piece_follows = torch.zeros_like(ids, dtype=torch.bool)
        piece_follows[:, :-1] = self.continues[ids[:, 1:]]  # the token is only the start of a word
        swap = editable(x, self.p) & (torch.rand(ids.shape, device=ids.device) < self.rate) & (new >= 0) \
            & ~piece_follows
        return {**x, "input_ids": torch.where(swap, new, ids)}, y
