"""A search collection: queries, a corpus of documents, and which documents are relevant to each query
(qrels). ``read_folder`` reads a user's files in BEIR's layout (Thakur et al. 2021): ``corpus.jsonl``
(``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``, ``text``) and ``qrels/*.tsv`` (``query-id``,
``corpus-id``, ``score``), or the same tables as CSV / TSV / JSON lines, ``id`` / ``query_id`` / ``doc_id``
accepted as column names. auglab splits the queries itself, so every qrels file is read.

Checks, each failing in one line that names the file: missing files or columns (the columns found are
listed), empty queries, qrels naming unknown ids. Queries with no relevant document are dropped with a
logged count (BEIR's query files list queries that only another split's qrels judge); none left fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from auglab.data.sources.text_table import READERS, read_frame
from auglab.errors import AuglabError

log = logging.getLogger(__name__)
ID_COLUMNS = ("_id", "id")
QUERY_ID_COLUMNS = ("query-id", "query_id", "qid")
DOC_ID_COLUMNS = ("corpus-id", "corpus_id", "doc_id", "docid")


@dataclass
class SearchCollection:
    """Queries, documents and, per query, the indices of its relevant documents (one or more each)."""

    queries: list[str]
    documents: list[str]
    relevant: list[list[int]]

    def __post_init__(self) -> None:
        if len(self.queries) != len(self.relevant):
            raise ValueError(f"{len(self.queries)} queries but {len(self.relevant)} relevance lists")


def _column(frame: pd.DataFrame, names: tuple[str, ...], path: Path, what: str) -> pd.Series:
    for name in names:
        if name in frame.columns:
            return frame[name].astype(str)
    found = ", ".join(map(str, frame.columns))
    raise AuglabError(f"{path}: no {what} column ({' or '.join(names)}); columns found: {found}")


def _file(folder: Path, stem: str) -> Path:
    found = sorted(p for p in folder.glob(f"{stem}.*") if p.suffix.lower() in READERS)
    if not found:
        raise AuglabError(f"data.path {folder} has no {stem}.jsonl, {stem}.csv or {stem}.tsv; lay it out as BEIR does: "
                          "corpus.jsonl, queries.jsonl, qrels/test.tsv")
    return found[0]


def _texts(path: Path) -> tuple[list[str], list[str]]:
    """Ids and texts of a queries or corpus file; a ``title`` column is put before the text."""
    frame = read_frame(path, header=True)
    ids = _column(frame, ID_COLUMNS, path, "id").tolist()
    text = _column(frame, ("text",), path, "text").fillna("")
    if "title" in frame.columns:
        text = (frame["title"].fillna("").astype(str) + " " + text).str.strip()
    if len(set(ids)) < len(ids):
        raise AuglabError(f"{path}: {len(ids) - len(set(ids))} ids appear more than once; give each row its own id")
    return ids, [t if t != "nan" else "" for t in text.tolist()]


def _qrels(folder: Path) -> list[tuple[Path, pd.DataFrame]]:
    files = sorted(p for p in (folder / "qrels").glob("*") if p.suffix.lower() in READERS) \
        if (folder / "qrels").is_dir() else [_file(folder, "qrels")]
    if not files:
        raise AuglabError(f"{folder / 'qrels'} holds no .tsv, .csv or .jsonl files")
    return [(path, read_frame(path, header=True)) for path in files]


def read_folder(folder: str | Path) -> SearchCollection:
    """A user's collection in BEIR's layout (see the module docstring)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise AuglabError(f"data.path={folder} is not a folder; point it at one with corpus.jsonl, queries.jsonl and "
                          "qrels/ (BEIR's layout)")
    doc_ids, documents = _texts(_file(folder, "corpus"))
    query_path = _file(folder, "queries")
    query_ids, queries = _texts(query_path)
    empty = [q for q, text in zip(query_ids, queries, strict=True) if not text.strip()]
    if empty:
        raise AuglabError(f"{query_path}: {len(empty)} empty queries (e.g. id {empty[0]}); give them text or remove "
                          "them")
    doc_index, query_index = {d: i for i, d in enumerate(doc_ids)}, {q: i for i, q in enumerate(query_ids)}
    relevant: list[set[int]] = [set() for _ in queries]
    for path, frame in _qrels(folder):
        qids, dids = _column(frame, QUERY_ID_COLUMNS, path, "query id"), _column(frame, DOC_ID_COLUMNS, path, "doc id")
        scores = (pd.to_numeric(frame["score"], errors="coerce") if "score" in frame.columns else
                  pd.Series(1, frame.index))
        for name, ids, index in (("query", qids, query_index), ("document", dids, doc_index)):
            unknown = sorted(set(ids) - set(index))
            if unknown:
                raise AuglabError(f"{path}: {len(unknown)} {name} ids are not in the {name} file (e.g. {unknown[0]}); "
                                  f"fix the qrels or add the missing {name}s")
        for q, d, score in zip(qids, dids, scores, strict=True):
            if score > 0:  # BEIR marks judged non-relevant pairs with 0
                relevant[query_index[q]].add(doc_index[d])
    keep = [i for i, rel in enumerate(relevant) if rel]
    if not keep:
        raise AuglabError(f"{folder}: no query has a relevant document (qrels score > 0); check the qrels files")
    if len(keep) < len(queries):
        log.warning("%s: %d of %d queries have no relevant document in the qrels and were dropped", folder,
                    len(queries) - len(keep), len(queries))
    return SearchCollection([queries[i] for i in keep], documents, [sorted(relevant[i]) for i in keep])
