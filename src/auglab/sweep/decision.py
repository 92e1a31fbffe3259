"""Whether a sweep job runs, and from where (docs/architecture.md, "Job identity"): ``skip`` a finished
job, ``resume`` an interrupted one from its ``last.ckpt``, or start ``fresh``; never touch a folder that
holds another job or one that a live process is running."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig

from auglab.errors import AuglabError
from auglab.storage.atomic import read_json
from auglab.sweep.identity import differences, identity, read_record
from auglab.sweep.job_record import process_alive

SKIP, RESUME, FRESH = "skip", "resume", "fresh"


def last_checkpoint(out_dir: Path) -> Path:
    return out_dir / "checkpoints" / "last.ckpt"


def decide(cfg: DictConfig, out_dir: Path, key: str) -> str:
    """``skip`` (finished), ``resume`` (last.ckpt from an interrupted run of this very job) or ``fresh``."""
    record = read_record(out_dir)
    if record is None:
        return FRESH
    if record.get("identity_sha256") != key:
        diff = differences(record.get("identity", {}), identity(cfg))[:3]
        raise AuglabError(
            f"{out_dir} holds another job (its value vs this job's: {'; '.join(diff) or 'another identity'}); "
            "it is left untouched. Move that folder out of the sweep, or use a new hydra.sweep.dir"
        )
    status = read_json(out_dir / "run.json")
    if process_alive(status) and status["pid"] != os.getpid():
        raise AuglabError(f"{out_dir} is being run by process {status['pid']}; wait for it or stop it first")
    if status.get("status") == "ok" and (out_dir / "metrics.json").exists():
        return SKIP
    return RESUME if last_checkpoint(out_dir).exists() else FRESH
