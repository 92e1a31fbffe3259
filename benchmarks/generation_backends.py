"""Corpus-scale generation (issue 31): SmolLM2-135M writing for PriceRunner offer titles with each backend, side by
side in one run: a per-text ``generate`` loop, auglab's batched transformers path (the reference: prefix cached,
length-sorted batches) and CTranslate2 (``backend=ctranslate2``) at float32 and int8. Two workloads, the
corpus strategies' own prompts: ``title_enrichment`` (greedy, one text per title) and ``doc_expansion`` (sampled,
three per title). For greedy decoding it also reports how often a backend's text equals the reference's.

    .venv/bin/python benchmarks/generation_backends.py --titles 256 --threads 2
    .venv/bin/python benchmarks/generation_backends.py --smoke     # 4 titles, 4 new tokens, batch 4
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from text_generation import per_text  # the naive loop, one home (benchmarks/text_generation.py)

from auglab.augment.corpus.expansion import ENRICHMENT_PROMPT, EXPANSION_PROMPT
from auglab.augment.text.ctranslate2_generation import CTranslate2Writer
from auglab.augment.text.generation import GenerationOptions, first_line, generate
from auglab.data.sources import pricerunner
from auglab.pretrained.language_models import DEFAULT, load_language_model

WORKLOADS = {  # name: (prompt, options)
    "title_enrichment (greedy, n=1)": (ENRICHMENT_PROMPT, dict(n=1, max_new_tokens=32, do_sample=False)),
    "doc_expansion (sampled, n=3)": (EXPANSION_PROMPT, dict(n=3, max_new_tokens=16, do_sample=True)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=256)
    parser.add_argument("--loop-titles", type=int, default=32, help="titles for the per-text loop (slow)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--smoke", action="store_true", help="4 titles, 4 new tokens, batch 4")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    cache = Path("~/.cache/auglab").expanduser()
    lm = load_language_model(DEFAULT, cache_dir=cache, device=device)
    n_titles = 4 if args.smoke else args.titles
    titles = pricerunner.load().sample(n_titles, random_state=0)["Product Title"].tolist()
    compute_types = ("float32", "int8") if device == "cpu" else ("float16", "int8_float16")
    print(f"{len(titles)} PriceRunner titles, {DEFAULT}, {device}, {args.threads} thread(s), batch {args.batch_size}")
    with tempfile.TemporaryDirectory(prefix="auglab-bench-") if args.smoke else _nothing() as scratch:
        writers = {ct: CTranslate2Writer(lm, cache_dir=Path(scratch) if scratch else cache, compute_type=ct,
                                         device=device) for ct in compute_types}  # converted before the clock
        for workload, (prompt, opts) in WORKLOADS.items():
            options = GenerationOptions(**{**opts, "batch_size": 4 if args.smoke else args.batch_size,
                                           **({"max_new_tokens": 4} if args.smoke else {})})
            prompts = [prompt.format(text=t) for t in titles]
            loop = prompts[:4 if args.smoke else args.loop_titles]
            runs = {"per-text loop": (loop, lambda p, o: [[first_line(t) for t in texts]
                                                          for texts in per_text(lm, p, o, 0)]),
                    "transformers batched": (prompts, lambda p, o: generate(lm, p, o, seed=0))}
            for ct, writer in writers.items():
                runs[f"ctranslate2 {ct}"] = (prompts, lambda p, o, w=writer: w(p, o, seed=0))
            print(f"\n{workload}: max_new_tokens {options.max_new_tokens}")
            print("| backend | titles | titles/s | texts/s | vs transformers batched | greedy text = reference |")
            print("|---|---:|---:|---:|---:|---:|")
            speed, written = {}, {}
            for name, (batch, run) in runs.items():
                start = time.perf_counter()
                written[name] = run(batch, options)
                seconds = time.perf_counter() - start
                speed[name] = len(batch) / seconds
            reference = written["transformers batched"]
            for name, (batch, _) in runs.items():
                same = "–" if options.do_sample else \
                    f"{sum(a == b for a, b in zip(written[name], reference, strict=False)) / len(batch):.0%}"
                print(f"| {name} | {len(batch)} | {speed[name]:.2f} | {speed[name] * options.n:.2f} | "
                      f"{speed[name] / speed['transformers batched']:.2f}x | {same} |")


class _nothing:
    """A context manager that yields None (the real cache is used outside --smoke)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":
    main()
