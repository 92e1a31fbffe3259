"""The git commit of the auglab source a process loaded, and whether its tree had uncommitted changes: a
run's provenance (``run/provenance.py``) and each sweep job's start (``sweep/job.py``)."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any


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

    Taken once per process, when a job starts (``sweep/job.py``): that is the code this process loaded.
    Asked again when a job ends, it would name whatever the repository held by then.
    """
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": bool(status) if status is not None else None}
