"""``python -m auglab.report.reread REPORT.csv [--metric test/acc]``: verdicts for a report written before
verdicts existed, from its paired-difference columns alone (no sweep folder, no re-training).

A row's ``diff_vs_none`` and ``diff_ci95`` (the half-width of a paired Student-t interval over ``runs``
seeds) give back the standard error of the mean difference, hence the same t-test ``verdicts.py`` runs with
seed-to-seed error only (the old folders kept no per-example outcomes), and Holm's control over the
group's strategies. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

from scipy import stats

from auglab.report.tables import BASELINE, lower_is_better
from auglab.report.verdicts import Comparison, decide, describe

FIXED = ("metric", "strategy", "runs", "failed", "mean", "ci95", "diff_vs_none", "diff_ci95")


def comparison_from_summary(diff: float, half_width: float, runs: int) -> Comparison:
    """A comparison whose paired differences have the summary's mean and Student-t half-width."""
    sd = half_width * math.sqrt(runs) / float(stats.t.ppf(0.975, runs - 1))
    spread = sd * math.sqrt((runs - 1) / runs)  # two values mean +- spread have this sample sd, and so on
    diffs = [diff + (spread if i % 2 else -spread) for i in range(runs - runs % 2)] + ([diff] * (runs % 2))
    scale = sd / math.sqrt(sum((d - diff) ** 2 for d in diffs) / (runs - 1)) if sd > 0 else 1.0
    return Comparison([diff + (d - diff) * scale for d in diffs])


def reread(path: Path, metric: str, alpha: float = 0.05) -> str:
    with path.open() as f:
        rows = [r for r in csv.DictReader(f) if r["metric"] == metric]
    keys = [k for k in (rows[0] if rows else {}) if k not in FIXED]
    sign = -1 if lower_is_better(metric) else 1
    lines = [f"| {' | '.join([*keys, 'strategy', 'runs', 'Δ vs none', 'p (t)', 'verdict (Holm)'])} |",
             "|---" * (len(keys) + 1) + "|---:" * 3 + "|---|"]
    for group in dict.fromkeys(tuple(r[k] for k in keys) for r in rows):
        members = [r for r in rows if tuple(r[k] for k in keys) == group and r["strategy"] != BASELINE
                   and r["diff_ci95"] not in ("nan", "") and int(r["runs"]) >= 2]
        comparisons = [comparison_from_summary(sign * float(r["diff_vs_none"]), float(r["diff_ci95"]), int(r["runs"]))
                       for r in members]
        decide(comparisons, alpha=alpha)
        for r, c in sorted(zip(members, comparisons, strict=True), key=lambda m: -m[1].mean):
            cells = [*group, r["strategy"], r["runs"], f"{float(r['diff_vs_none']):+.4f}", f"{c.p_difference:.3f}",
                     describe(c)]
            lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m auglab.report.reread", description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--metric", default="test/acc")
    parser.add_argument("--alpha", type=float, default=0.05)
    args = parser.parse_args(argv)
    print(reread(args.csv, args.metric, args.alpha))


if __name__ == "__main__":
    main()
