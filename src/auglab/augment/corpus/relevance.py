"""How relevant a written text is to the document it was written for, for Doc2Query--'s filter (Gospodinov
et al., ECIR 2023, arXiv 2301.03266, which scores with a cross-encoder and drops the lowest-scored share):
``bm25`` scores the document for the text as a query, over the whole original corpus (a word the corpus
rarely holds weighs more); ``bi_encoder`` is the cosine of their zero-shot MiniLM embeddings."""

from __future__ import annotations

from collections.abc import Sequence

from tqdm import tqdm

SCORERS = ("bm25", "bi_encoder")


def relevance_scores(scorer: str, documents: Sequence[str], pairs: Sequence[tuple[int, str]]) -> list[float]:
    """One score per ``(document index, text)``; higher: more relevant."""
    if scorer == "bm25":
        from auglab.models.bm25 import BM25Index

        index = BM25Index(documents)
        return [float(index.scores(text)[d]) for d, text in tqdm(pairs, desc="relevance (bm25)", leave=False)]
    from auglab.models.text_judge import DEFAULT_ENCODER, TextJudge

    judge = TextJudge(DEFAULT_ENCODER)
    which = sorted({d for d, _ in pairs})
    row = {d: i for i, d in enumerate(which)}
    docs = judge.embed([documents[d] for d in which])  # [D, H], unit length
    texts = judge.embed([text for _, text in pairs])  # [P, H]
    return [float(texts[i] @ docs[row[d]]) for i, (d, _) in enumerate(pairs)]
