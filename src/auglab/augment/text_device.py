"""Device-stage text augmentations: whole tokenised batches on the accelerator, independent random draws
per text and per token, no Python loop over texts.

Input ``x``: the text collate's dict, ``input_ids`` / ``attention_mask`` / ``special_tokens_mask``, each
``[B, L]``; labels are never changed. Only real tokens are edited, never [CLS], [SEP] or padding.
``p`` is the chance that a text is augmented at all. Transforms that need the checkpoint's tokenizer
or embeddings declare ``uses_tokenizer`` and get them from the text datamodule (``bind``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch

from auglab.augment.option_checks import check_count, check_fraction
from auglab.errors import AuglabError
from auglab.fingerprint import fingerprint

log = logging.getLogger(__name__)
TextBatch = dict[str, torch.Tensor]


def editable(x: TextBatch, p: float) -> torch.Tensor:
    """``[B, L]`` bool: real, non-special tokens of the texts chosen (each with chance ``p``)."""
    ids = x["input_ids"]
    chosen = torch.rand(len(ids), 1, device=ids.device) < p  # [B, 1]
    return chosen & x["attention_mask"].bool() & ~x["special_tokens_mask"].bool()


class TokenDropout:
    """Each editable token becomes [UNK] (``replace_with: unk``) or [MASK] with chance ``rate``: word
    dropout (Iyyer et al. 2015; Sennrich et al. 2016's token-level noise) on token ids."""

    uses_tokenizer = True

    def __init__(self, *, rate: float = 0.1, p: float = 1.0, replace_with: str = "unk") -> None:
        self.rate = check_fraction("augment.device.token_dropout.rate", rate, above_zero=True)
        self.p = check_fraction("augment.device.token_dropout.p", p)
        if replace_with not in ("unk", "mask"):
            raise AuglabError(f"augment.device.token_dropout.replace_with={replace_with!r}: choose unk or mask")
        self.replace_with, self.replace_id = replace_with, None

    def bind(self, tokenizer: Any, checkpoint: str, cache_dir: Path | None) -> None:
        self.replace_id = tokenizer.unk_token_id if self.replace_with == "unk" else tokenizer.mask_token_id
        if self.replace_id is None:
            raise AuglabError(f"augment.device.token_dropout.replace_with={self.replace_with}: the tokenizer of "
                              f"{checkpoint} has no such token; use the other one")

    def __call__(self, x: TextBatch, y: torch.Tensor) -> tuple[TextBatch, torch.Tensor]:
        ids = x["input_ids"]
        drop = editable(x, self.p) & (torch.rand(ids.shape, device=ids.device) < self.rate)
        return {**x, "input_ids": ids.masked_fill(drop, self.replace_id)}, y


class EmbeddingNoise:
    """Gaussian noise on the input embeddings of the chosen texts (noise injection, as in e-commerce
    query/review classifiers): ``x["embedding_noise"] [B]`` carries each text's noise scale, relative to
    the root-mean-square of the model's embedding weights; the text models add the noise themselves."""

    def __init__(self, *, sigma: float = 0.1, p: float = 1.0) -> None:
        if isinstance(sigma, bool) or not isinstance(sigma, int | float) or sigma <= 0:
            raise AuglabError(f"augment.device.embedding_noise.sigma={sigma!r} is invalid: it must be a number > 0")
        self.sigma, self.p = float(sigma), check_fraction("augment.device.embedding_noise.p", p)

    def __call__(self, x: TextBatch, y: torch.Tensor) -> tuple[TextBatch, torch.Tensor]:
        ids = x["input_ids"]
        chosen = (torch.rand(len(ids), device=ids.device) < self.p).float()
        return {**x, "embedding_noise": self.sigma * chosen}, y  # [B]


def add_embedding_noise(embeds: torch.Tensor, x: TextBatch, weight: torch.Tensor) -> torch.Tensor:
    """``embeds [B, L, D]`` plus the noise ``EmbeddingNoise`` asked for, if it did (training batches only)."""
    scale = x.get("embedding_noise")
    if scale is None:
        return embeds
    rms = weight.detach().pow(2).mean().sqrt()
    return embeds + (scale * rms)[:, None, None] * torch.randn_like(embeds)


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

    uses_tokenizer = True

    def __init__(self, *, rate: float = 0.1, k: int = 10, p: float = 1.0) -> None:
        self.rate = check_fraction("augment.device.embedding_substitution.rate", rate, above_zero=True)
        self.p = check_fraction("augment.device.embedding_substitution.p", p)
        self.k = check_count("augment.device.embedding_substitution.k", k)
        self.table, self.continues = None, None

    def bind(self, tokenizer: Any, checkpoint: str, cache_dir: Path | None) -> None:
        from auglab.models import hf_checkpoint

        embeddings = hf_checkpoint.input_embeddings(checkpoint)  # [V, D]
        self.continues = continuation_pieces(tokenizer)
        key = fingerprint(embeddings, str(self.k))[:20]
        path = Path(cache_dir) / "embedding_neighbours" / f"{key}.pt" if cache_dir else None
        if path is not None and path.is_file():
            self.table = torch.load(path, weights_only=True)
            return
        device = "cuda" if torch.cuda.is_available() else "cpu"
        candidates = whole_word_tokens(tokenizer)
        log.info("embedding_substitution: %d nearest neighbours of %d whole-word tokens of %s on %s", self.k,
                 len(candidates), checkpoint, device)
        self.table = neighbour_table(embeddings.to(device), candidates.to(device), self.k)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            torch.save(self.table, tmp)
            tmp.replace(path)

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
