"""BM25 over document-expanded offers (issue 31): index build time and query throughput on PriceRunner's whole
corpus, plain titles against the same titles with what ``augment=<strategy>`` wrote for them (its cached
expansion, written first when missing: about an hour on a 2-core CPU), in one run; and how much longer the
indexed text is.

    .venv/bin/python benchmarks/expanded_index.py --augment doc_expansion [--rounds 3]
    .venv/bin/python benchmarks/expanded_index.py --smoke     # 40 offers, tiny generation, one round
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_module
from hydra.core.hydra_config import HydraConfig

import auglab.config  # noqa: F401  (registers the strategy schema the configs compose with)
from auglab.augment import AugmentationStrategy, RunContext
from auglab.data.sources import pricerunner
from auglab.models.bm25 import BM25Index


def expanded(titles: list[str], strategy: str, cache_dir: Path, overrides: list[str]) -> list[str]:
    """``titles`` through the strategy's corpus stage, configured as ``auglab-train`` composes it."""
    with initialize_config_module(config_module="auglab.conf", version_base="1.3"):
        cfg = compose(config_name="train", overrides=["data=pricerunner_search", f"augment={strategy}", *overrides],
                      return_hydra_config=True)
    HydraConfig().set_config(cfg)  # the strategy's name comes from Hydra's choices
    return AugmentationStrategy.from_config(cfg.augment).apply_corpus(titles, RunContext(cache_dir=cache_dir))


def timed(documents: list[str], queries: list[str], rounds: int) -> tuple[float, float]:
    """Median index build seconds and top-10 queries per second over ``rounds``."""
    builds, rates = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        index = BM25Index(documents)
        builds.append(time.perf_counter() - start)
        start = time.perf_counter()
        index.top(queries, 10)
        rates.append(len(queries) / (time.perf_counter() - start))
    return statistics.median(builds), statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--augment", default="doc_expansion")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=2000, help="product names ranked per round")
    parser.add_argument("--cache-dir", default="cache", help="where auglab-train keeps the expansion (paths.cache_dir)")
    parser.add_argument("--smoke", action="store_true", help="40 offers, 2 new tokens, one round, a scratch cache")
    args = parser.parse_args()
    offers = pricerunner.load()
    titles = offers["Product Title"].tolist()
    queries = sorted(set(offers["Cluster Label"]))[:args.queries]
    overrides: list[str] = []
    scratch = tempfile.TemporaryDirectory(prefix="auglab-bench-")  # --smoke's cache, removed at the end
    if args.smoke:
        titles, queries, args.rounds, args.cache_dir = titles[:40], queries[:40], 1, scratch.name
        name = "expansion" if args.augment.startswith("doc_expansion") else "enrichment"
        overrides = [f"augment.corpus.{name}.max_new_tokens=2", f"augment.corpus.{name}.chunk_size=20"]
    documents = expanded(titles, args.augment, Path(args.cache_dir), overrides)
    scratch.cleanup()
    words = [sum(len(d.split()) for d in docs) / len(docs) for docs in (titles, documents)]
    print(f"{len(titles)} offers, {len(queries)} product names as queries, {args.rounds} round(s); words per "
          f"document: plain {words[0]:.1f}, {args.augment} {words[1]:.1f}")
    print("| corpus | index build (s) | top-10 queries/s |\n|---|---:|---:|")
    results = {name: timed(docs, queries, args.rounds) for name, docs in (("plain", titles), (args.augment, documents))}
    for name, (build, rate) in results.items():
        print(f"| {name} | {build:.2f} | {rate:,.0f} |")
    (b0, r0), (b1, r1) = results.values()
    print(f"expanded / plain: index build {b1 / b0:.2f}x the time, queries {r1 / r0:.2f}x the rate")


if __name__ == "__main__":
    main()
