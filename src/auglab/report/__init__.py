"""``auglab-report SWEEP [SWEEP ...]``: one table per metric over sweeps' jobs.

A row per strategy, and per value of every other option that varies between the jobs (e.g.
``data.train_per_class`` x ``augment``, or ``model`` x ``augment`` when two sweeps are merged):
finished runs, failed or missing runs, mean, 95% confidence interval over seeds (Student t) and the
paired difference to ``none`` in the same group. Written as Markdown, CSV, LaTeX and a bar chart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from auglab.errors import AuglabError
from auglab.report.jobs import Job, load_jobs
from auglab.report.render import bar_chart, csv, latex, markdown
from auglab.report.tables import aggregate
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


def report(sweeps: Path | list[Path], out: Path | None = None, metrics: tuple[str, ...] = HEADLINE,
           wandb_project: str | None = None) -> str:
    """Write report.md, report.csv, report.tex and report.png; return the Markdown.

    ``wandb_project``: also log the table and chart as a W&B run in that project (``report/wandb_upload.py``).
    """
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
    tables = {m: aggregate(counted, m) for m in metrics}
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
    md = header + "\n" + "\n".join(markdown(m, rows, keys) for m, rows in tables.items())
    (out / "report.md").write_text(md)
    (out / "report.tex").write_text("\n".join(latex(m, rows, keys) for m, rows in tables.items()))
    (out / "report.csv").write_text(csv(tables, keys))
    charts = {"chart": out / "report.png"} if tables else {}
    if tables:
        bar_chart({m: tables[m] for m in metrics if m in CHARTED} or tables, charts["chart"])
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
    args = parser.parse_args(argv)
    try:
        md = report(args.sweeps, args.out, tuple(args.metrics), args.wandb_project if args.wandb else None)
    except AuglabError as err:
        raise _fail(str(err)) from err
    print(md)
    print(f"written to {args.out or args.sweeps[0] / 'report'}/report.{{md,csv,tex,png}}", file=sys.stderr)


if __name__ == "__main__":
    main()
