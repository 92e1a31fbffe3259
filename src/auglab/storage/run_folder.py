"""Where a run keeps what: ``<run>/config.yaml`` (the resolved config), ``provenance.json``,
``metrics.json`` and ``checkpoints/<name>.ckpt``. Readers of a checkpoint's run go through here."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from auglab.errors import AuglabError

CONFIG, PROVENANCE, METRICS = "config.yaml", "provenance.json", "metrics.json"


def run_of_checkpoint(ckpt_path: str | Path) -> Path:
    """The run folder that holds ``ckpt_path`` (``<run>/checkpoints/<name>.ckpt``)."""
    return Path(ckpt_path).expanduser().resolve().parent.parent


def checkpoint_config(ckpt_path: str | None, option: str = "ckpt_path") -> DictConfig:
    """The resolved config saved by the run that wrote the checkpoint; ``option`` names the setting in errors."""
    if not ckpt_path:
        raise AuglabError(f"{option} is not set; e.g. {option}=outputs/runs/<run>/checkpoints/best.ckpt")
    ckpt = Path(ckpt_path).expanduser()
    if not ckpt.is_file():
        raise AuglabError(f"{option}={ckpt} does not exist; point it at a .ckpt file from a training run")
    config = run_of_checkpoint(ckpt) / CONFIG
    if not config.is_file():
        raise AuglabError(f"{config} not found: {option} must lie in <run folder>/checkpoints/ of an auglab run")
    return OmegaConf.load(config)
