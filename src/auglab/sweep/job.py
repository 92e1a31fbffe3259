"""Run one Hydra job (docs/architecture.md, "Job identity"): prove the folder is the job's own, skip it when
finished, resume it exactly when interrupted, record failures and keep a sweep going.

``run_job`` reads top to bottom: decide, begin, run, then record how it ended. ``Job`` holds what those
steps share (the folder, the record, the console); each step is a method of a few lines.
"""

from __future__ import annotations

import logging
import math
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue

from auglab.errors import AuglabError, one_line, root_cause
from auglab.storage.atomic import read_json, write_json
from auglab.storage.code_version import code_version
from auglab.sweep import console, ddp, slurm
from auglab.sweep.decision import FRESH, RESUME, SKIP, decide, last_checkpoint
from auglab.sweep.identity import JOB_RECORD, job_identity, read_record
from auglab.sweep.job_record import JobRecord

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted (Ctrl+C or SIGTERM); run the same command again to resume"
Task = Callable[[DictConfig], dict[str, Any]]


class JobInterrupted(KeyboardInterrupt):
    """Ctrl+C or SIGTERM: the job is recorded ``interrupted`` and the sweep stops."""


def run_job(task: Task, cfg: DictConfig) -> float | None:
    """Call ``task(cfg)`` (or supervise its DDP processes); ``run.json`` records how it ended.

    In a sweep a failed job is recorded and the sweep goes on; Ctrl+C / SIGTERM record ``interrupted``
    and stop the sweep (the same command resumes it). In a single run a bad input prints one line.
    """
    if ddp.is_rank_process():
        return ddp.run_rank(task, cfg)
    if slurm.is_secondary_task():  # SLURM started this DDP rank; task 0 decides and keeps the records
        return slurm.run_secondary_task(task, cfg)
    code_version()  # the code this process loaded, before anyone edits the repository during a long sweep
    job = Job(cfg)
    try:
        decision = job.decide()
        if decision == SKIP:
            return job.skipped()
        job.begin(decision)
        metrics = job.run(task)
    except BaseException as err:
        return job.failed(err)
    finally:
        _finish_wandb()
        ddp.close_process_group(wait_for_peers=False)  # a one-process DDP job ran here: the next job starts clean
    return job.succeeded(metrics)


class Job:
    """One job of a sweep, or a single run: its folder, its ``run.json`` and its console lines."""

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg, self.out_dir = cfg, Path(cfg.paths.output_dir)
        self.multirun = console.in_sweep()
        if self.multirun:
            console.quiet_job_console()
        self.sweep_dir = Path(HydraConfig.get().sweep.dir) if self.multirun else self.out_dir.parent
        self.record = JobRecord(cfg, self.out_dir)
        self.owns = False  # whether this process wrote the job's "running" record (only then may it end it)

    def decide(self) -> str:
        """Skip, resume or start fresh (a single run always starts fresh); tell other SLURM tasks."""
        ident, key, _ = job_identity(self.cfg)
        self.ident, self.record.identity_sha256 = ident, key
        decision = decide(self.cfg, self.out_dir, key) if self.multirun else FRESH
        slurm.publish_decision(self.out_dir, "skip" if decision == SKIP else "run",
                               str(last_checkpoint(self.out_dir)) if decision == RESUME else None)
        return decision

    def skipped(self) -> float | None:
        log.info("skipping %s: finished in an earlier run of this sweep", self.out_dir.name)
        value = optimized(self.cfg, read_json(self.out_dir / "metrics.json"))
        self._console("skip", value, "finished in an earlier run of this sweep")
        return value

    def begin(self, decision: str) -> None:
        """job.json (which job this folder holds) and run.json ``running``, before any work."""
        self.extra_overrides: list[str] = []
        if decision == RESUME:
            last = last_checkpoint(self.out_dir)
            log.info("resuming %s from %s", self.out_dir.name, last)
            self.cfg.ckpt_path = str(last)
            self.extra_overrides = [f"ckpt_path={ddp.quote(str(last))}"]
        overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
        if self.multirun:
            console.job_started(self.out_dir.name, overrides,
                                resumed_from=self.cfg.ckpt_path if decision == RESUME else None)
        write_json(self.out_dir / JOB_RECORD, {"identity_sha256": self.record.identity_sha256,
                                               "overrides": overrides, "identity": self.ident})
        self.record.running()
        self.owns = True

    def run(self, task: Task) -> dict[str, Any]:
        """The task in this process, or as DDP rank processes under a supervisor."""
        with _sigterm_interrupts():
            try:
                processes = ddp.processes_to_start(self.cfg)
                return ddp.supervise(self.cfg, processes, self.extra_overrides) if processes else task(self.cfg)
            except MissingMandatoryValue as err:  # a required option (``???``) left unset
                raise AuglabError(f"{err.full_key} is not set; add {err.full_key}=<value> to the command line") from err

    def succeeded(self, metrics: dict[str, Any]) -> float | None:
        self.record.ended("ok")
        value = optimized(self.cfg, metrics)
        self._console("ok", value)
        return value

    def failed(self, err: BaseException) -> None:
        """Record the failure; a sweep goes on, an interruption stops it, a single run ends in one line."""
        slurm.publish_decision(self.out_dir, "abort")  # the other SLURM tasks must not wait for a job that stopped
        # Lightning turns Ctrl+C into sys.exit(1) and SIGTERM into SIGTERMException (a SystemExit); any other
        # SystemExit is a process ending on purpose (submitit exits after requeueing a job)
        interrupted = isinstance(err, KeyboardInterrupt | SystemExit)
        exiting = isinstance(err, SystemExit) and not isinstance(err, SIGTERMException) and not isinstance(
            err.__context__, KeyboardInterrupt)
        message = INTERRUPTED if interrupted else one_line(err)
        if exiting:
            message = f"the process exited (code {err.code}), e.g. requeued by the cluster; it resumes when run again"
        status = "interrupted" if interrupted else "failed"
        if self.owns and (read_record(self.out_dir) or {}).get("identity_sha256") == self.record.identity_sha256:
            self.record.ended(status, error=message, traceback=traceback.format_exc())  # never another job's
        self._console(status, note=message)
        if exiting:
            raise err  # let the process end with its own code
        if interrupted:
            raise JobInterrupted(message) from err
        if self.multirun:
            log.info("job failed (%s); the sweep goes on: %s", self.out_dir.name, message)
            return None
        if isinstance(root_cause(err), AuglabError):
            print(f"auglab: error: {message}", file=sys.stderr)
            sys.exit(2)
        raise err

    def _console(self, status: str, value: float | None = None, note: str = "") -> None:
        if self.multirun:
            metric = (self.cfg.get("optimized_metric"), value) if value is not None else None
            console.job_ended(self.sweep_dir, self.out_dir.name, status, self.record.elapsed(), metric, note)


def optimized(cfg: DictConfig, metrics: dict[str, float]) -> float | None:
    """What a sweeper gets: the best validation value of ``optimized_metric``, never a test metric."""
    name = cfg.get("optimized_metric")
    value = metrics.get(f"{name}_best") if name else None
    return None if value is None or math.isnan(value) else value  # Optuna records None as a failed trial


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises ``JobInterrupted`` (Lightning calls this handler after its own during fit)."""
    def handler(signum: int, frame: Any) -> None:
        raise JobInterrupted(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _finish_wandb() -> None:
    """Close the W&B run so the next job of a sweep opens its own instead of appending to this one."""
    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:
        wandb.finish()

