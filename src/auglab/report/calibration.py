"""The verdicts' promise checked by simulation, with the report's own ``family_verdicts``: how often a family
of comparisons gets any false verdict, and how often a planted effect is found, for a regime of seeds,
test-set noise and family size. ``python -m auglab.report.calibration --seeds 3 --ratio 0.25 --rho 0.1``
checks a user's own regime; tests/test_verdicts.py checks the grid docs/verdicts.md publishes.

A simulated paired difference, per strategy and seed ``i`` (docs/verdicts.md, "Model"):
``d_i = delta + su z_i + sqrt(rho v) w + sqrt((1 - rho) v) e_i`` with ``v = ratio su²`` the test-set
sampling variance of one seed's difference, ``rho`` the correlation of two seeds' test errors (the same
test examples) and ``w`` shared by the seeds of one strategy; the report is given ``c = rho v``.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import numpy as np

from auglab.report.verdicts import family_verdicts, futile

SPREAD = 0.01  # su: seed-to-seed sd of a paired difference; only ratios to it matter


@dataclass
class Rates:
    false_verdict: float  # families with any wrong verdict
    power: float  # the planted strategy decided "helps" (nan without one)
    seeds_used: float  # per strategy, on average (sequential designs)
    families: int

    @property
    def margin(self) -> float:
        """Three binomial standard errors at alpha = 0.05: what simulation error allows above alpha."""
        return 3 * math.sqrt(0.05 * 0.95 / self.families)


def draw(rng: np.random.Generator, *, families: int, family: int, seeds: int, ratio: float, rho: float,
         effect: float) -> np.ndarray:
    """Differences ``[families, family, seeds]``; strategy 0 carries ``effect``, the others none."""
    v = ratio * SPREAD**2
    d = (SPREAD * rng.standard_normal((families, family, seeds))
         + math.sqrt(rho * v) * rng.standard_normal((families, family, 1))
         + math.sqrt((1 - rho) * v) * rng.standard_normal((families, family, seeds)))
    d[:, 0] += effect
    return d


def wrong(verdicts: np.ndarray, truth: np.ndarray, rope: float) -> np.ndarray:
    """Per verdict: helps with delta <= 0, hurts with delta >= 0, equivalent with |delta| >= rope."""
    return (((verdicts == "helps") & (truth <= 0)) | ((verdicts == "hurts") & (truth >= 0))
            | ((verdicts == "equivalent") & (np.abs(truth) >= rope)))


def fixed(*, seeds: int, ratio: float, rho: float, family: int, rope: float = 0.0, effect: float = 0.0,
          alpha: float = 0.05, families: int = 4000, seed: int = 0) -> Rates:
    """A fixed design: every strategy at ``seeds`` seeds, one look."""
    rng = np.random.default_rng(seed)
    d = draw(rng, families=families, family=family, seeds=seeds, ratio=ratio, rho=rho, effect=effect)
    verdicts = family_verdicts(d.mean(-1), d.var(-1, ddof=1), np.full(d.shape[:2], seeds),
                               np.full(d.shape[:2], rho * ratio * SPREAD**2), alpha=alpha, rope=rope)
    truth = np.zeros(family)
    truth[0] = effect
    return Rates(float(wrong(verdicts, truth, rope).any(-1).mean()),
                 float((verdicts[:, 0] == "helps").mean()) if effect else math.nan, seeds, families)


def sequential(*, start: int, per_round: int, max_seeds: int, ratio: float, rho: float, family: int, rope: float,
               effects: tuple[float, ...] = (), futility: float = 0.0, alpha: float = 0.05, families: int = 4000,
               seed: int = 0) -> Rates:
    """``auglab-decide``'s design: a look at ``start`` seeds, then ``per_round`` more for the strategies still
    open until ``max_seeds``, alpha / looks at each look; a decided strategy stops and keeps its verdict, a
    futile one (``verdicts.futile`` below ``futility``) stops undecided. ``effects`` are planted on the first
    strategies; ``power`` is for the first."""
    from auglab.report.sequential import looks_for

    rng = np.random.default_rng(seed)
    looks = looks_for(start, max_seeds, per_round)
    truth = np.zeros(family)
    truth[:len(effects)] = effects
    d = draw(rng, families=families, family=family, seeds=max_seeds, ratio=ratio, rho=rho, effect=0.0)
    d += truth[None, :, None]
    shared = np.full(d.shape[:2], rho * ratio * SPREAD**2)
    final = np.full(d.shape[:2], "undecided", dtype=object)
    going = np.ones(d.shape[:2], dtype=bool)
    used = np.full(d.shape[:2], start)
    n = start
    while True:
        seeds = np.full(d.shape[:2], n)
        mean, variance = d[..., :n].mean(-1), d[..., :n].var(-1, ddof=1)
        now = family_verdicts(mean, variance, seeds, shared, alpha=alpha, rope=rope, looks=looks)
        final[going], used[going] = now[going], n
        going &= now == "undecided"
        if futility > 0 and n < max_seeds:
            going &= ~futile(mean, variance, seeds, shared, level=alpha / (family * looks), max_seeds=max_seeds,
                             rope=rope, threshold=futility)
        if n >= max_seeds or not going.any():
            break
        n = min(n + per_round, max_seeds)
    power = float((final[:, 0] == ("helps" if truth[0] > 0 else "hurts")).mean()) if effects else math.nan
    return Rates(float(wrong(final, truth, rope).any(-1).mean()), power, float(used.mean()), families)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m auglab.report.calibration", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--ratio", type=float, default=0.25, help="test-set variance of one seed's difference / "
                                                                   "seed-to-seed variance")
    parser.add_argument("--rho", type=float, default=0.1, help="correlation of two seeds' test errors")
    parser.add_argument("--family", type=int, default=10, help="comparisons in the report")
    parser.add_argument("--rope", type=float, default=0.0, help="in units of the seed-to-seed sd")
    parser.add_argument("--effect", type=float, default=2.0, help="planted effect, in units of the seed-to-seed sd")
    parser.add_argument("--families", type=int, default=4000)
    args = parser.parse_args(argv)
    rates = fixed(seeds=args.seeds, ratio=args.ratio, rho=args.rho, family=args.family, rope=args.rope * SPREAD,
                  families=args.families)
    found = fixed(seeds=args.seeds, ratio=args.ratio, rho=args.rho, family=args.family, rope=args.rope * SPREAD,
                  effect=args.effect * SPREAD, families=args.families, seed=1)
    print(f"false verdicts in {100 * rates.false_verdict:.1f} % of families (alpha 5 %, simulation error "
          f"±{100 * rates.margin / 3:.1f} %); a planted effect of {args.effect:g} sd found in "
          f"{100 * found.power:.0f} %")


if __name__ == "__main__":
    main()
