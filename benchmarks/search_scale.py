"""Search at catalogue scale: peak memory and queries/s of ranking a synthetic corpus of 100k and 1M documents
(10M extrapolated from the measured points), exact chunked ranking (``models/retriever.py``, what every
evaluation does) against faiss's approximate indexes (``model.index``) with their recall of the exact top 10,
and BM25 (chunked sparse scoring, and bm25s' top-k retrieval). Writes its table into docs/benchmarks.md
(between the ``search-scale`` markers) and prints it.

    .venv/bin/python benchmarks/search_scale.py [--sizes 100000 1000000] [--queries 256] [--smoke]

Each configuration runs in a process of its own, so its peak RSS is its own; "working" memory is the peak of
the search alone (the kernel's high-water mark is reset once the corpus is built, ``/proc/self/clear_refs``).
Dense documents: unit vectors of 384 dimensions (MiniLM's), float32, of low intrinsic dimension as text
embeddings are (a random 384 x 32 map of Gaussian points, plus a little isotropic noise; uniformly random
vectors in 384 dimensions have no near neighbours worth finding and every approximate index fails on them);
each query is a document moved a little, with 5 relevant documents. BM25 documents: 8 words from a Zipf-distributed
vocabulary of 50,000. The old path held the whole queries x documents score matrix (``256 x N`` float32) and
sorted it; its size is given for comparison, not run.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
DIM, RELEVANT, TOP = 384, 5, 10


def _status_mb(field: str) -> float | None:
    """A memory line of ``/proc/self/status`` (Linux), in MiB; None elsewhere."""
    for line in Path("/proc/self/status").read_text().splitlines() if Path("/proc/self/status").exists() else ():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return None


def _rss_mb() -> float:
    """Peak resident memory since the last ``_reset_peak`` (VmHWM), in MiB."""
    peak = _status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_mb() -> float:
    current = _status_mb("VmRSS")
    return current if current is not None else _rss_mb()


def _reset_peak() -> None:
    """Start the high-water mark afresh (Linux: writing 5 to clear_refs), so the search's peak is its own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _embeddings(n: int, gen, intrinsic: int = 32, noise: float = 0.05, chunk: int = 100_000):
    """``[n, DIM]`` unit vectors of low intrinsic dimension, built in chunks (no n-sized temporaries)."""
    import torch

    mix = torch.randn(intrinsic, DIM, generator=gen) / intrinsic ** 0.5
    out = torch.empty(n, DIM)
    for start in range(0, n, chunk):
        rows = min(chunk, n - start)
        block = torch.randn(rows, intrinsic, generator=gen) @ mix + noise * torch.randn(rows, DIM, generator=gen)
        out[start:start + rows] = torch.nn.functional.normalize(block, dim=1)
    return out


def _dense(n: int, queries: int, kind: str) -> dict:
    import torch

    from auglab.config.composition import model_defaults
    from auglab.models.retriever import Retriever
    from auglab.models.vector_index import VectorIndex

    gen = torch.Generator().manual_seed(0)
    corpus = _embeddings(n, gen)
    relevant = torch.randint(0, n, (queries, RELEVANT), generator=gen)
    q = torch.nn.functional.normalize(corpus[relevant[:, 0]] + 0.02 * torch.randn(queries, DIM, generator=gen), dim=1)

    class Embedded(Retriever):
        def encode_queries(self, x):
            return x["q"]

        def score_chunk(self, queries, start, end):
            return queries @ corpus[start:end].T

    model = Embedded(documents=[""] * n, **model_defaults("bi_encoder"))
    peak_before, base = _rss_mb(), _current_mb()
    _reset_peak()
    start = time.perf_counter()
    if kind == "exact":
        _, _, _, best = model.rank({"q": q}, relevant, torch.ones(queries, RELEVANT))
        build = 0.0
    else:
        index = VectorIndex(corpus, kind)
        build = time.perf_counter() - start
        start = time.perf_counter()
        _, best = index.search(q, TOP)
    seconds = time.perf_counter() - start
    exact = (q @ corpus.T).topk(TOP, dim=1).indices if n <= 1_000_000 else None  # reference top 10
    recall = float(sum(len(set(a.tolist()) & set(b.tolist())) for a, b in zip(best[:, :TOP], exact, strict=True))
                   / (queries * TOP)) if exact is not None else float("nan")
    peak = _rss_mb()
    return {"build_s": build, "qps": queries / seconds, "peak_mb": max(peak, peak_before), "working_mb": peak - base,
            "recall": recall}


def _bm25(n: int, queries: int, kind: str) -> dict:
    import numpy as np
    import torch

    from auglab.config.composition import model_defaults
    from auglab.models.bm25 import BM25Retriever

    rng = np.random.default_rng(0)
    vocabulary = [f"w{i}" for i in range(50_000)]
    words = np.minimum(rng.zipf(1.3, (n, 8)), 50_000) - 1
    documents = [" ".join(vocabulary[w] for w in row) for row in words]
    texts = [" ".join(vocabulary[w] for w in row) for row in np.minimum(rng.zipf(1.3, (queries, 3)), 50_000) - 1]
    start = time.perf_counter()
    model = BM25Retriever(documents=documents, **model_defaults("bm25"))
    model.index_corpus()
    build = time.perf_counter() - start
    peak_before, base = _rss_mb(), _current_mb()
    _reset_peak()
    relevant = torch.from_numpy(rng.integers(0, n, (queries, RELEVANT)))
    start = time.perf_counter()
    if kind == "exact":
        model.rank({"text": texts}, relevant, torch.ones(queries, RELEVANT))
    else:
        model.bm25.top(texts, TOP)
    seconds = time.perf_counter() - start
    peak = _rss_mb()
    return {"build_s": build, "qps": queries / seconds, "peak_mb": max(peak, peak_before), "working_mb": peak - base,
            "recall": float("nan")}


def _child(model: str, n: int, queries: int, kind: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", model, str(n), str(queries), kind],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(sizes: list[int], queries: int) -> str:
    rows = ["| model | method | documents | build s | queries/s | peak RSS MiB | working MiB | recall of exact top "
            "10 |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    measured: dict[tuple[str, str], list[tuple[int, dict]]] = {}
    for model, kinds in (("dense", ("exact", "hnsw", "ivf")), ("bm25", ("exact", "top-k"))):
        for kind in kinds:
            for n in sizes:
                r = _child(model, n, queries, kind)
                measured.setdefault((model, kind), []).append((n, r))
                if "error" in r:
                    rows.append(f"| {model} | {kind} | {n:,} | – | – | – | – | {r['error']} |")
                    continue
                recall = "–" if r["recall"] != r["recall"] else f"{r['recall']:.3f}"
                rows.append(f"| {model} | {kind} | {n:,} | {r['build_s']:.1f} | {r['qps']:,.0f} | "
                            f"{r['peak_mb']:,.0f} | {r['working_mb']:,.0f} | {recall} |")
    # 10M extrapolated from the two largest measured sizes: memory grows linearly with N (the corpus; exact
    # ranking's working memory is bounded by the chunk); queries/s as the power of N the two points give
    # (about 1/N for a scan, 1/sqrt(N) for IVF's sqrt(N) cells, slower still for HNSW's graph)
    for (model, kind), points in measured.items():
        ok = [(n, r) for n, r in points if "error" not in r]
        if len(ok) >= 2:
            (n1, a), (n2, b) = ok[-2], ok[-1]
            slope = (b["peak_mb"] - a["peak_mb"]) / (n2 - n1)
            peak = b["peak_mb"] + slope * (10_000_000 - n2)
            power = math.log(a["qps"] / b["qps"]) / math.log(n2 / n1)
            qps = b["qps"] * (n2 / 10_000_000) ** power
            rows.append(f"| {model} | {kind} | 10,000,000 (extrapolated, qps ∝ N^-{power:.2f}) | – | {qps:,.1f} | "
                        f"{peak:,.0f} | – | – |")
    old = 256 * 10_000_000 * 4 / 2**30
    return "\n".join(rows) + (f"\n\n{queries} queries per measurement, one process per row. The old path's score "
                              f"matrix alone, 256 queries x 10M documents in float32, is {old:.1f} GiB, before "
                              "sorting it.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=256)
    parser.add_argument("--smoke", action="store_true", help="2,000 and 4,000 documents, 16 queries; docs untouched")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        model, n, queries, kind = args.child
        result = (_dense if model == "dense" else _bm25)(int(n), int(queries), kind)
        print(json.dumps(result))
        return
    if args.smoke:
        print(table([2000, 4000], 16))
        return
    text = table(args.sizes, args.queries)
    print(text)
    page = DOCS.read_text()
    block = re.compile(r"(<!-- benchmark search-scale -->\n).*?(<!-- /benchmark -->)", re.S)
    if block.search(page):
        DOCS.write_text(block.sub(lambda m: m[1] + text + m[2], page))


if __name__ == "__main__":
    main()
