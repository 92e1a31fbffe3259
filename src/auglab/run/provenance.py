"""Where a run's numbers came from: the code version, packages, data hash, seed and command
(``provenance.json``), and the resolved config (``config.yaml``) that ``auglab-eval`` rebuilds the run from."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from auglab.storage.code_version import code_version

PACKAGES = ("auglab", "torch", "torchvision", "lightning", "torchmetrics", "hydra-core", "omegaconf", "numpy",
            "wandb", "tensorboard")


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
