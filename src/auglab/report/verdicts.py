"""A verdict per strategy, decided with the family-wise error controlled across the strategies of a group:
``helps``, ``hurts``, ``equivalent`` (within ±ROPE, a region of practical equivalence the user sets) or
``undecided``, and what the study could have detected.

Per strategy and seed ``i``, paired with the group's baseline run of the same seed:
``d_i = metric(strategy, i) - metric(none, i)``. The mean difference has two sources of error: seed to
seed, ``s_d² / k`` over the ``k`` pairs, and the sampling of the test set, estimated by a paired bootstrap
over test examples from the runs' per-example outcomes (``outcomes.py``; 0 where runs wrote none, said in
the report). The test is Welch's t on ``mean / SE`` with Welch-Satterthwaite degrees of freedom (the test
part counted as known); equivalence is two one-sided tests (TOST) against ±ROPE. Holm's step-down
(statsmodels) runs over the group's strategies, once for difference and once for equivalence, so the chance
of any false "helps" or "hurts" in a group stays below alpha. With ``looks`` > 1 (seeds added after
looking, ``sequential.py``) each look gets alpha / looks: a Bonferroni alpha spending that stays valid
whatever was decided at earlier looks.

Power (statsmodels' t-test power): the smallest effect 80 % power would detect at the observed variance,
and the seeds an effect of a given size needs, at the Bonferroni level alpha / strategies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

POWER = 0.8
MAX_SEEDS = 1000


@dataclass
class Comparison:
    """One strategy against its group's baseline."""

    diffs: list[float]  # paired by seed, signed so that positive means better
    test_variance: float | None = None  # of the mean difference, from test-set resampling; None: not known
    mean: float = math.nan
    se: float = math.nan
    df: float = math.nan
    p_difference: float = math.nan
    p_equivalence: float = math.nan
    low: float = math.nan  # 95 % interval of the mean difference (both error sources)
    high: float = math.nan
    verdict: str = "undecided"
    detectable: float = math.nan  # smallest effect detected with 80 % power at this number of seeds
    seeds_needed: int | None = None  # for the effect asked about; None: not reachable with seeds alone


def estimate(comparison: Comparison) -> Comparison:
    """Mean, standard error, degrees of freedom and 95 % interval; p-values need ``decide``."""
    d, k = comparison.diffs, len(comparison.diffs)
    if k < 2:
        return comparison
    comparison.mean = sum(d) / k
    seed_var = sum((x - comparison.mean) ** 2 for x in d) / (k - 1) / k
    test_var = comparison.test_variance or 0.0
    comparison.se = math.sqrt(seed_var + test_var)
    comparison.df = (seed_var + test_var) ** 2 / (seed_var**2 / (k - 1)) if seed_var > 0 else math.inf
    half = float(stats.t.ppf(0.975, comparison.df)) * comparison.se
    comparison.low, comparison.high = comparison.mean - half, comparison.mean + half
    return comparison


def _p_values(c: Comparison, rope: float) -> tuple[float, float]:
    if c.se == 0:  # identical differences and no test noise: as sure as it gets
        return (0.0 if c.mean != 0 else 1.0), (0.0 if abs(c.mean) < rope else 1.0)
    t = c.mean / c.se
    p_diff = float(2 * stats.t.sf(abs(t), c.df))
    if rope <= 0:
        return p_diff, 1.0
    p_low = float(stats.t.sf((c.mean + rope) / c.se, c.df))  # H0: effect <= -rope
    p_high = float(stats.t.cdf((c.mean - rope) / c.se, c.df))  # H0: effect >= +rope
    return p_diff, max(p_low, p_high)


def decide(comparisons: list[Comparison], *, alpha: float = 0.05, rope: float = 0.0, effect: float | None = None,
           looks: int = 1, plan: bool = True) -> list[Comparison]:
    """Verdicts for one group's strategies (Holm over them), and, with ``plan``, power: ``effect`` is the size to
    plan seeds for (default: the ROPE if set, else the observed mean difference)."""
    level = alpha / looks
    testable = [estimate(c) for c in comparisons if len(c.diffs) >= 2]
    for c in testable:
        c.p_difference, c.p_equivalence = _p_values(c, rope)
    if testable:
        differ = multipletests([c.p_difference for c in testable], alpha=level, method="holm")[0]
        same = multipletests([c.p_equivalence for c in testable], alpha=level, method="holm")[0]
        for c, is_different, is_same in zip(testable, differ, same, strict=True):
            if is_different:
                c.verdict = "helps" if c.mean > 0 else "hurts"
            elif rope > 0 and is_same:
                c.verdict = "equivalent"
    family = max(len(testable), 1)
    for c in testable if plan else ():
        plan_seeds(c, alpha=level / family, effect=effect if effect else (rope or abs(c.mean)))
    return comparisons


def plan_seeds(c: Comparison, *, alpha: float, effect: float) -> None:
    """``detectable`` at the current seeds, and ``seeds_needed`` for ``effect`` (80 % power, level ``alpha``)."""
    k = len(c.diffs)
    seed_var = (c.se**2 - (c.test_variance or 0.0)) * k  # per-seed variance of the paired difference
    test_var = c.test_variance or 0.0
    power = TTestPower()
    if c.se > 0:
        c.detectable = float(power.solve_power(nobs=k, alpha=alpha, power=POWER)) * c.se * math.sqrt(k)
    if effect <= 0:
        return

    def enough(n: int) -> bool:  # power grows with n: the error shrinks and the degrees of freedom grow
        spread = math.sqrt(seed_var / n + test_var) * math.sqrt(n)  # sd per seed with the test part
        if spread == 0:
            return True
        chance = power.power(effect_size=effect / spread, nobs=n, alpha=alpha)
        if not math.isfinite(chance):  # statsmodels' noncentral t gives nan at large n: the normal limit
            chance = stats.norm.cdf(effect / spread * math.sqrt(n) - stats.norm.ppf(1 - alpha / 2))
        return chance >= POWER

    if not enough(MAX_SEEDS):
        c.seeds_needed = None
        return
    low, high = 2, MAX_SEEDS  # the smallest n that is enough, by bisection
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle + 1, high)
    c.seeds_needed = low


def describe(c: Comparison) -> str:
    """The verdict in words, with the seeds an undecided one needs."""
    if c.verdict != "undecided" or len(c.diffs) < 2:
        return c.verdict if len(c.diffs) >= 2 else "undecided: needs >= 2 paired seeds"
    if c.seeds_needed is None:
        return f"undecided: more than {MAX_SEEDS} seeds, or a larger test set"
    return f"undecided: needs ~{c.seeds_needed} seeds"
