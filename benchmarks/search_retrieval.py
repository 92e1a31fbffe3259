"""Search on the whole PriceRunner corpus (35,311 offer titles): index build time and full-corpus retrieval of
the test queries for BM25 (bm25s, through ``models/bm25.py``) and for the bi-encoder (MiniLM-L6: corpus embedded
in length-sorted chunks, one matrix product per query batch); and corpus embedding throughput against
sentence-transformers' ``encode`` on the same checkpoint and batch size (its peer; ``pip install -e '.[bench]'``).

    .venv/bin/python benchmarks/search_retrieval.py [--documents 35311] [--threads 2] [--rounds 2] [--smoke]

Both sides of the embedding comparison run ``--rounds`` times, alternating, on the same titles; medians are
compared. Retrieval counts what a validation epoch does per query: the query's scores against every document and
the ranks of its relevant documents (``models/retriever.py``, chunked), in batches of 256 queries; BM25 also
against a full score vector per query, and its top 10 through bm25s' own retrieval against a loop. Without
sentence-transformers the embedding comparison is skipped with a line saying how to get it. ``--smoke``: the
first 300 offers as the corpus, one round. Last, faiss's HNSW and IVF indexes (``model.index``) over the real
corpus embeddings: their recall of the exact top 10 and their ndcg@10.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time

import numpy as np
import torch

from auglab.config.composition import model_defaults
from auglab.data.sources import pricerunner
from auglab.metrics.ranking import RankingMetrics, relevant_ranks
from auglab.models.bi_encoder import BiEncoder
from auglab.models.bm25 import BM25Retriever
from auglab.models.vector_index import VectorIndex
from auglab.pretrained import hf_checkpoint
from auglab.pretrained.text_batch import padded

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def compare_embedding(model: BiEncoder, subset: list[str], rounds: int, batch_size: int) -> None:
    """auglab's corpus embedding vs sentence-transformers' ``encode``, alternating rounds, same titles."""
    from sentence_transformers import SentenceTransformer

    peer = SentenceTransformer(hf_checkpoint.resolve(MINILM), device="cpu")
    peer.max_seq_length = model.max_length  # the same truncation on both sides (32 tokens)
    model.encode_texts(subset[:64]), peer.encode(subset[:64])  # warm-up: first calls allocate and dispatch
    ours, theirs = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        mine = model.encode_texts(subset)
        ours.append(len(subset) / (time.perf_counter() - start))
        start = time.perf_counter()
        other = peer.encode(subset, batch_size=batch_size, convert_to_tensor=True, normalize_embeddings=True)
        theirs.append(len(subset) / (time.perf_counter() - start))
    agreement = float((mine * other.to(mine.dtype)).sum(1).min())
    print(f"embedding {len(subset)} titles: auglab {statistics.median(ours):,.0f} vs sentence-transformers "
          f"{statistics.median(theirs):,.0f} texts/s: {statistics.median(ours) / statistics.median(theirs):.2f}x "
          f"(rounds {[round(v) for v in ours]} vs {[round(v) for v in theirs]}); lowest cosine between the two "
          f"sides' embeddings of one title {agreement:.5f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=None, help="embed only the first N titles (default: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--smoke", action="store_true", help="the first 300 offers, one round")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    offers = pricerunner.load()
    if args.smoke:
        offers, args.rounds = offers.head(300), 1
    collection = pricerunner.search_collection(offers)
    docs = collection.documents
    test = np.random.default_rng(0).permutation(len(collection.queries))[:round(0.1 * len(collection.queries))]
    lists = [collection.relevant[i] for i in test]
    queries, relevant = [collection.queries[i] for i in test], padded(lists, max(map(len, lists)))
    print(f"{len(docs)} documents, {len(queries)} test queries, {args.threads} threads")

    start = time.perf_counter()
    retriever = BM25Retriever(**model_defaults("bm25"),
                              documents=docs, document_ids=collection.document_ids)
    retriever.index_corpus()
    build = time.perf_counter() - start
    bm25 = retriever.bm25
    metrics = RankingMetrics([10])
    start = time.perf_counter()  # what a validation epoch does: every document scored, relevant ranks counted
    for i in range(0, len(queries), 256):
        rel = relevant[i:i + 256]
        ranks, gains, _, _ = retriever.rank({"text": queries[i:i + 256]}, rel, (rel >= 0).float())
        metrics.update(ranks, gains)
    bm25_qps = len(queries) / (time.perf_counter() - start)
    start = time.perf_counter()  # the path before chunked scoring: bm25s' full score vector per query
    for i in range(0, len(queries), 256):
        relevant_ranks(torch.from_numpy(np.stack([bm25.scores(q) for q in queries[i:i + 256]])), relevant[i:i + 256])
    per_query_qps = len(queries) / (time.perf_counter() - start)
    start = time.perf_counter()  # top 10 only (hard-negative mining, the llm_queries round trip): auglab's own
    bm25.top(queries, 10)
    top_qps = len(queries) / (time.perf_counter() - start)
    peers = {}
    known = bm25._known(queries)
    for backend in ("numpy", "numba"):  # bm25s' own top-k retrieval (numba: only when installed)
        if backend == "numba" and importlib.util.find_spec("numba") is None:
            continue
        bm25.index.retrieve(known[:8], k=10, show_progress=False, n_threads=1, backend_selection=backend)  # JIT
        start = time.perf_counter()
        bm25.index.retrieve(known, k=10, show_progress=False, n_threads=1, backend_selection=backend)
        peers[backend] = len(queries) / (time.perf_counter() - start)
    versus = ", ".join(f"bm25s {name} {qps:,.0f} ({top_qps / qps:.1f}x)" for name, qps in peers.items())
    print(f"BM25: index {build:.2f} s; full-corpus ranking {bm25_qps:,.0f} queries/s (chunked sparse scoring) vs "
          f"{per_query_qps:,.0f} with a whole score matrix per batch ({bm25_qps / per_query_qps:.2f}x); top 10: "
          f"auglab {top_qps:,.0f} queries/s vs {versus}; ndcg@10 {float(metrics.compute()['ndcg@10']):.4f} "
          "(trec_eval's ties)")

    model = BiEncoder(**model_defaults("bi_encoder"),
                      documents=docs, checkpoint=MINILM, corpus_batch_size=args.batch_size,
                      optimizer=None).eval()
    if importlib.util.find_spec("sentence_transformers") is None:
        print("embedding comparison skipped: sentence-transformers is not installed (pip install -e '.[bench]')")
    else:
        compare_embedding(model, docs[:args.documents] if args.documents else docs, args.rounds, args.batch_size)

    start = time.perf_counter()
    model.corpus_embeddings = model.encode_texts(docs)  # what index_corpus does, without its progress bar
    index_s = time.perf_counter() - start
    tokenizer = hf_checkpoint.load_tokenizer(MINILM)
    metrics = RankingMetrics([10])
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(queries), 256):
            x = dict(tokenizer(queries[i:i + 256], padding=True, truncation=True, max_length=32, return_tensors="pt"))
            rel = relevant[i:i + 256]
            ranks, gains, _, _ = model.rank(x, rel, (rel >= 0).float())
            metrics.update(ranks, gains)
    encoder_qps = len(queries) / (time.perf_counter() - start)
    print(f"bi-encoder (zero-shot MiniLM): index (embed the corpus) {index_s:.1f} s; full-corpus retrieval "
          f"{encoder_qps:,.0f} queries/s ({encoder_qps / bm25_qps:.2f}x BM25's); ndcg@10 "
          f"{float(metrics.compute()['ndcg@10']):.4f}")
    with torch.no_grad():
        embedded = torch.cat([model.encode_queries(dict(tokenizer(queries[i:i + 256], padding=True, truncation=True,
                                                                  max_length=32, return_tensors="pt")))
                              for i in range(0, len(queries), 256)])
    compare_indexes(model.corpus_embeddings, embedded, relevant)


def compare_indexes(corpus: torch.Tensor, queries: torch.Tensor, relevant: torch.Tensor) -> None:
    """faiss's approximate indexes on the real embeddings: recall of the exact top 10 and ndcg@10 (``model.index``)."""
    exact = (queries @ corpus.T).topk(10, dim=1).indices  # [Q, 10]
    for kind, probes in (("hnsw", 16), ("ivf", 16), ("ivf", 64)):  # probes: model.index_probes (ivf only)
        start = time.perf_counter()
        index = VectorIndex(corpus, kind, probes=probes)
        build = time.perf_counter() - start
        start = time.perf_counter()
        ranks, gains, _, ids = index.rank(queries, relevant, (relevant >= 0).float(), 100)
        qps = len(queries) / (time.perf_counter() - start)
        found = sum(len(set(a.tolist()) & set(b.tolist())) for a, b in zip(ids[:, :10], exact, strict=True))
        metrics = RankingMetrics([10])
        metrics.update(ranks, gains)
        name = f"{kind} ({probes} probes)" if kind == "ivf" else kind
        print(f"faiss {name} over the real embeddings: build {build:.1f} s, {qps:,.0f} queries/s, recall of the exact "
              f"top 10 {found / exact.numel():.3f}, ndcg@10 {float(metrics.compute()['ndcg@10']):.4f}")


if __name__ == "__main__":
    main()
