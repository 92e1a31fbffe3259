"""Files written whole or not at all: a killed run, or a second process writing the same file (DDP ranks,
parallel sweep jobs), never leaves half a file that a later reader takes for a finished one."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` into a temporary file beside ``path``, then rename it to ``path`` (atomic on POSIX)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # per process and call: two writers of the same file never share a temporary file
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(3)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_folder_atomic(folder: Path, write: Callable[[Path], object]) -> Path:
    """``write(partial)`` into a folder beside ``folder``, then rename it to ``folder``: a killed writer never
    leaves a folder that looks finished. When another process finished first, its folder is kept."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = folder.with_name(f".{folder.name}.{os.getpid()}-{secrets.token_hex(3)}.partial")
    try:
        write(partial)
        try:
            partial.replace(folder)
        except OSError:  # the other writer's folder is there (rename onto a non-empty folder fails)
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """``payload`` as indented JSON with sorted keys, written atomically."""
    text = json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"
    write_atomic(path, lambda tmp: tmp.write_text(text))


def read_json(path: Path) -> dict[str, Any]:
    """A record written by ``write_json``; ``{}`` when it is missing or unreadable (a run killed early)."""
    try:
        found = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}
