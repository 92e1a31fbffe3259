"""``hydra/launcher=local_gpus``: Hydra's joblib launcher with one worker per GPU slot (or CPU share)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn
from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher
from omegaconf import OmegaConf

from auglab.errors import whole_number
from auglab.sweep import console as sweep_console
from auglab.sweep.slots import PinnedTask, plan_slots, visible_gpus

log = logging.getLogger(__name__)


class LocalGpusLauncher(JoblibLauncher):
    """Runs ``jobs_per_gpu`` x GPUs jobs at once, each worker pinned to its own GPU; ``cpu_jobs`` at once
    on a machine without one, the cores split between them. Everything else is joblib's (loky processes)."""

    def __init__(self, *, jobs_per_gpu: Any = 1, cpu_jobs: Any = 2, **joblib: Any) -> None:
        super().__init__(**joblib)
        self.jobs_per_gpu = whole_number("hydra.launcher.jobs_per_gpu", jobs_per_gpu)
        self.cpu_jobs = whole_number("hydra.launcher.cpu_jobs", cpu_jobs)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        assert self.config is not None and self.task_function is not None
        on_cpu = OmegaConf.select(self.config, "trainer.accelerator") == "cpu"  # e.g. trainer=cpu: GPUs idle
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        slots = plan_slots([] if on_cpu else visible_gpus(), jobs_per_gpu=self.jobs_per_gpu,
                           cpu_jobs=self.cpu_jobs, cpus=cpus)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        log.info("local_gpus: %d jobs, %d at once: %s", len(job_overrides), len(slots),
                 ", ".join(s.describe() for s in slots))
        self.joblib["n_jobs"] = len(slots)
        sweep_console.begin(sweep_dir, total=len(job_overrides))
        # each job prints its own start line; joblib's launcher would list every job's overrides up front
        logging.getLogger("hydra_plugins.hydra_joblib_launcher._core").setLevel(logging.WARNING)
        task = self.task_function
        self.task_function = PinnedTask(task, slots, sweep_dir / ".slots")
        try:
            return super().launch(job_overrides, initial_job_idx)
        finally:
            self.task_function = task
