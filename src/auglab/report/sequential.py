"""``auglab-decide SWEEP --rope R``: add seeds to a sweep, round by round, only for the strategies still
undecided, until each is decided (``equivalent`` included) or has ``--max-seeds``; then write the report.
Finished jobs never run again: each round is the sweep's own command with ``augment=<undecided>,none
seed=<new seeds>`` and the group's options, in the same ``hydra.sweep.dir``, which job identities extend in
place.

Looking at results and then adding seeds makes a fixed-level test's error rate grow with every look. The
looks are planned once a sweep can test (every strategy at ``--start-seeds`` paired seeds, run first if
missing, not a look) and kept in ``SWEEP/sequential.json``: each look decides at alpha / looks, and within a
look every comparison at that / comparisons (Bonferroni twice: valid whatever earlier looks decided and
whichever strategies stopped). A strategy that even an optimistic effect would leave undecided at
``--max-seeds`` stops early, undecided (futility: it never makes a verdict, so the bound holds). A ROPE is
required: without one a strategy with no effect can never be
decided, so it would take every seed. ``auglab-report`` reads the plan and applies the same level. How
many seeds this saves against a fixed design of equal power, by simulation: docs/verdicts.md.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

from omegaconf import OmegaConf

from auglab.errors import AuglabError
from auglab.report.command_line import OneLineParser, fail, fraction, non_negative
from auglab.report.jobs import Job, load_jobs
from auglab.report.tables import BASELINE, Settings, aggregate, primary_metric
from auglab.report.verdicts import futile
from auglab.storage.atomic import read_json, write_json

PLAN = "sequential.json"
PROG = "auglab-decide"


def planned_looks(sweep: Path) -> int:
    """How many looks the sweep's seeds were planned for (1: none were added after looking)."""
    return int(read_json(sweep / PLAN).get("looks", 1))


def stopped_as_futile(sweep: Path) -> dict[str, list[str]]:
    """Group (its options joined by ", ") -> the strategies auglab-decide stopped as futile."""
    return read_json(sweep / PLAN).get("stopped", {})


def looks_for(start_seeds: int, max_seeds: int, per_round: int) -> int:
    """One look at ``start_seeds``, then one after each round of ``per_round`` seeds up to ``max_seeds``."""
    return 1 + max(0, math.ceil((max_seeds - start_seeds) / per_round))


def command_line(sweep: Path) -> list[str]:
    """The overrides the sweep was started with (Hydra's record in ``multirun.yaml``), sweep folder excluded."""
    record = sweep / "multirun.yaml"
    if not record.is_file():
        raise AuglabError(f"{record} not found: point auglab-decide at a folder that auglab-train -m made")
    overrides = OmegaConf.load(record).hydra.overrides
    given = [*overrides.get("hydra", []), *overrides.get("task", [])]
    return [o for o in given if not o.startswith(("hydra.sweep.dir=", "hydra.mode="))]


def round_command(base: list[str], group: tuple[str, ...], strategies: list[str], seeds: list[int],
                  sweep: Path) -> list[str]:
    fixed = {item.split("=", 1)[0] for item in group} | {"augment", "seed"}
    kept = [o for o in base if o.lstrip("+~").split("=", 1)[0] not in fixed]
    return [sys.executable, "-m", "auglab.train", "-m", *kept, *group, f"augment={','.join([*strategies, BASELINE])}",
            f"seed={','.join(map(str, seeds))}", f"hydra.sweep.dir={sweep}"]


def _finished(sweep: Path) -> list[Job]:
    return [j for j in load_jobs([sweep]) if j.status != "unverified"]


def _seeds(jobs: list[Job], group: tuple[str, ...], strategy: str) -> list[int]:
    return sorted(j.seed for j in jobs if j.group == group and j.strategy == strategy and j.status == "ok"
                  and j.seed is not None)


def _warm_up(jobs: list[Job], start_seeds: int) -> dict[str, list]:
    """Per group: every strategy and the seeds it lacks below ``start_seeds`` (no look is spent on them)."""
    todo = {}
    for group in sorted({j.group for j in jobs}):
        names = sorted({j.strategy for j in jobs if j.group == group} - {BASELINE})
        missing = sorted({s for name in [*names, BASELINE] for s in range(start_seeds)
                          if s not in _seeds(jobs, group, name)})
        if names and missing:
            todo[", ".join(group)] = [list(group), names, missing]
    return todo


def _next_round(jobs: list[Job], settings: Settings, *, max_seeds: int, per_round: int, futility: float,
                stopped: dict[str, list[str]]) -> dict[str, list]:
    """Per group: the strategies still open at this look, and the seeds their next round adds. An undecided
    strategy that is futile (``verdicts.futile``) is added to ``stopped`` instead, and stays there."""
    todo = {}
    for row in aggregate(jobs, settings.primary, settings):
        key, c = ", ".join(row.group), row.comparison
        if row.strategy == BASELINE or not row.verdict.startswith("undecided") or row.strategy in stopped.get(key, []):
            continue
        seeds = _seeds(jobs, row.group, row.strategy)
        have = len(set(_seeds(jobs, row.group, BASELINE)) & set(seeds))
        if have >= max_seeds:
            continue
        if futility > 0 and c is not None and c.testable and bool(futile(
                c.mean, c.seed_variance, c.seeds, c.shared_test_variance, level=c.level, max_seeds=max_seeds,
                rope=settings.rope, threshold=futility)):
            stopped.setdefault(key, []).append(row.strategy)
            continue
        first = max(seeds, default=-1) + 1
        entry = todo.setdefault(key, [list(row.group), [], []])
        entry[1].append(row.strategy)
        entry[2] = sorted(set(entry[2]) | set(range(first, first + min(per_round, max_seeds - have))))
    return todo


def _run_round(sweep: Path, todo: dict[str, list], dry_run: bool) -> None:
    for group, names, seeds in todo.values():
        command = round_command(command_line(sweep), tuple(group), names, seeds, sweep)
        print(f"{PROG}:", " ".join(command[2:]), file=sys.stderr)
        if not dry_run and subprocess.run(command, check=False).returncode != 0:
            raise AuglabError(f"the round for {', '.join(group) or 'the sweep'} failed; see the sweep's console "
                              "above, fix it and run auglab-decide again (finished jobs are kept)")


def _round_minutes(jobs: list[Job], todo: dict[str, list]) -> float:
    """A round's expected wall time from the jobs that finished so far: their mean duration, as many at once as
    the launcher's slots they ran in."""
    durations = [j.duration_s for j in jobs if j.status == "ok" and j.duration_s]
    per_job = sum(durations) / len(durations) if durations else 0.0
    at_once = max(1, len({j.slot for j in jobs if j.slot is not None}))
    count = sum((len(names) + 1) * len(seeds) for _, names, seeds in todo.values())
    return per_job * math.ceil(count / at_once) / 60


def _plan(sweep: Path, settings: Settings, *, start_seeds: int, max_seeds: int, per_round: int,
          futility: float) -> dict:
    plan = read_json(sweep / PLAN)
    asked = {"alpha": settings.alpha, "rope": settings.rope, "metric": settings.primary, "max_seeds": max_seeds,
             "start_seeds": start_seeds, "per_round": per_round, "futility": futility}
    if not plan:
        plan = {"looks": looks_for(start_seeds, max_seeds, per_round), **asked, "rounds": []}
        write_json(sweep / PLAN, plan)
    changed = [f"{k}={plan.get(k)!r}" for k, v in asked.items() if plan.get(k) != v]
    if changed:
        raise AuglabError(f"{sweep / PLAN} planned this sweep's looks with {', '.join(changed)}: run with the same "
                          "options, or start a new sweep folder (changing them after looking breaks the error rate)")
    return plan


def run(sweep: Path, *, settings: Settings, max_seeds: int, per_round: int, start_seeds: int = 3,
        futility: float = 0.2, budget_minutes: float | None = None, dry_run: bool = False) -> int:
    """Rounds until every strategy is decided or has ``max_seeds``; returns the number of rounds run."""
    began = time.monotonic()
    if not sweep.is_dir():
        raise AuglabError(f"{sweep} is not a folder; pass a sweep folder of auglab-train -m")
    jobs = _finished(sweep)
    if not any(j.status == "ok" for j in jobs):
        raise AuglabError(f"{sweep}: no finished job; run the sweep (auglab-train -m ...) first")
    requested = settings.primary
    metric = primary_metric(jobs, requested, "--metric")[0]
    settings = Settings(settings.alpha, settings.rope, settings.effect, 1, metric)
    most = max(len(_seeds(jobs, j.group, j.strategy)) for j in jobs)
    if max_seeds < most:
        raise AuglabError(f"--max-seeds {max_seeds}: the sweep already has {most} seeds of a strategy; "
                          f"use --max-seeds >= {most}")
    warm = _warm_up(jobs, start_seeds)
    if warm and not (sweep / PLAN).exists():  # the first look needs a sweep that can test
        print(f"{PROG}: bringing every strategy to {start_seeds} seeds before the first look", file=sys.stderr)
        _run_round(sweep, warm, dry_run)
        if dry_run:
            return 0
        jobs = _finished(sweep)
    plan = _plan(sweep, settings, start_seeds=start_seeds, max_seeds=max_seeds, per_round=per_round,
                 futility=futility)
    settings.looks = int(plan["looks"])
    rounds = 0
    if plan["rounds"] and not plan["rounds"][-1].get("done"):  # killed during a round: finish that one
        _run_round(sweep, plan["rounds"][-1]["todo"], dry_run)
        plan["rounds"][-1]["done"] = True
        write_json(sweep / PLAN, plan)
        jobs = _finished(sweep)
    stopped = plan.setdefault("stopped", {})
    while True:
        todo = _next_round(jobs, settings, max_seeds=max_seeds, per_round=per_round, futility=futility,
                           stopped=stopped)
        look = len(plan["rounds"]) + 1
        if not todo or look >= plan["looks"]:
            why = "every strategy decided or at --max-seeds" if not todo else "the planned looks are spent"
            break
        if budget_minutes is not None and (time.monotonic() - began) / 60 + _round_minutes(jobs, todo) > budget_minutes:
            why = f"the next round would pass the {budget_minutes:g}-minute budget (run again to go on)"
            break
        plan["rounds"].append({"look": look, "todo": todo, "done": False})  # recorded once, before it runs
        write_json(sweep / PLAN, plan)
        _run_round(sweep, todo, dry_run)
        rounds += 1
        if dry_run:
            return rounds
        plan["rounds"][-1]["done"] = True
        write_json(sweep / PLAN, plan)
        jobs = _finished(sweep)
    undecided = sum(r.verdict.startswith("undecided") for r in aggregate(jobs, metric, settings)
                    if r.strategy != BASELINE)
    write_json(sweep / PLAN, plan)
    futile_ones = [f"{name} ({group})" if group else name for group, names in stopped.items() for name in names]
    print(f"{PROG}: stopped after {rounds} round(s) this call, {look} of {plan['looks']} looks: {why}; "
          f"undecided: {undecided}" + (f", of which stopped as unlikely to be decided by --max-seeds: "
                                       f"{', '.join(futile_ones)}" if futile_ones else ""), file=sys.stderr)
    if not dry_run:
        from auglab.report import report  # the package's entry point imports this module

        report(sweep, settings=Settings(settings.alpha, settings.rope, settings.effect, 1, requested))
        print(f"{PROG}: report written to {sweep / 'report'}", file=sys.stderr)
    return rounds


def main(argv: list[str] | None = None) -> None:
    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, metavar="SWEEP", help="a sweep folder of auglab-train -m")
    parser.add_argument("--rope", type=non_negative, required=True, metavar="R",
                        help="region of practical equivalence, ± in the metric's units: a strategy inside it is "
                             "decided 'equivalent' and stops (required)")
    parser.add_argument("--metric", help="the metric verdicts are about (default: the models' monitor at test time)")
    parser.add_argument("--max-seeds", type=int, default=10, help="stop adding at this many seeds per strategy")
    parser.add_argument("--start-seeds", type=int, default=3, help="seeds every strategy has before the first look")
    parser.add_argument("--seeds-per-round", type=int, default=2)
    parser.add_argument("--alpha", type=fraction, default=0.05)
    parser.add_argument("--effect", type=non_negative, default=None)
    parser.add_argument("--futility", type=float, default=0.2, metavar="P",
                        help="stop an undecided strategy when even an optimistic effect gives it less than this chance "
                             "of a verdict by --max-seeds (0: never; default 0.2)")
    parser.add_argument("--budget-minutes", type=float, default=None, metavar="T",
                        help="start no round that would end after T minutes (estimated from the jobs so far)")
    parser.add_argument("--dry-run", action="store_true", help="print the next round's command, run nothing")
    args = parser.parse_args(argv)
    if args.rope <= 0:
        fail(PROG, f"--rope {args.rope:g}: must be > 0: without a region of practical equivalence a strategy with "
                   "no effect is never decided and takes every seed (e.g. --rope 0.005)")
    if args.start_seeds < 2 or args.max_seeds < args.start_seeds or args.seeds_per_round < 1:
        fail(PROG, f"--start-seeds {args.start_seeds}, --max-seeds {args.max_seeds}, --seeds-per-round "
                   f"{args.seeds_per_round}: need 2 <= start-seeds <= max-seeds and seeds-per-round >= 1")
    if not 0 <= args.futility < 1:
        fail(PROG, f"--futility {args.futility:g}: must be in [0, 1), e.g. 0.2")
    if args.budget_minutes is not None and not args.budget_minutes > 0:
        fail(PROG, f"--budget-minutes {args.budget_minutes:g}: must be > 0")
    try:
        run(args.sweep, settings=Settings(args.alpha, args.rope, args.effect, 1, args.metric),
            max_seeds=args.max_seeds, per_round=args.seeds_per_round, start_seeds=args.start_seeds,
            futility=args.futility, budget_minutes=args.budget_minutes, dry_run=args.dry_run)
    except AuglabError as err:
        fail(PROG, str(err))


if __name__ == "__main__":
    main()
