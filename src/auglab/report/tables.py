"""One table per metric: a row per (group, strategy), mean and 95 % interval over seeds, the paired
difference to ``none``, and -- on the primary metric only -- a verdict decided over the whole family of
comparisons (``verdicts.py``). Other metrics are described, not decided: one question, one family.

Runs of a strategy and of ``none`` in the same group with the same seed saw the same data, so the
difference is averaged over those pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from omegaconf import OmegaConf
from scipy import stats

from auglab.errors import AuglabError
from auglab.report.jobs import Job
from auglab.report.outcomes import sampling_error
from auglab.report.verdicts import Comparison, decide, describe, describe_only

BASELINE = "none"
LOWER_IS_BETTER = ("loss", "fid", "kid")  # metric names (after the stage prefix) where smaller wins
# Those the jobs logged are tabulated: classifiers' first, then recommenders' ranking metrics, then generators'.
HEADLINE = ("test/acc", "test/precision", "test/recall", "test/f1", "test/f1_micro", "test/ndcg@10", "test/recall@10",
            "test/mrr@10", "test/fid", "test/kid", "test/cas_acc", "test/cas_f1", "test/real_acc")


@dataclass
class Settings:
    """How verdicts are decided: family-wise ``alpha``, ``rope`` (± in the metric's units; 0: no equivalence
    verdict), the ``effect`` to plan seeds for (default: the ROPE), the ``looks`` that share alpha, and the
    ``primary`` metric (the one with verdicts; None: the models' monitor at test time)."""

    alpha: float = 0.05
    rope: float = 0.0
    effect: float | None = None
    looks: int = 1
    primary: str | None = None


@dataclass
class Row:
    group: tuple[str, ...]
    strategy: str
    runs: int
    failed: int
    mean: float
    ci95: float  # half-width; nan with fewer than two runs
    diff: float = math.nan  # mean of paired differences to the group's baseline (same seed); else of means
    comparison: Comparison | None = None  # in "better" orientation
    low: float = math.nan  # the verdict's interval of diff (primary metric only), in the metric's orientation
    high: float = math.nan
    low95: float = math.nan  # unadjusted 95 % interval of diff
    high95: float = math.nan
    steps: float = math.nan  # mean optimizer steps of the runs
    examples: float = math.nan  # mean training examples seen
    verdict: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def test_part(self) -> str:
        return self.comparison.test_part if self.comparison is not None else ""


def primary_metric(jobs: list[Job], requested: str | None, option: str = "--primary") -> tuple[str, str]:
    """The metric verdicts are about, and why: the one ``requested``, else the models' monitor at test time."""
    found = {m for j in jobs for m in j.metrics}
    if requested is not None:
        if requested not in found:
            raise AuglabError(f"{option} {requested}: not a metric of these runs; choose one of: "
                              f"{', '.join(sorted(found))}")
        return requested, option
    monitors = {str(OmegaConf.select(j.config, "model.monitor")) for j in jobs
                if j.config is not None and OmegaConf.select(j.config, "model.monitor") is not None}
    tested = {m.replace("val/", "test/", 1) for m in monitors}
    if len(tested) == 1 and next(iter(tested)) in found:
        return next(iter(tested)), f"the models' monitor ({next(iter(monitors))}) at test time"
    first = next((m for m in HEADLINE if m in found), min(found))
    return first, f"the first headline metric the runs logged (no single monitor: set {option})"


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


def _comparison(metric: str, mine: dict[int, Job], base: dict[int, Job], seeds: list[int]) -> Comparison:
    sign = -1 if lower_is_better(metric) else 1  # comparisons are oriented so that positive is better
    diffs = [sign * (mine[s].metrics[metric] - base[s].metrics[metric]) for s in seeds]
    outcomes = [[runs[s].outcomes() for s in seeds] for runs in (mine, base)]
    error = None
    if len(seeds) >= 2 and all(o is not None for side in outcomes for o in side):
        error = sampling_error(metric, *outcomes)
    if error is None:
        return Comparison.from_diffs(diffs, 0.0, "unknown")
    return Comparison.from_diffs(diffs, error.shared, error.part)


def _group_rows(jobs: list[Job], metric: str, group: tuple[str, ...]) -> list[Row]:
    def finished(name: str) -> list[Job]:
        return [j for j in jobs if j.strategy == name and j.status == "ok" and metric in j.metrics]

    base = finished(BASELINE)
    base_mean = summarise([j.metrics[metric] for j in base])[0]
    base_by_seed = _by_seed(base)
    rows = []
    for name in sorted({j.strategy for j in jobs}):
        mine = finished(name)
        mean, ci = summarise([j.metrics[metric] for j in mine])
        # a running job is not failed yet; the report's header counts it
        failed = sum(j.status not in ("ok", "running") for j in jobs if j.strategy == name)
        row = Row(group, name, len(mine), failed, mean, ci, mean - base_mean,
                  steps=_mean([j.training["optimizer_steps"] for j in mine if "optimizer_steps" in j.training]),
                  examples=_mean([j.training["examples_seen"] for j in mine if "examples_seen" in j.training]))
        mine_by_seed = _by_seed(mine)
        if name != BASELINE and mine_by_seed is not None and base_by_seed is not None:
            seeds = sorted(s for s in mine_by_seed if s in base_by_seed)
            if seeds:
                row.diff = _mean([mine_by_seed[s].metrics[metric] - base_by_seed[s].metrics[metric] for s in seeds])
                row.comparison = _comparison(metric, mine_by_seed, base_by_seed, seeds)
        rows.append(row)
    return rows


def finish(rows: list[Row], metric: str, settings: Settings, *, primary: bool) -> list[Row]:
    """Verdicts over all the rows' comparisons at once (one family) for the primary metric; intervals only for
    the others. Sets each row's intervals in the metric's orientation and its verdict in words."""
    comparisons = [r.comparison for r in rows if r.comparison is not None]
    if primary:
        decide(comparisons, alpha=settings.alpha, rope=settings.rope, effect=settings.effect, looks=settings.looks)
    else:
        describe_only(comparisons)
    sign = -1 if lower_is_better(metric) else 1
    for row in rows:
        c = row.comparison
        if c is None:
            continue
        row.low95, row.high95 = sorted((sign * c.low95, sign * c.high95))
        if primary:
            row.low, row.high = sorted((sign * c.low, sign * c.high))
            row.verdict = describe(c)
    return rows


def group_order(group: tuple[str, ...]) -> tuple:
    """Groups by their values, numbers as numbers (train_per_class 10, 30, 100, not 10, 100, 30)."""
    def value(item: str) -> tuple:
        text = item.split("=", 1)[-1]
        try:
            return (0, float(text), "")
        except ValueError:
            return (1, 0.0, text)
    return tuple(value(item) for item in group)


def order_rows(rows: list[Row], metric: str) -> list[Row]:
    """Groups in order, within each the baseline first, then best mean first."""
    sign = -1 if lower_is_better(metric) else 1
    return sorted(rows, key=lambda r: (group_order(r.group), r.group, r.strategy != BASELINE,
                                       -sign * r.mean if not math.isnan(r.mean) else math.inf))


def aggregate(jobs: list[Job], metric: str, settings: Settings | None = None, *, primary: bool = True) -> list[Row]:
    """Rows for one metric over every group, decided as one family when ``primary``."""
    rows = []
    for group in sorted({j.group for j in jobs}, key=group_order):
        rows += _group_rows([j for j in jobs if j.group == group], metric, group)
    return order_rows(finish(rows, metric, settings or Settings(), primary=primary), metric)


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
