"""A job inside a SLURM allocation (``hydra/launcher=slurm``): DDP sized by the allocation.

SLURM starts one task per GPU and every task runs the job; Lightning's SLURM environment makes them
the DDP ranks. The Trainer must then ask for exactly the allocation's devices and nodes, and only
task 0 keeps the job's records: it decides skip / run (and from which checkpoint) and publishes the
decision in the job folder; the other tasks wait for it, so they never train a finished job, resume
from another point than task 0, or wait in a collective for a task 0 that gave up.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from auglab.errors import AuglabError
from auglab.storage.atomic import write_json

DECISION_WAIT_S = 900.0  # task 0 may first load and check the data


def _tasks(env: Mapping[str, str]) -> tuple[int, int, int] | None:
    """(tasks, tasks per node, nodes) of a batch allocation; None outside SLURM or in an interactive shell."""
    if "SLURM_NTASKS" not in env or env.get("SLURM_JOB_NAME") in ("bash", "interactive"):
        return None  # Lightning also ignores interactive allocations
    tasks = int(env["SLURM_NTASKS"])
    nodes = int(env.get("SLURM_NNODES", "1"))
    per_node = int(env.get("SLURM_NTASKS_PER_NODE", str(max(tasks // nodes, 1))))
    return tasks, per_node, nodes


def trainer_overrides(env: Mapping[str, str] | None = None) -> dict[str, int]:
    """``devices`` and ``num_nodes`` from a multi-task allocation (Lightning refuses any other numbers)."""
    found = _tasks(os.environ if env is None else env)
    if found is None or found[0] < 2:
        return {}
    _, per_node, nodes = found
    return {"devices": per_node, "num_nodes": nodes}


def is_secondary_task(env: Mapping[str, str] | None = None) -> bool:
    """A task other than the first of a multi-task allocation: a DDP rank that keeps no job records."""
    env = os.environ if env is None else env
    found = _tasks(env)
    return found is not None and found[0] > 1 and env.get("SLURM_PROCID", "0") != "0"


def _decision_file(out_dir: Path) -> Path:
    """One per allocation and attempt: a requeued job keeps its id and counts up SLURM_RESTART_COUNT."""
    attempt = f"{os.environ.get('SLURM_JOB_ID', '')}-{os.environ.get('SLURM_RESTART_COUNT', '0')}"
    return out_dir / "ranks" / f"slurm-{attempt}.json"


def publish_decision(out_dir: Path, decision: str, ckpt_path: str | None = None) -> None:
    """Task 0 of a multi-task allocation: ``run`` (from ``ckpt_path`` when resuming), ``skip`` or ``abort``."""
    found = _tasks(os.environ)
    if found is None or found[0] < 2 or os.environ.get("SLURM_PROCID", "0") != "0":
        return
    write_json(_decision_file(out_dir), {"decision": decision, "ckpt_path": ckpt_path})


def await_decision(out_dir: Path, timeout_s: float = DECISION_WAIT_S, poll_s: float = 0.5) -> tuple[str, str | None]:
    """What task 0 decided for this job (the other tasks call this before training)."""
    path, deadline = _decision_file(out_dir), time.time() + timeout_s
    while time.time() < deadline:
        try:
            found = json.loads(path.read_text())
            return found["decision"], found.get("ckpt_path")
        except (OSError, ValueError, KeyError):
            time.sleep(poll_s)
    raise AuglabError(f"SLURM task {os.environ.get('SLURM_PROCID')}: no decision from task 0 in {path} "
                      f"after {timeout_s:.0f} s; see task 0's log")


def run_secondary_task(task: Callable[[DictConfig], Any], cfg: DictConfig) -> None:
    """A task other than the first: run the job as one more DDP rank when task 0 decided to run it."""
    decision, ckpt_path = await_decision(Path(cfg.paths.output_dir))
    if decision == "run":
        cfg.ckpt_path = ckpt_path or cfg.get("ckpt_path")
        task(cfg)
