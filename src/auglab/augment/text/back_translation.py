"""Back-translation (Sennrich et al. 2016, arXiv 1511.06709; for classification data: Xie et al. 2020, UDA,
arXiv 1904.12848): each training text translated into a pivot language and back, offline. ``engine=apertium``
(the offline default) uses Debian's rule-based Apertium (``apertium.py``); ``engine=hf`` two seq2seq
checkpoints, ``forward`` into the pivot and ``backward`` out of it (e.g. Helsinki-NLP/opus-mt-en-de and
opus-mt-de-en), batched like every language-model strategy. The round trips are filtered as other
generated texts are (an unchanged round trip copies a training text and is dropped)."""

from __future__ import annotations

from typing import Any

import torch

from auglab.augment.text import apertium
from auglab.augment.text.generated_filter import Candidate
from auglab.augment.text.generation import GenerationOptions, PromptTemplate, cached_generate
from auglab.augment.text.written_text import WrittenTextStage, paired_candidates
from auglab.errors import AuglabError, check_choice
from auglab.models.text_judge import DEFAULT_ENCODER
from auglab.pretrained.language_models import load_language_model


class BackTranslation(WrittenTextStage):
    def __init__(self, *, engine: str = "apertium", source: str = "eng", pivot: str = "spa",
                 forward: str | None = None, backward: str | None = None, max_new_tokens: int = 64,
                 num_beams: int = 1, batch_size: int = 32, device: str = "auto", seed: int = 0, min_words: int = 1,
                 max_words: int = 64, min_confidence: float | None = None, judge: str = DEFAULT_ENCODER) -> None:
        super().__init__(seed=seed, device=device, min_words=min_words, max_words=max_words,
                         min_confidence=min_confidence, judge=judge)
        self.engine = check_choice("engine", engine, ("apertium", "hf"))
        if self.engine == "hf" and not (forward and backward):
            raise AuglabError("engine=hf needs forward and backward: two seq2seq checkpoints, into the pivot "
                              "language and out of it (e.g. Helsinki-NLP/opus-mt-en-de, Helsinki-NLP/opus-mt-de-en)")
        self.source, self.pivot, self.forward, self.backward = source, pivot, forward, backward
        self.options = GenerationOptions(n=1, max_new_tokens=max_new_tokens, do_sample=False, num_beams=num_beams,
                                         batch_size=batch_size)

    def write(self, texts: list[str], labels: torch.Tensor) -> tuple[list[Candidate], dict[str, Any]]:
        if self.engine == "apertium":
            import time

            started = time.perf_counter()
            back = apertium.round_trip(texts, source=self.source, pivot=self.pivot)
            seconds = time.perf_counter() - started
            cost = {"engine": "apertium", "texts": len(back), "seconds": round(seconds, 2),
                    "texts_per_s": round(len(back) / seconds, 2) if seconds else None}
            return paired_candidates(texts, labels, [[t] for t in back]), cost
        pivot_texts, there = self._translate(self.forward, texts, "back_translation_forward")
        back, home = self._translate(self.backward, pivot_texts, "back_translation_backward")
        cost = {"engine": "hf", "forward": there, "backward": home}
        return paired_candidates(texts, labels, [[t] for t in back]), cost

    def _translate(self, checkpoint: str, texts: list[str], what: str) -> tuple[list[str], dict[str, Any]]:
        lm = load_language_model(checkpoint, cache_dir=self.context.cache_dir, device=self.device,
                                 option="forward" if what.endswith("forward") else "backward")
        if not lm.seq2seq:
            raise AuglabError(f"engine=hf: {checkpoint} is not a seq2seq (translation) model")
        prompts = [PromptTemplate("{text}", chat="false").render(lm, text=t) for t in texts]
        written, cost = cached_generate(lm, prompts, self.options, seed=self.seed, cache_dir=self.context.cache_dir,
                                        what=what)
        return [w[0] for w in written], cost
