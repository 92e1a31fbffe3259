"""A job's ``run.json``: what ran (strategy, seed, task, GPU or CPU slot), where (process, host), and how
it ended: ``running``, then ``ok``, ``failed`` or ``interrupted`` with the one-line cause and traceback.
The report counts a job only when its ``run.json``, ``job.json`` and config name the same identity."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from auglab.storage.atomic import write_json
from auglab.sweep.slots import SLOT_ENV

RECORD = "run.json"


class JobRecord:
    """Writes ``<out_dir>/run.json``; ``identity_sha256`` ties every version of it to one job."""

    def __init__(self, cfg: DictConfig, out_dir: Path, identity_sha256: str | None = None) -> None:
        self.path, self.identity_sha256 = out_dir / RECORD, identity_sha256
        self.started_at = time.time()
        self.base: dict[str, Any] = {"augment": OmegaConf.select(cfg, "augment.name"), "seed": cfg.get("seed"),
                                     "task": cfg.get("task_name"), "started_at": self.started_at}
        if os.environ.get(SLOT_ENV):  # hydra/launcher=local_gpus: which GPU / CPU share this job had
            self.base["slot"] = os.environ[SLOT_ENV]

    def elapsed(self) -> float:
        return time.time() - self.started_at

    def running(self) -> None:
        self._write({"status": "running", "pid": os.getpid(), "host": socket.gethostname()})

    def ended(self, status: str, **details: Any) -> None:
        """``ok``, ``failed`` or ``interrupted``; ``details``: ``error`` and ``traceback`` for the last two."""
        self._write({"status": status, **details, "ended_at": time.time(), "duration_s": round(self.elapsed(), 1)})

    def _write(self, fields: dict[str, Any]) -> None:
        write_json(self.path, {**self.base, **fields, "identity_sha256": self.identity_sha256})


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (one owned by another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_alive(status: dict[str, Any]) -> bool | None:
    """For a ``running`` record written on this host: whether its process still exists (False: killed -9, power
    loss). None for any other record: finished, written on another host, or with no pid (kill(-1) means every
    process, so it is never asked)."""
    pid = int(status.get("pid", -1))
    if status.get("status") != "running" or status.get("host") != socket.gethostname() or pid <= 0:
        return None
    return pid_alive(pid)
