"""Product-text classifiers on the shared Classifier (metrics, soft labels, logging): a fine-tuned
Hugging Face encoder (``model=bert``) and the EDA paper's small CNN and BiLSTM (``text_cnn``,
``text_bilstm``) on the same tokenizer.

Inputs are the text collate's dict, ``input_ids`` and ``attention_mask``, both ``[B, L]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from auglab.errors import OptionError
from auglab.models.attack_surface import AttackSurface, embedding_rms
from auglab.models.classifier import Classifier
from auglab.models.text_inputs import add_embedding_noise, mix_sentences, mixing_head_input
from auglab.models.warmup import check_warmup, warmup_then_decay
from auglab.pretrained import hf_checkpoint
from auglab.pretrained.text_batch import TextBatch


class TextAttackSurface(AttackSurface):
    """Adversarial examples perturb the input word embeddings of real, non-special tokens, epsilon relative to
    the embeddings' RMS (as embedding_noise scales its noise)."""

    def word_embeddings(self) -> nn.Embedding:
        raise NotImplementedError

    def attack_input(self, x: TextBatch) -> torch.Tensor:  # [B, L, D], with a batch's embedding noise
        words = self.word_embeddings()
        return add_embedding_noise(words(x["input_ids"]), x, words.weight)

    def attack_mask(self, x: TextBatch) -> torch.Tensor:  # [B, L, 1]
        return (x["attention_mask"].bool() & ~x["special_tokens_mask"].bool())[..., None].to(torch.float32)

    def attack_scale(self) -> float:
        return embedding_rms(self.word_embeddings().weight)


class BertClassifier(TextAttackSurface, Classifier):
    """An encoder checkpoint with a fresh classification head, fine-tuned end to end. ``freeze_layers``
    freezes the embeddings and the first N transformer layers; ``warmup_fraction`` of the optimizer
    steps warm the learning rate up linearly, the rest decay it linearly to 0 (Devlin et al. 2019)."""

    data_kinds = ("text",)

    def __init__(self, *, checkpoint: str, num_classes: int, freeze_layers: int = 0, warmup_fraction: float = 0.1,
                 dropout: float | None = None, **kwargs: Any) -> None:
        super().__init__(num_classes=num_classes, **kwargs)
        check_warmup(warmup_fraction)
        extra = {} if dropout is None else {"classifier_dropout": dropout}
        # from_pretrained returns the model in eval mode, and Lightning keeps a submodule's mode: dropout
        # would be off during fine-tuning
        self.encoder = hf_checkpoint.load_encoder(checkpoint, num_labels=num_classes, **extra).train()
        self.checkpoint, self.warmup_fraction = checkpoint, warmup_fraction
        self._freeze(freeze_layers)

    def _freeze(self, layers: int) -> None:
        if layers == 0:
            return
        base = getattr(self.encoder, self.encoder.base_model_prefix)
        blocks = base.encoder.layer
        if not 0 <= layers <= len(blocks):
            raise OptionError("model.freeze_layers", layers, f"in [0, {len(blocks)}] for this checkpoint")
        for module in (base.embeddings, *blocks[:layers]):
            module.requires_grad_(False)

    def forward(self, x: TextBatch) -> torch.Tensor:  # -> logits [B, K]
        if "embedding_noise" in x:  # noise on the word embeddings, before positions and LayerNorm
            return self.attack_output(x, self.attack_input(x))
        with mixing_head_input(getattr(self.encoder, "classifier", None), x, self.checkpoint):
            return self.encoder(input_ids=x["input_ids"], attention_mask=x["attention_mask"]).logits

    def word_embeddings(self) -> nn.Embedding:
        return self.encoder.get_input_embeddings()

    def attack_output(self, x: TextBatch, z: torch.Tensor) -> torch.Tensor:
        with mixing_head_input(getattr(self.encoder, "classifier", None), x, self.checkpoint):
            return self.encoder(inputs_embeds=z, attention_mask=x["attention_mask"]).logits

    def configure_optimizers(self) -> Any:
        return warmup_then_decay(self, self.warmup_fraction)


class WordEmbeddings(nn.Module):
    """Token embeddings of the small models: the checkpoint's input embeddings (the stand-in for the
    paper's GloVe) or random ones of ``dim``; ``freeze`` keeps them fixed, as the paper does."""

    def __init__(self, *, checkpoint: str | None, vocab_size: int, pad_token_id: int, dim: int, freeze: bool) -> None:
        super().__init__()
        if checkpoint:
            weights = hf_checkpoint.input_embeddings(checkpoint)  # [vocab, dim]
            self.embed = nn.Embedding.from_pretrained(weights, freeze=freeze, padding_idx=pad_token_id)
        else:
            self.embed = nn.Embedding(vocab_size, dim, padding_idx=pad_token_id)
            self.embed.weight.requires_grad_(not freeze)
        self.dim = self.embed.embedding_dim

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # [B, L] -> [B, L, D]
        return self.embed(ids)


class SmallTextClassifier(TextAttackSurface, Classifier):
    """Embeddings, then a ``body`` ``[B, L, D], mask [B, L] -> [B, F]``, then dense 20 + ReLU and the head."""

    data_kinds = ("text",)

    def __init__(self, *, body: Callable[[int], nn.Module], num_classes: int, vocab_size: int, pad_token_id: int,
                 checkpoint: str | None = None, init_embeddings: bool = True, embedding_dim: int = 300,
                 freeze_embeddings: bool = True, hidden: int = 20, **kwargs: Any) -> None:
        super().__init__(num_classes=num_classes, **kwargs)
        self.embed = WordEmbeddings(checkpoint=checkpoint if init_embeddings else None, vocab_size=vocab_size,
                                    pad_token_id=pad_token_id, dim=embedding_dim, freeze=freeze_embeddings)
        self.body = body(self.embed.dim)
        self.head = nn.Sequential(nn.Linear(self.body.out_features, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x: TextBatch) -> torch.Tensor:  # -> logits [B, K]
        return self.attack_output(x, self.attack_input(x))

    def word_embeddings(self) -> nn.Embedding:
        return self.embed.embed

    def attack_output(self, x: TextBatch, z: torch.Tensor) -> torch.Tensor:  # z: [B, L, D] -> [B, K]
        return self.head(mix_sentences(self.body(z, x["attention_mask"].bool()), x))  # text_mixup: the body's [B, F]


class CNNBody(nn.Module):
    """Conv1D (``filters`` of ``width`` tokens, ReLU), max-pooled over the real tokens."""

    def __init__(self, dim: int, *, filters: int = 128, width: int = 5) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dim, filters, width, padding=width // 2)
        self.out_features = filters

    def forward(self, emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # [B, L, D], [B, L] -> [B, F]
        h = torch.relu(self.conv(emb.transpose(1, 2)))  # [B, F, L]
        return h.masked_fill(~mask[:, None, :], float("-inf")).amax(dim=2)


class BiLSTMBody(nn.Module):
    """Two bidirectional LSTMs (``hidden`` sizes) with dropout; the last one's final states, both ways."""

    def __init__(self, dim: int, *, hidden: tuple[int, int] = (64, 32), dropout: float = 0.5) -> None:
        super().__init__()
        self.first = nn.LSTM(dim, hidden[0], batch_first=True, bidirectional=True)
        self.second = nn.LSTM(2 * hidden[0], hidden[1], batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.out_features = 2 * hidden[1]

    def forward(self, emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # [B, L, D], [B, L] -> [B, 2H]
        lengths = mask.sum(dim=1).clamp_min(1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.first(packed)
        out = nn.utils.rnn.PackedSequence(self.drop(out.data), out.batch_sizes, out.sorted_indices,
                                          out.unsorted_indices)
        _, (h, _) = self.second(out)  # h: [2, B, H], forward and backward final states
        return self.drop(torch.cat([h[0], h[1]], dim=1))
