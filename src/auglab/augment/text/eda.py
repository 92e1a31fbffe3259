"""EDA, easy data augmentation for text classification (Wei & Zou 2019, arXiv 1901.11196): synonym
replacement (SR), random insertion (RI), random swap (RS) and random deletion (RD) of words, offline
(``n_aug`` copies of each text beside the original, as in the paper) or per sample (a fresh edit each epoch).

Text is normalised first, in EDA's spirit: lower-cased, then split into words of letters and digits,
keeping an apostrophe inside a word ("don't" stays one word and matches the stop-word list); every other
character separates words. Unlike EDA, digits are kept: sizes and model numbers matter in product text.
An augmented text is its words joined by single spaces; a text without words passes through unchanged.
"""

from __future__ import annotations

import random
import re

import torch

from auglab.augment.text.expansion import expand_offline, torch_seeded_rng
from auglab.augment.text.wordnet import synonyms
from auglab.errors import OptionError, check_count, check_fraction

# NLTK's English stop-word list (179 words), as the paper uses a standard list of about that size.
# SR and RI leave these alone: their WordNet "synonyms" ("i": iodine, "a": vitamin a) are nonsense here.
STOP_WORDS = frozenset((
    "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "you're", "you've", "you'll", "you'd",
    "your", "yours", "yourself", "yourselves", "he", "him", "his", "himself", "she", "she's", "her", "hers",
    "herself", "it", "it's", "its", "itself", "they", "them", "their", "theirs", "themselves", "what", "which",
    "who", "whom", "this", "that", "that'll", "these", "those", "am", "is", "are", "was", "were", "be", "been",
    "being", "have", "has", "had", "having", "do", "does", "did", "doing", "a", "an", "the", "and", "but", "if",
    "or", "because", "as", "until", "while", "of", "at", "by", "for", "with", "about", "against", "between",
    "into", "through", "during", "before", "after", "above", "below", "to", "from", "up", "down", "in", "out",
    "on", "off", "over", "under", "again", "further", "then", "once", "here", "there", "when", "where", "why",
    "how", "all", "any", "both", "each", "few", "more", "most", "other", "some", "such", "no", "nor", "not",
    "only", "own", "same", "so", "than", "too", "very", "s", "t", "can", "will", "just", "don", "don't",
    "should", "should've", "now", "d", "ll", "m", "o", "re", "ve", "y", "ain", "aren", "aren't", "couldn",
    "couldn't", "didn", "didn't", "doesn", "doesn't", "hadn", "hadn't", "hasn", "hasn't", "haven", "haven't",
    "isn", "isn't", "ma", "mightn", "mightn't", "mustn", "mustn't", "needn", "needn't", "shan", "shan't",
    "shouldn", "shouldn't", "wasn", "wasn't", "weren", "weren't", "won", "won't", "wouldn", "wouldn't",
))
OPERATIONS = ("sr", "ri", "rs", "rd")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")  # letters/digits, with apostrophes inside only


def tokenize(text: str) -> list[str]:
    """Lower-case words of letters and digits (inner apostrophes kept), in order."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def _count(alpha: float, words: list[str]) -> int:
    return max(1, int(alpha * len(words)))  # the paper's n = alpha * l, at least one edit


def synonym_replacement(words: list[str], n: int, rng: random.Random) -> list[str]:
    """Replace up to ``n`` distinct non-stop words that have synonyms, every occurrence of each, by a
    random synonym; a multi-word synonym stays one list item, so positions and length are kept."""
    candidates = [word for word in dict.fromkeys(words) if word not in STOP_WORDS]
    rng.shuffle(candidates)
    out, replaced = list(words), 0
    for word in candidates:
        if replaced == n:
            break
        options = synonyms(word)
        if options:
            choice = rng.choice(options)
            # compare with the input, not ``out``: a synonym put in earlier is not replaced again
            out = [choice if old == word else new for old, new in zip(words, out, strict=True)]
            replaced += 1
    return out


def random_insertion(words: list[str], n: int, rng: random.Random) -> list[str]:
    """``n`` times, insert a random synonym of a random non-stop word of ``words`` at a random position;
    unchanged when no such word has a synonym."""
    sources = [word for word in words if word not in STOP_WORDS and synonyms(word)]
    out = list(words)
    if sources:
        for _ in range(n):
            out.insert(rng.randint(0, len(out)), rng.choice(synonyms(rng.choice(sources))))
    return out


def random_swap(words: list[str], n: int, rng: random.Random) -> list[str]:
    """``n`` times, swap the words at two different random positions."""
    out = list(words)
    if len(out) < 2:
        return out
    for _ in range(n):
        i = rng.randrange(len(out))
        j = rng.randrange(len(out) - 1)
        if j >= i:  # j is uniform over the other positions
            j += 1
        out[i], out[j] = out[j], out[i]
    return out


def random_deletion(words: list[str], p: float, rng: random.Random) -> list[str]:
    """Drop each word with probability ``p``; when all would go, keep one random word."""
    kept = [word for word in words if rng.random() >= p]
    return kept if kept or not words else [rng.choice(words)]


def eda(sentence: str, *, alpha_sr: float, alpha_ri: float, alpha_rs: float, alpha_rd: float, n_aug: int,
        rng: random.Random) -> list[str]:
    """``n_aug`` augmented versions of ``sentence``, each made by one operation; the operations with
    alpha > 0 share them evenly, any remainder going to operations drawn at random."""
    alphas = dict(zip(OPERATIONS, (alpha_sr, alpha_ri, alpha_rs, alpha_rd), strict=True))
    active = [op for op in OPERATIONS if alphas[op] > 0]
    if not active:
        raise OptionError("alpha_sr/alpha_ri/alpha_rs/alpha_rd", 0, "above 0 for at least one of them")
    words = tokenize(sentence)
    if not words:
        return [sentence] * n_aug
    each, extra = divmod(n_aug, len(active))
    # random extras: with n_aug=1 (the sample stage) every active operation is equally likely
    plan = [op for op in active for _ in range(each)] + rng.sample(active, extra)
    out = []
    for op in plan:
        alpha = alphas[op]
        if op == "sr":
            new = synonym_replacement(words, _count(alpha, words), rng)
        elif op == "ri":
            new = random_insertion(words, _count(alpha, words), rng)
        elif op == "rs":
            new = random_swap(words, _count(alpha, words), rng)
        else:
            new = random_deletion(words, alpha, rng)  # RD's alpha is the deletion probability p
        out.append(" ".join(new))
    return out


class _EDA:
    """The four alphas, checked."""

    def __init__(self, alpha_sr: float, alpha_ri: float, alpha_rs: float, alpha_rd: float) -> None:
        given = {"alpha_sr": alpha_sr, "alpha_ri": alpha_ri, "alpha_rs": alpha_rs, "alpha_rd": alpha_rd}
        self.alphas = {name: check_fraction(name, value) for name, value in given.items()}
        if not any(self.alphas.values()):
            raise OptionError("alpha_sr/alpha_ri/alpha_rs/alpha_rd", 0, "above 0 for at least one of them")

    def augment(self, text: str, n_aug: int, rng: random.Random) -> list[str]:
        return eda(text, **self.alphas, n_aug=n_aug, rng=rng)


class EDAOffline(_EDA):
    """Offline stage: the texts plus ``n_aug`` EDA copies of each, with its label; the same input and
    ``seed`` give the same output."""

    def __init__(self, *, alpha_sr: float = 0.1, alpha_ri: float = 0.1, alpha_rs: float = 0.1,
                 alpha_rd: float = 0.1, n_aug: int = 4, seed: int = 0) -> None:
        super().__init__(alpha_sr, alpha_ri, alpha_rs, alpha_rd)
        self.n_aug, self.seed = check_count("n_aug", n_aug), seed

    def __call__(self, examples: tuple[list[str], torch.Tensor]) -> tuple[list[str], torch.Tensor]:
        rng = random.Random(self.seed)
        return expand_offline(examples, self.n_aug, lambda text: self.augment(text, self.n_aug, rng), "EDA")


class EDASample(_EDA):
    """Sample stage: one EDA version of one text per call, a fresh edit each epoch."""

    def __init__(self, *, alpha_sr: float = 0.1, alpha_ri: float = 0.1, alpha_rs: float = 0.1,
                 alpha_rd: float = 0.1) -> None:
        super().__init__(alpha_sr, alpha_ri, alpha_rs, alpha_rd)

    def __call__(self, text: str) -> str:
        return self.augment(text, 1, torch_seeded_rng())[0]
