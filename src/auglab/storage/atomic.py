"""Files written whole or not at all: a killed run, or a second process writing the same file (DDP ranks,
parallel sweep jobs), never leaves half a file that a later reader takes for a finished one."""

from __future__ import annotations

import json
import os
import secrets
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
