"""One home for what every generated-text strategy keeps (``llm_paraphrase``, ``llm_generate``,
``back_translation``): a generated text is dropped, for the first reason that applies, when it is

- ``empty``; ``too_short`` / ``too_long`` (words, ``min_words`` / ``max_words``);
- ``copies_train``: equal to a training text (nothing new) or ``duplicate``: to a text generated before it;
- ``copies_prompt_example``: it holds a word of the prompt's demonstrations that its source does not hold and
  the data rarely uses (``prompt_examples.py``: the invented ``acme`` a small model copies), when the
  strategy asks (``drop_prompt_examples``);
- ``leaks_held_out``: equal to a validation or test text, always, whatever the options: a model that
  writes a held-out text into the training data would inflate the test score;
- ``off_label`` (with ``min_confidence``): a classifier trained on the real train split gives its intended
  label a probability below ``min_confidence`` (as ``min_confidence`` filters generated images);
- ``fails_round_trip`` (a strategy's own check, e.g. a generated search query that does not find its product's
  documents among the first ``k`` of the corpus, as InPars and Promptagator filter).

Texts are compared after lower-casing and folding white space. Every decision is kept as a record
(original, generated, label, kept or why not) for the run folder's ``generated_text.jsonl``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from auglab.augment.text.prompt_examples import copied_words
from auglab.errors import AuglabError, check_count, check_open_fraction

REASONS = ("empty", "too_short", "too_long", "copies_train", "duplicate", "leaks_held_out", "copies_prompt_example",
           "off_label", "fails_round_trip")


def normalised(text: str) -> str:
    return " ".join(str(text).lower().split())


@dataclass
class Candidate:
    text: str
    label: int
    source: str  # the original it rewrites, or what it was written from ("3 examples of <class>")


RoundTrip = Callable[[Sequence[Candidate]], Sequence[bool]]  # True: the candidate passes


@dataclass
class FilterResult:
    kept: list[Candidate] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    records: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        total = len(self.records)
        return {"generated": total, "kept": len(self.kept), "dropped": {r: self.counts[r] for r in REASONS},
                "acceptance": round(len(self.kept) / total, 4) if total else None}


class GeneratedTextFilter:
    def __init__(self, *, min_words: int = 1, max_words: int = 64, min_confidence: float | None = None) -> None:
        self.min_words, self.max_words = check_count("min_words", min_words), check_count("max_words", max_words)
        if self.max_words < self.min_words:
            raise AuglabError(f"max_words={max_words} is below min_words={min_words}; raise max_words")
        self.min_confidence = None if min_confidence is None else check_open_fraction("min_confidence", min_confidence)

    def apply(self, candidates: Sequence[Candidate], *, train_texts: Sequence[str], held_out: Sequence[str],
              class_names: Sequence[str], judge: Any = None, round_trip: RoundTrip | None = None,
              prompt_words: set[str] | frozenset[str] = frozenset()) -> FilterResult:
        """Keep or drop each candidate; ``judge``: a fitted ``TextJudge`` when ``min_confidence`` is set;
        ``round_trip``: a last check of the candidates every other filter kept; ``prompt_words``: the
        demonstrations' distinctive words (``copies_prompt_example``)."""
        train, held, seen = {normalised(t) for t in train_texts}, {normalised(t) for t in held_out}, set()
        reasons: list[str | None] = []
        for cand in candidates:
            text, words = normalised(cand.text), len(cand.text.split())
            reason = ("empty" if not text else "too_short" if words < self.min_words else
                      "too_long" if words > self.max_words else "leaks_held_out" if text in held else
                      "copies_train" if text in train else "duplicate" if text in seen else
                      "copies_prompt_example" if copied_words(cand.text, cand.source, prompt_words) else None)
            seen.add(text)
            reasons.append(reason)
        if self.min_confidence is not None:
            if judge is None:
                raise AuglabError("min_confidence is set but no judge was trained; this is a bug in the strategy")
            pending = [i for i, r in enumerate(reasons) if r is None]
            if pending:
                probs = judge.probabilities([candidates[i].text for i in pending])  # [P, K]
                for row, i in enumerate(pending):
                    if float(probs[row, candidates[i].label]) < self.min_confidence:
                        reasons[i] = "off_label"
        if round_trip is not None:
            pending = [i for i, r in enumerate(reasons) if r is None]
            for i, passes in zip(pending, round_trip([candidates[i] for i in pending]), strict=True):
                reasons[i] = None if passes else "fails_round_trip"
        result = FilterResult()
        for cand, reason in zip(candidates, reasons, strict=True):
            result.records.append({"original": cand.source, "generated": cand.text,
                                   "label": class_names[cand.label] if class_names else cand.label,
                                   "kept": reason is None, "reason": reason})
            if reason is None:
                result.kept.append(cand)
            else:
                result.counts[reason] += 1
        return result
