"""Device-stage text strategies: token dropout, embedding noise and embedding substitution on real
MiniLM tokenisations, and their bad options."""

from __future__ import annotations

import pytest
import torch

from auglab.augment.text_device import (
    EmbeddingNoise,
    EmbeddingSubstitution,
    TokenDropout,
    add_embedding_noise,
    neighbour_table,
)
from auglab.errors import AuglabError
from auglab.models import hf_checkpoint

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
TEXTS = ["the coffee was fresh and tasty", "stale bread from karbosi", "a lovely tea with a bitter finish"] * 20


@pytest.fixture(scope="module")
def tokenizer():
    return hf_checkpoint.load_tokenizer(MINILM)


def batch(tokenizer):
    enc = tokenizer(TEXTS, padding=True, return_special_tokens_mask=True, return_tensors="pt")
    return {k: enc[k] for k in ("input_ids", "attention_mask", "special_tokens_mask")}, torch.zeros(len(TEXTS), 2)


def editable(x):
    return x["attention_mask"].bool() & ~x["special_tokens_mask"].bool()


def test_token_dropout_replaces_only_real_tokens_at_its_rate_and_keeps_labels(tokenizer):
    x, y = batch(tokenizer)
    drop = TokenDropout(rate=0.3)
    drop.bind(tokenizer, MINILM, None)
    torch.manual_seed(0)
    out, y_out = drop(x, y)
    changed = out["input_ids"] != x["input_ids"]
    assert not (changed & ~editable(x)).any()  # [CLS], [SEP], padding untouched
    assert (out["input_ids"][changed] == tokenizer.unk_token_id).all()
    share = changed.sum() / editable(x).sum()
    assert 0.2 < share < 0.4 and y_out is y
    rows = changed.any(1)
    assert rows.float().mean() > 0.8  # every text draws its own tokens: most texts are edited
    masked = TokenDropout(rate=0.3, replace_with="mask")
    masked.bind(tokenizer, MINILM, None)
    assert masked.replace_id == tokenizer.mask_token_id


def test_embedding_noise_is_per_text_and_relative_to_the_embedding_scale():
    torch.manual_seed(0)
    x = {"input_ids": torch.ones(1000, 4, dtype=torch.long)}
    out, _ = EmbeddingNoise(sigma=0.5, p=0.3)(x, torch.zeros(1000))
    scale = out["embedding_noise"]
    assert set(scale.unique().tolist()) == {0.0, 0.5} and 0.25 < (scale > 0).float().mean() < 0.35
    weight = torch.full((10, 8), 2.0)  # RMS 2
    embeds = torch.zeros(1000, 4, 8)
    noisy = add_embedding_noise(embeds, out, weight)
    assert (noisy[scale == 0] == 0).all()
    assert noisy[scale > 0].std() == pytest.approx(1.0, rel=0.05)  # sigma 0.5 x RMS 2
    assert add_embedding_noise(embeds, {"input_ids": x["input_ids"]}, weight) is embeds


def test_neighbours_are_the_nearest_other_candidates():
    emb = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [-1.0, 0.0]])
    table = neighbour_table(emb, torch.tensor([0, 1, 2, 3]), k=1, chunk=3)
    assert table[:, 0].tolist() == [1, 0, 3, 2, -1]  # token 4 is no candidate


def test_embedding_substitution_swaps_whole_words_for_embedding_neighbours(tokenizer, tmp_path):
    x, y = batch(tokenizer)
    sub = EmbeddingSubstitution(rate=0.5, k=5)
    sub.bind(tokenizer, MINILM, tmp_path)
    assert len(list((tmp_path / "embedding_neighbours").glob("*.pt"))) == 1  # cached for the next run
    coffee = tokenizer.convert_tokens_to_ids("coffee")
    neighbours = tokenizer.convert_ids_to_tokens(sub.table[coffee].tolist())
    assert "coffee" not in neighbours and all(n.isalpha() for n in neighbours)
    torch.manual_seed(0)
    out, _ = sub(x, y)
    changed = out["input_ids"] != x["input_ids"]
    assert changed.any() and not (changed & ~editable(x)).any()
    for row, col in changed.nonzero()[:50].tolist():
        assert out["input_ids"][row, col] in sub.table[x["input_ids"][row, col]]
    pieces = tokenizer.convert_ids_to_tokens(x["input_ids"][1])  # "karbosi" is split into word pieces
    starts = [i for i, t in enumerate(pieces[:-1]) if pieces[i + 1].startswith("##")]
    assert starts and not changed[1::3, starts].any()  # the start of a split word is never swapped
    again = EmbeddingSubstitution(rate=0.5, k=5)
    again.bind(tokenizer, MINILM, tmp_path)
    assert torch.equal(again.table, sub.table)


@pytest.mark.parametrize(("make", "fragment"), [
    (lambda: TokenDropout(rate=0), "token_dropout.rate=0 is invalid"),
    (lambda: TokenDropout(replace_with="pad"), "replace_with='pad': choose unk or mask"),
    (lambda: EmbeddingNoise(sigma=-1), "embedding_noise.sigma=-1 is invalid"),
    (lambda: EmbeddingNoise(p=2), "embedding_noise.p=2 is invalid"),
    (lambda: EmbeddingSubstitution(k=0), "embedding_substitution.k=0 is invalid"),
])
def test_bad_device_options_fail_in_one_line(make, fragment):
    with pytest.raises(AuglabError, match=fragment.replace("(", r"\(").replace("[", r"\[")):
        make()
