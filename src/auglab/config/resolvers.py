"""OmegaConf resolvers that the configs use; ``auglab.config`` registers them on import, before Hydra composes."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from omegaconf import OmegaConf

# One id per process: two runs started in the same second still get different folders.
_RUN_ID = f"{os.getpid()}{secrets.token_hex(2)}"


def _job_folder(*, _root_) -> str:
    from auglab.sweep.identity import folder_name

    return folder_name(_root_)


# Cached like Hydra's ${now:}: Hydra copies cached values into each job's config, so jobs in other
# processes (joblib, submitit, Ray) resolve the sweep folder the launcher made.
CACHED = ("auglab.run_id", "auglab.cwd")


def register() -> None:
    resolvers = {
        "auglab.run_id": lambda: _RUN_ID,
        # the directory the command ran from; unlike ${hydra:runtime.cwd} it resolves before Hydra has
        # set up a job, which a sweeper needs to name the default sweep folder
        "auglab.cwd": os.getcwd,
        "auglab.basename": lambda path: Path(str(path)).name,
        "auglab.job_folder": _job_folder,  # a sweep job's folder, named by its identity
        "auglab.optuna_direction": lambda mode: {"max": "maximize", "min": "minimize"}[mode],
        "auglab.at_least_one": lambda value: max(int(value or 0), 1),
    }
    for name, fn in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn, use_cache=name in CACHED)
