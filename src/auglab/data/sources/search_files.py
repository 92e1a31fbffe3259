"""A search collection: queries, a corpus of documents, and which documents are relevant to each query
(qrels). ``read_folder`` reads a user's files in BEIR's layout (Thakur et al. 2021): ``corpus.jsonl``
(``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``, ``text``) and ``qrels/*.tsv`` (``query-id``,
``corpus-id``, ``score``), or the same tables as CSV / TSV / JSON lines, ``id`` / ``query_id`` / ``doc_id``
accepted as column names. ``qrels/train``, ``dev`` and ``test`` name the folder's own splits (the data
module uses them unless told to re-split); any other qrels file only adds judgements. The score is a graded
relevance (0: judged not relevant; trec_eval's gains).

Checks, each failing in one line that names the file: missing or empty files, missing columns (the columns
found are listed), empty queries, qrels naming unknown ids, grades that are not numbers >= 0, a query in two
split files, a ``dev`` file without a ``train`` one. Queries with no relevant document are dropped with a
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


SPLITS = ("train", "dev", "test")


@dataclass
class SearchCollection:
    """Queries, documents and, per query, the indices of its relevant documents (one or more each) with their
    ``grades`` (default 1); the documents' and queries' ids (trec_eval breaks ties by document id; identical
    ids can be ignored); ``splits``: the collection's own ``train`` / ``dev`` / ``test`` query indices, if any."""

    queries: list[str]
    documents: list[str]
    relevant: list[list[int]]
    grades: list[list[float]] | None = None
    document_ids: list[str] | None = None
    query_ids: list[str] | None = None
    splits: dict[str, list[int]] | None = None

    def __post_init__(self) -> None:
        if len(self.queries) != len(self.relevant):
            raise ValueError(f"{len(self.queries)} queries but {len(self.relevant)} relevance lists")
        if self.grades is None:
            self.grades = [[1.0] * len(r) for r in self.relevant]
        if self.document_ids is None:
            self.document_ids = [str(i) for i in range(len(self.documents))]
        if self.query_ids is None:
            self.query_ids = [f"q{i}" for i in range(len(self.queries))]


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
    if frame.empty:
        raise AuglabError(f"{path} is empty: it needs one row per {'document' if 'corpus' in path.name else 'query'}")
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


def _grades(frame: pd.DataFrame, path: Path) -> pd.Series:
    if "score" not in frame.columns:
        return pd.Series(1.0, frame.index)
    grades = pd.to_numeric(frame["score"], errors="coerce")
    bad = grades.isna() | (grades < 0)
    if bad.any():
        row = frame["score"][bad].iloc[0]
        raise AuglabError(f"{path}: {int(bad.sum())} relevance grades are not numbers >= 0 (e.g. {row!r}); "
                          "use 0 for judged not relevant and 1, 2, ... for relevant")
    return grades.astype(float)


def _own_splits(qrels: list[tuple[Path, pd.Series]], folder: Path, query_index: dict[str, int]) -> dict | None:
    """The folder's own splits (query indices) from qrels files named train / dev / test; None without."""
    named = {path.stem: set(qids) for path, qids in qrels if path.stem in SPLITS}
    if not named:
        return None
    if "dev" in named and "train" not in named:
        raise AuglabError(f"{folder / 'qrels'}: dev without train; add qrels/train.tsv, or rename the dev file to "
                          "use the seeded split (data.split=seeded)")
    for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
        shared = named.get(a, set()) & named.get(b, set())
        if shared:
            raise AuglabError(f"{folder / 'qrels'}: {len(shared)} queries are in both {a} and {b} (e.g. "
                              f"{sorted(shared)[0]}); a query belongs to one split")
    return {name: sorted(query_index[q] for q in qids) for name, qids in named.items()}


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
    relevant: list[dict[int, float]] = [{} for _ in queries]
    judged = []
    for path, frame in _qrels(folder):
        qids, dids = _column(frame, QUERY_ID_COLUMNS, path, "query id"), _column(frame, DOC_ID_COLUMNS, path, "doc id")
        grades = _grades(frame, path)
        for name, ids, index in (("query", qids, query_index), ("document", dids, doc_index)):
            unknown = sorted(set(ids) - set(index))
            if unknown:
                raise AuglabError(f"{path}: {len(unknown)} {name} ids are not in the {name} file (e.g. {unknown[0]}); "
                                  f"fix the qrels or add the missing {name}s")
        for q, d, grade in zip(qids, dids, grades, strict=True):
            if grade > 0:  # BEIR marks judged non-relevant pairs with 0
                relevant[query_index[q]][doc_index[d]] = grade
        judged.append((path, qids))
    splits = _own_splits(judged, folder, query_index)
    keep = [i for i, rel in enumerate(relevant) if rel]
    if not keep:
        raise AuglabError(f"{folder}: no query has a relevant document (qrels score > 0); check the qrels files")
    if len(keep) < len(queries):
        log.warning("%s: %d of %d queries have no relevant document in the qrels and were dropped", folder,
                    len(queries) - len(keep), len(queries))
    position = {old: new for new, old in enumerate(keep)}
    if splits is not None:
        splits = {name: [position[i] for i in idx if i in position] for name, idx in splits.items()}
    return SearchCollection([queries[i] for i in keep], documents, [sorted(relevant[i]) for i in keep],
                            [[relevant[i][d] for d in sorted(relevant[i])] for i in keep], doc_ids,
                            [query_ids[i] for i in keep], splits)
