"""The resolved configs (``--cfg job``, interpolations kept) of every experiment, every strategy an experiment
sweeps, and every option of every config group: a restructuring of ``conf/`` must leave them all unchanged,
so no job identity changes. ``python -m tests.config_snapshots`` writes ``tests/data/config_snapshots.json``
(only after a deliberate change of a config's meaning); ``tests/test_configs.py`` compares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = ROOT / "tests" / "data" / "config_snapshots.json"
GROUPS = ("model", "data", "augment", "trainer", "logger", "callbacks", "debug", "paths")


def cases() -> list[list[str]]:
    """Override lists to compose: each group option alone, each experiment, each experiment's swept strategies."""
    conf = ROOT / "conf"
    out = [[]]
    for group in GROUPS:
        out += [[f"{group}={p.stem}"] for p in sorted((conf / group).glob("*.yaml"))]
    for path in sorted((conf / "experiment").glob("*.yaml")):
        out.append([f"experiment={path.stem}"])
        params = OmegaConf.load(path).get("hydra", {}).get("sweeper", {}).get("params", {})
        for name in str(params.get("augment", "")).split(","):
            if name:
                out.append([f"experiment={path.stem}", f"augment={name}"])
    return out


def resolved(all_overrides: list[list[str]]) -> dict[str, str]:
    """Each job config as ``auglab-train ... --cfg job`` prints it (hydra node dropped, interpolations kept),
    keyed by its overrides."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    import auglab.config  # noqa: F401  (resolvers and the strategy schema)

    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="auglab.conf", version_base="1.3"):
        return {" ".join(o) or "(defaults)": OmegaConf.to_yaml(compose(config_name="train", overrides=o))
                for o in all_overrides}


def without_added_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` less the options added after the snapshots were written that hold their as-before default
    (``ADDED_DEFAULTS``): such an option changes no job identity, so it is no change to compare."""
    from auglab.sweep.identity import ADDED_DEFAULTS

    for key, default in ADDED_DEFAULTS.items():
        *parents, leaf = key.split(".")
        node: Any = config
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and leaf in node and node[leaf] == default:
            del node[leaf]
    return config


def main() -> None:
    SNAPSHOTS.parent.mkdir(parents=True, exist_ok=True)
    snapshots = resolved(cases())
    SNAPSHOTS.write_text(json.dumps(snapshots, indent=1, sort_keys=True) + "\n")
    print(f"{len(snapshots)} configs written to {SNAPSHOTS}")


if __name__ == "__main__":
    main()
