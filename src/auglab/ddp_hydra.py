"""Make Lightning's DDP launcher work inside a Hydra sweep (two known traps, see DESIGN.md).

1. Lightning starts ranks 1..N-1 by re-executing ``sys.argv`` plus ``hydra.run.dir=...``. Under
   ``-m`` that command line is the sweep, so every child would start the sweep again, and
   ``hydra.run.dir`` is the run-mode pattern, not the job's folder. The parent records the job's
   overrides and folder in the environment, which the children inherit; a child swaps its command
   line for them before Hydra parses it (``child_argv``).
2. The launcher leaves ``LOCAL_RANK``, ``MASTER_PORT``... in the parent's environment and the
   process group open, so the sweep's next job would wait forever for ranks nobody starts.
   ``ddp_job_scope`` restores the environment and closes the group after every job.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

from hydra.core.hydra_config import HydraConfig

ENV = "AUGLAB_JOB_OVERRIDES"
LIGHTNING_ARGS = ("hydra.job.name=", "hydra.output_subdir=")
LAUNCHER_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE", ENV)


def child_argv(argv: list[str]) -> list[str]:
    """In a Lightning DDP child: the job's own overrides, its folder and Lightning's other arguments."""
    if "LOCAL_RANK" not in os.environ or ENV not in os.environ:
        return argv
    job = json.loads(os.environ[ENV])
    appended = [a for a in argv[1:] if a.startswith(LIGHTNING_ARGS)]
    return [argv[0], *job["overrides"], f"hydra.run.dir={job['output_dir']}", *appended]


@contextmanager
def ddp_job_scope() -> Iterator[None]:
    """Wrap one Hydra job that may launch DDP processes."""
    saved = {key: os.environ.get(key) for key in LAUNCHER_ENV}
    if HydraConfig.initialized():
        hydra_cfg = HydraConfig.get()
        os.environ[ENV] = json.dumps(
            {"overrides": list(hydra_cfg.overrides.task), "output_dir": hydra_cfg.runtime.output_dir}
        )
    try:
        yield
    finally:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
