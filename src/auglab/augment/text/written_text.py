"""What every offline strategy that writes new training texts shares (``llm_paraphrase``, ``llm_generate``,
``back_translation``): the run's context, the filter (``generated_filter.py``), the judge behind
``min_confidence``, and the report the run folder keeps (costs, acceptance per reason, every decision)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from auglab.augment.context import RunContext
from auglab.augment.text.generated_filter import Candidate, GeneratedTextFilter, RoundTrip
from auglab.errors import AuglabError, check_choice

Examples = tuple[list[str], torch.Tensor]  # texts and int64 labels [N]


class WrittenTextStage:
    """Subclasses implement ``write(texts, labels) -> (candidates, cost)``; this class filters them, adds the
    kept ones to the train split and reports."""

    def __init__(self, *, seed: int, device: str, min_words: int, max_words: int, min_confidence: float | None,
                 judge: str) -> None:
        self.seed, self.device = seed, check_choice("device", device, ("auto", "cpu", "cuda"))
        self.filter = GeneratedTextFilter(min_words=min_words, max_words=max_words, min_confidence=min_confidence)
        self.judge_checkpoint = judge
        self.context = RunContext()
        self.last_report: dict[str, Any] = {}

    def setup(self, context: RunContext) -> None:
        self.context = context  # cache folder, held-out texts (leakage filter), class names

    def class_names(self, labels: torch.Tensor) -> list[str]:
        names = self.context.class_names
        return list(names) if names else [str(k) for k in range(int(labels.max()) + 1)]

    def write(self, texts: list[str], labels: torch.Tensor) -> tuple[list[Candidate], dict[str, Any]]:
        raise NotImplementedError

    def round_trip(self) -> RoundTrip | None:
        """A strategy's own last check of the candidates the filter kept (``fails_round_trip``); none by default."""
        return None

    def prompt_words(self, texts: list[str]) -> set[str]:
        """The words of the prompt's demonstrations a written text must not copy (``copies_prompt_example``);
        none by default."""
        return set()

    def __call__(self, examples: Examples) -> Examples:
        texts, labels = list(examples[0]), examples[1]
        candidates, cost = self.write(texts, labels)
        names = self.class_names(labels)
        judge = None
        if self.filter.min_confidence is not None:
            from auglab.models.text_judge import TextJudge

            judge = TextJudge(self.judge_checkpoint).fit(texts, labels, len(names))
        result = self.filter.apply(candidates, train_texts=texts, held_out=list(self.context.held_out or ()),
                                   class_names=names, judge=judge, round_trip=self.round_trip(),
                                   prompt_words=self.prompt_words(texts))
        if candidates and not result.kept:
            reason, count = result.counts.most_common(1)[0]
            raise AuglabError(f"every one of the {len(candidates)} generated texts was filtered out ({count} as "
                              f"{reason}); loosen that filter (min_words, max_words, min_confidence) or the prompt")
        self.last_report = {**cost, **result.summary(), "records": result.records}
        new_labels = torch.tensor([c.label for c in result.kept], dtype=labels.dtype)
        return texts + [c.text for c in result.kept], torch.cat([labels, new_labels])

    def report(self) -> dict[str, Any]:
        """What the last call did: cost, acceptance per reason, and ``records`` (every decision)."""
        return self.last_report


def paired_candidates(texts: Sequence[str], labels: torch.Tensor, written: Sequence[Sequence[str]]) -> list[Candidate]:
    """Candidates that rewrite an original: each original's texts, with its label."""
    return [Candidate(text, int(label), source) for source, label, outs in zip(texts, labels, written, strict=True)
            for text in outs]
