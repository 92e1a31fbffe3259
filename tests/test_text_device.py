"""Device-stage text strategies: token dropout, embedding noise, embedding substitution and sentence
MixUp on real MiniLM tokenisations and models, and their bad options."""

from __future__ import annotations

import functools
import re

import pytest
import torch

from auglab.augment import AugmentationStrategy, RunContext
from auglab.augment.text.device import EmbeddingNoise, EmbeddingSubstitution, TokenDropout, neighbour_table
from auglab.augment.text.sentence_mixup import SentenceMixUp
from auglab.errors import AuglabError
from auglab.models.text_classifier import BertClassifier, CNNBody, SmallTextClassifier
from auglab.models.text_inputs import add_embedding_noise
from auglab.pretrained import hf_checkpoint
from tests.conftest import compose_cfg, monitoring

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
    drop.setup(RunContext(tokenizer=tokenizer, checkpoint=MINILM))
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
    masked.setup(RunContext(tokenizer=tokenizer, checkpoint=MINILM))
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
    sub.setup(RunContext(tokenizer=tokenizer, checkpoint=MINILM, cache_dir=tmp_path))
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
    again.setup(RunContext(tokenizer=tokenizer, checkpoint=MINILM, cache_dir=tmp_path))
    assert torch.equal(again.table, sub.table)


@pytest.mark.parametrize(("overrides", "message"), [
    ("augment=token_dropout augment.device.token_dropout.rate=0",
     "augment.device.token_dropout.rate=0 is invalid: it must be a number in (0, 1]"),
    ("augment=token_dropout augment.device.token_dropout.replace_with=pad",
     "augment.device.token_dropout.replace_with='pad' is invalid: it must be one of unk, mask"),
    ("augment=embedding_noise augment.device.embedding_noise.sigma=-1",
     "augment.device.embedding_noise.sigma=-1 is invalid: it must be a number > 0"),
    ("augment=embedding_noise augment.device.embedding_noise.p=2",
     "augment.device.embedding_noise.p=2 is invalid: it must be a number in [0, 1]"),
    ("augment=embedding_substitution augment.device.embedding_substitution.k=0",
     "augment.device.embedding_substitution.k=0 is invalid: it must be an integer >= 1"),
])
def test_bad_device_options_fail_in_one_line(overrides, message, tmp_path):
    cfg = compose_cfg(overrides.split(), tmp_path)
    with pytest.raises(AuglabError, match=re.escape(message)) as err:
        AugmentationStrategy.from_config(cfg.augment)
    assert "\n" not in str(err.value)


def test_text_mixup_mixes_labels_and_leaves_its_draw_for_the_model():
    torch.manual_seed(0)
    x = {"input_ids": torch.arange(12).view(6, 2)}
    y = torch.eye(3)[[0, 1, 2, 0, 1, 2]]
    out, y_out = SentenceMixUp(alpha=0.4)(x, y)
    perm, lam = out["mixup_partner"], float(out["mixup_lambda"])
    assert sorted(perm.tolist()) == list(range(6)) and 0 < lam < 1
    assert torch.equal(out["input_ids"], x["input_ids"])  # ids cannot be blended: the model blends
    assert torch.allclose(y_out, lam * y + (1 - lam) * y[perm])
    untouched, y_same = SentenceMixUp(p=0.0)(x, y)
    assert untouched is x and y_same is y


def mixup_draw(x, lam, n):
    return {**x, "mixup_partner": torch.arange(n).flip(0), "mixup_lambda": torch.tensor(lam)}


def test_text_cnn_blends_its_pooled_features_under_text_mixup(tokenizer):
    x, _ = batch(tokenizer)
    torch.manual_seed(0)
    model = SmallTextClassifier(**monitoring("text_cnn"),
                                body=functools.partial(CNNBody, filters=8), num_classes=2, vocab_size=50,
                                pad_token_id=0, init_embeddings=False, embedding_dim=4,
                                optimizer=torch.optim.Adam).eval()
    x = {**x, "input_ids": x["input_ids"] % 50}
    features = model.body(model.embed(x["input_ids"]), x["attention_mask"].bool())  # [B, F]
    perm = torch.arange(len(TEXTS)).flip(0)
    expected = model.head(0.3 * features + 0.7 * features[perm])
    assert torch.allclose(model(mixup_draw(x, 0.3, len(TEXTS))), expected, atol=1e-6)


def test_bert_blends_the_input_of_its_classification_head_under_text_mixup(tokenizer):
    x, _ = batch(tokenizer)
    model = BertClassifier(**monitoring("bert"), checkpoint=MINILM, num_classes=3, optimizer=torch.optim.AdamW).eval()
    with torch.no_grad():
        plain = model(x)
        mixed = model(mixup_draw(x, 0.25, len(TEXTS)))
    perm = torch.arange(len(TEXTS)).flip(0)
    # BERT's head is one linear layer on the pooled [CLS]: blending its input blends the logits
    assert torch.allclose(mixed, 0.25 * plain + 0.75 * plain[perm], atol=1e-5)
    assert not model.encoder.classifier._forward_pre_hooks  # the hook lives for one forward only
    del model.encoder.classifier
    with pytest.raises(AuglabError, match="augment=text_mixup blends the input of the checkpoint's classification"):
        model(mixup_draw(x, 0.25, len(TEXTS)))
