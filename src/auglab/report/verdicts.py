"""A verdict per strategy against ``none`` -- ``helps``, ``hurts``, ``equivalent`` (inside ±ROPE, a region
of practical equivalence the user sets) or ``undecided`` -- with the chance of any false verdict in the
whole family of comparisons (every strategy of every group of one report, on its primary metric) below
alpha. The reasoning and its checks by simulation: docs/verdicts.md.

Per strategy and seed ``i``, paired with the baseline run of the same seed in its group:
``d_i = metric(strategy, i) - metric(none, i) = delta + u_i + e_i``, ``u_i`` the seed-to-seed part and
``e_i`` that seed's test-set sampling error. Two seeds that test the same examples share part of ``e``
(covariance ``c``, estimated by a paired bootstrap over test examples, ``outcomes.py``); the sample
variance ``s²`` of the ``k`` differences already holds the rest. So

    SE² = s² / k + c,    and the interval uses Student's t with k - 1 degrees of freedom,

which is exact for ``c = 0`` and conservative for every ``c > 0`` (docs/verdicts.md: the tail of
``mean / SE`` is a mean-preserving contraction of t's). Each comparison's interval is taken at level
``alpha / (m x looks)`` (Bonferroni over the ``m`` comparisons and the looks of a sequential study), so
all intervals hold at once with probability at least ``1 - alpha``; the verdict is read off that interval:
inside ±ROPE -> equivalent, above 0 -> helps, below 0 -> hurts. A false verdict of any kind needs an
interval that misses the truth, and the printed interval is the one the verdict used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

POWER = 0.8
MAX_SEEDS = 1000
TEST_PARTS = ("shared", "independent", "bound", "unknown")  # how the test set's error entered SE (see Comparison)


@dataclass
class Comparison:
    """One strategy against its group's baseline, from the summary of its paired differences (oriented so
    that positive means better).

    ``test_part``: ``shared`` -- the seeds tested the same examples and ``shared_test_variance`` is their
    test errors' covariance; ``independent`` -- each seed drew its own test set (0, exactly); ``bound`` -- an
    upper bound from an old report (conservative); ``unknown`` -- the runs kept no per-example outcomes: the
    interval is about this test set only (marked * in tables).
    """

    mean: float
    seed_variance: float  # s²: sample variance (ddof 1) of the per-seed differences; nan with one seed
    seeds: int
    shared_test_variance: float = 0.0
    test_part: str = "unknown"
    se: float = math.nan
    level: float = math.nan  # two-sided level of this comparison's interval (alpha / (m x looks))
    low: float = math.nan  # the verdict's interval (simultaneous over the family)
    high: float = math.nan
    low95: float = math.nan  # an unadjusted 95 % interval, for one comparison read alone
    high95: float = math.nan
    p_difference: float = math.nan  # two-sided, unadjusted
    p_adjusted: float = math.nan  # Bonferroni over the family and the looks: helps / hurts iff <= alpha
    p_worse: float = math.nan  # posterior probabilities (flat prior; t with k - 1 df): below -ROPE,
    p_rope: float = math.nan  # inside ±ROPE,
    p_better: float = math.nan  # above +ROPE (with no ROPE: below / above 0)
    verdict: str = "undecided"
    detectable: float = math.nan  # smallest effect found with 80 % power at these seeds and this level
    seeds_needed: int | None = None  # for the planned effect; None: not reachable (or nothing planned)
    planned_effect: float | None = None

    @classmethod
    def from_diffs(cls, diffs: Sequence[float], shared_test_variance: float = 0.0,
                   test_part: str = "unknown") -> Comparison:
        d = np.asarray(diffs, dtype=float)
        variance = float(d.var(ddof=1)) if len(d) > 1 else math.nan
        return cls(float(d.mean()) if len(d) else math.nan, variance, len(d), shared_test_variance, test_part)

    @property
    def testable(self) -> bool:
        return self.seeds >= 2 and math.isfinite(self.mean) and math.isfinite(self.seed_variance)


# --- the statistic, on arrays (decide() and the calibration simulations share it) ----------------------------
def standard_error(seed_variance: np.ndarray, seeds: np.ndarray, shared: np.ndarray) -> np.ndarray:
    """SE of the mean paired difference: ``sqrt(s² / k + c)``."""
    return np.sqrt(np.asarray(seed_variance) / np.asarray(seeds) + np.maximum(np.asarray(shared), 0.0))


def intervals(mean: np.ndarray, se: np.ndarray, seeds: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided ``1 - level`` intervals with Student's t on ``k - 1`` degrees of freedom."""
    half = stats.t.ppf(1 - level / 2, np.asarray(seeds) - 1) * se
    return mean - half, mean + half


def verdicts_from(low: np.ndarray, high: np.ndarray, rope: float) -> np.ndarray:
    """Read verdicts off intervals: inside ±ROPE -> equivalent, else above 0 -> helps, below 0 -> hurts."""
    low, high = np.asarray(low), np.asarray(high)
    out = np.full(low.shape, "undecided", dtype=object)
    out[low > 0] = "helps"
    out[high < 0] = "hurts"
    if rope > 0:
        out[(low > -rope) & (high < rope)] = "equivalent"
    return out


def family_verdicts(mean: np.ndarray, seed_variance: np.ndarray, seeds: np.ndarray, shared: np.ndarray, *,
                    alpha: float, rope: float = 0.0, looks: int = 1) -> np.ndarray:
    """Verdicts for families ``[..., m]`` of comparisons at once (the last axis is one family)."""
    m = np.shape(mean)[-1]
    low, high = intervals(mean, standard_error(seed_variance, seeds, shared), seeds, alpha / (m * looks))
    return verdicts_from(low, high, rope)


# --- one report's family -----------------------------------------------------------------------------------
def decide(comparisons: list[Comparison], *, alpha: float = 0.05, rope: float = 0.0, effect: float | None = None,
           looks: int = 1, plan: bool = True) -> list[Comparison]:
    """Verdicts for one family (every testable comparison counts in ``m``); with ``plan``, the effect
    detectable now and the seeds ``effect`` needs (default: the ROPE; neither: no plan)."""
    testable = [c for c in comparisons if c.testable]
    for c in comparisons:
        if not c.testable:
            c.verdict = "undecided"
    if not testable:
        return comparisons
    level = alpha / (len(testable) * looks)
    mean = np.array([c.mean for c in testable])
    seeds = np.array([c.seeds for c in testable])
    se = standard_error(np.array([c.seed_variance for c in testable]), seeds,
                        np.array([c.shared_test_variance for c in testable]))
    low, high = intervals(mean, se, seeds, level)
    low95, high95 = intervals(mean, se, seeds, 0.05)
    verdicts = verdicts_from(low, high, rope)
    for i, c in enumerate(testable):
        c.se, c.level, c.verdict = float(se[i]), level, str(verdicts[i])
        c.low, c.high, c.low95, c.high95 = float(low[i]), float(high[i]), float(low95[i]), float(high95[i])
        _probabilities(c, rope)
        c.p_adjusted = min(1.0, c.p_difference * len(testable) * looks)
        if plan:
            plan_seeds(c, level=level, effect=effect or rope or None, rope=rope)
    return comparisons


def describe_only(comparisons: list[Comparison]) -> list[Comparison]:
    """Estimates and unadjusted 95 % intervals for a secondary metric: no verdict, no family."""
    for c in comparisons:
        c.verdict = ""
        if c.testable:
            c.se = float(standard_error(c.seed_variance, c.seeds, c.shared_test_variance))
            low, high = intervals(np.array(c.mean), np.array(c.se), np.array(c.seeds), 0.05)
            c.low95, c.high95 = float(low), float(high)
    return comparisons


def _probabilities(c: Comparison, rope: float) -> None:
    """Two-sided p of no difference, and the posterior mass below -ROPE, inside, above +ROPE (baycomp's
    reading for independent seeds: the mean's posterior is ``mean + SE x t(k - 1)``)."""
    df = c.seeds - 1
    if c.se == 0:  # identical differences and no test noise
        c.p_difference = 0.0 if c.mean != 0 else 1.0
        c.p_worse, c.p_better = float(c.mean < -rope), float(c.mean > rope)
    else:
        c.p_difference = float(2 * stats.t.sf(abs(c.mean) / c.se, df))
        c.p_worse = float(stats.t.cdf((-rope - c.mean) / c.se, df))
        c.p_better = float(stats.t.sf((rope - c.mean) / c.se, df))
    c.p_rope = max(0.0, 1.0 - c.p_worse - c.p_better)


# --- planning ----------------------------------------------------------------------------------------------
def chances(n: int | np.ndarray, *, seed_variance: np.ndarray, shared: np.ndarray, level: float,
            effect: np.ndarray, rope: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """At ``n`` seeds: the chance of ``helps`` when the true effect is ``effect`` (noncentral t, exact for
    ``c = 0``), and with a ROPE the chance of ``equivalent`` when it is 0 (normal approximation; 0 without)."""
    n = np.asarray(n)
    se = np.sqrt(np.asarray(seed_variance) / n + np.maximum(np.asarray(shared), 0.0))
    critical = stats.t.ppf(1 - level / 2, n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        found = np.where(se > 0, stats.nct.sf(critical, n - 1, np.asarray(effect) / se), 1.0)
        same = np.where(se > 0, np.clip(2 * stats.norm.cdf(rope / se - critical) - 1, 0, None), 1.0)
    return found, (same if rope > 0 else np.zeros_like(found))


def power(n: int, *, seed_variance: float, shared: float, level: float, effect: float, rope: float = 0.0) -> float:
    """The chance that ``n`` seeds decide both ways: ``helps`` at ``effect`` and, with a ROPE, ``equivalent``
    at 0 (the smaller of the two)."""
    found, same = chances(n, seed_variance=seed_variance, shared=shared, level=level, effect=effect, rope=rope)
    return float(np.minimum(found, same)) if rope > 0 else float(found)


def futile(mean: np.ndarray, seed_variance: np.ndarray, seeds: np.ndarray, shared: np.ndarray, *, level: float,
           max_seeds: int, rope: float, threshold: float) -> np.ndarray:
    """Undecided comparisons not worth more seeds: even at an optimistic effect (the estimate plus 1.28 SE) the
    chance of ``helps`` / ``hurts`` at ``max_seeds``, and of ``equivalent``, stays below ``threshold``.
    Stopping one never makes a verdict, so the error rate keeps its bound."""
    se = standard_error(seed_variance, seeds, shared)
    found, same = chances(max_seeds, seed_variance=seed_variance, shared=shared, level=level,
                          effect=np.abs(mean) + 1.28 * se, rope=rope)
    return (found < threshold) & (same < threshold)


def plan_seeds(c: Comparison, *, level: float, effect: float | None, rope: float = 0.0) -> None:
    """``detectable`` at the current seeds, and ``seeds_needed`` for ``effect`` at the family's level."""
    s2, shared = c.seed_variance, max(c.shared_test_variance, 0.0)
    if c.se > 0:
        def short(e: float) -> float:
            return power(c.seeds, seed_variance=s2, shared=shared, level=level, effect=e) - POWER
        c.detectable = float(optimize.brentq(short, 0.0, 1e4 * c.se)) if short(1e4 * c.se) > 0 else math.nan
    c.planned_effect = effect
    if not effect or effect <= 0:
        return

    def enough(n: int) -> bool:
        return power(n, seed_variance=s2, shared=shared, level=level, effect=effect, rope=rope) >= POWER

    if not enough(MAX_SEEDS):
        c.seeds_needed = None
        return
    low, high = 2, MAX_SEEDS  # the smallest n that is enough (power grows with n), by bisection
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle + 1, high)
    c.seeds_needed = low


def describe(c: Comparison) -> str:
    """The verdict in words; an undecided one with the seeds it needs, when an effect was planned."""
    if not c.testable:
        return "undecided: needs >= 2 paired seeds"
    if c.verdict != "undecided" or not c.planned_effect:
        return c.verdict
    if c.seeds_needed is None:
        return f"undecided: more than {MAX_SEEDS} seeds, or a larger test set"
    if c.seeds_needed <= c.seeds:  # more seeds would not help: the effect is likely smaller than planned
        return f"undecided: {c.seeds} seeds had 80 % power for the planned effect"
    return f"undecided: needs ~{c.seeds_needed} seeds"
