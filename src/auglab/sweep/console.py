"""What a sweep prints: a line when a job starts, a line when it ends (status, key metric, duration) with
the sweep's progress (done / total, elapsed, estimated time left), and not every job's per-epoch bars.

Jobs may run in other processes (joblib, submitit, Ray), so progress goes through two files in the
sweep folder: the launcher writes the total, each job appends a line when it ends.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

from auglab.storage.atomic import read_json, write_json

SWEEP_ENV = "AUGLAB_SWEEP_JOB"  # set in the DDP ranks of a sweep job (they run as single Hydra runs)
PROGRESS = ".sweep_progress.json"  # {"session": the sweep process's SESSION, "total": jobs, "started": time}
ENDED = ".sweep_ended.jsonl"  # one line per job that ended in this session
SESSION = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # pids repeat (containers start at 1): add a random part


def begin(sweep_dir: Path, total: int, *, planned: bool = False) -> None:
    """``total`` jobs are about to run. A launcher called batch by batch adds them up, unless the sweeper
    announced the whole number first (``planned``, e.g. an Optuna search's trials)."""
    state = read_json(sweep_dir / PROGRESS)
    if state.get("session") == SESSION and not planned:
        if not state.get("planned"):
            state["total"] += total
    else:  # a new sweep, or the same one run again: count from here
        state = {"session": SESSION, "total": total, "started": time.time(), "planned": planned}
        (sweep_dir / ENDED).unlink(missing_ok=True)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    write_json(sweep_dir / PROGRESS, state)


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``: short enough for one console line."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def say(line: str) -> None:
    """A sweep console line (stderr, where Hydra's own lines go)."""
    print(line, file=sys.stderr, flush=True)


def in_sweep() -> bool:
    """Whether this process runs a job of a ``-m`` sweep (or is a DDP rank of one)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if os.environ.get(SWEEP_ENV):
        return True
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def job_started(job: str, overrides: list[str], *, resumed_from: Path | None = None) -> None:
    """The start line: the job's folder name and its overrides (or where it resumes from)."""
    what = f"resuming {job} from {resumed_from}" if resumed_from else f"start       {job}"
    say(f"[sweep] {what}  {' '.join(overrides)}".rstrip())


def job_ended(sweep_dir: Path, job: str, status: str, seconds: float, metric: tuple[str, float] | None = None,
              note: str = "") -> None:
    """Print the end of a job with the sweep's progress. Progress is best effort: a shared file system
    that tears a line, or a launcher that announced no total, never fails the job."""
    shown = f"  {metric[0]}={metric[1]:.4f}" if metric and metric[1] is not None else ""
    note = f"  {note}" if note else ""
    progress = ""
    try:
        state = read_json(sweep_dir / PROGRESS)
        if state.get("total"):
            with open(sweep_dir / ENDED, "a") as f:  # O_APPEND: lines from parallel jobs do not interleave
                f.write(json.dumps({"job": job, "status": status, "session": state["session"]}) + "\n")
            done = _ended_in_session(sweep_dir, state["session"])
            elapsed = time.time() - state["started"]
            left = elapsed / done * max(state["total"] - done, 0)
            progress = f"  | {done}/{state['total']} done, {duration(elapsed)} elapsed, ~{duration(left)} left"
    except (OSError, ValueError, KeyError, TypeError) as err:
        logging.getLogger(__name__).warning("sweep progress unavailable: %s", err)
    say(f"[sweep] {status:<11} {job}  {duration(seconds)}{shown}{note}{progress}")


def _ended_in_session(sweep_dir: Path, session: Any) -> int:
    done = 0
    for line in (sweep_dir / ENDED).read_text().splitlines():
        try:
            done += json.loads(line).get("session") == session
        except ValueError:  # a torn line (network file systems): skip it
            continue
    return max(done, 1)


def quiet_job_console() -> None:
    """In a sweep, the console shows only warnings from a job; its log file (``<job>/<task>.log``) keeps all.

    Lightning's loggers have their own console handlers ("lightning" always, "lightning.pytorch" when
    imported before Hydra configures logging, without propagating): they lose them and propagate to
    Hydra's, so their lines ("Restoring states from the checkpoint ...") land in the job's log file too.
    """
    # torch renamed a class Lightning still checks for: one deprecation line per job, nothing to act on
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    # metrics are logged once per epoch (models/base.py), so a short epoch loses nothing to this interval
    warnings.filterwarnings("ignore", message=r".*smaller than the logging interval")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        lightning_log = logging.getLogger(name)
        for handler in list(lightning_log.handlers):
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                lightning_log.removeHandler(handler)
        lightning_log.propagate = True
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setLevel(logging.WARNING)
