"""One table per metric: a row per (group, strategy), mean and 95 % interval over seeds, the paired
difference to ``none``, and a verdict decided across the group's strategies (``verdicts.py``).

Runs of a strategy and of ``none`` in the same group with the same seed saw the same data, so the
difference is averaged over those pairs. The paired Student-t columns (``diff``, ``diff_ci95``) are kept as
earlier reports had them; the verdict's interval (``low``, ``high``) adds the test set's sampling error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scipy import stats

from auglab.report.jobs import Job
from auglab.report.outcomes import variance_from_test_set
from auglab.report.verdicts import Comparison, decide, describe

BASELINE = "none"
LOWER_IS_BETTER = ("loss", "fid", "kid")  # metric names (after the stage prefix) where smaller wins


@dataclass
class Settings:
    """How verdicts are decided: family-wise ``alpha``, ``rope`` (± in the metric's units; 0: no equivalence
    verdict), the ``effect`` to plan seeds for, and the number of ``looks`` that share alpha."""

    alpha: float = 0.05
    rope: float = 0.0
    effect: float | None = None
    looks: int = 1


@dataclass
class Row:
    group: tuple[str, ...]
    strategy: str
    runs: int
    failed: int
    mean: float
    ci95: float  # half-width; nan with fewer than two runs
    diff: float = math.nan  # mean of paired differences to the group's baseline (same seed); else of means
    diff_ci95: float = math.nan  # half-width of the paired Student-t interval; nan with fewer than two pairs
    comparison: Comparison | None = None  # the verdict and its interval (in "better" orientation)
    low: float = math.nan  # the verdict's 95 % interval of diff, seeds and test set
    high: float = math.nan
    test_part: bool = False  # whether that interval includes test-set sampling (per-example outcomes)
    steps: float = math.nan  # mean optimizer steps of the runs
    examples: float = math.nan  # mean training examples seen
    verdict: str = ""
    notes: list[str] = field(default_factory=list)


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


def _by_seed(runs: list[Job]) -> dict[int, Job] | None:
    """Seed -> run when every run has its own seed; None when seeds are missing or repeat."""
    seeds = [job.seed for job in runs]
    if None in seeds or len(set(seeds)) != len(seeds):
        return None
    return {job.seed: job for job in runs}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _group_rows(jobs: list[Job], metric: str, group: tuple[str, ...], settings: Settings) -> list[Row]:
    def finished(name: str) -> list[Job]:
        return [j for j in jobs if j.strategy == name and j.status == "ok" and metric in j.metrics]

    sign = -1 if lower_is_better(metric) else 1  # comparisons are oriented so that positive is better
    base = finished(BASELINE)
    base_mean = summarise([j.metrics[metric] for j in base])[0]
    base_by_seed = _by_seed(base)
    rows = []
    for name in sorted({j.strategy for j in jobs}):
        mine = finished(name)
        mean, ci = summarise([j.metrics[metric] for j in mine])
        failed = sum(j.status != "ok" for j in jobs if j.strategy == name)
        row = Row(group, name, len(mine), failed, mean, ci, mean - base_mean,
                  steps=_mean([j.training["optimizer_steps"] for j in mine if "optimizer_steps" in j.training]),
                  examples=_mean([j.training["examples_seen"] for j in mine if "examples_seen" in j.training]))
        mine_by_seed = _by_seed(mine)
        if name != BASELINE and mine_by_seed is not None and base_by_seed is not None:
            seeds = sorted(s for s in mine_by_seed if s in base_by_seed)
            if seeds:
                diffs = [mine_by_seed[s].metrics[metric] - base_by_seed[s].metrics[metric] for s in seeds]
                row.diff, row.diff_ci95 = summarise(diffs)
                outcomes = [[runs[s].outcomes() for s in seeds] for runs in (mine_by_seed, base_by_seed)]
                complete = all(o is not None for side in outcomes for o in side)
                variance = variance_from_test_set(metric, *outcomes) if complete else None
                row.test_part = variance is not None
                row.comparison = Comparison([sign * d for d in diffs], variance)
        rows.append(row)
    decide([r.comparison for r in rows if r.comparison is not None], alpha=settings.alpha, rope=settings.rope,
           effect=settings.effect, looks=settings.looks)
    for row in rows:
        if row.comparison is not None:
            c = row.comparison
            row.low, row.high = sorted((sign * c.low, sign * c.high))
            row.verdict = describe(c)
    return sorted(rows, key=lambda r: (r.strategy != BASELINE, -sign * r.mean if not math.isnan(r.mean) else math.inf))


def group_order(group: tuple[str, ...]) -> tuple:
    """Groups by their values, numbers as numbers (train_per_class 10, 30, 100, not 10, 100, 30)."""
    def value(item: str) -> tuple:
        text = item.split("=", 1)[-1]
        try:
            return (0, float(text), "")
        except ValueError:
            return (1, 0.0, text)
    return tuple(value(item) for item in group)


def aggregate(jobs: list[Job], metric: str, settings: Settings | None = None) -> list[Row]:
    """Rows for one metric: groups in order, within each the baseline first, then best mean first."""
    rows = []
    for group in sorted({j.group for j in jobs}, key=group_order):
        rows += _group_rows([j for j in jobs if j.group == group], metric, group, settings or Settings())
    return rows


def unequal_budgets(rows: list[Row], tolerance: float = 0.10) -> list[str]:
    """Groups whose strategies trained for more than ``tolerance`` more optimizer steps or examples than
    others: a gain may be the extra training, not the augmentation."""
    warnings = []
    for group in sorted({r.group for r in rows}, key=group_order):
        members = [r for r in rows if r.group == group]
        for what, label in (("steps", "optimizer steps"), ("examples", "training examples seen")):
            values = {r.strategy: getattr(r, what) for r in members if not math.isnan(getattr(r, what))}
            if len(values) > 1 and max(values.values()) > (1 + tolerance) * min(values.values()):
                low, high = min(values, key=values.get), max(values, key=values.get)
                where = f" ({', '.join(group)})" if group else ""
                warnings.append(f"unequal {label}{where}: {high} {values[high]:,.0f} vs {low} {values[low]:,.0f}")
    return warnings


def best_rows(rows: list[Row], metric: str) -> set[int]:
    """Indices of each group's best mean (bold in LaTeX)."""
    best: dict[tuple[str, ...], int] = {}
    better = (lambda a, b: a < b) if lower_is_better(metric) else (lambda a, b: a > b)
    for i, row in enumerate(rows):
        if not math.isnan(row.mean) and (row.group not in best or better(row.mean, rows[best[row.group]].mean)):
            best[row.group] = i
    return set(best.values())
