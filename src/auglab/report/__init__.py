"""``auglab-report SWEEP [SWEEP ...]``: one table per metric over sweeps' jobs, with a verdict per strategy.

A row per strategy, and per value of every other option that varies between the jobs (e.g.
``data.train_per_class`` x ``augment``, or ``model`` x ``augment`` when two sweeps are merged):
finished runs, failed, interrupted or missing runs (a running job is neither), mean, 95% confidence
interval over seeds (Student t), the
paired difference to ``none`` in the same group, and -- on the primary metric, every row one family -- a
verdict (helps, hurts, equivalent, undecided: ``verdicts.py``) with the interval it was read off, the seeds
an open question needs, and each strategy's training budget; across groups, rliable-style aggregates
(``aggregates.py``). Written as Markdown, CSV, LaTeX, a bar chart, a forest plot and, with ``--curve``, a
curve.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from auglab.errors import AuglabError
from auglab.report import aggregates, plots
from auglab.report.command_line import CommandError, OneLineParser, fail, fraction, non_negative
from auglab.report.jobs import Job, load_jobs
from auglab.report.render import bar_chart, latex, markdown
from auglab.report.report_csv import rows_to_csv
from auglab.report.sequential import planned_looks, stopped_as_futile
from auglab.report.tables import HEADLINE, Settings, aggregate, primary_metric, unequal_budgets
from auglab.report.wandb_upload import upload

CHARTED = ("test/acc", "test/f1", "test/ndcg@10", "test/recall@10", "test/fid", "test/cas_acc")
STATUSES = ("ok", "failed", "interrupted", "running", "missing")


def _fail(message: str) -> SystemExit:
    try:
        fail("auglab-report", message)
    except CommandError as err:
        return err


def _one_copy_per_job(jobs: list[Job]) -> tuple[list[Job], list[Job]]:
    """A job (identity) found in several sweep folders counts from one of them, one with a finished copy."""
    home: dict[str, Path] = {}
    for job in sorted(jobs, key=lambda j: j.status != "ok"):  # a finished copy picks the folder
        if job.identity_sha256 is not None:
            home.setdefault(job.identity_sha256, job.folder.parent)
    kept = [j for j in jobs if j.identity_sha256 is None or home[j.identity_sha256] == j.folder.parent]
    return kept, [j for j in jobs if j.identity_sha256 is not None and home[j.identity_sha256] != j.folder.parent]


METHOD = ("Verdicts, on the primary metric only: the mean paired difference to none, with its error from seed to "
          "seed and from the part of the test set's sampling error that the seeds share (a paired bootstrap over "
          "the test examples of the runs' predictions.npz), Student's t on k - 1 degrees of freedom; every "
          "comparison of the report is one family, and each interval is taken at alpha / (comparisons x looks) so "
          "that all hold together with probability 1 - alpha; the verdict is read off its interval (inside ±ROPE: "
          "equivalent; above 0: helps; below 0: hurts). docs/verdicts.md says why, and shows the error rate "
          "measured by simulation. 'needs ~N seeds': 80 % power to decide an effect of the planned size (--effect, "
          "default the ROPE) at the family's level.")


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
    counted = [j for j in jobs if j.status != "unverified"]
    found = {m for j in counted for m in j.metrics}
    if not found:
        raise _fail(f"no finished job in {', '.join(map(str, sweeps))}: nothing to report yet")
    try:
        primary, why = primary_metric(counted, settings.primary)
    except AuglabError as err:
        raise _fail(str(err)) from err
    metrics = tuple(dict.fromkeys([primary, *(m for m in metrics if m in found)]))
    keys = sorted({item.split("=", 1)[0] for j in counted for item in j.group})
    looks = max((planned_looks(s) for s in sweeps), default=1)
    settings = replace(settings, primary=primary, looks=max(looks, settings.looks))
    if curve is not None and curve not in keys:
        raise _fail(f"--curve {curve}: not an option that varies between the jobs; choose one of: "
                    f"{', '.join(keys) or 'none varies'}")
    tables = {m: aggregate(counted, m, settings, primary=m == primary) for m in metrics}
    futile = {(group, name) for s in sweeps for group, names in stopped_as_futile(s).items() for name in names}
    for row in tables[primary]:
        if (", ".join(row.group), row.strategy) in futile and row.verdict.startswith("undecided"):
            rest = row.verdict.removeprefix("undecided").removeprefix(":")
            row.verdict = f"undecided: stopped by auglab-decide at {row.runs} seeds" + (f";{rest}" if rest else "")
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
    header += (f"\nPrimary metric: **{primary}** ({why}); the other tables describe, they do not decide. {METHOD} "
               f"Family-wise alpha {settings.alpha:g}"
               f"{f', spent over {settings.looks} looks' if settings.looks > 1 else ''}; "
               f"ROPE ±{settings.rope:g}{'' if settings.rope else ' (no equivalence verdict: set --rope)'}.\n")
    budget = sorted({w for rows in tables.values() for w in unequal_budgets(rows)})
    if budget:
        header += ("\n**Unequal compute** (more than 10 %): " + "; ".join(budget) + ". A gain may be the extra "
                   "training: compare at equal optimizer steps (trainer.max_steps, as experiment=fine_food_lowdata "
                   "does).\n")
    options = {"alpha": settings.alpha, "rope": settings.rope, "looks": settings.looks}
    md = header + "\n" + "\n".join(markdown(m, rows, keys, primary=m == primary, **options)
                                     for m, rows in tables.items())
    md += ("\n" + across) if (across := aggregates.markdown(primary, aggregates.across_cells(counted, primary))) else ""
    (out / "report.md").write_text(md)
    (out / "report.tex").write_text("\n".join(latex(m, rows, keys, primary=m == primary) for m, rows in tables.items()))
    (out / "report.csv").write_text(rows_to_csv(tables, keys, primary))
    charts = {"chart": out / "report.png"}
    bar_chart({m: tables[m] for m in metrics if m in CHARTED} or tables, charts["chart"])
    charts["forest"] = plots.forest(primary, tables[primary], out / "forest", rope=settings.rope)[0]
    if curve is not None:
        charts["curve"] = plots.curve(primary, tables[primary], curve, out / "curve")[0]
    if wandb_project is not None:
        where = upload(tables, keys, primary, charts, sweeps=sweeps, out=out, project=wandb_project)
        print(f"W&B run: {where}", file=sys.stderr)
    return md


def main(argv: list[str] | None = None) -> None:
    parser = OneLineParser(prog="auglab-report", description=__doc__.splitlines()[0])
    parser.add_argument("sweeps", type=Path, nargs="+", metavar="SWEEP",
                        help="sweep folder(s), e.g. outputs/multirun/<date>_train_<id>; several are merged")
    parser.add_argument("--out", type=Path, help="where to write the report (default: SWEEP/report)")
    parser.add_argument("--metrics", nargs="+", default=list(HEADLINE), help="metric names to tabulate")
    parser.add_argument("--primary", metavar="METRIC",
                        help="the metric verdicts are about (default: the models' monitor at test time, e.g. test/f1)")
    parser.add_argument("--wandb", action="store_true",
                        help="also log the table and chart as a W&B run (job type report, grouped with the sweep)")
    parser.add_argument("--wandb-project", default="auglab", metavar="NAME", help="W&B project (default: auglab)")
    parser.add_argument("--alpha", type=fraction, default=0.05,
                        help="chance of any false verdict in the report (default 0.05)")
    parser.add_argument("--rope", type=non_negative, default=0.0, metavar="R",
                        help="region of practical equivalence, ± in the metric's units (e.g. 0.005); 0: none")
    parser.add_argument("--effect", type=non_negative, default=None, metavar="E",
                        help="plan seeds for an effect of this size (default: the ROPE; neither: no plan)")
    parser.add_argument("--curve", metavar="OPTION", help="plot Δ vs none against this swept option, e.g. "
                                                          "data.train_per_class")
    args = parser.parse_args(argv)
    settings = Settings(alpha=args.alpha, rope=args.rope, effect=args.effect, primary=args.primary)
    try:
        md = report(args.sweeps, args.out, tuple(args.metrics), args.wandb_project if args.wandb else None,
                    settings=settings, curve=args.curve)
    except AuglabError as err:
        raise _fail(str(err)) from err
    print(md)
    print(f"written to {args.out or args.sweeps[0] / 'report'}/report.{{md,csv,tex,png}}, forest.{{png,pdf}}"
          f"{', curve.{png,pdf}' if args.curve else ''}", file=sys.stderr)


if __name__ == "__main__":
    main()
