"""The README's main job end to end (about 10 minutes on 2 cores): marked slow, run in CI."""

from __future__ import annotations

import csv
import json
import os
import subprocess

import pytest
from omegaconf import OmegaConf

from tests.conftest import ROOT


@pytest.mark.slow
def test_main_job_ends_with_verdicts_from_a_planned_sequential_study():
    env = {**os.environ, "WANDB_MODE": "offline"}
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "main.sh")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the experiment's own list: a strategy added to the main job is a job more here, not a broken test
    swept = OmegaConf.load(ROOT / "conf" / "experiment" / "fashion_main.yaml").hydra.sweeper.params
    strategies = set(swept.augment.split(","))
    sweeps = list((ROOT / "outputs" / "study").glob("fashion_main_*/report/report.csv"))
    latest = max(sweeps, key=lambda p: p.stat().st_mtime)
    plan = json.loads((latest.parent.parent / "sequential.json").read_text())
    assert plan["start_seeds"] == 3 and plan["rope"] == 0.01 and plan["looks"] >= 2
    with latest.open() as f:
        rows = {r["strategy"]: r for r in csv.DictReader(f) if r["role"] == "primary"}
    assert set(rows) == strategies and all(int(r["runs"]) >= 3 for r in rows.values())
    assert all(0.6 < float(r["mean"]) < 1.0 for r in rows.values()), rows
    compared = [r for name, r in rows.items() if name != "none"]
    assert all(r["verdict"].split(":")[0] in ("helps", "hurts", "equivalent", "undecided") for r in compared)
    assert all(float(r["level"]) == pytest.approx(0.05 / (len(compared) * plan["looks"])) for r in compared)
    assert "auglab-decide: report written to" in proc.stderr and "(primary)" in proc.stdout
