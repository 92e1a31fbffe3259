"""Run one Hydra job (docs/architecture.md, "Job identity"): prove the folder is the job's own, skip it when
finished, resume it exactly when interrupted, record failures and keep a sweep going."""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from auglab import ddp_launch, slurm, sweep_console
from auglab.device_slots import SLOT_ENV
from auglab.errors import AuglabError, one_line, root_cause
from auglab.job_identity import RECORD, differences, digest, identity, read_record
from auglab.run_record import code_version, read_json, write_json

log = logging.getLogger(__name__)


INTERRUPTED = "interrupted (Ctrl+C or SIGTERM); run the same command again to resume"


class JobInterrupted(KeyboardInterrupt):
    """Ctrl+C or SIGTERM: the job is recorded ``interrupted`` and the sweep stops."""


def _is_interrupt(err: BaseException) -> bool:
    """Lightning turns Ctrl+C into ``sys.exit(1)`` and SIGTERM into ``SIGTERMException`` (a SystemExit);
    any other ``SystemExit`` is a process ending on purpose (submitit exits after requeueing a job)."""
    return isinstance(err, KeyboardInterrupt | SystemExit)


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


def _close_process_group() -> None:
    """A one-process DDP job runs in this process; the next job of the sweep must start without its group."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()



def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_decision(cfg: DictConfig, out_dir: Path, key: str) -> str:
    """``skip`` (finished), ``resume`` (last.ckpt from an interrupted run of this very job) or ``fresh``."""
    record = read_record(out_dir)
    if record is None:
        return "fresh"
    if record.get("identity_sha256") != key:
        diff = differences(record.get("identity", {}), identity(cfg))[:3]
        raise AuglabError(
            f"{out_dir} holds another job (its value vs this job's: {'; '.join(diff) or 'another identity'}); "
            "it is left untouched. "
            "Move that folder out of the sweep, or use a new hydra.sweep.dir"
        )
    status = read_json(out_dir / "run.json")
    pid = int(status.get("pid", -1))
    if status.get("status") == "running" and status.get("host") == socket.gethostname() and pid != os.getpid() \
            and _pid_alive(pid):
        raise AuglabError(f"{out_dir} is being run by process {pid}; wait for it or stop it first")
    if status.get("status") == "ok" and (out_dir / "metrics.json").exists():
        return "skip"
    return "resume" if (out_dir / "checkpoints" / "last.ckpt").exists() else "fresh"


def _optimized(cfg: DictConfig, metrics: dict[str, float]) -> float | None:
    """What a sweeper gets: the best validation value of ``optimized_metric``, never a test metric."""
    name = cfg.get("optimized_metric")
    value = metrics.get(f"{name}_best") if name else None
    return None if value is None or math.isnan(value) else value  # Optuna records None as a failed trial


def run_job(task: Callable[[DictConfig], dict[str, Any]], cfg: DictConfig) -> float | None:
    """Call ``task(cfg)`` (or supervise its DDP processes); ``run.json`` records how it ended.

    In a sweep a failed job is recorded and the sweep goes on; Ctrl+C / SIGTERM record ``interrupted``
    and stop the sweep (the same command resumes it). In a single run a bad input prints one line.
    """
    if ddp_launch.is_rank_process():
        return ddp_launch.run_rank(task, cfg)
    if slurm.is_secondary_task():  # SLURM started this DDP rank; task 0 decides and keeps the records
        decision, ckpt_path = slurm.await_decision(Path(cfg.paths.output_dir))
        if decision == "run":
            cfg.ckpt_path = ckpt_path or cfg.get("ckpt_path")
            task(cfg)
        return None
    code_version()  # the code this process loaded, before anyone edits the repository during a long sweep
    out_dir = Path(cfg.paths.output_dir)
    multirun = sweep_console.in_sweep()
    info = {"augment": OmegaConf.select(cfg, "augment.name"), "seed": cfg.get("seed"), "task": cfg.get("task_name")}
    started, key = time.time(), None
    info["started_at"] = started
    if os.environ.get(SLOT_ENV):  # hydra/launcher=local_gpus: which GPU / CPU share this job had
        info["slot"] = os.environ[SLOT_ENV]
    if multirun:
        sweep_console.quiet_job_console()

    sweep_dir = Path(HydraConfig.get().sweep.dir) if multirun else out_dir.parent

    def ended(status: str, value: float | None = None, note: str = "") -> None:
        if multirun:
            metric = (cfg.get("optimized_metric"), value) if value is not None else None
            sweep_console.job_ended(sweep_dir, out_dir.name, status, time.time() - started, metric, note)

    owns = False  # whether this process wrote the job's "running" record (only then may it write the end)
    try:
        ident = identity(cfg)
        key = digest(ident)
        decision = _sweep_decision(cfg, out_dir, key) if multirun else "fresh"
        slurm.publish_decision(out_dir, "skip" if decision == "skip" else "run",
                               str(out_dir / "checkpoints" / "last.ckpt") if decision == "resume" else None)
        if decision == "skip":
            log.info("skipping %s: finished in an earlier run of this sweep", out_dir.name)
            value = _optimized(cfg, read_json(out_dir / "metrics.json"))
            ended("skip", value, "finished in an earlier run of this sweep")
            return value
        extra = []
        if decision == "resume":
            last = out_dir / "checkpoints" / "last.ckpt"
            log.info("resuming %s from %s", out_dir.name, last)
            cfg.ckpt_path = str(last)
            extra = [f"ckpt_path={ddp_launch.quote(str(last))}"]
        overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
        if multirun:
            resumed_from = cfg.ckpt_path if decision == "resume" else None
            sweep_console.job_started(out_dir.name, overrides, resumed_from=resumed_from)
        write_json(out_dir / RECORD, {"identity_sha256": key, "overrides": overrides, "identity": ident})
        write_json(out_dir / "run.json", {**info, "status": "running", "pid": os.getpid(),
                                          "host": socket.gethostname(), "identity_sha256": key})
        owns = True
        with _sigterm_interrupts():
            try:
                processes = ddp_launch.processes_to_start(cfg)
                metrics = ddp_launch.supervise(cfg, processes, extra) if processes else task(cfg)
            except MissingMandatoryValue as err:  # a required option (``???``) left unset
                raise AuglabError(f"{err.full_key} is not set; add {err.full_key}=<value> to the command line") from err
    except BaseException as err:
        slurm.publish_decision(out_dir, "abort")  # the other SLURM tasks must not wait for a job that stopped
        interrupted = _is_interrupt(err)
        exiting = isinstance(err, SystemExit) and not isinstance(err, SIGTERMException) and not isinstance(
            err.__context__, KeyboardInterrupt)  # not Lightning's Ctrl+C: e.g. submitit exits after a requeue
        message = INTERRUPTED if interrupted else one_line(err)
        if exiting:
            message = f"the process exited (code {err.code}), e.g. requeued by the cluster; it resumes when run again"
        if owns and (read_record(out_dir) or {}).get("identity_sha256") == key:  # never another job's
            write_json(out_dir / "run.json", {**info, "status": "interrupted" if interrupted else "failed",
                                              "error": message, "traceback": traceback.format_exc(),
                                              "identity_sha256": key, "ended_at": time.time(),
                                              "duration_s": round(time.time() - started, 1)})
        ended("interrupted" if interrupted else "failed", note=message)
        if exiting:
            raise  # let the process end with its own code
        if interrupted:
            raise JobInterrupted(message) from err
        if multirun:
            log.info("job failed (%s); the sweep goes on: %s", out_dir.name, message)  # console: sweep_console
            return None
        if isinstance(root_cause(err), AuglabError):
            print(f"auglab: error: {message}", file=sys.stderr)
            sys.exit(2)
        raise
    finally:
        _finish_wandb()
        _close_process_group()
    write_json(out_dir / "run.json", {**info, "status": "ok", "identity_sha256": key, "ended_at": time.time(),
                                      "duration_s": round(time.time() - started, 1)})
    value = _optimized(cfg, metrics)
    ended("ok", value)
    return value
