"""``python -m auglab.report.publish experiments/*/README.md [--check]``: a study's results tables are the
report's, not hand-copied. Each table sits between markers that say how it is made,

    <!-- auglab-report report.csv --primary test/acc --rope 0.005 -->
    ...generated, do not edit...
    <!-- /auglab-report -->

with ``reread``'s options and the CSV's path relative to the README (``--figures`` also redraws the forest
plot, and ``--curve OPTION`` the curve, beside the CSV). Publishing rewrites every block from its CSV with
today's statistic; ``--check`` writes nothing and fails, naming the README, when a block differs from what the
report gives (a test runs it on every study).
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path

from auglab.report.command_line import CommandError
from auglab.report.reread import run

BLOCK = re.compile(r"(?P<open><!-- auglab-report (?P<args>[^\n]*?) -->\n)(?P<body>.*?)"
                   r"(?P<close><!-- /auglab-report -->)", re.S)


def generated(readme: Path, *, figures: bool = False) -> str:
    """The README with every marked block rebuilt from its report (and, with ``figures``, the figures a
    block's ``--figures`` asks for)."""
    text = readme.read_text()

    def rebuild(match: re.Match) -> str:
        argv = shlex.split(match["args"])
        if not argv:
            raise CommandError(f"{readme}: an auglab-report marker names no report.csv")
        argv[0] = str(readme.parent / argv[0])
        table = run(argv, f"{readme}: auglab-report marker", figures=figures)
        return f"{match['open']}{table.rstrip()}\n{match['close']}"

    return BLOCK.sub(rebuild, text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m auglab.report.publish", description=__doc__.splitlines()[0])
    parser.add_argument("readmes", type=Path, nargs="+")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a table is out of date")
    args = parser.parse_args(argv)
    stale = []
    for readme in args.readmes:
        text = generated(readme, figures=not args.check)
        if text != readme.read_text():
            stale.append(readme)
            if not args.check:
                readme.write_text(text)
    if args.check and stale:
        print(f"tables out of date in {', '.join(map(str, stale))}: run python -m auglab.report.publish on them",
              file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
