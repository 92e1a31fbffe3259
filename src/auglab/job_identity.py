"""Which job a folder belongs to (docs/architecture.md, "Job identity").

A job is its resolved config without the volatile keys below: where outputs go, how progress is
shown, which loggers watch, and the checkpoint it resumes from. None of them changes a metric.
Everything else, a default included, is identity: ``augment=none`` and ``augment=none seed=0`` are
the same job, ``seed=1`` is another. A sweep job's folder is named after its identity, so a sweep
extended in place (more seeds, more strategies) finds each finished job wherever Hydra numbers it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

VOLATILE = ("hydra", "paths", "logger", "callbacks.progress", "callbacks.augmented_preview", "ckpt_path")
JOB_FOLDER = "<job folder>"  # stands in for the job's own folder while resolving: paths under it are not identity
RECORD = "job.json"


def _in_folder(value: Any, folder: str) -> Any:
    """Paths under the job's folder, as the placeholder (a saved config holds them resolved)."""
    if isinstance(value, dict):
        return {k: _in_folder(v, folder) for k, v in value.items()}
    if isinstance(value, list):
        return [_in_folder(v, folder) for v in value]
    if isinstance(value, str) and (value == folder or value.startswith(folder + "/")):
        return JOB_FOLDER + value[len(folder):]
    return value


def identity(cfg: DictConfig, folder: Path | None = None) -> dict[str, Any]:
    """The resolved config that defines a job (with or without Hydra's own ``hydra`` node).

    ``folder``: the job's folder, when ``cfg`` is a saved, already resolved ``config.yaml``.
    """
    raw = OmegaConf.to_container(cfg, resolve=False)
    raw.pop("hydra", None)
    copy = OmegaConf.create(raw)
    if "output_dir" in copy.get("paths", {}):  # by key: its value is unset while Hydra names the folder
        copy.paths.output_dir = JOB_FOLDER
    resolved = OmegaConf.to_container(copy, resolve=True)
    if folder is not None:
        resolved = _in_folder(resolved, str(Path(folder).resolve()))
    for key in VOLATILE:
        *parents, leaf = key.split(".")
        node = resolved
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return resolved


def digest(ident: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()


def folder_name(cfg: DictConfig) -> str:
    """``<strategy>-s<seed>-<first 10 hex digits of the identity>``: readable, unique per job."""
    ident = identity(cfg)
    strategy = OmegaConf.select(cfg, "augment.name", default=None) or cfg.get("task_name", "job")
    seed = cfg.get("seed")
    prefix = f"{strategy}-s{seed}" if seed is not None else str(strategy)
    return f"{prefix}-{digest(ident)[:10]}"


def read_record(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return None


def differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted keys where two identities differ, for messages."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            out += differences(a.get(key), b.get(key), f"{prefix}{key}.")
        return out
    return [] if a == b else [f"{prefix[:-1]}: {a!r} vs {b!r}"]
