"""What ``conf/`` offers: its config groups, their options, and which strategies and models fit a data kind
(for error messages that list the valid choices)."""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

from omegaconf import OmegaConf

CONF_DIR = Path(importlib.import_module("auglab.conf").__file__).resolve().parent  # conf/, beside src/


def groups() -> list[str]:
    """The config groups under ``conf/`` (``hydra`` excluded: Hydra checks its own)."""
    return sorted(d.name for d in CONF_DIR.iterdir() if d.is_dir() and d.name != "hydra")


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


@cache
def strategies_for(kind: str) -> list[str]:
    """Names of the ``augment`` options whose ``kinds`` include ``kind``."""
    fits = []
    for name in options("augment"):
        kinds = OmegaConf.load(CONF_DIR / "augment" / f"{name}.yaml").get("kinds", [])
        if kind in kinds:
            fits.append(name)
    return fits


def model_target(name: str) -> str:
    """The class a ``model`` option builds (each model file names its own ``_target_``)."""
    return str(OmegaConf.load(CONF_DIR / "model" / f"{name}.yaml")._target_)


@cache
def models_for(kind: str) -> list[str]:
    """Names of the ``model`` options whose class trains on ``kind`` data."""
    from hydra.utils import get_class

    return [name for name in options("model") if kind in getattr(get_class(model_target(name)), "data_kinds", ())]
