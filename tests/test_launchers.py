"""Sweeps on other engines: jobs at once on one machine (joblib), submitit, Ray, Optuna; GPU pinning; SLURM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf
from optuna.trial import TrialState

from auglab.errors import AuglabError
from auglab.sweep import slots as device_slots
from auglab.sweep.slots import Slot, plan_slots, visible_gpus
from tests.conftest import ROOT, compose_cfg, run_cli
from tests.test_cli import assert_one_line_error

FAST = ["debug=fast", "trainer=cpu"]


def _records(sweep: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/run.json")}


def test_slot_counts_are_checked_before_hydra_starts():
    from auglab.config.overrides import check_overrides
    from auglab.errors import AuglabError

    for bad in ("0", "-2", "abc", "1.5"):
        with pytest.raises(AuglabError, match="must be a whole number >= 1"):
            check_overrides([f"hydra.launcher.jobs_per_gpu={bad}"])
    check_overrides(["hydra.launcher.cpu_jobs=3", "hydra.launcher.jobs_per_gpu=2"])


def test_gpu_slots_follow_the_visible_devices_and_split_the_cores():
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "2, 3"}) == ["2", "3"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == [] and visible_gpus({"CUDA_VISIBLE_DEVICES": "-1"}) == []
    assert visible_gpus({}, count=3) == ["0", "1", "2"]
    slots = plan_slots(["2", "3"], jobs_per_gpu=2, cpu_jobs=5, cpus=16)
    assert [s.gpu for s in slots] == ["2", "3", "2", "3"]  # the first jobs spread over the GPUs
    assert {s.threads for s in slots} == {4} and [s.index for s in slots] == [0, 1, 2, 3]
    cpu = plan_slots([], jobs_per_gpu=1, cpu_jobs=3, cpus=2)
    assert [(s.gpu, s.threads) for s in cpu] == [(None, 1)] * 3
    assert plan_slots([], jobs_per_gpu=1, cpu_jobs=2, cpus=16)[0].describe() == "0:cpu:8"
    for bad in ({"jobs_per_gpu": 0, "cpu_jobs": 2}, {"jobs_per_gpu": 1, "cpu_jobs": 0}):
        with pytest.raises(AuglabError, match="is invalid: it must be an integer >= 1"):
            plan_slots(["0"], cpus=4, **bad)


def test_a_worker_keeps_its_slot_and_a_dead_worker_frees_it(tmp_path, monkeypatch):
    slots = plan_slots(["0", "1"], jobs_per_gpu=1, cpu_jobs=1, cpus=2)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from auglab.sweep.slots import claim, plan_slots
        slots = plan_slots(["0", "1"], jobs_per_gpu=1, cpu_jobs=1, cpus=2)
        print(claim(slots, Path({str(tmp_path)!r})).gpu, flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "0"
        monkeypatch.setattr(device_slots, "_claimed", None)
        assert device_slots.claim(slots, tmp_path).gpu == "1"  # slot 0 is held by the other worker
        assert device_slots.claim(slots, tmp_path).gpu == "1"  # and this worker keeps its own
    finally:
        holder.kill()
        holder.wait()
    monkeypatch.setattr(device_slots, "_claimed", None)
    assert device_slots.claim(slots, tmp_path).gpu == "0"  # the killed worker's lock died with it


def test_pinning_hides_other_gpus_and_sets_threads(monkeypatch):
    import torch

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    threads = torch.get_num_threads()
    try:
        device_slots.pin(Slot(index=1, gpu="3", threads=1))
        assert torch.get_num_threads() == 1
        import os

        assert os.environ["CUDA_VISIBLE_DEVICES"] == "3" and os.environ["OMP_NUM_THREADS"] == "1"
        assert os.environ[device_slots.SLOT_ENV] == "1:gpu3:1"
    finally:
        torch.set_num_threads(threads)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", device_slots.SLOT_ENV):
            monkeypatch.delenv(var, raising=False)


@pytest.mark.slow  # an end-to-end run of 20-60 s on 2 cores; CI runs it
def test_two_jobs_at_once_overlap_a_failure_stays_in_its_job_and_a_rerun_skips(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["train", "-m", *FAST, "seed=0,1,2", "model.optimizer.lr=0.003,-1", "hydra/launcher=local_gpus",
            "hydra.launcher.cpu_jobs=2", f"hydra.sweep.dir={sweep}"]
    out = run_cli(args, tmp_path, CUDA_VISIBLE_DEVICES="")
    console = out.stdout + out.stderr
    assert out.returncode == 0, console[-3000:]
    records = _records(sweep)
    assert len(records) == 6
    failed = [r for r in records.values() if r["status"] == "failed"]
    assert len(failed) == 3 and all("Invalid learning rate: -1" in r["error"] for r in failed)
    ok = sorted((r for r in records.values() if r["status"] == "ok"), key=lambda r: r["started_at"])
    assert len(ok) == 3
    threads = max(1, len(os.sched_getaffinity(0)) // 2)  # the cores split between the two slots
    assert {r["slot"] for r in records.values()} == {f"0:cpu:{threads}", f"1:cpu:{threads}"}
    spans = sorted((r["started_at"], r["ended_at"]) for r in records.values())
    at_once = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert at_once == 2  # two jobs ran at the same time, never three
    # the console: a line per job start and end with progress, no per-epoch bars, no test tables
    assert console.count("[sweep] start") == 6 and "6/6 done" in console
    assert "Epoch 0" not in console and "Test metric" not in console

    again = run_cli(args, tmp_path, CUDA_VISIBLE_DEVICES="")
    assert again.returncode == 0
    assert (again.stdout + again.stderr).count("finished in an earlier run of this sweep") == 3
    assert {n: r["started_at"] for n, r in _records(sweep).items() if r["status"] == "ok"} == \
        {n: r["started_at"] for n, r in records.items() if r["status"] == "ok"}


@pytest.mark.slow  # a Ray instance and submitit's processes take ~15 s each to start on 2 cores
@pytest.mark.parametrize("launcher", [["hydra/launcher=submitit_local"],
                                      ["hydra/launcher=ray", "+hydra.launcher.ray.init.num_cpus=2"]],
                         ids=["submitit_local", "ray_local"])
def test_cluster_launchers_run_a_sweep_on_this_machine(launcher, tmp_path):
    sweep = tmp_path / "sweep"
    out = run_cli(["train", "-m", *FAST, "seed=0,1", *launcher, f"hydra.sweep.dir={sweep}"], tmp_path,
                  timeout=600, RAY_USAGE_STATS_ENABLED="0")
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    records = _records(sweep)
    assert sorted(r["seed"] for r in records.values()) == [0, 1]
    assert all(r["status"] == "ok" for r in records.values())
    for name in records:
        metrics = json.loads((sweep / name / "metrics.json").read_text())
        assert 0.0 <= metrics["test/acc"] <= 1.0 and "val/f1_best" in metrics


@pytest.mark.slow  # end to end, several subprocess runs: CI runs it
def test_optuna_search_records_a_failing_trial_and_returns_validation_values(tmp_path):
    sweep = tmp_path / "search"
    sweep.mkdir()
    # The first trials are enqueued (as a user seeds a search with known settings); one cannot train.
    study = optuna.create_study(study_name="train", storage=f"sqlite:///{sweep}/optuna.db", direction="maximize")
    for lr in (0.001, -1.0, 0.01):
        study.enqueue_trial({"model.optimizer.lr": lr, "model.optimizer.weight_decay": 0.0005})
    space = "hydra.sweeper.params={model.optimizer.lr:'interval(-1.0, 0.01)'}"  # negative rates cannot train
    out = run_cli(["train", "hparams_search=optimizer_tpe", *FAST, space, "hydra.sweeper.n_trials=4",
                   f"hydra.sweep.dir={sweep}"], tmp_path)
    console = out.stdout + out.stderr
    assert out.returncode == 0, console[-3000:]
    trials = optuna.load_study(study_name="train", storage=f"sqlite:///{sweep}/optuna.db").trials
    assert len(trials) == 4 and [t.params["model.optimizer.lr"] for t in trials[:3]] == [0.001, -1.0, 0.01]
    for trial in trials:  # the fourth is TPE's own pick: it fails exactly when its rate is negative
        assert (trial.state == TrialState.FAIL) == (trial.params["model.optimizer.lr"] < 0)
    told = {}  # what each job returned: its best validation value, never a test metric
    for metrics in sweep.glob("*/metrics.json"):
        lr = OmegaConf.load(metrics.parent / "config.yaml").model.optimizer.lr
        told[lr] = json.loads(metrics.read_text())["val/f1_best"]
    assert len(told) == sum(t.state == TrialState.COMPLETE for t in trials)
    for trial in trials:
        if trial.state == TrialState.COMPLETE:
            assert trial.value == pytest.approx(told[trial.params["model.optimizer.lr"]])
    assert "4/4 done" in console and "[sweep] failed" in console


def test_an_interrupted_search_continues_with_the_missing_trials(tmp_path):
    from hydra_plugins.auglab_plugins.resumable_optuna import ResumableOptunaSweeper

    storage = f"sqlite:///{tmp_path}/optuna.db"
    assert ResumableOptunaSweeper._continue(storage, "s", 6) == (0, 6)  # no study yet: a new search
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    for value in (0.5, 0.7):
        trial = study.ask()
        trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        study.tell(trial, value)
    running = study.ask()  # the search was killed while this trial trained
    lr = running.suggest_float("lr", 1e-4, 1e-1, log=True)
    assert ResumableOptunaSweeper._continue(storage, "s", 6) == (2, 4)
    study = optuna.load_study(study_name="s", storage=storage)
    again = study.ask()
    assert again.suggest_float("lr", 1e-4, 1e-1, log=True) == lr  # same parameters: the job resumes
    # interrupted once more, while that trial ran again: still two done, the failed attempts not counted
    assert ResumableOptunaSweeper._continue(storage, "s", 6) == (2, 4)


def test_ddp_in_a_slurm_allocation_takes_devices_and_nodes_from_it(tmp_path, monkeypatch):
    from lightning.pytorch.plugins.environments import SLURMEnvironment

    from auglab.run.build import build_trainer
    from auglab.sweep import ddp as ddp_launch
    from auglab.sweep import slurm

    env = {"SLURM_NTASKS": "2", "SLURM_NTASKS_PER_NODE": "2", "SLURM_NNODES": "1", "SLURM_PROCID": "1",
           "SLURM_LOCALID": "1", "SLURM_NODEID": "0", "SLURM_JOB_NAME": "train", "SLURM_JOB_ID": "7",
           "SLURM_NODELIST": "node1"}
    assert slurm.trainer_overrides(env) == {"devices": 2, "num_nodes": 1} and slurm.is_secondary_task(env)
    assert not slurm.is_secondary_task({**env, "SLURM_PROCID": "0"})
    assert slurm.trainer_overrides({**env, "SLURM_JOB_NAME": "bash"}) == {}  # an interactive shell
    assert slurm.trainer_overrides({}) == {} and not slurm.is_secondary_task({})
    for key, value in {**env, "SLURM_PROCID": "0", "SLURM_LOCALID": "0"}.items():
        monkeypatch.setenv(key, value)
    cfg = compose_cfg(["trainer=ddp_cpu", "trainer.devices=1", "logger=csv"], tmp_path)
    trainer = build_trainer(cfg)
    assert trainer.num_devices == 2 and trainer.num_nodes == 1
    assert isinstance(trainer.strategy.cluster_environment, SLURMEnvironment)
    assert ddp_launch.processes_to_start(cfg) == 0  # SLURM starts the ranks, auglab does not


@pytest.mark.slow  # end to end, several subprocess runs: CI runs it
def test_the_default_sweep_folder_is_one_folder_for_jobs_in_other_processes(tmp_path):
    """The folder name holds a per-process id: jobs run by joblib's workers must still share the launcher's."""
    out = run_cli(["train", "-m", *FAST, "seed=0,1", "hydra/launcher=local_gpus"], tmp_path, CUDA_VISIBLE_DEVICES="")
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    (sweep,) = (tmp_path / "outputs" / "multirun").iterdir()
    assert sorted(r["seed"] for r in _records(sweep).values()) == [0, 1]
    assert "2/2 done" in out.stdout + out.stderr  # the jobs found the launcher's progress file


@pytest.mark.parametrize("value", ["abc", "1.5"])
def test_a_bad_slot_count_fails_in_one_line(value, tmp_path):
    for option in ("cpu_jobs", "jobs_per_gpu"):
        proc = run_cli(["train", "-m", *FAST, "hydra/launcher=local_gpus", f"hydra.launcher.{option}={value}"],
                       tmp_path)
        assert_one_line_error(proc, f"hydra.launcher.{option} must be a whole number >= 1, got '{value}'")


@pytest.mark.parametrize("model", ["image_cnn", "image_resnet", "gru4rec", "sasrec"])
def test_the_search_space_exists_in_every_model(model, tmp_path):
    cfg = compose_cfg([f"model={model}", "hparams_search=optimizer_tpe"], tmp_path)
    space = OmegaConf.load(ROOT / "conf" / "hparams_search" / "optimizer_tpe.yaml").hydra.sweeper.params
    for key in space:
        assert OmegaConf.select(cfg, key) is not None, f"{model} has no {key}"
