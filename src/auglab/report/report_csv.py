"""``report.csv``: written with the csv module (fields quoted where they hold a comma) and read back into the
report's rows, so every reader of a report -- ``reread``, the study READMEs' tables -- sees what was written.

Reports written before the csv module (auglab before issue 27) left labels and verdicts with a comma
unquoted, shifting later columns. Such a row is repaired on read when exactly one way of joining its extra
fields back into the text columns makes every numeric column a number; otherwise the file is refused in one
line. Older reports' columns are read too: the per-seed spread from the paired Student-t half-width, and the
test set's part from the verdict interval where one was written (``old_test_variance``).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from pathlib import Path

from scipy import optimize, stats

from auglab.errors import AuglabError
from auglab.report.tables import Row, lower_is_better
from auglab.report.verdicts import Comparison

COLUMNS = ("metric", "role", "strategy", "runs", "failed", "mean", "ci95", "diff_vs_none", "pairs", "seed_variance",
           "shared_test_variance", "test_part", "diff_low", "diff_high", "level", "diff_low95", "diff_high95",
           "verdict", "p_difference", "p_adjusted", "p_worse", "p_rope", "p_better", "detectable_diff",
           "seeds_needed", "optimizer_steps", "examples_seen")
INTEGERS = ("runs", "failed", "pairs")
TEXT = ("metric", "role", "strategy", "test_part", "verdict", "includes_test_sampling")  # the rest: numbers
_KNOWN = {*COLUMNS, "diff_ci95", "includes_test_sampling", "p_equivalence"}  # any other column: a group key
NUMBERS = _KNOWN - set(TEXT)
VERDICT = re.compile(r"^$|^(helps|hurts|equivalent|undecided)(:.*)?$")


def _number(x: float | int | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return repr(float(x)) if isinstance(x, float) else str(x)


def rows_to_csv(tables: dict[str, list[Row]], keys: list[str], primary: str | None) -> str:
    """Every metric's rows in one table (the CSV file and W&B's summary table)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([COLUMNS[0], COLUMNS[1], *keys, *COLUMNS[2:]])
    for metric, rows in tables.items():
        for r in rows:
            c = r.comparison or Comparison(math.nan, math.nan, 0, math.nan, "")
            group = [item.split("=", 1)[1] for item in r.group]
            writer.writerow([metric, "primary" if metric == primary else "secondary", *group, r.strategy, r.runs,
                             r.failed, *map(_number, (r.mean, r.ci95, r.diff)), c.seeds,
                             *map(_number, (c.seed_variance, c.shared_test_variance)), c.test_part,
                             *map(_number, (r.low, r.high, c.level, r.low95, r.high95)), r.verdict,
                             *map(_number, (c.p_difference, c.p_adjusted, c.p_worse, c.p_rope, c.p_better,
                                            c.detectable, c.seeds_needed, r.steps, r.examples))])
    return out.getvalue()


def flat_table(tables: dict[str, list[Row]], keys: list[str], primary: str | None) -> tuple[list[str], list[list]]:
    """The CSV's header and rows, numbers as numbers and empty cells as None (W&B's summary table)."""
    header, *lines = list(csv.reader(io.StringIO(rows_to_csv(tables, keys, primary))))
    text = {*TEXT, *keys}

    def cell(name: str, value: str) -> object:
        if name in text or value == "":
            return value or None
        return int(value) if name in INTEGERS else float(value)
    return header, [[cell(n, v) for n, v in zip(header, line, strict=True)] for line in lines]


# --- reading ------------------------------------------------------------------------------------------------
def _parses(column: str, value: str) -> bool:
    if column == "verdict":
        return bool(VERDICT.match(value))
    if column in ("includes_test_sampling",):
        return value in ("True", "False", "")
    if column not in NUMBERS:  # a label or a group key's value
        return True
    if value in ("", "nan", "None", "inf", "-inf"):
        return column not in INTEGERS or value == ""
    try:
        int(value) if column in INTEGERS else float(value)
    except ValueError:
        return False
    return True


def _repaired(fields: list[str], header: list[str], where: str) -> list[str]:
    """A row whose unquoted commas split text fields, joined back; refused when not exactly one way works."""
    extra = len(fields) - len(header)
    if extra < 0:
        raise AuglabError(f"{where}: {len(fields)} fields where the header has {len(header)}: a truncated "
                          "report; write it again with auglab-report")
    if extra == 0:
        return fields
    texts = [i for i, name in enumerate(header) if name in ("strategy", "verdict") or name not in _KNOWN]
    found = []
    for shares in itertools.product(range(extra + 1), repeat=len(texts)):
        if sum(shares) != extra:
            continue
        row, i = [], 0
        for column in range(len(header)):
            width = 1 + (shares[texts.index(column)] if column in texts else 0)
            row.append(",".join(fields[i:i + width]))
            i += width
        if all(_parses(name, value) for name, value in zip(header, row, strict=True)):
            found.append(row)
    if len(found) != 1:
        raise AuglabError(f"{where}: {len(fields)} fields where the header has {len(header)}, and the unquoted "
                          "commas cannot be placed: write the report again with auglab-report")
    return found[0]



def _float(text: str | None) -> float:
    return math.nan if text in (None, "", "None") else float(text)


def old_test_variance(mean: float, seed_variance: float, k: int, low: float, high: float) -> float:
    """The test-set variance an old report added (Satterthwaite, the test part taken as known), recovered from
    its 95 % interval. It held each seed's own test error as well, so it bounds the shared part from above."""
    a, half = seed_variance / k, (high - low) / 2

    def gap(v: float) -> float:
        df = (a + v) ** 2 / (a**2 / (k - 1)) if a > 0 else math.inf
        return float(stats.t.ppf(0.975, df)) * math.sqrt(a + v) - half

    if not math.isfinite(half) or gap(0.0) >= 0:
        return 0.0
    upper = max(half**2, 1e-12)
    while gap(upper) < 0:
        upper *= 4
    return float(optimize.brentq(gap, 0.0, upper))


def _comparison(record: dict[str, str], metric: str, independent: bool) -> Comparison | None:
    sign = -1 if lower_is_better(metric) else 1
    diff = _float(record.get("diff_vs_none"))
    if "seed_variance" in record:  # written by this module
        k = int(record["pairs"] or 0)
        if k == 0:
            return None
        part = "independent" if independent and record["test_part"] == "unknown" else record["test_part"]
        return Comparison(sign * diff, _float(record["seed_variance"]), k, _float(record["shared_test_variance"])
                          if part in ("shared", "bound") else 0.0, part)
    k, half = int(record["runs"]), _float(record.get("diff_ci95"))
    if record["strategy"] == "none" or k < 2 or not math.isfinite(half):
        return None  # one pair, or no pairs: the old table has no spread for it
    variance = (half * math.sqrt(k) / float(stats.t.ppf(0.975, k - 1))) ** 2
    if independent:
        return Comparison(sign * diff, variance, k, 0.0, "independent")
    if record.get("includes_test_sampling") == "True":
        bound = old_test_variance(diff, variance, k, _float(record["diff_low"]), _float(record["diff_high"]))
        return Comparison(sign * diff, variance, k, bound, "bound")
    return Comparison(sign * diff, variance, k, 0.0, "unknown")


def read_rows(path: Path, *, independent_test_sets: bool = False) -> tuple[dict[str, list[Row]], list[str]]:
    """The report's rows per metric (comparisons rebuilt from their summaries; verdicts not yet decided) and
    the group keys. ``independent_test_sets``: each seed drew its own test set (a study's split follows its
    seed), which an old report could not record."""
    if not path.is_file():
        raise AuglabError(f"{path}: no such report; run auglab-report on the sweep folder first")
    lines = list(csv.reader(io.StringIO(path.read_text())))
    if not lines or "metric" not in lines[0] or "strategy" not in lines[0]:
        raise AuglabError(f"{path}: not a report.csv (no metric and strategy columns)")
    header = lines[0]
    first = header.index("role") + 1 if "role" in header else 1
    keys = header[first:header.index("strategy")]
    tables: dict[str, list[Row]] = {}
    for number, fields in enumerate(lines[1:], start=2):
        if not fields:
            continue
        record = dict(zip(header, _repaired(fields, header, f"{path}, line {number}"), strict=True))
        metric = record["metric"]
        row = Row(tuple(f"{k}={record[k]}" for k in keys), record["strategy"], int(record["runs"]),
                  int(record["failed"]), _float(record["mean"]), _float(record["ci95"]),
                  _float(record.get("diff_vs_none")), steps=_float(record.get("optimizer_steps")),
                  examples=_float(record.get("examples_seen")))
        row.comparison = _comparison(record, metric, independent_test_sets)
        tables.setdefault(metric, []).append(row)
    return tables, keys


def primary_of(path: Path) -> str | None:
    """The metric a report decided on (its ``role`` column), None for reports written before roles."""
    with path.open() as f:
        for record in csv.DictReader(f):
            if record.get("role") == "primary":
                return record["metric"]
    return None

