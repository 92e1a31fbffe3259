"""The corpus stage's common part: a language model writes texts for every document of a search corpus, once
per corpus (documents are not labelled data, so every seed and split of a study shares the result), and the
index holds them with the document. What it sees is the documents only, never a query
(``AugmentationStrategy.apply_corpus`` hands it a context with nothing else), so no query can leak into what
the ranker indexes.

Generation runs in resumable chunks (``storage/chunked_cache.py``), keyed by the prompts (hence the corpus),
the checkpoint's content, the options and the seed: kill it half-way and the next run continues, with the
texts an uninterrupted run writes. Each text is then kept or dropped, for the first reason that applies:

- ``empty``; ``too_long`` (more than ``max_words`` words);
- ``copies_document``: the document itself (nothing new); ``duplicate``: a text written before for it;
- ``copies_prompt_example``: it holds a word of the prompt's demonstrations that its document does not hold
  (``augment/text/prompt_examples.py``: the invented ``acme`` of the examples); with ``example_words: rare``
  only the words the corpus rarely uses, with ``all`` every one (an invented example's "60cm" is common in
  the corpus, yet wrong for a product that is not 60 cm);
- ``low_relevance`` (``relevance`` set, Doc2Query--: Gospodinov et al., ECIR 2023, arXiv 2301.03266): the
  ``drop_fraction`` of the remaining texts that a scorer rates least relevant to their document
  (``augment/corpus/relevance.py``).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from auglab.augment.context import RunContext
from auglab.augment.corpus.relevance import SCORERS, relevance_scores
from auglab.augment.text.ctranslate2_generation import BACKENDS, COMPUTE_TYPES, CTranslate2Writer
from auglab.augment.text.generated_filter import normalised
from auglab.augment.text.generation import GenerationOptions, PromptTemplate, generate
from auglab.augment.text.prompt_examples import copied_words, demonstration_words, distinctive_demonstration_words
from auglab.errors import AuglabError, OptionError, check_choice, check_count
from auglab.pretrained.language_models import LanguageModel, load_language_model
from auglab.storage.artefact_cache import load_or_compute
from auglab.storage.chunked_cache import chunked
from auglab.storage.fingerprint import fingerprint

log = logging.getLogger(__name__)
EXAMPLE_WORDS = ("rare", "all")  # which demonstration words a written text may not add (copies_prompt_example)
REASONS = ("empty", "too_long", "copies_document", "duplicate", "copies_prompt_example", "low_relevance")


class DocumentWriter:
    """Subclasses say how a document and its kept texts become the indexed text (``combine``)."""

    what = "corpus"

    def __init__(self, *, checkpoint: str, prompt: str, chat: bool | str, system: str | None,
                 options: GenerationOptions, chunk_size: int, device: str, seed: int, max_words: int,
                 relevance: str | None, drop_fraction: float, backend: str, compute_type: str,
                 example_words: str = "rare") -> None:
        self.checkpoint, self.options, self.seed = checkpoint, options, seed
        self.backend = check_choice("backend", backend, BACKENDS)
        self.compute_type = check_choice("compute_type", compute_type, COMPUTE_TYPES)
        self.template = PromptTemplate(prompt, chat=str(chat).lower(), system=system)  # a YAML false is a bool
        self.template.check(needs=("{text}",))
        self.chunk_size = check_count("chunk_size", chunk_size)
        self.device = check_choice("device", device, ("auto", "cpu", "cuda"))
        self.max_words = check_count("max_words", max_words)
        self.relevance = None if relevance is None else check_choice("relevance", relevance, SCORERS)
        if isinstance(drop_fraction, bool) or not isinstance(drop_fraction, int | float) or \
                not 0 <= drop_fraction < 1:
            raise OptionError("drop_fraction", drop_fraction, "a number in [0, 1)")
        if drop_fraction > 0 and self.relevance is None:
            raise OptionError("relevance", relevance, f"one of {', '.join(SCORERS)} when drop_fraction > 0")
        self.drop_fraction = float(drop_fraction)
        self.example_words = check_choice("example_words", example_words, EXAMPLE_WORDS)
        self.context = RunContext()
        self.last_report: dict[str, Any] = {}

    def setup(self, context: RunContext) -> None:
        self.context = context  # the cache folder and the documents; nothing about queries

    def combine(self, document: str, kept: list[str]) -> str:
        raise NotImplementedError

    def report(self) -> dict[str, Any]:
        """What the last call did: cost, chunks loaded and computed, acceptance per reason, every decision."""
        return self.last_report

    def language_model(self) -> LanguageModel:
        return load_language_model(self.checkpoint, cache_dir=self.context.cache_dir, device=self.device)

    def writer(self, lm: LanguageModel) -> Callable[..., list[list[str]]]:
        """What writes: the transformers reference path, or CTranslate2 (converted once, loaded once per call)."""
        if self.backend == "transformers":
            return functools.partial(generate, lm)
        return CTranslate2Writer(lm, cache_dir=self.context.cache_dir, compute_type=self.compute_type,
                                 device=lm.model.device.type)

    def __call__(self, documents: list[str]) -> list[str]:
        lm = self.language_model()
        prompts = [self.template.render(lm, text=d) for d in documents]
        options = repr(sorted(asdict(self.options).items()))
        engine = ("transformers", str(lm.model.dtype)) if self.backend == "transformers" else \
            ("ctranslate2", self.compute_type)
        key = fingerprint(lm.digest, prompts, options, self.seed, *engine, lm.model.device.type)[:20]
        cache = Path(self.context.cache_dir) / "corpus" if self.context.cache_dir else None
        started, write = time.perf_counter(), None

        def compute(index: int, chunk: list[str]) -> list[list[str]]:
            nonlocal write
            write = write or self.writer(lm)  # a fully cached corpus never converts or loads a backend
            return write(list(chunk), self.options, seed=self.seed * 100_003 + index, desc=f"{self.what} chunk {index}")

        written, counts = chunked(cache / f"{self.what}-{key}" if cache else None, prompts, compute,
                                  chunk_size=self.chunk_size, what=self.what, unit="document")
        seconds = time.perf_counter() - started
        rule = () if self.example_words == "rare" else (self.example_words,)  # "rare" keeps the keys made before it
        filtered = fingerprint(key, self.max_words, self.relevance, self.drop_fraction, *rule)[:20]
        result, _ = load_or_compute(cache / f"{self.what}-{key}-kept-{filtered}.pt" if cache else None,
                                    lambda: self._filter(documents, written), what=f"{self.what} filter")
        made = sum(len(t) for t in written)
        self.last_report = {"checkpoint": self.checkpoint, "backend": self.backend,
                            "compute_type": self.compute_type if self.backend == "ctranslate2" else None,
                            "documents": len(documents), **counts,
                            "seconds": round(seconds, 2),
                            "texts_per_s": round(made / seconds, 2) if counts["chunks_computed"] == counts["chunks"]
                            and seconds > 0 else None, **result["summary"], "records": result["records"]}
        log.info("%s: %d texts for %d documents, %d kept", self.what, made, len(documents), result["summary"]["kept"])
        return [self.combine(d, kept) for d, kept in zip(documents, result["kept"], strict=True)]

    def _filter(self, documents: list[str], written: list[list[str]]) -> dict[str, Any]:
        shown = demonstration_words(self.template.template) if self.example_words == "all" else \
            distinctive_demonstration_words(self.template.template, documents)
        reasons: list[list[str | None]] = []
        for document, texts in zip(documents, written, strict=True):
            seen, mine = set(), []
            for text in texts:
                norm = normalised(text)
                mine.append("empty" if not norm else "too_long" if len(text.split()) > self.max_words else
                            "copies_document" if norm == normalised(document) else "duplicate" if norm in seen else
                            "copies_prompt_example" if copied_words(text, document, shown) else None)
                seen.add(norm)
            reasons.append(mine)
        pending = [(d, j) for d, mine in enumerate(reasons) for j, r in enumerate(mine) if r is None]
        if self.relevance is not None and pending and self.drop_fraction > 0:
            scores = relevance_scores(self.relevance, documents, [(d, written[d][j]) for d, j in pending])
            ranked = sorted(range(len(pending)), key=lambda i: (scores[i], i))  # least relevant first
            for i in ranked[:int(self.drop_fraction * len(pending))]:
                d, j = pending[i]
                reasons[d][j] = "low_relevance"
        records, kept, dropped = [], [], dict.fromkeys(REASONS, 0)
        for d, (document, texts) in enumerate(zip(documents, written, strict=True)):
            kept.append([t for t, r in zip(texts, reasons[d], strict=True) if r is None])
            for text, reason in zip(texts, reasons[d], strict=True):
                records.append({"original": document, "generated": text, "label": d, "kept": reason is None,
                                "reason": reason})
                if reason is not None:
                    dropped[reason] += 1
        total, n_kept = len(records), sum(len(k) for k in kept)
        if total and not n_kept:
            reason = max(dropped, key=dropped.get)
            fix = {"too_long": "raise max_words", "low_relevance": "lower drop_fraction",
                   "copies_prompt_example": "set example_words=rare or write examples closer to the documents"}
            raise AuglabError(f"augment {self.what}: every one of the {total} written texts was filtered out "
                              f"({dropped[reason]} as {reason}); {fix.get(reason, 'change the prompt')}")
        summary = {"generated": total, "kept": n_kept, "dropped": dropped,
                   "acceptance": round(n_kept / total, 4) if total else None,
                   "documents_expanded": sum(1 for k in kept if k)}
        return {"kept": kept, "records": records, "summary": summary}
