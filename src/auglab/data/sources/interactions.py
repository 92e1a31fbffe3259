"""Interaction logs (user, item, time[, rating]) from RecBole ``.inter`` files, CSV, TSV or Parquet.

Read with pyarrow (columnar, fast on millions of rows). The embedded default, MovieLens-100k
(Harper & Konstan 2015), is the ``ml-100k.inter`` file shipped in the PyPI ``recbole`` wheel, which
``scripts/setup.sh`` installs with ``--no-deps`` (RecBole itself is never imported).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from auglab.errors import AuglabError

FORMATS = ("inter", "csv", "tsv", "parquet")
ML100K_HOW_TO_GET = (
    "run `bash scripts/setup.sh` (installs the recbole wheel, which ships ml-100k.inter), or "
    "`pip install --no-deps recbole`, or point data=interactions data.path= at a copy of ml-100k.inter"
)


@dataclass
class InteractionLog:
    """One row per interaction; ``user`` and ``item`` are the raw ids as strings."""

    user: np.ndarray  # [N] str
    item: np.ndarray  # [N] str
    time: np.ndarray  # [N] float64
    rating: np.ndarray | None = None  # [N] float64

    def __len__(self) -> int:
        return len(self.user)

    def select(self, keep: np.ndarray) -> InteractionLog:
        return InteractionLog(self.user[keep], self.item[keep], self.time[keep],
                              None if self.rating is None else self.rating[keep])


def movielens_100k_path() -> Path:
    """Where the recbole wheel put ``ml-100k.inter`` (found without importing recbole)."""
    spec = importlib.util.find_spec("recbole")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            path = Path(folder) / "dataset_example" / "ml-100k" / "ml-100k.inter"
            if path.is_file():
                return path
    raise AuglabError(f"MovieLens-100k is not installed: {ML100K_HOW_TO_GET}")


def _format(path: Path, fmt: str) -> str:
    if fmt != "auto":
        if fmt not in FORMATS:
            raise AuglabError(f"data.format={fmt}: choose one of auto, {', '.join(FORMATS)}")
        return fmt
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("inter", "csv", "tsv", "parquet"):
        return suffix
    if suffix == "pq":
        return "parquet"
    raise AuglabError(f"cannot tell the format of {path} from its suffix; "
                      f"set data.format to one of {', '.join(FORMATS)}")


def _read_table(path: Path, fmt: str) -> pa.Table:
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path)
        parse = pacsv.ParseOptions(delimiter="," if fmt == "csv" else "\t")
        with pacsv.open_csv(path, parse_options=parse) as reader:
            names = reader.schema.names
        # Every column as text: ids stay ids ("007" is not 7, long ids are not rounded to floats);
        # times and ratings are parsed below.
        table = pacsv.read_csv(path, parse_options=parse, convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names}, strings_can_be_null=False, auto_dict_encode=False))
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as err:
        raise AuglabError(f"cannot read {path} as {fmt}: {str(err).splitlines()[0]}") from err
    if fmt == "inter":  # RecBole headers carry types: "user_id:token"
        table = table.rename_columns([name.split(":", 1)[0] for name in table.column_names])
    return table


def _column(table: pa.Table, field: str, option: str, path: Path) -> pa.ChunkedArray:
    if field not in table.column_names:
        raise AuglabError(f"{option}={field} is not a column of {path}; columns found: {', '.join(table.column_names)}")
    return table.column(field)


def _as_id(column: pa.ChunkedArray, option: str, field: str, path: Path) -> np.ndarray:
    """Raw ids as strings; an empty or missing id is an error, not one more id."""
    text = pc.cast(column, pa.string())
    empty = pc.sum(pc.or_kleene(pc.is_null(text), pc.equal(pc.utf8_trim_whitespace(text), ""))).as_py() or 0
    if empty:
        raise AuglabError(f"{option}={field}: {empty} row(s) of {path} have no id; drop or fill those rows")
    return text.to_numpy(zero_copy_only=False).astype(str)


TICKS_PER_SECOND = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


def _as_time(column: pa.ChunkedArray, field: str, path: Path) -> np.ndarray:
    """Numbers as they are; dates and date-times as seconds since 1970."""
    if column.null_count:
        raise AuglabError(f"time column {field!r} of {path} has {column.null_count} empty value(s); "
                          "drop or fill those rows")
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return column.to_numpy().astype(np.float64)
    if pa.types.is_date(column.type):
        column = pc.cast(column, pa.timestamp("s"))
    if pa.types.is_timestamp(column.type):  # in its own unit, so sub-second times keep their order
        ticks = pc.cast(column, pa.int64()).to_numpy().astype(np.float64)
        return ticks / TICKS_PER_SECOND[column.type.unit]
    for target in (pa.float64(), pa.timestamp("ns"), pa.timestamp("ns", tz="UTC")):
        try:
            cast = pc.cast(column, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return _as_time(cast, field, path)
    example = column[0].as_py() if len(column) else ""
    raise AuglabError(f"time column {field!r} of {path} holds {example!r}, neither a number nor a date "
                      "(YYYY-MM-DD[ HH:MM:SS]); convert it, or point data.time_field at another column")


def read_interactions(
    path: str | Path,
    *,
    user_field: str = "user_id",
    item_field: str = "item_id",
    time_field: str = "timestamp",
    rating_field: str | None = None,
    fmt: str = "auto",
) -> InteractionLog:
    """Read a log; one line naming the file and the fix for a missing file, column or bad time."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise AuglabError(f"data.path={path} does not exist; point it at a .inter, .csv, .tsv or .parquet log")
    table = _read_table(path, _format(path, fmt))
    user = _column(table, user_field, "data.user_field", path)
    item = _column(table, item_field, "data.item_field", path)
    time = _column(table, time_field, "data.time_field", path)
    if table.num_rows == 0:
        raise AuglabError(f"{path} holds no interactions (only a header); point data.path at a non-empty log")
    rating = None
    if rating_field is not None:
        column = _column(table, rating_field, "data.rating_field", path)
        try:
            rating = pc.cast(column, pa.float64()).to_numpy()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            raise AuglabError(f"rating column {rating_field!r} of {path} is not numeric") from err
    return InteractionLog(_as_id(user, "data.user_field", user_field, path),
                          _as_id(item, "data.item_field", item_field, path), _as_time(time, time_field, path), rating)
