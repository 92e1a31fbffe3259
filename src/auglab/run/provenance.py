"""Where a run's numbers came from: the code version, packages, data hash, seed and command
(``provenance.json``), and the resolved config (``config.yaml``) that ``auglab-eval`` rebuilds the run from."""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

PACKAGES = ("auglab", "torch", "torchvision", "lightning", "torchmetrics", "hydra-core", "omegaconf", "numpy",
            "wandb", "tensorboard")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@functools.cache
def code_version() -> dict[str, Any]:
    """The git commit of the auglab source and whether the working tree had uncommitted changes.

    Taken once per process, when a job starts (``sweep/job.py``): that is the code this process loaded.
    Asked again when a job ends, it would name whatever the repository held by then.
    """
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": bool(status) if status is not None else None}


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def provenance(*, seed: int, data_hash: str, split_sizes: dict[str, int]) -> dict[str, Any]:
    return {
        **code_version(),
        "seed": seed,
        "data_sha256": data_hash,
        "split_sizes": split_sizes,
        "packages": package_versions(),
        "python": platform.python_version(),
        "command": sys.argv,
        "cuda": torch.cuda.is_available(),
    }


@rank_zero_only
def save_config(cfg: DictConfig, path: Path) -> None:
    """The resolved config: what ``auglab-eval`` rebuilds the run's data and model from."""
    path.parent.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, path, resolve=True)
