"""Checks that turn bad command lines into one-line errors before anything is built."""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from auglab.errors import AuglabError

CONF_DIR = Path(importlib.import_module("auglab.conf").__file__).resolve().parent  # conf/, beside src/
NULLABLE_GROUPS = {"experiment", "debug", "logger", "hparams_search"}


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


@cache
def models_for(kind: str) -> list[str]:
    """Names of the ``model`` options whose class trains on ``kind`` data."""
    from hydra.utils import get_class

    targets = {name: OmegaConf.load(CONF_DIR / "model" / f"{name}.yaml")._target_ for name in options("model")}
    return [name for name, target in targets.items() if kind in getattr(get_class(target), "data_kinds", ())]


USER_CONFIG_FLAGS = ("--config-dir", "-cd", "--config-path", "-cp", "--config-name", "-cn")


def _overrides(args: list[str]) -> list[str]:
    """The override arguments (``key=value``, ``~key``), without flags and their values."""
    return [a for a in args if not a.startswith("-") and ("=" in a or a.startswith("~"))]


def uses_own_configs(args: list[str]) -> bool:
    """True when the user points Hydra at configs of their own, which these checks cannot see."""
    return any(a.startswith(USER_CONFIG_FLAGS) for a in args)


def _override_values(override) -> list[str] | None:
    """The option names an override asks for, or None when it cannot be checked (glob, range)."""
    from hydra.core.override_parser.types import Glob

    if override.is_sweep_override():
        if isinstance(override.value(), Glob) or override.is_range_sweep() or override.is_interval_sweep():
            return None
        return list(override.sweep_string_iterator())
    value = override.value()
    return ["null"] if value is None else [override.get_value_element_as_str()]


def _first_job(parsed: list) -> list[str]:
    """The overrides of a sweep's first job (a glob is left out: it only picks existing options)."""
    from hydra.core.override_parser.types import Glob

    first = []
    for override in parsed:
        if not override.is_sweep_override():
            first.append(override.input_line)
        elif not isinstance(override.value(), Glob):
            first.append(f"{override.get_key_element()}={next(iter(override.sweep_string_iterator()))}")
    return first


def check_composes(args: list[str], config_name: str) -> None:
    """Compose the (first job's) config so an unknown key fails in one line, not Hydra's four."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    candidates = [a for a in _overrides(args) if not a.startswith("hydra.")]
    try:
        overrides = _first_job(OverridesParser.create().parse_overrides(overrides=candidates))
        GlobalHydra.instance().clear()
        with initialize_config_module(config_module="auglab.conf", version_base="1.3"):
            compose(config_name=config_name, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        raise AuglabError(" ".join(lines[:2])) from err
    finally:
        GlobalHydra.instance().clear()


def check_overrides(args: list[str]) -> None:
    """Fail with the valid choices when ``group=option`` names an option that does not exist."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    candidates = _overrides(args)
    try:
        parsed = OverridesParser.create().parse_overrides(overrides=candidates)
    except HydraException:
        return  # a syntax error: Hydra reports it with its own pointer into the line
    known = set(groups())
    for override in parsed:
        if override.key_or_group in LAUNCHER_COUNTS and not override.is_delete():
            for value in _override_values(override) or []:
                whole_number(override.key_or_group, value)
        group = override.key_or_group
        if group not in known or override.is_delete():
            continue
        values = _override_values(override)
        for value in values or []:
            if value == "null" and group in NULLABLE_GROUPS:
                continue
            if value not in options(group):
                raise AuglabError(f"unknown {group}={value}; choose one of: {', '.join(options(group))}")


LAUNCHER_COUNTS = ("hydra.launcher.jobs_per_gpu", "hydra.launcher.cpu_jobs")


def whole_number(name: str, value: object) -> int:
    """A whole number >= 1 for option ``name``, or a one-line error that names it."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) < 1:
        raise AuglabError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(text)


def check_run_options(cfg: DictConfig) -> None:
    """Top-level options of ``train.yaml`` that nothing else validates."""
    seed = cfg.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise AuglabError(f"seed={seed}: must be an integer from 0 to 4294967295")
    metric, monitor = cfg.get("optimized_metric"), OmegaConf.select(cfg, "model.monitor")
    if metric and not str(metric).startswith("val/"):
        raise AuglabError(f"optimized_metric={metric}: sweepers may only see validation metrics, or they would "
                          f"select on the test set; leave it at the model's monitor ({monitor})")
    if metric and monitor and metric != monitor:
        raise AuglabError(f"optimized_metric={metric} differs from model.monitor={monitor}: the best epoch is picked "
                          f"by the monitor; to optimise {metric}, set model.monitor={metric} instead")
