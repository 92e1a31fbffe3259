"""``auglab-report SWEEP [SWEEP ...]``: one table per metric over sweeps' jobs, with a verdict per strategy.

A row per strategy, and per value of every other option that varies between the jobs (e.g.
``data.train_per_class`` x ``augment``, or ``model`` x ``augment`` when two sweeps are merged):
finished runs, failed or missing runs, mean, 95% confidence interval over seeds (Student t), the
paired difference to ``none`` in the same group, and a verdict (helps, hurts, equivalent, undecided:
``verdicts.py``) with its interval, the seeds an open question needs, and each strategy's training
budget. Written as Markdown, CSV, LaTeX, a bar chart, a forest plot and, with ``--curve``, a curve.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from auglab.errors import AuglabError
from auglab.report import plots
from auglab.report.jobs import Job, load_jobs
from auglab.report.render import bar_chart, csv, latex, markdown
from auglab.report.sequential import planned_looks
from auglab.report.tables import Settings, aggregate, unequal_budgets
from auglab.report.wandb_upload import upload

# Those the jobs logged are tabulated: classifiers' first, then recommenders' ranking metrics, then generators'.
HEADLINE = ("test/acc", "test/precision", "test/recall", "test/f1", "test/f1_micro", "test/ndcg@10", "test/recall@10",
            "test/mrr@10", "test/fid", "test/kid", "test/cas_acc", "test/cas_f1", "test/real_acc")
CHARTED = ("test/acc", "test/f1", "test/ndcg@10", "test/recall@10", "test/fid", "test/cas_acc")
STATUSES = ("ok", "failed", "interrupted", "running", "missing")


def _fail(message: str) -> SystemExit:
    return SystemExit(f"auglab-report: error: {message}")


def _one_copy_per_job(jobs: list[Job]) -> tuple[list[Job], list[Job]]:
    """A job (identity) found in several sweep folders counts from one of them, one with a finished copy."""
    home: dict[str, Path] = {}
    for job in sorted(jobs, key=lambda j: j.status != "ok"):  # a finished copy picks the folder
        if job.identity_sha256 is not None:
            home.setdefault(job.identity_sha256, job.folder.parent)
    kept = [j for j in jobs if j.identity_sha256 is None or home[j.identity_sha256] == j.folder.parent]
    return kept, [j for j in jobs if j.identity_sha256 is not None and home[j.identity_sha256] != j.folder.parent]


METHOD = ("Verdicts: Welch's t on the mean paired difference to none, its error from seed to seed and from "
          "sampling the test set (a paired bootstrap over test examples of the runs' predictions.npz; an interval "
          "marked * is from seeds only: where each seed drew its own test split, split_seed following seed, the "
          "seed-to-seed spread already holds the test set's sampling error, and where runs kept no predictions, "
          "nothing more is known); equivalence by two one-sided tests against ±ROPE; Holm's step-down over "
          "each group's strategies (statsmodels), so the chance of any false helps or hurts in a group stays "
          "below alpha. Why: with 3 to 5 seeds a test per strategy at 0.05 across ten strategies finds a false "
          "effect about 40 % of the time, and a fixed test set's own sampling error is part of what a reader "
          "wants to generalise over. 'needs ~N seeds': 80 % power for the effect at alpha / strategies.")


def report(sweeps: Path | list[Path], out: Path | None = None, metrics: tuple[str, ...] = HEADLINE,
           wandb_project: str | None = None, settings: Settings | None = None, curve: str | None = None) -> str:
    """Write report.md, report.csv, report.tex, report.png and forest.png / .pdf (and curve.png / .pdf with
    ``curve``, an option that varies between groups); return the Markdown.

    ``wandb_project``: also log the table and chart as a W&B run in that project (``report/wandb_upload.py``).
    """
    settings = settings or Settings()
    sweeps = [sweeps] if isinstance(sweeps, Path) else list(sweeps)
    for sweep in sweeps:
        if not sweep.is_dir():
            raise _fail(f"{sweep} is not a folder; pass a sweep folder from outputs/multirun/")
    if out is None and len(sweeps) > 1:
        raise _fail("several sweep folders: say where the merged report goes with --out DIR")
    jobs, repeated = _one_copy_per_job(load_jobs(sweeps))
    if not jobs:
        raise _fail(f"no job folders in {', '.join(map(str, sweeps))}; pass the folder `auglab-train -m` printed")
    found = {m for j in jobs for m in j.metrics}
    metrics = tuple(m for m in metrics if m in found) or tuple(sorted(found))
    counted = [j for j in jobs if j.status != "unverified"]
    keys = sorted({item.split("=", 1)[0] for j in counted for item in j.group})
    looks = max((planned_looks(s) for s in sweeps), default=1)
    if looks > 1 and settings.looks == 1:  # seeds were added after looking: the same alpha spending applies
        settings = Settings(settings.alpha, settings.rope, settings.effect, looks)
    if curve is not None and curve not in keys:
        raise _fail(f"--curve {curve}: not an option that varies between the jobs; choose one of: "
                    f"{', '.join(keys) or 'none varies'}")
    tables = {m: aggregate(counted, m, settings) for m in metrics}
    out = out or sweeps[0] / "report"
    out.mkdir(parents=True, exist_ok=True)

    counts = ", ".join(f"{sum(j.status == s for j in jobs)} {s}" for s in STATUSES)
    header = f"# Sweep {' + '.join(s.name for s in sweeps)}\n\n{len(jobs)} jobs: {counts}\n"
    if keys:
        header += f"\nGrouped by {', '.join(keys)} (the options that differ between jobs), then by strategy.\n"
    if repeated:
        header += f"\n{len(repeated)} job(s) found in more than one folder count once ({repeated[0].folder}, ...).\n"
    unverified = [j.folder.name for j in jobs if j.status == "unverified"]
    if unverified:
        header += (f"\n{len(unverified)} folder(s) left out: their config, job.json and run.json do not name one "
                   f"job, or predate job identities ({', '.join(unverified[:5])}); re-run the sweep command.\n")
    header += (f"\n{METHOD} Family-wise alpha {settings.alpha:g}"
               f"{f', spent over {settings.looks} looks (alpha / looks each)' if settings.looks > 1 else ''}; "
               f"ROPE ±{settings.rope:g}{'' if settings.rope else ' (no equivalence verdict: set --rope)'}.\n")
    budget = sorted({w for rows in tables.values() for w in unequal_budgets(rows)})
    if budget:
        header += ("\n**Unequal compute** (more than 10 %): " + "; ".join(budget) + ". A gain may be the extra "
                   "training: compare at equal optimizer steps (trainer.max_steps, as experiment=fine_food_lowdata "
                   "does).\n")
    md = header + "\n" + "\n".join(markdown(m, rows, keys) for m, rows in tables.items())
    (out / "report.md").write_text(md)
    (out / "report.tex").write_text("\n".join(latex(m, rows, keys) for m, rows in tables.items()))
    (out / "report.csv").write_text(csv(tables, keys))
    charts = {"chart": out / "report.png"} if tables else {}
    if tables:
        bar_chart({m: tables[m] for m in metrics if m in CHARTED} or tables, charts["chart"])
        first = next(m for m in metrics if m in tables)
        charts["forest"] = plots.forest(first, tables[first], out / "forest", rope=settings.rope)[0]
        if curve is not None:
            charts["curve"] = plots.curve(first, tables[first], curve, out / "curve")[0]
    if wandb_project is not None:
        where = upload(tables, keys, charts, sweeps=sweeps, out=out, project=wandb_project)
        print(f"W&B run: {where}", file=sys.stderr)
    return md


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="auglab-report", description=__doc__.splitlines()[0])
    parser.add_argument("sweeps", type=Path, nargs="+", metavar="SWEEP",
                        help="sweep folder(s), e.g. outputs/multirun/<date>_train_<id>; several are merged")
    parser.add_argument("--out", type=Path, help="where to write the report (default: SWEEP/report)")
    parser.add_argument("--metrics", nargs="+", default=list(HEADLINE), help="metric names to tabulate")
    parser.add_argument("--wandb", action="store_true",
                        help="also log the table and chart as a W&B run (job type report, grouped with the sweep)")
    parser.add_argument("--wandb-project", default="auglab", metavar="NAME", help="W&B project (default: auglab)")
    parser.add_argument("--alpha", type=_fraction, default=0.05, help="family-wise error per group (default 0.05)")
    parser.add_argument("--rope", type=_positive, default=0.0, metavar="R",
                        help="region of practical equivalence, ± in the metric's units (e.g. 0.005); 0: none")
    parser.add_argument("--effect", type=_positive, default=None, metavar="E",
                        help="plan seeds for an effect of this size (default: the ROPE, else the observed one)")
    parser.add_argument("--curve", metavar="OPTION", help="plot Δ vs none against this swept option, e.g. "
                                                          "data.train_per_class")
    args = parser.parse_args(argv)
    settings = Settings(alpha=args.alpha, rope=args.rope, effect=args.effect)
    try:
        md = report(args.sweeps, args.out, tuple(args.metrics), args.wandb_project if args.wandb else None,
                    settings=settings, curve=args.curve)
    except AuglabError as err:
        raise _fail(str(err)) from err
    print(md)
    print(f"written to {args.out or args.sweeps[0] / 'report'}/report.{{md,csv,tex,png}}, forest.{{png,pdf}}"
          f"{', curve.{png,pdf}' if args.curve else ''}", file=sys.stderr)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be a number between 0 and 1")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: must be a number >= 0")
    return value


if __name__ == "__main__":
    main()
