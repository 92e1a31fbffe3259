"""One table per metric: a row per (group, strategy), mean and 95% interval over seeds, Δ vs ``none``.

Runs of a strategy and of ``none`` in the same group with the same seed saw the same data, so the
difference is averaged over those pairs and gets its own paired 95% interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from auglab.report.jobs import Job

BASELINE = "none"
LOWER_IS_BETTER = ("loss", "fid", "kid")  # metric names (after the stage prefix) where smaller wins


@dataclass
class Row:
    group: tuple[str, ...]
    strategy: str
    runs: int
    failed: int
    mean: float
    ci95: float  # half-width; nan with fewer than two runs
    diff: float = math.nan  # mean of paired differences to the group's baseline (same seed); else of means
    diff_ci95: float = math.nan  # half-width of the paired interval; nan with fewer than two pairs


def lower_is_better(metric: str) -> bool:
    return metric.rsplit("/", 1)[-1].startswith(LOWER_IS_BETTER)


def summarise(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% Student-t confidence interval."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)


def _by_seed(runs: list[tuple[int | None, float]]) -> dict[int, float] | None:
    """Seed -> value when every run has its own seed; None when seeds are missing or repeat."""
    seeds = [seed for seed, _ in runs]
    if None in seeds or len(set(seeds)) != len(seeds):
        return None
    return dict(runs)


def _group_rows(jobs: list[Job], metric: str, group: tuple[str, ...]) -> list[Row]:
    def finished(name: str) -> list[tuple[int | None, float]]:
        return [(j.seed, j.metrics[metric]) for j in jobs
                if j.strategy == name and j.status == "ok" and metric in j.metrics]

    base = finished(BASELINE)
    base_mean = summarise([v for _, v in base])[0]
    base_by_seed = _by_seed(base)
    rows = []
    for name in sorted({j.strategy for j in jobs}):
        mine = finished(name)
        mean, ci = summarise([v for _, v in mine])
        failed = sum(j.status != "ok" for j in jobs if j.strategy == name)
        row = Row(group, name, len(mine), failed, mean, ci, mean - base_mean)
        mine_by_seed = _by_seed(mine)
        if name != BASELINE and mine_by_seed is not None and base_by_seed is not None:
            paired = [v - base_by_seed[s] for s, v in mine_by_seed.items() if s in base_by_seed]
            if paired:
                row.diff, row.diff_ci95 = summarise(paired)
        rows.append(row)
    sign = 1 if lower_is_better(metric) else -1
    return sorted(rows, key=lambda r: (r.strategy != BASELINE, sign * r.mean if not math.isnan(r.mean) else math.inf))


def aggregate(jobs: list[Job], metric: str) -> list[Row]:
    """Rows for one metric: groups in order, within each the baseline first, then best mean first."""
    rows = []
    for group in sorted({j.group for j in jobs}):
        rows += _group_rows([j for j in jobs if j.group == group], metric, group)
    return rows


def best_rows(rows: list[Row], metric: str) -> set[int]:
    """Indices of each group's best mean (bold in LaTeX)."""
    best: dict[tuple[str, ...], int] = {}
    better = (lambda a, b: a < b) if lower_is_better(metric) else (lambda a, b: a > b)
    for i, row in enumerate(rows):
        if not math.isnan(row.mean) and (row.group not in best or better(row.mean, rows[best[row.group]].mean)):
            best[row.group] = i
    return set(best.values())
