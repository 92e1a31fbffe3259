"""The verdicts' error rate and power by simulation, before (the statistic up to issue 27) and after, and the
seeds ``auglab-decide`` uses against a fixed design of equal power. Writes both tables into docs/verdicts.md
(between its ``calibration`` and ``sequential`` markers) and prints them.

    .venv/bin/python benchmarks/verdict_calibration.py [--families 4000] [--smoke]

"Before" is the statistic as it was at 6ba3a70, rebuilt here for the comparison only: Welch-Satterthwaite
degrees of freedom with the whole bootstrap variance of the mean, ``v / k (1 + (k - 1) rho)``, taken as known,
and Holm's step-down over the family. "After" is ``verdicts.family_verdicts`` itself (through
``report/calibration.py``). Grid as issue 27 asks: seeds 3 / 5 / 10, test-to-seed variance ratio
0 / 0.05 / 0.25 / 1 / 4, test-error correlation across seeds 0 / 0.1 / 0.5, families of 1 and 10; power for
a planted effect of 3 seed-to-seed standard deviations in a family of 10.
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
from pathlib import Path

import numpy as np
from scipy import stats

from auglab.report.calibration import SPREAD, draw, fixed, sequential

DOCS = Path(__file__).resolve().parents[1] / "docs" / "verdicts.md"
EFFECT = 3 * SPREAD


def before(*, seeds: int, ratio: float, rho: float, family: int, effect: float = 0.0, families: int,
           seed: int = 0) -> tuple[float, float]:
    """False-verdict rate and power of the old statistic (no ROPE)."""
    d = draw(np.random.default_rng(seed), families=families, family=family, seeds=seeds, ratio=ratio, rho=rho,
             effect=effect)
    seed_var = d.var(-1, ddof=1) / seeds
    boot = ratio * SPREAD**2 / seeds * (1 + (seeds - 1) * rho)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(seed_var > 0, (seed_var + boot) ** 2 / (seed_var**2 / (seeds - 1)), np.inf)
    p = 2 * stats.t.sf(np.abs(d.mean(-1)) / np.sqrt(seed_var + boot), df)
    order = np.argsort(p, -1)
    steps = np.take_along_axis(p, order, -1) <= 0.05 / (family - np.arange(family))  # Holm's step-down
    rejected_sorted = np.cumprod(steps, -1).astype(bool)
    rejected = np.zeros_like(rejected_sorted)
    np.put_along_axis(rejected, order, rejected_sorted, -1)
    null = np.ones(family, dtype=bool)
    if effect:
        null[0] = False
    false = (rejected & null).any(-1).mean()
    found = (rejected[:, 0] & (d[:, 0].mean(-1) > 0)).mean() if effect else math.nan
    return float(false), float(found)


def calibration_table(families: int, seeds_grid=(3, 5, 10), ratios=(0, 0.05, 0.25, 1, 4), rhos=(0, 0.1, 0.5)) -> str:
    lines = ["| seeds | v / su² | rho | false, m = 1: before | after | false, m = 10: before | after | "
             "power, m = 10: before | after |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    worst = 0.0
    for k, ratio, rho in itertools.product(seeds_grid, ratios, rhos):
        cells = []
        for m in (1, 10):
            old = before(seeds=k, ratio=ratio, rho=rho, family=m, families=families)[0]
            new = fixed(seeds=k, ratio=ratio, rho=rho, family=m, families=families).false_verdict
            worst = max(worst, new)
            cells += [f"{100 * old:.1f} %", f"{100 * new:.1f} %"]
        old_power = before(seeds=k, ratio=ratio, rho=rho, family=10, effect=EFFECT, families=families, seed=1)[1]
        new_power = fixed(seeds=k, ratio=ratio, rho=rho, family=10, effect=EFFECT, families=families, seed=1).power
        cells += [f"{100 * old_power:.0f} %", f"{100 * new_power:.0f} %"]
        lines.append(f"| {k} | {ratio:g} | {rho:g} | " + " | ".join(cells) + " |")
    margin = 3 * math.sqrt(0.05 * 0.95 / families)
    return "\n".join(lines) + (f"\n\n{families:,} simulated families per cell; the largest false-verdict rate after is "
                               f"{100 * worst:.1f} % (simulation error allows up to {100 * (0.05 + margin):.1f} %).\n")


def sequential_table(families: int) -> str:
    lines = ["| ROPE | planted | futility | false verdicts | power | seeds per strategy | fixed design of equal "
             "power | seeds saved |", "|---:|---|---:|---:|---:|---:|---:|---:|"]
    design = {"start": 3, "per_round": 2, "max_seeds": 10, "ratio": 0.25, "rho": 0.1, "family": 10}
    for rope, planted, futility in itertools.product((1, 2), ((3, -3), (2, -2)), (0.0, 0.2)):
        effects = tuple(e * SPREAD for e in planted)
        run = sequential(**design, rope=rope * SPREAD, effects=effects, futility=futility, families=families)
        equal = next((n for n in range(2, 31) if fixed(seeds=n, ratio=0.25, rho=0.1, family=10, rope=rope * SPREAD,
                                                       effect=effects[0], families=families).power >= run.power), None)
        saved = f"{100 * (1 - run.seeds_used / equal):.0f} %" if equal else "–"
        lines.append(f"| ±{rope} sd | {planted[0]:+d} and {planted[1]:+d} sd, 8 nulls | {futility:g} | "
                     f"{100 * run.false_verdict:.1f} % | {100 * run.power:.0f} % | {run.seeds_used:.1f} | "
                     f"{equal or '> 30'} | {saved} |")
    return "\n".join(lines) + (f"\n\n{families:,} simulated families per row: 10 strategies, 3 seeds then 2 more per "
                               "round up to 10 (4 looks), v / su² = 0.25, rho = 0.1.\n")


def embed(text: str, marker: str, table: str) -> str:
    block = re.compile(rf"(<!-- benchmark {marker} -->\n).*?(<!-- /benchmark -->)", re.S)
    if not block.search(text):
        raise SystemExit(f"{DOCS} has no <!-- benchmark {marker} --> block")
    return block.sub(lambda m: m[1] + table + m[2], text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=4000)
    parser.add_argument("--smoke", action="store_true", help="a few cells at 200 families; docs untouched")
    args = parser.parse_args()
    if args.smoke:
        print(calibration_table(200, seeds_grid=(3,), ratios=(0.25,), rhos=(0.1,)))
        return
    calibration, seq = calibration_table(args.families), sequential_table(args.families)
    print(calibration, seq, sep="\n")
    DOCS.write_text(embed(embed(DOCS.read_text(), "calibration", calibration), "sequential", seq))


if __name__ == "__main__":
    main()
