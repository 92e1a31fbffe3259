"""``auglab-decide SWEEP``: add seeds to a sweep, round by round, only for the strategies still undecided,
until each is decided or ``--max-seeds`` is reached. Finished jobs are never run again: each round is the
sweep's own command with ``augment=<undecided>,none seed=<new seeds>`` and the group's options, in the
same ``hydra.sweep.dir``, which job identities extend in place.

Looking at results and then adding seeds makes a fixed-level test's error rate grow with every look. The
procedure spends alpha evenly over the looks it can take, planned at the first call and kept in
``SWEEP/sequential.json``: each look decides at alpha / looks (Bonferroni over looks), valid whatever
earlier looks decided; ``auglab-report`` reads the file and applies the same level.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from pathlib import Path

from omegaconf import OmegaConf

from auglab.errors import AuglabError
from auglab.report.jobs import load_jobs
from auglab.report.tables import BASELINE, Settings, aggregate
from auglab.storage.atomic import read_json, write_json

PLAN = "sequential.json"


def planned_looks(sweep: Path) -> int:
    """How many looks the sweep's seeds were planned for (1: none were added after looking)."""
    return int(read_json(sweep / PLAN).get("looks", 1))


def command_line(sweep: Path) -> list[str]:
    """The overrides the sweep was started with (Hydra's record in ``multirun.yaml``), sweep folder excluded."""
    record = sweep / "multirun.yaml"
    if not record.is_file():
        raise AuglabError(f"{record} not found: point auglab-decide at a folder that auglab-train -m made")
    overrides = OmegaConf.load(record).hydra.overrides
    given = [*overrides.get("hydra", []), *overrides.get("task", [])]
    return [o for o in given if not o.startswith(("hydra.sweep.dir=", "hydra.mode="))]


def undecided(sweep: Path, metric: str, settings: Settings) -> dict[tuple[str, ...], tuple[list[str], list[int]]]:
    """Per group: its undecided strategies and the seeds it has."""
    jobs = [j for j in load_jobs([sweep]) if j.status != "unverified"]
    rows = aggregate(jobs, metric, settings)
    open_questions: dict[tuple[str, ...], tuple[list[str], list[int]]] = {}
    for row in rows:
        if row.strategy != BASELINE and row.verdict.startswith("undecided"):
            seeds = sorted({j.seed for j in jobs if j.group == row.group and j.seed is not None})
            open_questions.setdefault(row.group, ([], seeds))[0].append(row.strategy)
    return open_questions


def round_command(base: list[str], group: tuple[str, ...], strategies: list[str], seeds: list[int],
                  sweep: Path) -> list[str]:
    fixed = {item.split("=", 1)[0] for item in group} | {"augment", "seed"}
    kept = [o for o in base if o.lstrip("+~").split("=", 1)[0] not in fixed]
    return [sys.executable, "-m", "auglab.train", "-m", *kept, *group, f"augment={','.join([*strategies, BASELINE])}",
            f"seed={','.join(map(str, seeds))}", f"hydra.sweep.dir={sweep}"]


def run(sweep: Path, *, metric: str, settings: Settings, max_seeds: int, per_round: int, dry_run: bool = False) -> int:
    """Rounds until every strategy is decided or has ``max_seeds``; returns the number of rounds run."""
    plan = read_json(sweep / PLAN)
    start = max((s for _, seeds in undecided(sweep, metric, Settings(**{**settings.__dict__, "looks": 1})).values()
                 for s in seeds), default=-1) + 1
    if not plan:  # plan the looks before the first one: this one, then one per round of new seeds
        plan = {"looks": 1 + max(0, math.ceil((max_seeds - start) / per_round)), "alpha": settings.alpha,
                "metric": metric, "max_seeds": max_seeds, "rounds": []}
        write_json(sweep / PLAN, plan)
    settings = Settings(settings.alpha, settings.rope, settings.effect, int(plan["looks"]))
    rounds = 0
    while True:
        questions = undecided(sweep, metric, settings)
        todo = {g: (names, list(range(max(seeds) + 1, min(max(seeds) + 1 + per_round, max_seeds))))
                for g, (names, seeds) in questions.items() if seeds and max(seeds) + 1 < max_seeds}
        todo = {g: v for g, v in todo.items() if v[1]}
        if not todo or len(plan["rounds"]) + 1 >= plan["looks"]:
            print(f"auglab-decide: {'every strategy decided' if not questions else 'stopped at the planned looks'}"
                  f" after {rounds} round(s); undecided: {sum(len(v[0]) for v in questions.values())}", file=sys.stderr)
            return rounds
        for group, (names, seeds) in todo.items():
            command = round_command(command_line(sweep), group, names, seeds, sweep)
            print("auglab-decide:", " ".join(command[2:]), file=sys.stderr)
            if not dry_run and subprocess.run(command, check=False).returncode != 0:
                raise AuglabError(f"the round for {group} failed; see the sweep's console above")
        plan["rounds"].append({group_key: [names, seeds] for group_key, (names, seeds) in
                               ((", ".join(g) or "all", v) for g, v in todo.items())})
        write_json(sweep / PLAN, plan)
        rounds += 1
        if dry_run:
            return rounds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="auglab-decide", description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, metavar="SWEEP", help="a sweep folder of auglab-train -m")
    parser.add_argument("--metric", default="test/acc", help="the metric verdicts are about (default test/acc)")
    parser.add_argument("--max-seeds", type=int, default=10, help="stop adding at this many seeds per strategy")
    parser.add_argument("--seeds-per-round", type=int, default=2)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--rope", type=float, default=0.0)
    parser.add_argument("--effect", type=float, default=None)
    parser.add_argument("--dry-run", action="store_true", help="print the next round's command, run nothing")
    args = parser.parse_args(argv)
    if args.max_seeds < 2 or args.seeds_per_round < 1:
        raise SystemExit("auglab-decide: error: --max-seeds must be >= 2 and --seeds-per-round >= 1")
    try:
        run(args.sweep, metric=args.metric, settings=Settings(args.alpha, args.rope, args.effect),
            max_seeds=args.max_seeds, per_round=args.seeds_per_round, dry_run=args.dry_run)
    except AuglabError as err:
        raise SystemExit(f"auglab-decide: error: {err}") from err


if __name__ == "__main__":
    main()
