"""``backend=ctranslate2``: the same prompts written by CTranslate2 (OpenNMT's inference engine for
Transformers, github.com/OpenNMT/CTranslate2), the fastest backend measured on this project's 2-core CPU
(``benchmarks/generation_backends.py``). ``generation.py``'s transformers path stays the reference.

The checkpoint is converted once into ``<cache_dir>/ctranslate2/`` at the chosen ``compute_type`` (keyed by its
content digest). The prompts' shared prefix (a few-shot template's demonstrations) is passed as CTranslate2's
``static_prompt``, whose state it computes once; generation stops at the first newline, since only a text's
first line is kept. With ``compute_type=float32`` greedy outputs equal the reference's; int8 changes them
(the benchmark reports the agreement)."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from auglab.augment.text.generation import GenerationOptions, first_line, shared_prefix
from auglab.errors import AuglabError
from auglab.pretrained.hf_checkpoint import quiet_transformers
from auglab.pretrained.language_models import DEFAULT_CACHE, LanguageModel
from auglab.storage.atomic import write_folder_atomic

log = logging.getLogger(__name__)
BACKENDS = ("transformers", "ctranslate2")
COMPUTE_TYPES = ("int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16", "float16", "bfloat16", "float32")
HF_TOP_K = 50  # transformers samples from the 50 likeliest tokens unless told otherwise; CTranslate2 is told the same


def _ctranslate2():
    try:
        import ctranslate2
    except ImportError as err:
        raise AuglabError("backend=ctranslate2 needs the package ctranslate2: pip install ctranslate2 (auglab's "
                          "dependencies list it), or set backend=transformers") from err
    return ctranslate2


def converted(lm: LanguageModel, *, cache_dir: Path | None, compute_type: str) -> Path:
    """``lm``'s checkpoint as a CTranslate2 model folder, converted once and kept in the cache."""
    ctranslate2 = _ctranslate2()
    if lm.seq2seq:
        raise AuglabError(f"backend=ctranslate2 writes with causal models here and checkpoint={lm.name} is "
                          "sequence-to-sequence; set backend=transformers")
    root = Path(cache_dir) if cache_dir else Path(DEFAULT_CACHE).expanduser()
    folder = root / "ctranslate2" / f"{Path(lm.name).name}-{lm.digest[:16]}-{compute_type}"
    if (folder / "model.bin").is_file():
        return folder
    log.info("converting %s once for CTranslate2 (%s) into %s", lm.name, compute_type, folder)

    def convert(partial: Path) -> None:
        converter = ctranslate2.converters.TransformersConverter(lm.source)
        # the converter builds the model before loading its weights: a run must not depend on a cold cache
        with torch.random.fork_rng(devices=[]), quiet_transformers():
            try:
                converter.convert(str(partial), quantization=compute_type, force=True)
            except (NotImplementedError, ValueError, KeyError, AttributeError, OSError) as err:
                detail = str(err).splitlines()[0] if str(err) else type(err).__name__
                raise AuglabError(f"checkpoint={lm.name}: CTranslate2 cannot convert it ({detail}); set "
                                  "backend=transformers") from err

    return write_folder_atomic(folder, convert)


class CTranslate2Writer:
    """Writes like ``generation.generate``, with a converted copy of ``lm``.

    Sampling is seeded per call: CTranslate2 draws from a random stream that each generator's worker thread
    seeds from ``set_random_seed`` when it starts (a later ``set_random_seed`` does not reach it, OpenNMT/
    CTranslate2#1757), so a sampling call loads a fresh generator after seeding. Then the same prompts, options
    and seed give the same texts (tested), which a resumed chunk needs."""

    def __init__(self, lm: LanguageModel, *, cache_dir: Path | None, compute_type: str, device: str) -> None:
        self.ctranslate2 = _ctranslate2()
        self.lm, self.compute_type, self.device = lm, compute_type, device
        self.folder = converted(lm, cache_dir=cache_dir, compute_type=compute_type)
        self.generator = self._load()
        tokenizer = lm.tokenizer
        # every token that writes a newline ends a text (only the first line is kept), and so does the end token
        self.end = [t for t in tokenizer.get_vocab() if "\n" in tokenizer.convert_tokens_to_string([t])]
        self.end.append(tokenizer.eos_token)

    def _load(self):
        threads = torch.get_num_threads() if self.device == "cpu" else 0
        try:
            return self.ctranslate2.Generator(str(self.folder), device=self.device, compute_type=self.compute_type,
                                              intra_threads=threads)
        except (RuntimeError, ValueError) as err:  # e.g. float16 on a CPU without it
            raise AuglabError(f"compute_type={self.compute_type}: CTranslate2 cannot run it on {self.device} "
                              f"({str(err).splitlines()[0]}); choose one of {', '.join(COMPUTE_TYPES)} that "
                              f"{self.device} supports") from err

    def __call__(self, prompts: list[str], options: GenerationOptions, *, seed: int,
                 desc: str = "generating") -> list[list[str]]:
        """``options.n`` texts per prompt, in the prompts' order."""
        tokenizer = self.lm.tokenizer
        ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
        out: list[list[str]] = [[""] * options.n for _ in prompts]
        todo = [i for i in range(len(prompts)) if ids[i]]
        cut = shared_prefix([ids[i] for i in todo])
        static = tokenizer.convert_ids_to_tokens(ids[todo[0]][:cut]) if cut else None
        sampling = {"sampling_topk": HF_TOP_K, "sampling_topp": options.top_p,
                    "sampling_temperature": options.temperature, "num_hypotheses": options.n} \
            if options.do_sample else {"sampling_topk": 1, "beam_size": options.num_beams}
        if options.do_sample:
            self.ctranslate2.set_random_seed(seed)
            self.generator = self._load()
        order = sorted(todo, key=lambda i: (len(ids[i]), i))
        started, quiet = time.perf_counter(), not sys.stderr.isatty()
        with tqdm(total=len(order), desc=desc, unit="prompt", leave=False, disable=quiet) as bar:
            for start in range(0, len(order), options.batch_size):
                index = order[start:start + options.batch_size]
                rows = [tokenizer.convert_ids_to_tokens(ids[i][cut:]) for i in index]
                results = self.generator.generate_batch(
                    rows, max_length=options.max_new_tokens, static_prompt=static, include_prompt_in_result=False,
                    end_token=self.end, **sampling)
                for i, result in zip(index, results, strict=True):
                    texts = [first_line(tokenizer.decode(s, skip_special_tokens=True)) for s in result.sequences_ids]
                    out[i] = (texts * options.n)[:options.n]  # greedy: the one text, n times (as the reference)
                bar.update(len(index))
                bar.set_postfix(texts_per_s=f"{(start + len(index)) * options.n / (time.perf_counter() - started):.1f}")
        return out
