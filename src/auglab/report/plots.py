"""The pictures people read in a study's report, as PNG and PDF:

- ``forest``: one row per (group, strategy), the difference to ``none`` with the interval its verdict was
  read off (thick; simultaneous over the report's comparisons) and the unadjusted 95 % one (thin), a zero
  line, the ROPE band, and the verdict in the row's colour and label;
- ``curve``: the difference to ``none`` against a swept option (``--curve data.train_per_class``), one line
  per strategy with the verdicts' intervals as a band, log-scaled when the values span a factor of ten or more.
"""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter, ScalarFormatter

from auglab.report.tables import BASELINE, Row

COLOURS = {"helps": "tab:green", "hurts": "tab:red", "equivalent": "tab:blue"}  # undecided: grey


def _save(fig: Figure, path: Path) -> list[Path]:
    fig.tight_layout()
    written = []
    for suffix in (".png", ".pdf"):
        fig.savefig(path.with_suffix(suffix), dpi=150)
        written.append(path.with_suffix(suffix))
    return written


def _colour(row: Row) -> str:
    return COLOURS.get(row.verdict.split(":")[0], "0.5")


def forest(metric: str, rows: list[Row], path: Path, *, rope: float = 0.0) -> list[Path]:
    """Δ vs none with intervals and verdicts, one row per compared strategy."""
    compared = [r for r in rows if r.strategy != BASELINE and not math.isnan(r.low)]
    fig = Figure(figsize=(8, 0.32 * max(len(compared), 1) + 1.3))
    ax = fig.subplots()
    for y, row in enumerate(reversed(compared)):
        ax.plot([row.low95, row.high95], [y, y], color=_colour(row), lw=0.8,
                label="unadjusted 95 %" if y == 0 else None)
        ax.plot([row.low, row.high], [y, y], color=_colour(row), lw=2.5, alpha=0.6,
                label="the verdict's interval (simultaneous)" if y == 0 else None)
        ax.plot([row.diff], [y], "o", color=_colour(row))
    labels = [f"{', '.join(g.split('=', 1)[1] for g in r.group)} {r.strategy}: {r.verdict.split(':')[0]}".strip()
              for r in reversed(compared)]
    ax.set_yticks(range(len(compared)), labels, fontsize=7)
    ax.axvline(0, color="black", lw=0.8)
    if rope > 0:
        ax.axvspan(-rope, rope, color="tab:blue", alpha=0.12, label=f"ROPE ±{rope:g}")
    if compared:
        ax.legend(fontsize=7, loc="lower right")
    unknown = sum(r.test_part == "unknown" for r in compared)
    sources = "seeds and test set" if not unknown else (
        "seeds only" if unknown == len(compared) else "seeds, and test set where the table has no *")
    ax.set_xlabel(f"Δ {metric} vs none (error from {sources})", fontsize=8)
    ax.set_title(f"verdicts: intervals that hold together over {len(compared)} comparisons", fontsize=9)
    return _save(fig, path)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def curve(metric: str, rows: list[Row], key: str, path: Path) -> list[Path]:
    """Δ vs none against the values of ``key`` (a group column), one line per strategy (and other groups)."""
    lines: dict[str, list[tuple[float, Row]]] = {}
    for row in rows:
        values = dict(item.split("=", 1) for item in row.group)
        x = _number(values.get(key, ""))
        if row.strategy == BASELINE or x is None or math.isnan(row.diff):
            continue
        rest = ", ".join(f"{k}={v}" for k, v in values.items() if k != key)
        lines.setdefault(f"{row.strategy}{f' ({rest})' if rest else ''}", []).append((x, row))
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for name, points in sorted(lines.items()):
        points.sort(key=lambda p: p[0])
        xs = [x for x, _ in points]
        (line,) = ax.plot(xs, [r.diff for _, r in points], "o-", label=name, lw=1.5)
        low = [r.low if not math.isnan(r.low) else r.diff for _, r in points]
        high = [r.high if not math.isnan(r.high) else r.diff for _, r in points]
        ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.15)
    xs = sorted({x for points in lines.values() for x, _ in points})
    if xs and min(xs) > 0 and max(xs) / min(xs) >= 10:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(xs, [f"{x:g}" for x in xs])  # the swept values themselves
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel(key)
    ax.set_ylabel(f"Δ {metric} vs none")
    ax.set_title(f"gain over no augmentation against {key} (bands: the verdicts' intervals)", fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)
