"""Every script in benchmarks/ runs end to end in its ``--smoke`` mode: tiny inputs, one round, peers that are
not installed skipped, nothing written into docs/, README.md or experiments/. Marked slow (each starts Python
and torch, some several times); CI runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

BENCHMARKS = sorted((ROOT / "benchmarks").glob("*.py"))
PROTECTED = [ROOT / "README.md", ROOT / "docs", ROOT / "experiments"]  # what a smoke run must leave alone


def snapshot() -> dict[Path, int]:
    """Modification times of every protected file."""
    files = [p for root in PROTECTED for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file()]
    return {p: p.stat().st_mtime_ns for p in files}


@pytest.mark.parametrize("script", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_benchmark_smoke(script: Path):
    assert "--smoke" in script.read_text(), f"{script.name} has no --smoke mode (document it in its docstring)"
    before = snapshot()
    proc = subprocess.run([sys.executable, f"benchmarks/{script.name}", "--smoke"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "WANDB_MODE": "offline", "PYTHONUNBUFFERED": "1"})
    assert proc.returncode == 0, f"{script.name} --smoke failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    assert proc.stdout.strip(), f"{script.name} --smoke printed nothing"
    assert snapshot() == before, f"{script.name} --smoke wrote into README.md, docs/ or experiments/"
