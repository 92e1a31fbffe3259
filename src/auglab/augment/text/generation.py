"""Text written by a language model, for every strategy that asks one (``llm_paraphrase``, ``llm_generate``,
``back_translation`` with ``engine=hf``): prompts from a visible template, generation in length-sorted
batches on the device, and a cache keyed by everything the output depends on.

Batches: a causal model gets the prompts of one batch left-padded (each ends where generation starts),
sorted by length so that little padding is computed, and the keys and values of the prefix all prompts
share computed once; the random draws of sampling are seeded per batch, so the same prompts, options,
seed and batch size give the same texts. The cache key holds the prompts,
the checkpoint's content digest, the options, the seed, the batch size and the dtype.
"""

from __future__ import annotations

import copy
import logging
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from auglab.errors import OptionError, check_count, check_fraction, check_positive
from auglab.pretrained.hf_checkpoint import quiet_transformers
from auglab.pretrained.language_models import LanguageModel
from auglab.storage.artefact_cache import load_or_compute
from auglab.storage.fingerprint import fingerprint

log = logging.getLogger(__name__)
CHAT = ("auto", "true", "false")


@dataclass(frozen=True)
class GenerationOptions:
    """Hugging Face ``generate`` options; ``n`` texts per prompt."""

    n: int = 1
    max_new_tokens: int = 32
    do_sample: bool = True
    temperature: float = 0.7
    top_p: float = 0.9
    num_beams: int = 1
    batch_size: int = 32

    def __post_init__(self) -> None:
        check_count("n", self.n)
        check_count("max_new_tokens", self.max_new_tokens)
        check_positive("temperature", self.temperature)
        check_fraction("top_p", self.top_p, above_zero=True)
        check_count("num_beams", self.num_beams)
        check_count("batch_size", self.batch_size)

    def generate_kwargs(self) -> dict[str, Any]:
        sampling = {"temperature": self.temperature, "top_p": self.top_p} if self.do_sample else {}
        return {"max_new_tokens": self.max_new_tokens, "do_sample": self.do_sample, "num_beams": self.num_beams,
                **sampling}


@dataclass(frozen=True)
class PromptTemplate:
    """``template`` with ``{text}`` (and, where a strategy offers them, ``{label}`` and ``{examples}``);
    ``chat``: wrap it in the checkpoint's chat template (``auto``: when it has one)."""

    template: str
    chat: str = "auto"
    system: str | None = None  # the chat's system message; None: the checkpoint's default

    def check(self, *, needs: tuple[str, ...] = ("{text}",)) -> None:
        for field in needs:
            if field not in self.template:
                raise OptionError("prompt", self.template, f"a template with {field} in it")
        if str(self.chat).lower() not in CHAT:
            raise OptionError("chat", self.chat, "one of auto, true, false")

    def render(self, lm: LanguageModel, **fields: str) -> str:
        text = self.template.format(**fields)
        chat = str(self.chat).lower()
        if chat == "true" and not lm.has_chat_template:
            raise OptionError("chat", self.chat, f"false or auto: {lm.name} has no chat template")
        if chat == "false" or (chat == "auto" and not lm.has_chat_template):
            return text
        messages = ([{"role": "system", "content": self.system}] if self.system else []) + \
            [{"role": "user", "content": text}]
        return lm.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def first_line(text: str) -> str:
    """The first non-empty line, stripped of list marks and quotes: a chat model often adds a preamble
    line or quotes, and an offline stage wants one text per output."""
    for line in text.splitlines():
        line = line.strip().lstrip("-*•").strip().strip('"').strip()
        if line:
            return line
    return ""


def shared_prefix(ids: list[list[int]]) -> int:
    """How many leading tokens every prompt shares (the template's text before ``{text}``), keeping at least
    one token of each prompt out of it."""
    if not ids:
        return 0
    limit, n = min(len(x) for x in ids) - 1, 0
    while n < limit and len({x[n] for x in ids}) == 1:
        n += 1
    return n


def _causal_batch(rows: list[list[int]], prefix: list[int], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``input_ids`` and ``attention_mask`` ``[R, P + L]``: the shared prefix, then each row's own tokens
    right-aligned, padding (masked) between them, so every row ends where generation starts."""
    width = max(len(r) for r in rows)
    ids = [prefix + [pad] * (width - len(r)) + r for r in rows]
    mask = [[1] * len(prefix) + [0] * (width - len(r)) + [1] * len(r) for r in rows]
    return torch.tensor(ids), torch.tensor(mask)


def generate(lm: LanguageModel, prompts: list[str], options: GenerationOptions, *, seed: int,
             desc: str = "generating") -> list[list[str]]:
    """``options.n`` texts per prompt, in the prompts' order; a progress bar shows texts per second.

    A causal model computes the keys and values of the prompts' shared prefix (a few-shot template's
    examples) once per call and reuses them for every row (prefix caching); the result equals generating
    from each full prompt (tested with greedy decoding)."""
    from transformers import DynamicCache

    tokenizer, model, device = lm.tokenizer, lm.model, lm.model.device
    ids = tokenizer(prompts, add_special_tokens=lm.seq2seq)["input_ids"]
    out: list[list[str]] = [[""] * options.n for _ in prompts]  # an empty prompt writes nothing (filtered)
    todo = [i for i in range(len(prompts)) if ids[i]]
    cut = 0 if lm.seq2seq else shared_prefix([ids[i] for i in todo])
    prefix_cache = None
    with torch.no_grad(), quiet_transformers():  # transformers 5 renames past_key_values, with a notice
        if cut:
            prefix_cache = model(torch.tensor([ids[todo[0]][:cut]], device=device), past_key_values=DynamicCache(),
                                 use_cache=True).past_key_values
        order = sorted(todo, key=lambda i: (len(ids[i]), i))  # similar lengths share a batch: little padding
        kwargs = {**options.generate_kwargs(), "num_return_sequences": 1, "pad_token_id": tokenizer.pad_token_id}
        started, quiet = time.perf_counter(), not sys.stderr.isatty()
        with tqdm(total=len(order), desc=desc, unit="prompt", leave=False, disable=quiet) as bar:
            for b, start in enumerate(range(0, len(order), options.batch_size)):
                index = order[start:start + options.batch_size]
                rows = [ids[i][cut:] for i in index for _ in range(options.n)]  # n rows per prompt
                if lm.seq2seq:
                    enc = tokenizer.pad({"input_ids": rows}, return_tensors="pt").to(device)
                    inputs = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
                else:
                    input_ids, mask = _causal_batch(rows, ids[index[0]][:cut], tokenizer.pad_token_id)
                    inputs = {"input_ids": input_ids.to(device), "attention_mask": mask.to(device)}
                    if prefix_cache is not None:
                        cache = copy.deepcopy(prefix_cache)
                        cache.batch_repeat_interleave(len(rows))
                        inputs["past_key_values"] = cache
                with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                    torch.manual_seed(seed * 1_000_003 + b)  # per batch: the run's own random stream is untouched
                    generated = model.generate(**inputs, **kwargs)
                new = generated if lm.seq2seq else generated[:, inputs["input_ids"].shape[1]:]  # [R, T]
                texts = tokenizer.batch_decode(new, skip_special_tokens=True)
                for k, i in enumerate(index):
                    out[i] = [first_line(t) for t in texts[k * options.n:(k + 1) * options.n]]
                bar.update(len(index))
                bar.set_postfix(texts_per_s=f"{(start + len(index)) * options.n / (time.perf_counter() - started):.1f}")
    return out


def cached_generate(lm: LanguageModel, prompts: list[str], options: GenerationOptions, *, seed: int,
                    cache_dir: Path | None, what: str) -> tuple[list[list[str]], dict[str, Any]]:
    """``generate`` through the artefact cache; also how long it took and whether it came from the cache."""
    key = fingerprint(lm.digest, prompts, repr(sorted(asdict(options).items())), seed,
                      str(lm.model.dtype), lm.model.device.type)[:20]
    path = Path(cache_dir) / "generated_text" / f"{what}-{key}.pt" if cache_dir else None
    started = time.perf_counter()
    texts, loaded = load_or_compute(path, lambda: generate(lm, prompts, options, seed=seed, desc=what),
                                    what=f"{what} generations")
    seconds = time.perf_counter() - started
    made = sum(len(t) for t in texts)
    cost = {"prompts": len(prompts), "texts": made, "from_cache": loaded, "seconds": round(seconds, 2),
            "texts_per_s": round(made / seconds, 2) if seconds > 0 and not loaded else None}
    log.info("%s: %d texts for %d prompts %s in %.1f s", what, made, len(prompts),
             "loaded from the cache" if loaded else "generated", seconds)
    return texts, cost
