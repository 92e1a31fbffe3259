"""Keep Lightning's DDP launcher from re-running a whole Hydra sweep in each child process.

Lightning starts ranks 1..N-1 by re-executing ``sys.argv`` plus ``hydra.run.dir=...``. Under
``-m`` that command line is the sweep, so every child would start the sweep again (a known trap,
see DESIGN.md). The parent records the current job's overrides in the environment, which the
children inherit; a child swaps its sweep arguments for them before Hydra parses the command line.
"""

from __future__ import annotations

import json
import os

from hydra.core.hydra_config import HydraConfig

ENV = "AUGLAB_JOB_OVERRIDES"
LIGHTNING_ARGS = ("hydra.run.dir=", "hydra.job.name=", "hydra.output_subdir=")


def remember_job_overrides() -> None:
    """Call inside a Hydra task, before the Trainer launches child processes."""
    os.environ[ENV] = json.dumps(list(HydraConfig.get().overrides.task))


def child_argv(argv: list[str]) -> list[str]:
    """In a Lightning DDP child: the job's own overrides plus the arguments Lightning appended."""
    if "LOCAL_RANK" not in os.environ or ENV not in os.environ:
        return argv
    appended = [a for a in argv[1:] if a.startswith(LIGHTNING_ARGS)]
    return [argv[0], *json.loads(os.environ[ENV]), *appended]
