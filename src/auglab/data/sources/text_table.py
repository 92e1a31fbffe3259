"""Labelled texts from a table file: a user's CSV, TSV or JSON-lines file (``data=text_file``) and the
EDA paper's ``label<TAB>sentence`` splits (``data=eda_benchmark``).

Files are parsed by pandas. Every problem a user can fix fails in one line: a missing file, a missing
column (the columns found are listed), bytes that are not UTF-8 (file and line named), a label column
with one class. Empty or whitespace-only texts are dropped with a logged count (a review with no words
carries no signal, and tokenisers turn it into a bare [CLS] [SEP]); a file with no text left fails.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from auglab.errors import AuglabError

log = logging.getLogger(__name__)
READERS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}
TextTable = tuple[list[str], list[str]]  # (texts, label names), one per example


def first_bad_utf8_line(path: Path) -> int | None:
    """The 1-based number of the first line that is not valid UTF-8, or None."""
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def read_frame(path: Path, *, header: bool) -> pd.DataFrame:
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise AuglabError(f"data.path {path}: unknown file type {path.suffix!r}; use .csv, .tsv, .txt (tab-separated) "
                          "or .jsonl")
    try:
        if kind == "jsonl":
            return pd.read_json(path, lines=True, dtype=False, encoding="utf-8")
        return pd.read_csv(path, sep="," if kind == "csv" else "\t", header=0 if header else None, dtype=str,
                           keep_default_na=False, encoding="utf-8", quoting=3 if not header else 0)
    except UnicodeDecodeError as err:
        line = first_bad_utf8_line(path)
        raise AuglabError(f"{path}, line {line}: bytes that are not UTF-8; re-save the file as UTF-8 "
                          "(e.g. iconv -f latin1 -t utf-8)") from err
    except (ValueError, pd.errors.ParserError) as err:
        raise AuglabError(f"cannot parse {path} as {kind}: {str(err).splitlines()[0]}") from err


def _clean(texts: list[str], labels: list[str], where: str) -> TextTable:
    keep = [i for i, t in enumerate(texts) if t.strip()]
    if not keep:
        raise AuglabError(f"{where}: every text is empty or whitespace; check data.text_field")
    if len(keep) < len(texts):
        log.warning("%s: %d of %d texts are empty or whitespace and were skipped", where, len(texts) - len(keep),
                    len(texts))
    return [texts[i] for i in keep], [labels[i] for i in keep]


def read_table(path: Path, *, text_field: str, label_field: str) -> TextTable:
    """Texts and labels from a CSV/TSV (with a header row) or JSON-lines file."""
    if not path.is_file():
        raise AuglabError(f"data.path {path} does not exist; point it at a .csv, .tsv or .jsonl file, or a folder "
                          "with train.* and test.*")
    frame = read_frame(path, header=True)
    missing = [f"data.{opt}={name}" for opt, name in (("text_field", text_field), ("label_field", label_field))
               if name not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns))
        raise AuglabError(f"{path}: no column {', '.join(missing)}; columns found: {found}")
    texts = ["" if pd.isna(t) else str(t) for t in frame[text_field]]
    labels = [str(v) for v in frame[label_field]]
    return _clean(texts, labels, str(path))


def read_eda_split(path: Path) -> TextTable:
    """One of the EDA paper's ``label<TAB>sentence`` files."""
    if not path.is_file():
        raise AuglabError(f"EDA benchmark file {path} does not exist; point data.path at a folder laid out as "
                          "1_tiny/<name>/train_orig.txt ... test/<name>/test.txt (see the README, 'Text data')")
    frame = read_frame(path, header=False)
    if frame.shape[1] < 2:
        raise AuglabError(f"{path}: expected label<TAB>sentence lines, found {frame.shape[1]} column(s)")
    return _clean([str(t) for t in frame[1]], [str(v).strip() for v in frame[0]], str(path))


def _class_order(name: str) -> tuple[int, int, str]:
    """Numeric labels in numeric order ("2" before "10"), then names alphabetically."""
    return (0, int(name), "") if name.lstrip("-").isdigit() else (1, 0, name)


def check_classes(labels: list[str], where: str, label_field: str) -> list[str]:
    """The sorted class names; one class cannot train a classifier."""
    classes = sorted(set(labels), key=_class_order)
    if len(classes) < 2:
        raise AuglabError(f"{where}: label column {label_field!r} has one class ({classes[0]!r}); a classifier needs "
                          "at least two; check data.label_field")
    return classes
