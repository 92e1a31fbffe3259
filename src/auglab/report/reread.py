"""``python -m auglab.report.reread REPORT.csv [--primary test/acc] [--rope R]``: a report's table decided again
with today's statistic from its ``report.csv`` alone (no sweep folder, no re-training), as Markdown.

The CSV keeps each comparison's summary -- mean paired difference, seeds, their spread, the shared test-set
variance -- so the verdicts are the report's own. Older reports are read as well (``report_csv.py``): where
they kept no test-set part the intervals are about their test set only (``*``), and where they kept the
old, larger one it stands in for the shared part as an upper bound (``‡``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from auglab.errors import AuglabError
from auglab.report import plots
from auglab.report.command_line import OneLineParser, fail, fraction, non_negative
from auglab.report.render import markdown
from auglab.report.report_csv import primary_of, read_rows
from auglab.report.tables import Settings, finish, order_rows


def reread(path: Path, settings: Settings | None = None, *, secondary: tuple[str, ...] = (),
           independent_test_sets: bool = False, figures: bool = False, curve: str | None = None) -> str:
    """The primary metric's table (verdicts over all its rows as one family), then ``secondary`` tables. With
    ``figures``, the forest plot (and with ``curve`` the curve over that option) beside the CSV, named after it
    (``report_x.csv`` -> ``forest_x.png`` / ``.pdf``)."""
    settings = settings or Settings()
    tables, keys = read_rows(path, independent_test_sets=independent_test_sets)
    primary = settings.primary or primary_of(path) or next(iter(tables), None)
    for metric in (primary, *secondary):
        if metric not in tables:
            raise AuglabError(f"{metric}: not a metric of {path}; it has {', '.join(tables) or 'none'}")
    if curve is not None and curve not in keys:
        raise AuglabError(f"--curve {curve}: not a group column of {path}; it has {', '.join(keys) or 'none'}")
    options = {"alpha": settings.alpha, "rope": settings.rope, "looks": settings.looks}
    rows = order_rows(finish(tables[primary], primary, settings, primary=True), primary)
    parts = [markdown(primary, rows, keys, primary=True, **options)]
    if figures:
        plots.forest(primary, rows, path.with_name(path.stem.replace("report", "forest", 1)), rope=settings.rope)
        if curve is not None:
            plots.curve(primary, rows, curve, path.with_name(path.stem.replace("report", "curve", 1)))
    parts += [markdown(m, order_rows(finish(tables[m], m, settings, primary=False), m), keys, primary=False, **options)
              for m in secondary if m != primary]
    return "\n".join(parts)


def parser(prog: str = "python -m auglab.report.reread") -> OneLineParser:
    """The options a re-read takes (also those of a study README's table marker, ``publish.py``)."""
    p = OneLineParser(prog=prog, description=__doc__.splitlines()[0])
    p.add_argument("csv", type=Path)
    p.add_argument("--primary", metavar="METRIC", help="the metric decided (default: the report's own primary)")
    p.add_argument("--secondary", nargs="+", default=[], metavar="METRIC", help="metrics described, not decided")
    p.add_argument("--alpha", type=fraction, default=0.05)
    p.add_argument("--rope", type=non_negative, default=0.0)
    p.add_argument("--effect", type=non_negative, default=None)
    p.add_argument("--looks", type=int, default=1, help="looks a sequential study planned (sequential.json)")
    p.add_argument("--independent-test-sets", action="store_true",
                   help="each seed drew its own test set (an old report could not record it)")
    p.add_argument("--figures", action="store_true", help="also draw the forest plot beside the CSV")
    p.add_argument("--curve", metavar="OPTION", help="with --figures, also the curve over this group column")
    return p


def run(argv: list[str], prog: str, *, figures: bool = True) -> str:
    """Parse ``argv`` and re-read; ``figures=False`` ignores ``--figures`` (publish's --check writes nothing)."""
    args = parser(prog).parse_args(argv)
    if args.looks < 1:
        fail(prog, f"--looks {args.looks}: must be an integer >= 1")
    settings = Settings(alpha=args.alpha, rope=args.rope, effect=args.effect, looks=args.looks, primary=args.primary)
    try:
        return reread(args.csv, settings, secondary=tuple(args.secondary),
                      independent_test_sets=args.independent_test_sets, figures=args.figures and figures,
                      curve=args.curve)
    except AuglabError as err:
        fail(prog, str(err))


def main(argv: list[str] | None = None) -> None:
    print(run(sys.argv[1:] if argv is None else argv, "python -m auglab.report.reread"))


if __name__ == "__main__":
    main()
