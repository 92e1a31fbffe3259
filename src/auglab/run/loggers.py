"""What the experiment loggers get besides metrics: the run's config, shaped for each.

W&B's runs table groups and filters by config keys, so a W&B run carries what the job compared
(strategy, data, model, seed, every option its command line set) as short top-level keys, and the
full resolved config nested under ``cfg``. CSV and TensorBoard get the full config as it is.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.loggers import Logger, WandbLogger
from omegaconf import DictConfig, OmegaConf

from auglab.sweep.identity import VOLATILE

GROUPS = ("augment", "data", "model")  # the config-group choices a study compares


def _command_line() -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Hydra's config-group choices and the job's own ``key=value`` overrides (none outside Hydra)."""
    if not HydraConfig.initialized():
        return {}, []
    hydra_cfg = HydraConfig.get()
    choices = {str(k): str(v) for k, v in hydra_cfg.runtime.choices.items() if v is not None}
    overrides = []
    for item in hydra_cfg.overrides.task:
        key, sep, value = str(item).lstrip("+").partition("=")
        # ``~key`` deletes and has no value; volatile keys (paths, progress bar, resume checkpoint) never
        # change a metric, so grouping runs by them is noise
        if sep and not key.startswith("~") and not key.startswith(VOLATILE):
            overrides.append((key, value))
    return choices, overrides


def _value(cfg: DictConfig, key: str, choices: dict[str, str], written: str) -> Any:
    """A group's choice, else the option's resolved value (typed), else what the command line wrote."""
    if key in choices:
        return choices[key]
    found = OmegaConf.select(cfg, key, default=None)
    return found if found is None or isinstance(found, str | int | float | bool) else written


def dashboard_keys(cfg: DictConfig) -> dict[str, Any]:
    """``augment``, ``data``, ``model``, ``seed`` and each overridden option, by its last name.

    ``data.train_per_class=10`` becomes ``train_per_class: 10``; a last name that two options share,
    or that names another key, keeps its full dotted path.
    """
    choices, overrides = _command_line()
    keys: dict[str, Any] = {group: choices.get(group) or _fallback_name(cfg, group) for group in GROUPS}
    keys["seed"] = cfg.get("seed")
    leaves = Counter(key.rsplit(".", 1)[-1] for key, _ in overrides)
    for key, written in overrides:
        leaf = key.rsplit(".", 1)[-1]
        clash = leaves[leaf] > 1 or (leaf != key and leaf in keys)
        keys[key if clash else leaf] = _value(cfg, key, choices, written)
    return keys


def _fallback_name(cfg: DictConfig, group: str) -> str | None:
    """Outside Hydra there are no choices: the strategy's name, the data's or model's class."""
    if group == "augment":
        return OmegaConf.select(cfg, "augment.name")
    target = OmegaConf.select(cfg, f"{group}._target_")
    return target.rsplit(".", 1)[-1] if target else None


def run_config(logger: Logger, cfg: DictConfig) -> dict[str, Any]:
    """What ``logger.log_hyperparams`` gets: the W&B layout above for W&B, the resolved config otherwise."""
    full = OmegaConf.to_container(cfg, resolve=True)
    if isinstance(logger, WandbLogger):  # top-level ``augment`` etc. would clash with the nested groups
        return {**dashboard_keys(cfg), "cfg": full}
    return full
