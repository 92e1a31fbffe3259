"""``auglab-report SWEEP``: one table per metric over a sweep's jobs, grouped by strategy.

For each strategy: finished runs, failed or missing runs, mean, 95% confidence interval over seeds
(Student t) and the difference to ``none``. Runs of a strategy and of ``none`` with the same seed
saw the same data, so the difference is averaged over those pairs and gets its own paired 95%
interval. Written as Markdown, CSV and LaTeX, plus a bar chart.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf
from scipy import stats

from auglab.job_identity import digest, identity, read_record

# Those a sweep's jobs logged are tabulated: classifiers' first, then recommenders' ranking metrics.
HEADLINE = ("test/acc", "test/precision", "test/recall", "test/f1", "test/f1_micro", "test/ndcg@10", "test/recall@10",
            "test/mrr@10")
CHARTED = ("test/acc", "test/f1", "test/ndcg@10", "test/recall@10")
BASELINE = "none"


@dataclass
class Job:
    folder: Path
    strategy: str
    status: str  # ok, failed, interrupted, running, missing (no record) or unverified (see load_jobs)
    seed: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class Row:
    strategy: str
    runs: int
    failed: int
    mean: float
    ci95: float  # half-width; nan with fewer than two runs
    diff: float = math.nan  # mean of paired differences to the baseline (same seed); else difference of means
    diff_ci95: float = math.nan  # half-width of the paired interval; nan with fewer than two pairs


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _load_job(folder: Path) -> Job | None:
    """One job, its strategy and seed read from the config it ran with; None for a non-job folder.

    Counted only when that config, ``job.json`` and ``run.json`` name the same job identity
    (docs/architecture.md, "Job identity"); otherwise the job is ``unverified`` and left out of tables.
    """
    job_record, status_record = read_record(folder), _read_json(folder / "run.json")
    if job_record is None:
        if status_record or (folder / ".hydra").is_dir():
            return Job(folder, "?", "unverified")  # made before auglab recorded job identities
        return None
    key = job_record.get("identity_sha256")
    saved = folder / "config.yaml"
    if saved.exists():
        cfg = OmegaConf.load(saved)
        if digest(identity(cfg, folder)) != key:
            return Job(folder, str(OmegaConf.select(cfg, "augment.name")), "unverified", cfg.get("seed"))
    else:  # failed before training started: the runner's record of the job names it
        cfg = OmegaConf.create(job_record.get("identity", {}))
    strategy, seed = str(OmegaConf.select(cfg, "augment.name")), cfg.get("seed")
    if status_record.get("identity_sha256") != key:
        return Job(folder, strategy, "missing" if not status_record else "unverified", seed)
    status = status_record.get("status", "missing")
    metrics = _read_json(folder / "metrics.json") if status == "ok" else {}
    return Job(folder, strategy, status if metrics or status != "ok" else "missing", seed, metrics)


def load_jobs(sweep: Path) -> list[Job]:
    """Every job folder of a Hydra sweep, finished or not."""
    jobs = [_load_job(p) for p in sorted(p for p in sweep.iterdir() if p.is_dir())]
    return [job for job in jobs if job is not None]


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


def aggregate(jobs: list[Job], metric: str) -> list[Row]:
    """Rows for one metric, baseline first, then best mean first."""
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
        row = Row(name, len(mine), failed, mean, ci, mean - base_mean)
        mine_by_seed = _by_seed(mine)
        if name != BASELINE and mine_by_seed is not None and base_by_seed is not None:
            paired = [v - base_by_seed[s] for s, v in mine_by_seed.items() if s in base_by_seed]
            if paired:
                row.diff, row.diff_ci95 = summarise(paired)
        rows.append(row)
    return sorted(rows, key=lambda r: (r.strategy != BASELINE, -r.mean if not math.isnan(r.mean) else math.inf))


def _fmt(x: float, signed: bool = False) -> str:
    if math.isnan(x):
        return "–"
    return f"{x:+.4f}" if signed else f"{x:.4f}"


COLUMNS = ("strategy", "runs", "failed", "mean", "95% CI ±", "Δ vs none", "Δ 95% CI ±")


def _cells(r: Row) -> list[str]:
    return [r.strategy, str(r.runs), str(r.failed), _fmt(r.mean), _fmt(r.ci95), _fmt(r.diff, True), _fmt(r.diff_ci95)]


def markdown(metric: str, rows: list[Row]) -> str:
    lines = [f"### {metric}", "", "| " + " | ".join(COLUMNS) + " |", "|---" + "|---:" * (len(COLUMNS) - 1) + "|"]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def latex(metric: str, rows: list[Row]) -> str:
    def tex(text: str) -> str:
        return text.replace("_", r"\_").replace("%", r"\%").replace("–", "--").replace("±", r"$\pm$").replace(
            "Δ", r"$\Delta$")

    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{tex(metric)}: mean and 95\% CI over seeds}}",
             r"\begin{tabular}{l" + "r" * (len(COLUMNS) - 1) + "}", r"\toprule",
             " & ".join(tex(c) for c in COLUMNS) + r" \\", r"\midrule"]
    lines += [" & ".join(tex(c) for c in _cells(r)) + r" \\" for r in rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def bar_chart(tables: dict[str, list[Row]], path: Path) -> None:
    """One panel per metric: mean per strategy with 95% CI error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tables), figsize=(4.5 * len(tables), 4), squeeze=False)
    for ax, (metric, rows) in zip(axes[0], tables.items(), strict=True):
        names = [r.strategy for r in rows]
        ax.bar(names, [r.mean for r in rows], yerr=[0 if math.isnan(r.ci95) else r.ci95 for r in rows],
               capsize=3, color=["grey" if n == BASELINE else "tab:blue" for n in names])
        low = [r.mean - (0 if math.isnan(r.ci95) else r.ci95) for r in rows if not math.isnan(r.mean)]
        high = [r.mean + (0 if math.isnan(r.ci95) else r.ci95) for r in rows if not math.isnan(r.mean)]
        if low:  # the whole error bars in view
            pad = max(max(high) - min(low), 0.01) * 0.1
            ax.set_ylim(max(0.0, min(low) - pad), min(1.0, max(high) + pad))
        ax.set_title(metric)
        plt.setp(ax.get_xticklabels(), rotation=60, ha="right", rotation_mode="anchor")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(sweep: Path, out: Path | None = None, metrics: tuple[str, ...] = HEADLINE) -> str:
    """Write report.md, report.csv, report.tex and report.png; return the Markdown."""
    if not sweep.is_dir():
        raise SystemExit(f"auglab-report: error: {sweep} is not a folder; pass a sweep folder from outputs/multirun/")
    jobs = load_jobs(sweep)
    if not jobs:
        raise SystemExit(f"auglab-report: error: no job folders in {sweep}; pass the folder `auglab-train -m` printed")
    found = {m for j in jobs for m in j.metrics}
    metrics = tuple(m for m in metrics if m in found) or tuple(sorted(found))
    counted = [j for j in jobs if j.status != "unverified"]
    tables = {m: aggregate(counted, m) for m in metrics}
    out = out or sweep / "report"
    out.mkdir(parents=True, exist_ok=True)
    counts = {s: sum(j.status == s for j in jobs) for s in ("ok", "failed", "interrupted", "running", "missing")}
    header = f"# Sweep {sweep.name}\n\n{len(jobs)} jobs: " + ", ".join(f"{n} {s}" for s, n in counts.items()) + "\n"
    unverified = [j.folder.name for j in jobs if j.status == "unverified"]
    if unverified:
        header += (f"\n{len(unverified)} folder(s) left out: their config, job.json and run.json do not name one "
                   f"job, or predate job identities ({', '.join(unverified[:5])}); re-run the sweep command.\n")
    md = header + "\n" + "\n".join(markdown(m, rows) for m, rows in tables.items())
    (out / "report.md").write_text(md)
    (out / "report.tex").write_text("\n".join(latex(m, rows) for m, rows in tables.items()))
    csv_lines = ["metric,strategy,runs,failed,mean,ci95,diff_vs_none,diff_ci95"]
    for m, rows in tables.items():
        csv_lines += [f"{m},{r.strategy},{r.runs},{r.failed},{r.mean},{r.ci95},{r.diff},{r.diff_ci95}" for r in rows]
    (out / "report.csv").write_text("\n".join(csv_lines) + "\n")
    if tables:
        bar_chart({m: tables[m] for m in metrics if m in CHARTED} or tables, out / "report.png")
    return md


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="auglab-report", description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="a sweep folder, e.g. outputs/multirun/<date>_train_<id>")
    parser.add_argument("--out", type=Path, help="where to write the report (default: SWEEP/report)")
    parser.add_argument("--metrics", nargs="+", default=list(HEADLINE), help="metric names to tabulate")
    args = parser.parse_args(argv)
    md = report(args.sweep, args.out, tuple(args.metrics))
    print(md)
    print(f"written to {args.out or args.sweep / 'report'}/report.{{md,csv,tex,png}}", file=sys.stderr)


if __name__ == "__main__":
    main()
