"""EDA (Wei & Zou 2019) and keyboard typos: WordNet from Debian's files, the four operations' invariants,
the offline and sample stages' contracts (sizes, labels, seeding) and their option checks."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
import torch

from auglab.augment.text import wordnet
from auglab.augment.text.eda import (
    STOP_WORDS,
    EDAOffline,
    EDASample,
    eda,
    random_deletion,
    random_insertion,
    random_swap,
    synonym_replacement,
    tokenize,
)
from auglab.augment.text.typo import NEIGHBOURS, Typo, TypoOffline, typo
from auglab.errors import AuglabError

SENTENCE = "The quick brown fox jumps over the lazy dog while the farmer sells fresh eggs at the market"
WORDS = tokenize(SENTENCE)
ALPHAS = {"alpha_sr": 0.1, "alpha_ri": 0.1, "alpha_rs": 0.1, "alpha_rd": 0.1}
TEXTS = [SENTENCE, "Great coffee, fast delivery and a fair price", "the package arrived broken and late"]


# --- WordNet ------------------------------------------------------------------------------------------------
def test_lexnames_has_the_45_files_that_the_data_files_use(tmp_path):
    folder = wordnet.prepare_dir(tmp_path / "wn")
    rows = [line.split("\t") for line in (folder / "lexnames").read_text().splitlines()]
    assert len(rows) == 45
    assert [int(number) for number, _, _ in rows] == list(range(45))
    names = {int(number): (name, int(category)) for number, name, category in rows}
    prefix = {"n": ("noun", 1), "v": ("verb", 2), "a": ("adj", 3), "s": ("adj", 3), "r": ("adv", 4)}
    used = set()
    for pos in ("noun", "verb", "adj", "adv"):
        with open(wordnet.wordnet_dir() / f"data.{pos}") as data:
            for line in data:
                if line.startswith("  "):  # the licence header
                    continue
                _, number, ss_type = line.split(" ", 3)[:3]
                name, category = names[int(number)]
                assert (name.split(".")[0], category) == prefix[ss_type], line[:40]
                used.add(int(number))
    assert used == set(range(45))
    reader = wordnet.wordnet_reader(tmp_path / "wn")  # the reader reads that folder, lexnames included
    assert reader.synsets("dog")[0].lexname() == "noun.animal"
    assert reader.get_version() == "3.0"


def test_missing_wordnet_files_say_how_to_install_them(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGLAB_WORDNET_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(AuglabError, match="apt-get install wordnet-base wordnet-sense-index") as err:
        wordnet.wordnet_reader(tmp_path / "cache")
    assert "\n" not in str(err.value) and "AUGLAB_WORDNET_DIR" in str(err.value) and "data.noun" in str(err.value)


def test_synonyms():
    good = wordnet.synonyms("good")
    assert {"beneficial", "well", "trade good"} <= set(good)
    assert "good" not in good and len(good) == len(set(good))
    assert all(s == s.lower() and "_" not in s for s in good)
    assert wordnet.synonyms("Good") == good  # lower-cased, and in the same order each time
    assert wordnet.synonyms("xqzvbwm") == []


# --- the four operations ------------------------------------------------------------------------------------
def test_tokenize():
    assert tokenize("Don't STOP: 64GB, café-au-lait!") == ["don't", "stop", "64gb", "café", "au", "lait"]
    assert tokenize("  \t ") == [] and tokenize("?!") == []


def test_synonym_replacement_changes_only_non_stop_words_to_their_synonyms():
    changed_any = False
    for seed in range(10):
        out = synonym_replacement(WORDS, 2, random.Random(seed))
        assert len(out) == len(WORDS)
        changed = {old for old, new in zip(WORDS, out, strict=True) if old != new}
        assert len(changed) <= 2 and not changed & STOP_WORDS
        for old, new in zip(WORDS, out, strict=True):
            assert new == old or new in wordnet.synonyms(old)
        changed_any |= bool(changed)
    assert changed_any


def test_random_insertion_adds_n_synonyms_of_the_sentence_words():
    candidates = {s for word in WORDS if word not in STOP_WORDS for s in wordnet.synonyms(word)}
    for seed in range(10):
        out = random_insertion(WORDS, 3, random.Random(seed))
        assert len(out) == len(WORDS) + 3
        inserted = Counter(out) - Counter(WORDS)
        assert sum(inserted.values()) == 3 and set(inserted) <= candidates
        rest = iter(out)
        assert all(word in rest for word in WORDS)  # the original words keep their order
    assert random_insertion(["the", "xqzvbwm"], 2, random.Random(0)) == ["the", "xqzvbwm"]  # nothing to insert


def test_random_swap_keeps_the_words():
    out = random_swap(WORDS, 1, random.Random(0))
    assert sorted(out) == sorted(WORDS) and sum(a != b for a, b in zip(out, WORDS, strict=True)) == 2
    assert sorted(random_swap(WORDS, 5, random.Random(1))) == sorted(WORDS)
    assert random_swap(["alone"], 3, random.Random(0)) == ["alone"]


def test_random_deletion():
    rng = random.Random(0)
    assert random_deletion(WORDS, 0.0, rng) == WORDS
    for _ in range(5):
        out = random_deletion(WORDS, 1.0, rng)
        assert len(out) == 1 and out[0] in WORDS
    out = random_deletion(WORDS, 0.5, rng)
    rest = iter(WORDS)
    assert 0 < len(out) < len(WORDS) and all(word in rest for word in out)  # a subsequence


# --- eda and the stages --------------------------------------------------------------------------------------
def test_eda_is_seeded_and_splits_the_copies_between_operations():
    first = eda(SENTENCE, **ALPHAS, n_aug=8, rng=random.Random(0))
    assert len(first) == 8 and first == eda(SENTENCE, **ALPHAS, n_aug=8, rng=random.Random(0))
    assert first != eda(SENTENCE, **ALPHAS, n_aug=8, rng=random.Random(1))
    # RI adds 3 synonyms (some of several words), RD with p=1 leaves one word: two copies each
    out = eda(SENTENCE, alpha_sr=0, alpha_ri=0.2, alpha_rs=0, alpha_rd=1.0, n_aug=4, rng=random.Random(0))
    lengths = sorted(len(text.split()) for text in out)
    assert lengths[:2] == [1, 1] and min(lengths[2:]) >= len(WORDS) + 3
    swaps = eda(SENTENCE, alpha_sr=0, alpha_ri=0, alpha_rs=0.3, alpha_rd=0, n_aug=3, rng=random.Random(0))
    assert all(sorted(text.split()) == sorted(WORDS) for text in swaps)
    # a remainder copy goes to a random operation, so n_aug=1 reaches both
    lengths = {len(eda(SENTENCE, alpha_sr=0, alpha_ri=0.2, alpha_rs=0, alpha_rd=1.0, n_aug=1,
                       rng=random.Random(seed))[0].split()) for seed in range(10)}
    assert 1 in lengths and max(lengths) >= len(WORDS) + 3
    with pytest.raises(AuglabError, match="above 0 for at least one of them"):
        eda(SENTENCE, alpha_sr=0, alpha_ri=0, alpha_rs=0, alpha_rd=0, n_aug=1, rng=random.Random(0))


def test_eda_offline_appends_n_aug_labelled_copies():
    labels = torch.tensor([0, 1, 2])
    texts, out_labels = EDAOffline(n_aug=4)((TEXTS, labels))
    assert len(texts) == 15 and texts[:3] == TEXTS
    assert out_labels.tolist() == [0, 1, 2] + [0] * 4 + [1] * 4 + [2] * 4
    assert texts[3:] != [t for t in TEXTS for _ in range(4)]
    assert EDAOffline(n_aug=4)((TEXTS, labels))[0] == texts  # same seed, same output
    assert EDAOffline(n_aug=4, seed=1)((TEXTS, labels))[0] != texts


def test_eda_sample_follows_torch_seed():
    stage = EDASample()
    torch.manual_seed(0)
    first = [stage(SENTENCE) for _ in range(6)]
    torch.manual_seed(0)
    assert [stage(SENTENCE) for _ in range(6)] == first
    assert len(set(first)) > 1  # a fresh edit each call
    torch.manual_seed(1)
    assert [stage(SENTENCE) for _ in range(6)] != first


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "?!"])
def test_texts_without_words_pass_through(text):
    assert EDASample()(text) == text
    assert text == "?!" or Typo(word_rate=1.0)(text) == text  # to Typo, "?!" is a word it may misspell
    texts, labels = EDAOffline(n_aug=2)(([text], torch.tensor([5])))
    assert texts == [text] * 3 and labels.tolist() == [5, 5, 5]


# --- typos ---------------------------------------------------------------------------------------------------
def test_neighbour_map():
    assert set(NEIGHBOURS["s"]) == set("weadzx") and set(NEIGHBOURS["p"]) == set("ol")
    assert all(key in NEIGHBOURS[other] for key, near in NEIGHBOURS.items() for other in near)  # symmetric
    assert len(NEIGHBOURS) == 26


def test_typo_edits():
    rng = random.Random(0)
    for _ in range(20):
        out = typo("Hello", "keyboard", rng)
        diff = [i for i in range(5) if out[i] != "Hello"[i]]
        assert len(diff) == 1
        i = diff[0]
        assert out[i].lower() in NEIGHBOURS["hello"[i]] and out[i].isupper() == (i == 0)
    assert typo("ab", "swap", rng) == "ba" and typo("aa", "swap", rng) == "aa"
    assert len(typo("word", "drop", rng)) == 3
    assert typo("a", "drop", rng) == "a" and typo("a", "swap", rng) == "a" and typo("42", "keyboard", rng) == "42"


def test_typo_rate():
    words = ["product", "quality", "delivery", "flavour", "package"] * 600
    out = Typo(word_rate=0.2).apply("  ".join(words), random.Random(0)).split("  ")
    assert len(out) == len(words)
    rate = sum(a != b for a, b in zip(out, words, strict=True)) / len(words)
    assert 0.17 < rate < 0.23
    assert Typo(word_rate=0.0).apply(" ".join(words), random.Random(0)) == " ".join(words)


def test_typo_stages_are_seeded():
    stage = Typo(word_rate=0.5, ops=["drop"])
    torch.manual_seed(0)
    first = [stage(SENTENCE) for _ in range(4)]
    torch.manual_seed(0)
    assert [stage(SENTENCE) for _ in range(4)] == first and len(set(first)) > 1
    assert all(len(text) < len(SENTENCE) for text in first)  # only drops
    labels = torch.tensor([3, 4, 5])
    texts, out_labels = TypoOffline(n_aug=2, word_rate=0.5)((TEXTS, labels))
    assert len(texts) == 9 and texts[:3] == TEXTS and out_labels.tolist() == [3, 4, 5, 3, 3, 4, 4, 5, 5]
    assert TypoOffline(n_aug=2, word_rate=0.5)((TEXTS, labels))[0] == texts


# --- option checks -------------------------------------------------------------------------------------------
def _strategy(stage: str, key: str, target: str, **options):
    """Build a one-transform strategy as a config would: errors name the option by its place in it."""
    from auglab.augment import AugmentationStrategy

    node = {"_target_": f"auglab.augment.text.{target}", **options}
    return AugmentationStrategy.from_config({"name": "t", "kinds": ["text"], stage: {key: node}})


@pytest.mark.parametrize(("stage", "key", "target", "options", "option"), [
    ("offline", "eda", "EDAOffline", {"alpha_sr": 1.5}, "augment.offline.eda.alpha_sr=1.5"),
    ("sample", "eda", "EDASample", {"alpha_rd": -0.1}, "augment.sample.eda.alpha_rd=-0.1"),
    ("sample", "eda", "EDASample", {"alpha_ri": "0.1"}, "augment.sample.eda.alpha_ri='0.1'"),
    ("offline", "eda", "EDAOffline", {"alpha_sr": 0, "alpha_ri": 0, "alpha_rs": 0, "alpha_rd": 0},
     "augment.offline.eda.alpha_"),
    ("offline", "eda", "EDAOffline", {"n_aug": 0}, "augment.offline.eda.n_aug=0"),
    ("offline", "eda", "EDAOffline", {"n_aug": 2.5}, "augment.offline.eda.n_aug=2.5"),
    ("sample", "typo", "Typo", {"word_rate": 2}, "augment.sample.typo.word_rate=2"),
    ("sample", "typo", "Typo", {"ops": ["keyboard", "shout"]}, "augment.sample.typo.ops=['keyboard', 'shout']"),
    ("sample", "typo", "Typo", {"ops": []}, "augment.sample.typo.ops=[]"),
    ("offline", "typo", "TypoOffline", {"word_rate": -1}, "augment.offline.typo.word_rate=-1"),
    ("offline", "typo", "TypoOffline", {"n_aug": 0}, "augment.offline.typo.n_aug=0"),
])
def test_bad_options_name_the_option(stage, key, target, options, option):
    with pytest.raises(AuglabError, match=re.escape(option)) as err:
        _strategy(stage, key, target, **options)
    assert "\n" not in str(err.value) and " is invalid: it must be " in str(err.value)
