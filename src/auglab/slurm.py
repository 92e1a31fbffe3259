"""A job inside a SLURM allocation (``hydra/launcher=slurm``): DDP sized by the allocation.

SLURM starts one task per GPU and every task runs the job; Lightning's SLURM environment makes them
the DDP ranks. The Trainer must then ask for exactly the allocation's devices and nodes, and only
task 0 keeps the job's records (the other tasks just train).
"""

from __future__ import annotations

import os
from collections.abc import Mapping


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
