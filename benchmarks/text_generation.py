"""Language-model augmentation: auglab's batched generation (length-sorted, left-padded batches) vs a loop
that calls ``generate`` once per text, as model-based augmenters such as nlpaug's do; same checkpoint,
prompt, options and device, in one run. Also the cache-hit re-run, and Apertium batched (one process per
batch) vs one process per sentence.

    .venv/bin/python benchmarks/text_generation.py --titles 64 --threads 1
    .venv/bin/python benchmarks/text_generation.py --smoke     # 4 titles, 4 new tokens, batch 4
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import torch

from auglab.augment.text import apertium
from auglab.augment.text.generation import GenerationOptions, PromptTemplate, cached_generate, generate
from auglab.augment.text.language_model import PARAPHRASE_PROMPT
from auglab.data.sources import pricerunner
from auglab.pretrained.language_models import DEFAULT, load_language_model


def per_text(lm, prompts: list[str], options: GenerationOptions, seed: int) -> list[list[str]]:
    """One Hugging Face ``generate`` call per prompt: the loop a per-example augmenter runs."""
    torch.manual_seed(seed)
    out = []
    with torch.no_grad():
        for prompt in prompts:
            enc = lm.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(lm.model.device)
            ids = lm.model.generate(**enc, **options.generate_kwargs(), pad_token_id=lm.tokenizer.pad_token_id)
            out.append([t.strip() for t in lm.tokenizer.batch_decode(ids[:, enc["input_ids"].shape[1]:],
                                                                     skip_special_tokens=True)])
    return out


def new_tokens(lm, written: list[list[str]]) -> int:
    return sum(len(lm.tokenizer(t, add_special_tokens=False)["input_ids"]) for outs in written for t in outs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--smoke", action="store_true", help="4 titles, 4 new tokens, batch 4")
    args = parser.parse_args()
    if args.smoke:
        args.titles, args.max_new_tokens, args.batch_size = 4, 4, 4
    torch.set_num_threads(args.threads)
    cache = Path(tempfile.mkdtemp(prefix="auglab-bench-"))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    lm = load_language_model(DEFAULT, cache_dir=Path("~/.cache/auglab").expanduser(), device=device)
    titles = pricerunner.load().sample(args.titles, random_state=0)["Product Title"].tolist()
    template = PromptTemplate(PARAPHRASE_PROMPT, chat="false")
    prompts = [template.render(lm, text=t) for t in titles]
    options = GenerationOptions(n=1, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
    print(f"{len(titles)} PriceRunner titles, {DEFAULT}, {device}, {args.threads} thread(s), "
          f"max_new_tokens {args.max_new_tokens}, sampling, batch {args.batch_size}")
    rows = {}
    for name, run in (("per-text loop", lambda: per_text(lm, prompts, options, 0)),
                      ("auglab batched", lambda: generate(lm, prompts, options, seed=0))):
        start = time.perf_counter()
        written = run()
        seconds = time.perf_counter() - start
        rows[name] = (len(titles) / seconds, new_tokens(lm, written) / seconds)
        print(f"  {name:15s} {rows[name][0]:7.2f} texts/s  {rows[name][1]:8.1f} new tokens/s  ({seconds:.1f} s)")
    print(f"  ratio batched / per-text: {rows['auglab batched'][0] / rows['per-text loop'][0]:.1f}x texts/s")
    cached_generate(lm, prompts, options, seed=0, cache_dir=cache, what="bench")
    start = time.perf_counter()
    cached_generate(lm, prompts, options, seed=0, cache_dir=cache, what="bench")
    print(f"  cache-hit re-run: {time.perf_counter() - start:.3f} s")
    shutil.rmtree(cache, ignore_errors=True)
    if shutil.which("apertium"):
        start = time.perf_counter()
        apertium.round_trip(titles)
        batched = time.perf_counter() - start
        start = time.perf_counter()
        for title in titles:  # one process per sentence and direction
            there = subprocess.run(["apertium", "-u", "eng-spa"], input=title, capture_output=True, text=True).stdout
            subprocess.run(["apertium", "-u", "spa-eng"], input=there, capture_output=True, text=True)
        single = time.perf_counter() - start
        print(f"  apertium round trip: batched {len(titles) / batched:.1f} texts/s, one process per sentence "
              f"{len(titles) / single:.1f} texts/s: {single / batched:.1f}x")


if __name__ == "__main__":
    main()
