"""DDP jobs: a supervisor process and one child process per rank, as torchrun does (docs/architecture.md, "DDP").

Lightning's own launcher makes the calling process rank 0 and re-executes ``sys.argv`` for the other
ranks. Inside a Hydra sweep that re-runs the whole sweep, hands only rank 0 the job's resume
checkpoint, and lets Lightning's child observer SIGKILL the sweep process when a child fails. Here
the sweep process never joins the process group: it starts every rank with the job's own overrides
(the same ``ckpt_path`` for all), watches them, and when one fails it kills every process of the job
(process groups, DataLoader workers included), records the failing rank's one-line cause and
returns. The ranks see ``LOCAL_RANK`` etc., so Lightning treats them as externally launched.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from auglab.errors import AuglabError, one_line
from auglab.sweep import console as sweep_console

log = logging.getLogger(__name__)

RANK_ENV = "AUGLAB_DDP_RANK"  # set in the processes this module starts
GRACE_S = 10.0  # after Ctrl+C / SIGTERM, how long ranks get to stop before SIGKILL


def is_rank_process() -> bool:
    return RANK_ENV in os.environ


def quote(value: str) -> str:
    """A Hydra override value, quoted when it holds characters the override grammar treats specially."""
    if re.fullmatch(r"[\w/.:@+-]+", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def processes_to_start(cfg: DictConfig) -> int:
    """How many rank processes this job needs from us: 0 unless Lightning would re-execute the script.

    Asked of a Trainer built from the job's trainer config (no loggers, no callbacks): what it would do
    depends on ``devices="auto"``, the accelerator found and the cluster environment (SLURM, torchrun),
    which only Lightning's own resolution answers exactly; a copy of that logic here would drift from it."""
    if "trainer" not in cfg:
        return 0
    from hydra.utils import instantiate
    from lightning.pytorch.strategies import DDPStrategy
    from lightning.pytorch.strategies.launchers.subprocess_script import _SubprocessScriptLauncher

    quiet = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # the probe Trainer would print the device summary once more
    try:
        trainer = instantiate(cfg.trainer, logger=False, callbacks=[], enable_checkpointing=False)
    finally:
        quiet.setLevel(level)
    strategy = trainer.strategy
    launches = isinstance(strategy, DDPStrategy) and isinstance(strategy.launcher, _SubprocessScriptLauncher)
    if not launches or strategy.cluster_environment.creates_processes_externally or trainer.num_nodes != 1:
        return 0  # one process, or a cluster (SLURM, torchrun) that starts the ranks itself
    return strategy.num_processes if strategy.num_processes > 1 else 0


def _script_command() -> list[str]:
    """The command that started this process, without its arguments (a console script or ``-m``)."""
    import __main__

    spec = getattr(__main__, "__spec__", None)
    if spec is None:
        return [sys.executable, os.path.abspath(sys.argv[0])]
    return [sys.executable, "-m", spec.name]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_supervisor() -> None:
    """Runs in each rank before it starts: the kernel SIGKILLs it when the supervisor dies, even by
    ``kill -9`` (Linux ``PR_SET_PDEATHSIG``); its DataLoader workers follow their dead parent."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def _rank_record(out_dir: Path, rank: int) -> Path:
    return out_dir / "ranks" / f"{rank}.json"


def _kill(procs: list[subprocess.Popen], sig: int) -> None:
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)  # the rank and its DataLoader workers
            except ProcessLookupError:
                pass


def _stop_all(procs: list[subprocess.Popen], grace_s: float) -> None:
    """SIGTERM, then SIGKILL whatever still runs after ``grace_s``; reap every process."""
    if grace_s > 0:
        _kill(procs, signal.SIGTERM)
        deadline = time.time() + grace_s
        while time.time() < deadline and any(p.poll() is None for p in procs):
            time.sleep(0.1)
    _kill(procs, signal.SIGKILL)
    for proc in procs:
        proc.wait()


def _failure(out_dir: Path, rank: int, code: int) -> str:
    try:
        error = json.loads(_rank_record(out_dir, rank).read_text())["error"]
    except (OSError, ValueError, KeyError):
        error = "killed by a signal (out of memory?)" if code < 0 else "no error recorded"
    return f"rank {rank} failed (exit code {code}): {error}"


def supervise(cfg: DictConfig, processes: int, extra_overrides: list[str]) -> dict[str, float]:
    """Run the job as ``processes`` ranks; return rank 0's metrics or raise the first failure."""
    hydra_cfg = HydraConfig.get()
    out_dir = Path(hydra_cfg.runtime.output_dir)
    keys = {o.split("=", 1)[0] for o in extra_overrides}
    overrides = [o for o in hydra_cfg.overrides.task if o.split("=", 1)[0] not in keys] + extra_overrides
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN  # W&B groups a job's run by its sweep folder
    sweep_dir = [f"hydra.sweep.dir={quote(str(hydra_cfg.sweep.dir))}"] if in_sweep else []
    port = str(_free_port())
    for old in (out_dir / "ranks").glob("*.json"):
        old.unlink()
    procs = []
    log.info("starting %d DDP processes for %s", processes, out_dir)
    try:
        for rank in range(processes):
            env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "WORLD_SIZE": str(processes),
                   "NODE_RANK": "0", "LOCAL_RANK": str(rank), "RANK": str(rank), RANK_ENV: str(rank)}
            if in_sweep:
                env[sweep_console.SWEEP_ENV] = "1"  # the ranks keep the sweep's console quiet
            args = [*_script_command(), *overrides, f"hydra.run.dir={quote(str(out_dir))}", *sweep_dir,
                    "hydra.output_subdir=null", f"hydra.job.name=rank{rank}"]
            # Own process group (killed whole on failure) and killed with the supervisor.
            procs.append(subprocess.Popen(args, env=env, start_new_session=True, preexec_fn=_die_with_supervisor))
        while True:
            codes = [p.poll() for p in procs]
            failed = [(rank, code) for rank, code in enumerate(codes) if code not in (None, 0)]
            if failed:
                _stop_all(procs, grace_s=0)  # peers may wait in a collective forever
                raise AuglabError(_failure(out_dir, *failed[0]))
            if all(code == 0 for code in codes):
                break
            time.sleep(0.2)
    except BaseException:
        _stop_all(procs, grace_s=GRACE_S)
        raise
    finally:
        _stop_all(procs, grace_s=0)  # no process of this job outlives it
    return json.loads((out_dir / "metrics.json").read_text())


def run_rank(task: Callable[[DictConfig], dict[str, Any]], cfg: DictConfig) -> float | None:
    """In a rank process: run the task; on failure record the cause for the supervisor and exit 2."""
    rank = int(os.environ[RANK_ENV])
    if sweep_console.in_sweep():
        sweep_console.quiet_job_console()
    try:
        task(cfg)
        close_process_group(wait_for_peers=True)
    except BaseException as err:
        record = _rank_record(Path(cfg.paths.output_dir), rank)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"error": one_line(err), "traceback": traceback.format_exc()}) + "\n")
        print(f"auglab: error (rank {rank}): {one_line(err)}", file=sys.stderr)
        sys.exit(2)
    return None


def close_process_group(*, wait_for_peers: bool) -> None:
    """Close this process's group, if it has one. ``wait_for_peers``: after a rank's job succeeded, wait for
    every rank first, since a rank that exits while a peer still reads from it can reset the peer's gloo
    connection and fail a job whose results were already written; never after a failure (peers may be gone)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        if wait_for_peers:
            dist.barrier()
        dist.destroy_process_group()
