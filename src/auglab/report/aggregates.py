"""Across the cells of a curve or a multi-data-set study, per strategy: the interquartile mean of its paired
differences to ``none`` and the probability of improvement, each with a stratified bootstrap interval
(seeds resampled within each cell), after rliable (Agarwal et al., NeurIPS 2021). Descriptive: the
verdicts stay per cell (``verdicts.py``); these say how a strategy does across them, robust to one cell's
outlier.

P(improvement) in a cell is the chance that a run of the strategy beats a run of ``none`` (ties count half,
the Mann-Whitney statistic over their seeds); across cells, its mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from auglab.report.jobs import Job
from auglab.report.tables import BASELINE, lower_is_better

RESAMPLES = 2000


@dataclass
class Aggregate:
    strategy: str
    cells: int
    iqm: float  # of the paired differences, in the metric's units and orientation
    iqm_low: float
    iqm_high: float
    p_improvement: float
    p_low: float
    p_high: float


def _iqm(values: np.ndarray) -> np.ndarray:
    return stats.trim_mean(values, 0.25, axis=-1)


def _p_improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) + P(X = Y) / 2 over runs ``x [..., a]`` and ``y [..., b]``."""
    wins = (x[..., :, None] > y[..., None, :]).mean((-1, -2))
    ties = (x[..., :, None] == y[..., None, :]).mean((-1, -2))
    return wins + ties / 2


def _cells(jobs: list[Job], metric: str, strategy: str) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per group with both: the strategy's values, none's, and their differences paired by seed (oriented)."""
    sign = -1.0 if lower_is_better(metric) else 1.0
    cells = []
    def values(group: tuple[str, ...], name: str) -> dict[int | None, float]:
        return {j.seed: sign * j.metrics[metric] for j in jobs
                if j.group == group and j.strategy == name and j.status == "ok" and metric in j.metrics}

    for group in sorted({j.group for j in jobs}):
        mine, base = values(group, strategy), values(group, BASELINE)
        paired = [mine[s] - base[s] for s in mine if s in base and s is not None]
        if mine and base and paired:
            cells.append((np.array(list(mine.values())), np.array(list(base.values())), np.array(paired)))
    return cells


def across_cells(jobs: list[Job], metric: str, *, seed: int = 0) -> list[Aggregate]:
    """One aggregate per strategy found in at least two cells with ``none``."""
    out = []
    for strategy in sorted({j.strategy for j in jobs} - {BASELINE}):
        cells = _cells(jobs, metric, strategy)
        if len(cells) < 2:
            continue
        rng = np.random.default_rng(seed)
        diffs = np.concatenate([d for _, _, d in cells])
        chances = np.array([_p_improvement(x, y) for x, y, _ in cells])
        boot_d, boot_p = [], []
        for x, y, d in cells:  # stratified: each cell's seeds resampled within it
            boot_d.append(d[rng.integers(0, len(d), (RESAMPLES, len(d)))])
            boot_p.append(_p_improvement(x[rng.integers(0, len(x), (RESAMPLES, len(x)))],
                                         y[rng.integers(0, len(y), (RESAMPLES, len(y)))]))
        iqms = _iqm(np.concatenate(boot_d, axis=1))
        chance = np.mean(boot_p, axis=0)
        sign = -1.0 if lower_is_better(metric) else 1.0  # back to the metric's orientation for the IQM
        iqm_low, iqm_high = sorted(sign * np.percentile(iqms, [2.5, 97.5]))
        out.append(Aggregate(strategy, len(cells), float(sign * _iqm(diffs)), float(iqm_low), float(iqm_high),
                             float(chances.mean()), *map(float, np.percentile(chance, [2.5, 97.5]))))
    return out


def markdown(metric: str, aggregates: list[Aggregate]) -> str:
    if not aggregates:
        return ""
    lines = [f"### {metric} across groups (descriptive)", "",
             "| strategy | cells | IQM of Δ vs none | 95 % interval | P(improvement) | 95 % interval |",
             "|---|---:|---:|---:|---:|---:|"]
    for a in aggregates:
        lines.append(f"| {a.strategy} | {a.cells} | {a.iqm:+.4f} | [{a.iqm_low:+.4f}, {a.iqm_high:+.4f}] | "
                     f"{a.p_improvement:.2f} | [{a.p_low:.2f}, {a.p_high:.2f}] |")
    note = ("Interquartile mean of the paired differences over every (group, seed), and the chance that a run of "
            "the strategy beats a run of none, averaged over groups; intervals from a stratified bootstrap "
            f"({RESAMPLES:,} resamples of the seeds within each group; rliable, Agarwal et al. 2021).")
    return "\n".join(lines) + f"\n\n{note}\n"
