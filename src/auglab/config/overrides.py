"""Checks of a command line before Hydra runs it: an unknown ``group=option`` or key fails in one line
that lists the valid choices, not in Hydra's four."""

from __future__ import annotations

import difflib
import re

from auglab.config.catalogue import CONF_DIR, groups, options
from auglab.errors import AuglabError, whole_number

NULLABLE_GROUPS = {"experiment", "debug", "logger", "hparams_search"}
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
    if isinstance(value, list):  # several options of one group at once, e.g. callbacks=[default,early_stopping]
        return [str(v) for v in value]
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
        unknown = re.match(r"Could not override '(\w+)\.(\w+)'", lines[0]) if lines else None
        if unknown:
            raise AuglabError(_elsewhere(*unknown.groups(), overrides) or " ".join(lines[:2])) from err
        raise AuglabError(" ".join(lines[:2])) from err
    finally:
        GlobalHydra.instance().clear()


def _elsewhere(group: str, key: str, overrides: list[str]) -> str | None:
    """For ``group.key`` that the chosen option lacks: the options of the group that have it (or None)."""

    if group not in groups():
        return None
    having = [o for o in options(group) if key in _keys(group, o)]
    chosen = next((o.split("=", 1)[1] for o in overrides if o.startswith(f"{group}=")), "the default")
    if not having:
        known = {k for o in options(group) for k in _keys(group, o)}
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f"did you mean {group}.{close[0]}?" if close else "check the spelling"
        return f"{group}.{key}: no {group} option has this key; {hint} (a new key is added with +{group}.{key}=...)"
    return (f"{group}.{key}: {group}={chosen} has no such option; it is an option of {group}="
            f"{', '.join(having)}")


def _keys(group: str, option: str) -> set[str]:
    """The top-level keys of one option file and the bases it extends."""
    from omegaconf import OmegaConf

    keys = set(OmegaConf.load(CONF_DIR / group / f"{option}.yaml"))
    for entry in OmegaConf.load(CONF_DIR / group / f"{option}.yaml").get("defaults", []) or []:
        base = CONF_DIR / group / f"{str(entry).split('@', 1)[0].strip()}.yaml"
        if base.is_file():
            keys |= set(OmegaConf.load(base))
    return keys - {"defaults"}


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
