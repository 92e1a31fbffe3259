"""Which GPU (or share of the CPU) a sweep job gets when several jobs run at once on one machine.

``hydra/launcher=local_gpus`` runs one worker process per slot. A worker claims a free slot with a
file lock the first time it runs a job and keeps it for its life: CUDA reads ``CUDA_VISIBLE_DEVICES``
once per process, so a worker can never move to another GPU. The lock dies with the process, so a
worker that crashed frees its slot for the one that replaces it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from auglab.errors import check_count

SLOT_ENV = "AUGLAB_SLOT"  # "<index>:<gpu or cpu>:<threads>", read back into run.json


@dataclass(frozen=True)
class Slot:
    index: int
    gpu: str | None  # the id to put in CUDA_VISIBLE_DEVICES; None: a CPU-only slot
    threads: int  # torch intra-op threads: the machine's cores split between the slots

    def describe(self) -> str:
        return f"{self.index}:{'gpu' + self.gpu if self.gpu is not None else 'cpu'}:{self.threads}"


def visible_gpus(env: Mapping[str, str] | None = None, count: int | None = None) -> list[str]:
    """The GPUs jobs may use: ``CUDA_VISIBLE_DEVICES``'s list when it is set, else ``0 .. count-1``.

    ``count`` defaults to ``torch.cuda.device_count()``, which asks the driver without creating a context.
    """
    env = os.environ if env is None else env
    listed = env.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d.strip() for d in listed.split(",") if d.strip() and d.strip() != "-1"]
    if count is None:
        import torch

        count = torch.cuda.device_count()
    return [str(i) for i in range(count)]


def plan_slots(gpus: list[str], *, jobs_per_gpu: int, cpu_jobs: int, cpus: int) -> list[Slot]:
    """``jobs_per_gpu`` slots per GPU (GPU-major, so the first jobs spread over all GPUs), or ``cpu_jobs``
    CPU slots when there is no GPU; either way the cores are split evenly between the slots."""
    check_count("hydra.launcher.jobs_per_gpu", jobs_per_gpu)
    check_count("hydra.launcher.cpu_jobs", cpu_jobs)
    devices: list[str | None] = [g for _ in range(jobs_per_gpu) for g in gpus] if gpus else [None] * cpu_jobs
    threads = max(1, cpus // len(devices))
    return [Slot(i, gpu, threads) for i, gpu in enumerate(devices)]


_claimed: tuple[Slot, TextIO] | None = None  # this worker's slot and the open lock file that holds it


def claim(slots: list[Slot], lock_dir: Path, poll_s: float = 0.2) -> Slot:
    """This process's slot: the one it already holds, else the first free one (waits while all are held)."""
    global _claimed
    if _claimed is not None:
        return _claimed[0]
    lock_dir.mkdir(parents=True, exist_ok=True)
    while True:
        for slot in slots:
            handle = open(lock_dir / f"slot-{slot.index}.lock", "w")  # noqa: SIM115 (held for the process's life)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            _claimed = (slot, handle)
            return slot
        time.sleep(poll_s)


def pin(slot: Slot) -> None:
    """Show this process (and the DDP ranks it starts) only its slot's GPU, and give torch its threads."""
    import torch

    if slot.gpu is not None and torch.cuda.is_initialized():  # the variable would be read too late
        raise RuntimeError("CUDA was initialised in this worker before its GPU slot was pinned")
    os.environ["CUDA_VISIBLE_DEVICES"] = slot.gpu if slot.gpu is not None else ""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(slot.threads)
    torch.set_num_threads(slot.threads)
    os.environ[SLOT_ENV] = slot.describe()


class PinnedTask:
    """A Hydra task function that first pins its worker to a slot (picklable, for joblib's processes)."""

    def __init__(self, task: Callable[[Any], Any], slots: list[Slot], lock_dir: Path) -> None:
        self.task, self.slots, self.lock_dir = task, slots, lock_dir

    def __call__(self, cfg: Any) -> Any:
        if _claimed is None:
            pin(claim(self.slots, self.lock_dir))
        return self.task(cfg)
