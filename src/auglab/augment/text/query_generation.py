"""``llm_queries``: synthetic search queries written by a language model from the documents of each training
query (doc2query: Nogueira et al. 2019, arXiv 1904.08375; with a large model and a few examples in the prompt:
InPars, Bonifacio et al. 2022, arXiv 2202.05144; Promptagator, Dai et al. 2022, arXiv 2209.11755). A query
written from one of a product's offers becomes a new training query of that product (its label), so it shares
the product's relevant documents. What the model writes goes through the generated-text filter (empty,
length, copies, held-out queries, words copied from the prompt's demonstrations) and a round trip as InPars /
Promptagator filter: BM25 over the whole corpus must rank one of the product's offers in the first
``round_trip_k`` for the query to be kept.

The prompt's demonstrations are ``examples`` real training queries, each after one of its documents, drawn
once per run (seeded) and the same in every prompt, as InPars shows the model real (query, document) pairs:
with invented ones (``examples=0``: the template's own) a small model copied their brand ``acme`` into a
third of its kept queries. Validation and test queries never reach a prompt.
"""

from __future__ import annotations

import random
from typing import Any

import torch

from auglab.augment.context import RunContext
from auglab.augment.text.generated_filter import Candidate, RoundTrip
from auglab.augment.text.generation import GenerationOptions, cached_generate
from auglab.augment.text.language_model import LanguageModelStage
from auglab.errors import AuglabError, OptionError, check_count
from auglab.models.text_judge import DEFAULT_ENCODER
from auglab.pretrained.language_models import DEFAULT

# {examples}: real training (document, query) pairs, each written as the template's last lines are.
QUERY_PROMPT = "Write the search query a shopper types to find the product.\n{examples}Product: {text}\nQuery:"


class LLMQueries(LanguageModelStage):
    """``n`` queries from each of ``documents_per_query`` relevant documents (drawn at random) of every
    training query; ``{text}`` in the prompt is the document, ``{label}`` the training query it belongs to,
    ``{examples}`` the ``examples`` demonstrations (0: the template holds its own)."""

    def __init__(self, *, checkpoint: str = DEFAULT, n: int = 2, documents_per_query: int = 1,
                 round_trip_k: int | None = 20, examples: int = 2, prompt: str = QUERY_PROMPT,
                 chat: bool | str = False,
                 system: str | None = None, max_new_tokens: int = 16, do_sample: bool = True, temperature: float = 0.7,
                 top_p: float = 0.9, batch_size: int = 32, device: str = "auto", seed: int = 0, min_words: int = 1,
                 max_words: int = 16, min_confidence: float | None = None, judge: str = DEFAULT_ENCODER,
                 drop_prompt_examples: bool = True) -> None:
        options = GenerationOptions(n=n, max_new_tokens=max_new_tokens, do_sample=do_sample, temperature=temperature,
                                    top_p=top_p, batch_size=batch_size)
        if isinstance(examples, bool) or not isinstance(examples, int) or examples < 0:
            raise OptionError("examples", examples, "an integer >= 0 (0: the prompt's own demonstrations)")
        if examples and "{examples}" not in prompt:
            raise OptionError("prompt", prompt, "a template with {examples} in it when examples > 0")
        if not examples and "{examples}" in prompt:
            raise OptionError("examples", examples, "at least 1 when the prompt has {examples}")
        super().__init__(checkpoint=checkpoint, prompt=prompt, chat=chat, system=system, options=options,
                         needs=("{text}",), seed=seed, device=device, min_words=min_words, max_words=max_words,
                         min_confidence=min_confidence, judge=judge, drop_prompt_examples=drop_prompt_examples)
        self.examples = examples
        self.documents_per_query = check_count("documents_per_query", documents_per_query)
        self.round_trip_k = None if round_trip_k is None else check_count("round_trip_k", round_trip_k)

    def setup(self, context: RunContext) -> None:
        if context.corpus is None or context.relevant is None:
            raise AuglabError("augment=llm_queries writes search queries from relevant documents; use it with search "
                              "data (data=pricerunner_search or data=search_files)")
        super().setup(context)

    def write(self, texts: list[str], labels: torch.Tensor) -> tuple[list[Candidate], dict[str, Any]]:
        lm, names = self.language_model(), self.class_names(labels)
        corpus, relevant = self.context.corpus, self.context.relevant
        rng = random.Random(self.seed)
        training = sorted(set(labels.tolist()))  # each training query once, whatever copies came before
        sources: list[tuple[int, int]] = []  # (label, document) per prompt
        for label in training:
            docs = list(relevant[label])
            sources += [(label, d) for d in rng.sample(docs, min(self.documents_per_query, len(docs)))]
        self.shown_examples = self.demonstrations(training, names)
        prompts = [self.template.render(lm, text=corpus[d], label=names[label], examples=self.shown_examples)
                   for label, d in sources]
        written, cost = cached_generate(lm, prompts, self.options, seed=self.seed, cache_dir=self.context.cache_dir,
                                        what="llm_queries")
        candidates = [Candidate(query, label, corpus[d]) for (label, d), outs in zip(sources, written, strict=True)
                      for query in outs]
        return candidates, {"checkpoint": self.checkpoint, "documents": len(sources), **cost}

    def demonstrations(self, training: list[int], names: list[str]) -> str:
        """``examples`` training queries (the names of ``training`` labels), each after one of its documents,
        written as the template's lines after ``{examples}``; the same for every prompt (so the model's state
        for them is computed once)."""
        if not self.examples:
            return ""
        rng = random.Random(self.seed + 1_000_003)  # its own stream: examples=0 draws the sources as before
        corpus, relevant = self.context.corpus, self.context.relevant
        tail = self.template.template.split("{examples}", 1)[1]
        shown = rng.sample([y for y in training if relevant[y]], min(self.examples, len(training)))
        return "".join(f"{tail.format(text=corpus[rng.choice(list(relevant[y]))], label=names[y])} {names[y]}\n"
                       for y in shown)

    def round_trip(self) -> RoundTrip | None:
        if self.round_trip_k is None:
            return None
        from auglab.models.bm25 import BM25Index

        relevant, k = self.context.relevant, self.round_trip_k

        def finds_its_product(candidates: list[Candidate]) -> list[bool]:
            found = BM25Index(self.context.corpus).top([c.text for c in candidates], k)
            return [bool(set(top) & set(relevant[c.label])) for c, top in zip(candidates, found, strict=True)]

        return finds_its_product
