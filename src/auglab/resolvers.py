"""OmegaConf resolvers that the configs use; registered on import, before Hydra composes."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from omegaconf import OmegaConf

# One id per process: two runs started in the same second still get different folders.
_RUN_ID = f"{os.getpid()}{secrets.token_hex(2)}"


def _job_folder(*, _root_) -> str:
    from auglab.job_identity import folder_name

    return folder_name(_root_)


def register() -> None:
    resolvers = {
        "auglab.run_id": lambda: _RUN_ID,
        "auglab.basename": lambda path: Path(str(path)).name,
        "auglab.job_folder": _job_folder,  # a sweep job's folder, named by its identity
        "auglab.optuna_direction": lambda mode: {"max": "maximize", "min": "minimize"}[mode],
    }
    for name, fn in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


register()
