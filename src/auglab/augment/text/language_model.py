"""Training texts written by a language model (offline stage, cached): ``llm_paraphrase`` rewrites each
training text ``n`` times; ``llm_generate`` writes new texts of each class from ``k`` examples of it
(few-shot), ``ratio`` per real text, as the generative image strategies add images. The offline default
model is SmolLM2-135M-Instruct (``pretrained/language_models.py``); any causal or seq2seq checkpoint works.
What they write is filtered (``generated_filter.py``) and recorded in the run folder.

References: paraphrasing with a pretrained seq2seq model (Kumar et al. 2020, arXiv 2003.02245); rewriting
with a chat model (AugGPT, Dai et al. 2023, arXiv 2302.13007); class-conditional generation from a few
examples (GPT3Mix, Yoo et al. 2021, arXiv 2104.08826).
"""

from __future__ import annotations

import math
import random
from typing import Any

import torch

from auglab.augment.label_allocation import labels_to_generate
from auglab.augment.text.generated_filter import Candidate
from auglab.augment.text.generation import GenerationOptions, PromptTemplate, cached_generate
from auglab.augment.text.prompt_examples import distinctive_demonstration_words
from auglab.augment.text.written_text import WrittenTextStage, paired_candidates
from auglab.errors import OptionError, check_count, check_positive
from auglab.models.text_judge import DEFAULT_ENCODER
from auglab.pretrained.language_models import DEFAULT, LanguageModel, load_language_model

# Two invented examples (acme is no brand of PriceRunner) show a small model the pattern; as a completion
# (chat=false) SmolLM2-135M follows it, inside its chat template it copies the examples (tried on 12 titles).
PARAPHRASE_PROMPT = ("Rewrite product titles for an online shop. Keep the brand, model number and size.\n"
                     "Title: acme tx500 50 4k tv\nRewritten: Acme TX500 50 inch 4K Ultra HD TV\n"
                     "Title: acme dw45 dishwasher white\nRewritten: Acme DW45 freestanding dishwasher in white\n"
                     "Title: {text}\nRewritten:")
GENERATE_PROMPT = "Product titles in the category {label}:\n{examples}\n-"  # the model continues the list


class LanguageModelStage(WrittenTextStage):
    """``drop_prompt_examples``: drop a written text that copies a distinctive word of the prompt's fixed
    demonstrations (and of ``shown_examples``, the ones a strategy fills in) that its source lacks."""

    shown_examples = ""  # demonstrations a strategy renders into the prompt (``{examples}``), when they are fixed

    def __init__(self, *, checkpoint: str, prompt: str, chat: bool | str, system: str | None,
                 options: GenerationOptions, needs: tuple[str, ...], drop_prompt_examples: bool = True,
                 **common: Any) -> None:
        super().__init__(**common)
        self.checkpoint, self.options = checkpoint, options
        if not isinstance(drop_prompt_examples, bool):
            raise OptionError("drop_prompt_examples", drop_prompt_examples, "true or false")
        self.drop_prompt_examples = drop_prompt_examples
        self.template = PromptTemplate(prompt, chat=str(chat).lower(), system=system)  # a YAML false is a bool
        self.template.check(needs=needs)

    def language_model(self) -> LanguageModel:
        return load_language_model(self.checkpoint, cache_dir=self.context.cache_dir, device=self.device)

    def prompt_words(self, texts: list[str]) -> set[str]:
        if not self.drop_prompt_examples:
            return set()
        corpus = list(texts) + list(self.context.corpus or ())  # the data's own vocabulary is no copy
        demonstrations = self.template.template + "\n" + self.shown_examples
        return distinctive_demonstration_words(demonstrations, corpus)


class LLMParaphrase(LanguageModelStage):
    """Each training text rewritten ``n`` times; ``prompt`` holds ``{text}`` and may hold ``{label}``."""

    def __init__(self, *, checkpoint: str = DEFAULT, n: int = 2, prompt: str = PARAPHRASE_PROMPT,
                 chat: bool | str = False, system: str | None = None, max_new_tokens: int = 32, do_sample: bool = True,
                 temperature: float = 0.7, top_p: float = 0.9, num_beams: int = 1, batch_size: int = 32,
                 device: str = "auto", seed: int = 0, min_words: int = 1, max_words: int = 64,
                 min_confidence: float | None = None, judge: str = DEFAULT_ENCODER,
                 drop_prompt_examples: bool = True) -> None:
        options = GenerationOptions(n=n, max_new_tokens=max_new_tokens, do_sample=do_sample, temperature=temperature,
                                    top_p=top_p, num_beams=num_beams, batch_size=batch_size)
        super().__init__(checkpoint=checkpoint, prompt=prompt, chat=chat, system=system, options=options,
                         needs=("{text}",), seed=seed, device=device, min_words=min_words, max_words=max_words,
                         min_confidence=min_confidence, judge=judge, drop_prompt_examples=drop_prompt_examples)

    def write(self, texts: list[str], labels: torch.Tensor) -> tuple[list[Candidate], dict[str, Any]]:
        lm, names = self.language_model(), self.class_names(labels)
        prompts = [self.template.render(lm, text=t, label=names[int(y)]) for t, y in zip(texts, labels, strict=True)]
        written, cost = cached_generate(lm, prompts, self.options, seed=self.seed, cache_dir=self.context.cache_dir,
                                        what="llm_paraphrase")
        return paired_candidates(texts, labels, written), {"checkpoint": self.checkpoint, **cost}


class LLMGenerate(LanguageModelStage):
    """``ratio`` new texts per real one (``class_balance``: the smallest classes first), each written from
    ``k`` training texts of its class listed in the prompt (``{examples}``, ``{label}``: the class name)."""

    def __init__(self, *, checkpoint: str = DEFAULT, k: int = 5, ratio: float = 1.0, class_balance: bool = False,
                 n: int = 4, prompt: str = GENERATE_PROMPT, chat: bool | str = False, system: str | None = None,
                 max_new_tokens: int = 32, do_sample: bool = True, temperature: float = 0.9, top_p: float = 0.95,
                 batch_size: int = 32, device: str = "auto", seed: int = 0, min_words: int = 1, max_words: int = 64,
                 min_confidence: float | None = None, judge: str = DEFAULT_ENCODER,
                 drop_prompt_examples: bool = True) -> None:
        options = GenerationOptions(n=n, max_new_tokens=max_new_tokens, do_sample=do_sample, temperature=temperature,
                                    top_p=top_p, batch_size=batch_size)
        super().__init__(checkpoint=checkpoint, prompt=prompt, chat=chat, system=system, options=options,
                         needs=("{examples}",), seed=seed, device=device, min_words=min_words, max_words=max_words,
                         min_confidence=min_confidence, judge=judge, drop_prompt_examples=drop_prompt_examples)
        self.k, self.ratio, self.class_balance = check_count("k", k), check_positive("ratio", ratio), class_balance

    def write(self, texts: list[str], labels: torch.Tensor) -> tuple[list[Candidate], dict[str, Any]]:
        lm, names = self.language_model(), self.class_names(labels)
        wanted = torch.bincount(labels_to_generate(labels, len(names), ratio=self.ratio,
                                                   class_balance=self.class_balance), minlength=len(names))
        rng = random.Random(self.seed)
        prompts, prompt_class = [], []
        for c, count in enumerate(wanted.tolist()):
            pool = [t for t, y in zip(texts, labels.tolist(), strict=True) if y == c]
            for _ in range(math.ceil(count / self.options.n) if pool else 0):
                shown = rng.sample(pool, min(self.k, len(pool)))
                prompts.append(self.template.render(lm, examples="\n".join(f"- {t}" for t in shown),
                                                    label=names[c], text=shown[0]))
                prompt_class.append(c)
        written, cost = cached_generate(lm, prompts, self.options, seed=self.seed, cache_dir=self.context.cache_dir,
                                        what="llm_generate")
        candidates, left = [], wanted.clone()
        for c, outs in zip(prompt_class, written, strict=True):
            for text in outs[:int(left[c])]:
                candidates.append(Candidate(text, c, f"{min(self.k, len(outs))} examples of {names[c]}"))
            left[c] -= min(len(outs), int(left[c]))
        return candidates, {"checkpoint": self.checkpoint, "k": self.k, **cost}
