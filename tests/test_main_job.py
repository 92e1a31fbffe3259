"""The README's main job end to end (about 8 minutes on 2 cores): marked slow, run in CI."""

from __future__ import annotations

import csv
import os
import subprocess

import pytest
from omegaconf import OmegaConf

from tests.conftest import ROOT


@pytest.mark.slow
def test_main_job_runs_every_strategy_and_shows_they_differ():
    env = {**os.environ, "WANDB_MODE": "offline"}
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "main.sh")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the experiment's own list: a strategy added to the study is a job more here, not a broken test
    swept = OmegaConf.load(ROOT / "conf" / "experiment" / "fashion_lowdata.yaml").hydra.sweeper.params.augment
    strategies = set(swept.split(","))
    assert f"{len(strategies)} jobs: {len(strategies)} ok, 0 failed" in proc.stdout
    reports = list((ROOT / "outputs" / "study").glob("*/report/report.csv"))
    latest = max(reports, key=lambda p: p.stat().st_mtime)
    rows = [r for r in csv.DictReader(latest.open()) if r["metric"] == "test/acc"]
    accs = {r["strategy"]: float(r["mean"]) for r in rows}
    assert set(accs) == strategies and all(0.6 < a < 1.0 for a in accs.values()), accs
    assert max(accs.values()) - min(accs.values()) > 0.01, accs  # strategies really differ
