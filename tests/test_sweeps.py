"""Sweeps a user extends, kills and restarts, in subprocesses: job identity, exact resume, failing DDP jobs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from tests.conftest import run_cli

FAST = ["debug=fast", "trainer=cpu", "callbacks.progress.refresh_rate=0"]
# Slow enough epochs (about a second) that a kill lands between two epoch-end checkpoints.
RESUMABLE = ["trainer=cpu", "callbacks.progress.refresh_rate=0", "data.train_per_class=60", "data.val_per_class=10",
             "data.eval_batch_size=500", "trainer.max_epochs=4", "augment=flip_crop"]
# The recommender twin: device-stage draws and dropout both consume the restored random streams.
RESUMABLE_SEQUENCE = ["trainer=cpu", "callbacks.progress.refresh_rate=0", "data=synthetic_sessions", "model=sasrec",
                      "data.num_users=200", "data.max_len=20", "data.batch_size=256", "trainer.max_epochs=4",
                      "augment=seq_crop_mask_reorder"]

# Contrastive views: the views' edits, dropout and DuoRec's drawn positives, all from the restored streams.
RESUMABLE_CONTRASTIVE = [*RESUMABLE_SEQUENCE[:-1], "augment=cl4srec",
                         "augment.model.contrastive.same_target_weight=0.1"]


# Adversarial examples: the attack's random start and dropout draw from generators seeded by the step.
RESUMABLE_ADVERSARIAL = [*RESUMABLE[:-1], "augment=adversarial_image", "augment.model.adversarial.method=pgd",
                         "augment.model.adversarial.steps=2"]
# ... and FGSM at its default, its step from the clean pass's own backward.
RESUMABLE_FGSM = [*RESUMABLE[:-1], "augment=adversarial_image"]


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def _jobs(sweep: Path) -> dict[str, Path]:
    return {p.name: p for p in sweep.iterdir() if (p / "job.json").exists()}


def _start(args: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    """``auglab-train`` in the background, in its own process group (to kill it and everything it started)."""
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "auglab.train", *args], cwd=cwd, env=env, start_new_session=True,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def _wait_for(pattern: str, folder: Path, proc: subprocess.Popen, timeout: float = 240) -> Path:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
        assert proc.poll() is None, f"the run ended before {pattern} appeared"
        time.sleep(0.05)
    raise AssertionError(f"no {pattern} after {timeout} s")


def _processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains ``text`` (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (entry / "stat").read_text().split()[2]
            except OSError:
                continue
            if text in cmdline and state != "Z":
                pids.append(int(entry.name))
    return pids


@pytest.mark.slow  # an end-to-end run of 20-60 s on 2 cores; CI runs it
def test_extending_a_sweep_in_place_runs_exactly_the_new_jobs(tmp_path):
    sweep = tmp_path / "sweep"
    first = run_cli(["train", "-m", *FAST, "augment=none,cutmix", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    before = {name: _json(folder / "metrics.json") for name, folder in _jobs(sweep).items()}

    extended = run_cli(["train", "-m", *FAST, "augment=none,cutmix", "seed=0,1", f"hydra.sweep.dir={sweep}"], tmp_path)
    log = extended.stdout + extended.stderr
    assert extended.returncode == 0, log[-3000:]
    assert log.count("finished in an earlier run of this sweep") == 2  # `augment=none` is `augment=none seed=0`
    jobs = _jobs(sweep)
    assert len(jobs) == 4
    seen = set()
    for name, folder in jobs.items():
        cfg = OmegaConf.load(folder / "config.yaml")
        overrides = OmegaConf.load(folder / ".hydra" / "overrides.yaml")
        assert f"augment={cfg.augment.name}" in overrides
        assert f"seed={cfg.seed}" in overrides or cfg.seed == 0
        assert name.startswith(f"{cfg.augment.name}-s{cfg.seed}-")
        assert _json(folder / "run.json")["identity_sha256"] == _json(folder / "job.json")["identity_sha256"]
        seen.add((cfg.augment.name, cfg.seed))
    assert seen == {("none", 0), ("none", 1), ("cutmix", 0), ("cutmix", 1)}
    for name, metrics in before.items():  # the finished jobs were reused, not run again
        assert _json(sweep / name / "metrics.json") == metrics

    rep = run_cli(["report", str(sweep)], tmp_path)
    assert "4 jobs: 4 ok" in rep.stdout
    assert "| none | 2 | 0 |" in rep.stdout and "| cutmix | 2 | 0 |" in rep.stdout

    # A folder that holds another job is never reused, and the report never counts it under a wrong name.
    none0 = next(f for n, f in jobs.items() if n.startswith("none-s0-"))
    cutmix0 = next(f for n, f in jobs.items() if n.startswith("cutmix-s0-"))
    (none0 / "job.json").write_text((cutmix0 / "job.json").read_text())
    again = run_cli(["train", "-m", *FAST, "augment=none", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert again.returncode == 0
    log = again.stdout + again.stderr
    assert f"{none0} holds another job (its value vs this job's:" in log and "it is left untouched" in log
    assert "Move that folder out of the sweep" in log
    rep = run_cli(["report", str(sweep)], tmp_path)
    assert "1 folder(s) left out" in rep.stdout and none0.name in rep.stdout
    assert "| none | 1 | 0 |" in rep.stdout


def _kill_after_first_checkpoint(args: list[str], cwd: Path, sweep: Path, sig: int) -> subprocess.Popen:
    proc = _start(args, cwd, cwd / f"killed_{sig}.log")
    _wait_for("*/checkpoints/last.ckpt", sweep, proc)
    os.killpg(proc.pid, sig)
    proc.wait(timeout=60)
    return proc


@pytest.mark.slow  # an end-to-end run of 20-60 s on 2 cores; CI runs it
@pytest.mark.parametrize("job", [RESUMABLE, RESUMABLE_SEQUENCE, RESUMABLE_CONTRASTIVE, RESUMABLE_ADVERSARIAL,
                                 RESUMABLE_FGSM],
                         ids=["image", "sequence", "contrastive", "adversarial", "adversarial_fgsm"])
def test_kill_9_then_the_same_command_equals_an_uninterrupted_run(job, tmp_path):
    clean = run_cli(["train", "-m", *job, f"hydra.sweep.dir={tmp_path / 'clean'}"], tmp_path)
    assert clean.returncode == 0, clean.stderr[-3000:]
    expected = _json(next(iter(_jobs(tmp_path / "clean").values())) / "metrics.json")

    sweep = tmp_path / "killed"
    args = ["-m", *job, f"hydra.sweep.dir={sweep}"]
    _kill_after_first_checkpoint(args, tmp_path, sweep, signal.SIGKILL)
    (job,) = _jobs(sweep).values()
    assert _json(job / "run.json")["status"] == "running"  # as a kill -9 leaves it
    resumed = run_cli(["train", *args], tmp_path)
    log = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, log[-3000:]
    assert f"resuming {job.name} from {job / 'checkpoints' / 'last.ckpt'}" in log
    assert "Restoring states from the checkpoint path" in (job / "train.log").read_text()  # Lightning's own line
    assert _json(job / "run.json")["status"] == "ok"
    assert _json(job / "metrics.json") == expected  # every metric, bit for bit


@pytest.mark.slow  # an end-to-end run of 20-60 s on 2 cores; CI runs it
def test_sigterm_records_interrupted_and_the_rerun_resumes(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", *RESUMABLE, f"hydra.sweep.dir={sweep}"]
    proc = _kill_after_first_checkpoint(args, tmp_path, sweep, signal.SIGTERM)
    assert proc.returncode == 130
    (job,) = _jobs(sweep).values()
    record = _json(job / "run.json")
    assert record["status"] == "interrupted" and "run the same command again" in record["error"]
    resumed = run_cli(["train", *args], tmp_path)
    assert resumed.returncode == 0 and f"resuming {job.name}" in resumed.stdout + resumed.stderr
    assert _json(job / "run.json")["status"] == "ok"


@pytest.mark.slow  # an end-to-end run of 20-60 s on 2 cores; CI runs it
def test_ddp_kill_9_resumes_every_rank_from_the_same_checkpoint(tmp_path):
    args = [*RESUMABLE, "trainer=ddp_cpu", "trainer.max_epochs=3"]
    clean = run_cli(["train", "-m", *args, f"hydra.sweep.dir={tmp_path / 'clean'}"], tmp_path, timeout=400)
    assert clean.returncode == 0, clean.stderr[-3000:]
    expected = _json(next(iter(_jobs(tmp_path / "clean").values())) / "metrics.json")

    sweep = tmp_path / "killed"
    _kill_after_first_checkpoint(["-m", *args, f"hydra.sweep.dir={sweep}"], tmp_path, sweep, signal.SIGKILL)
    (job,) = _jobs(sweep).values()
    time.sleep(1)
    assert not _processes_mentioning(str(sweep)), "a rank outlived the killed sweep"  # same process group
    resumed = run_cli(["train", "-m", *args, f"hydra.sweep.dir={sweep}"], tmp_path, timeout=400)
    assert resumed.returncode == 0, (resumed.stdout + resumed.stderr)[-3000:]
    epochs = []
    for rank in (0, 1):
        lines = [line for line in (job / f"rank{rank}.log").read_text().splitlines() if "resumes after epoch" in line]
        assert len(lines) == 1, rank
        epochs.append(lines[0].split("resumes after epoch")[1].split()[0])
    assert epochs[0] == epochs[1]
    assert _json(job / "run.json")["status"] == "ok"
    assert _json(job / "metrics.json") == expected


@pytest.mark.slow  # an end-to-end run of 20-60 s on 2 cores; CI runs it
def test_ddp_sweep_survives_a_nan_job_and_a_killed_rank_and_leaves_no_process(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", *FAST, "trainer=ddp_cpu", "trainer.max_epochs=3", "model.optimizer.lr=1e9,0.003", "seed=0,1",
            f"hydra.sweep.dir={sweep}"]
    started = time.time()
    proc = _start(args, tmp_path, tmp_path / "sweep.log")
    # While the sweep runs, SIGKILL rank 1 of the first healthy job (as the kernel's OOM killer would).
    victim = None
    while proc.poll() is None and victim is None and time.time() - started < 300:
        healthy = [p for p in sweep.glob("none-s*") if (p / "job.json").exists()
                   and _json(p / "job.json")["identity"]["model"]["optimizer"]["lr"] == 0.003]
        for job in healthy:
            ranks = _processes_mentioning("hydra.job.name=rank1")
            ranks = [pid for pid in ranks if str(job) in Path(f"/proc/{pid}/cmdline").read_bytes().decode()]
            if ranks:
                victim = job
                os.kill(ranks[0], signal.SIGKILL)
                break
        time.sleep(0.05)
    assert proc.wait(timeout=400) == 0, (tmp_path / "sweep.log").read_text()[-3000:]
    assert victim is not None
    records = {p.name: _json(p / "run.json") for p in _jobs(sweep).values()}
    assert len(records) == 4
    for name, record in records.items():
        lr = _json(sweep / name / "job.json")["identity"]["model"]["optimizer"]["lr"]
        if lr == 1e9:
            assert record["status"] == "failed" and "loss is nan" in record["error"]
        elif name == victim.name:
            assert record["status"] == "failed" and record["error"].startswith("rank 1 failed (exit code -9)")
        else:
            assert record["status"] == "ok", record
    time.sleep(1)
    assert not _processes_mentioning(str(sweep)), "a process of the sweep is still running"


@pytest.mark.slow  # end to end, several subprocess runs: CI runs it
def test_sweepers_get_the_best_validation_value_and_test_false_jobs_skip_cleanly(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["train", "-m", *FAST, "trainer.max_epochs=3", "test=false", f"hydra.sweep.dir={sweep}"]
    proc = run_cli(args, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (job,) = _jobs(sweep).values()
    metrics = _json(job / "metrics.json")
    assert not [k for k in metrics if k.startswith("test/")]
    rows = [line.split(",") for line in (job / "csv" / "metrics.csv").read_text().splitlines()]
    column = rows[0].index("val/f1")
    assert metrics["val/f1_best"] == pytest.approx(max(float(r[column]) for r in rows[1:] if r[column]))
    again = run_cli(args, tmp_path)
    assert again.returncode == 0 and "finished in an earlier run" in again.stdout + again.stderr
