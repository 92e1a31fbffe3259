"""What a run leaves in its output folder: metrics, provenance, status and a confusion-matrix picture."""

from __future__ import annotations

import functools
import json
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

    Taken once per process, when a job starts (``job.run_job``): that is the code this process loaded.
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


@rank_zero_only  # DDP ranks share the job's folder
def read_json(path: Path) -> dict[str, Any]:
    """A record written by ``write_json``; ``{}`` when it is missing or unreadable (a run killed early)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically, so an interrupted run never leaves a half-written file that looks finished."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(path)


@rank_zero_only
def save_config(cfg: DictConfig, path: Path) -> None:
    """The resolved config: what ``auglab-eval`` rebuilds the run's data and model from."""
    path.parent.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, path, resolve=True)


def plot_confusion(matrix: torch.Tensor, class_names: list[str], path: Path, title: str) -> None:
    """Save a row-normalised confusion matrix (rows: true class) with counts in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = matrix.numpy()
    rates = counts / counts.sum(axis=1, keepdims=True).clip(min=1)
    k = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * k, 0.8 + 0.55 * k))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), class_names, rotation=45, ha="right")
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if rates[i, j] > 0.5 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
