"""The commands as a user runs them, in subprocesses: errors, sweeps, reports, eval, DDP, W&B offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import assert_eval_reproduces, make_image_folder, run_cli

FAST = ["debug=fast", "trainer=cpu", "callbacks.progress.refresh_rate=0"]


def assert_one_line_error(proc, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("auglab: error: "), proc.stderr[-3000:]
    for fragment in fragments:
        assert fragment in last, last


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["augment=rand_augment"], ["unknown augment=rand_augment; choose one of:", "randaugment"]),
        (["data=cifar10"], ["unknown data=cifar10; choose one of: eda_benchmark, fashion_mnist, fine_food_reviews"]),
        (["logger=mlfow"], ["unknown logger=mlfow", "wandb"]),
        (["-m", "seed=0,1", "trainr.max_epochs=1"], ["Could not override 'trainr.max_epochs'. To append"]),
        (["data=image_folder"], ["data.path is not set; point data.path at a folder"]),
        (["data=image_folder", "data.path=/no/such/folder"], ["data.path=/no/such/folder does not exist"]),
        (["data.root=/nowhere", "data.train_per_class=0"],
         ["data.train_per_class=0 is invalid: it must be an integer >= 1"]),
        (["augment=randaugment", "augment.sample.randaugment.magnitude=abc"],
         ["augment.sample.randaugment.magnitude='abc': expected int"]),
        (["model=image_resnet", "model.net.depth=7"], ["model.net.depth=7: torchvision has ResNets of depth 18, 34"]),
        (["seed=-1"], ["seed=-1: must be an integer from 0 to 4294967295"]),
        (["data.train_per_class=100000"], ["data.train_per_class=100000 but class 'T-shirt/top' has only 5400",
                                           "use at most 5400"]),
        (["data.val_per_class=6000"], ["data.val_per_class=6000: a class has only 6000 example(s)"]),
        (["optimized_metric=test/f1"], ["optimized_metric=test/f1: sweepers may only see validation metrics"]),
        (["optimized_metric=val/acc"], ["optimized_metric=val/acc differs from model.monitor=val/f1"]),
    ],
)
def test_bad_input_fails_before_training_with_one_line(args, fragments, tmp_path):
    proc = run_cli(["train", *FAST, *args], tmp_path)
    assert_one_line_error(proc, *fragments)
    assert "Epoch 0" not in proc.stdout + proc.stderr


def test_corrupt_image_in_a_users_folder(tmp_path):
    make_image_folder(tmp_path / "shop", {"a": 4, "b": 4})
    (tmp_path / "shop" / "a" / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
    proc = run_cli(["train", *FAST, "data=image_folder", f"data.path={tmp_path / 'shop'}"], tmp_path)
    assert_one_line_error(proc, "cannot read image", "bad.jpg", "remove or replace the file")


def test_eval_without_a_real_checkpoint(tmp_path):
    proc = run_cli(["evaluate", "ckpt_path=/no/best.ckpt"], tmp_path)
    assert_one_line_error(proc, "ckpt_path=/no/best.ckpt does not exist")


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


@pytest.mark.slow  # end to end, several subprocess runs: CI runs it
def test_sweep_records_failures_goes_on_resumes_and_reports(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["train", "-m", *FAST, "augment=none,flip_crop", "data.train_per_class=0,10", f"hydra.sweep.dir={sweep}"]
    proc = run_cli(args, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/run.json")}
    assert sorted(r["status"] for r in records.values()) == ["failed", "failed", "ok", "ok"]
    assert all("train_per_class=0 is invalid" in r["error"] for r in records.values() if r["status"] == "failed")

    again = run_cli(args, tmp_path)  # the same sweep again: finished jobs are skipped
    assert again.returncode == 0
    assert again.stdout.count("finished in an earlier run of this sweep") + again.stderr.count(
        "finished in an earlier run of this sweep") == 2

    ok_job = next(name for name, r in records.items() if r["status"] == "ok")
    (sweep / ok_job / "run.json").write_text(json.dumps({"status": "interrupted"}))  # as if killed mid-job
    resumed = run_cli(args, tmp_path)
    log = resumed.stdout + resumed.stderr
    assert f"resuming {ok_job} from {sweep / ok_job / 'checkpoints' / 'last.ckpt'}" in log
    assert "Restoring states from the checkpoint path" in (sweep / ok_job / "train.log").read_text()
    assert json.loads((sweep / ok_job / "run.json").read_text())["status"] == "ok"

    rep = run_cli(["report", str(sweep)], tmp_path)
    assert rep.returncode == 0, rep.stderr
    assert "4 jobs: 2 ok, 2 failed" in rep.stdout
    assert "Grouped by data.train_per_class" in rep.stdout  # the swept option is a column: failed size apart
    assert "| 0 | flip_crop | 0 | 1 |" in rep.stdout and "| 10 | flip_crop | 1 | 0 |" in rep.stdout
    assert "| 10 | none | 1 | 0 |" in rep.stdout
    for suffix in ("md", "csv", "tex", "png"):
        assert (sweep / "report" / f"report.{suffix}").stat().st_size > 100


@pytest.mark.slow  # end to end, several subprocess runs: CI runs it
def test_eval_reproduces_test_metrics_in_one_and_two_processes(image_folder, tmp_path):
    run = tmp_path / "run"
    train = run_cli(["train", "trainer=cpu", "trainer.max_epochs=3", "data=image_folder", f"data.path={image_folder}",
                     "data.image_size=16", "data.batch_size=8", "callbacks.progress.refresh_rate=0",
                     f"hydra.run.dir={run}"], tmp_path)
    assert train.returncode == 0, train.stderr[-3000:]
    expected = {k: v for k, v in _metrics(run).items() if k.startswith("test/")}  # eval has no val/ pass
    two_processes = assert_eval_reproduces(run / "checkpoints" / "best.ckpt", expected, tmp_path)
    # 13 test images over 2 ranks: with DistributedSampler padding one would be counted twice.
    assert json.loads((two_processes / "provenance.json").read_text())["split_sizes"]["test"] == 13
    import numpy as np  # the per-example outcomes agree with the metrics they come from

    from auglab.metrics import per_example

    outcomes = per_example.load(run / "predictions.npz")
    assert outcomes["index"].tolist() == list(range(13)) and outcomes["probs"].shape == (13, 3)
    assert np.mean(outcomes["prediction"] == outcomes["label"]) == pytest.approx(expected["test/acc"])
    assert (outcomes["probs"].argmax(1) == outcomes["prediction"]).all()
    training = json.loads((run / "provenance.json").read_text())["training"]
    assert training["optimizer_steps"] > 0 and training["examples_seen"] >= 3 * 27


@pytest.mark.slow  # end to end, several subprocess runs: CI runs it
def test_eval_refuses_data_that_differs_from_the_runs(image_folder, tmp_path):
    run = tmp_path / "run"
    train = run_cli(["train", *FAST, "data=image_folder", f"data.path={image_folder}", "data.image_size=16",
                     f"hydra.run.dir={run}"], tmp_path)
    assert train.returncode == 0, train.stderr[-3000:]
    make_image_folder(image_folder / "test", {"bag": 1}, seed=9)  # overwrites one test image: other data
    ckpt = run / "checkpoints" / "best.ckpt"
    proc = run_cli(["evaluate", f"ckpt_path={ckpt}", f"hydra.run.dir={tmp_path / 'eval'}"], tmp_path)
    assert_one_line_error(proc, "the data differs from the run's (data sha256", "allow_data_mismatch=true")
    forced = run_cli(["evaluate", f"ckpt_path={ckpt}", "allow_data_mismatch=true",
                      f"hydra.run.dir={tmp_path / 'eval2'}"], tmp_path)
    assert forced.returncode == 0 and "evaluating on other data than the run's" in forced.stdout + forced.stderr


@pytest.mark.slow  # an end-to-end run of 20-60 s on 2 cores; CI runs it
def test_ddp_cpu_sweep_runs_each_job_once_in_two_processes(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli(["train", "-m", *FAST, "trainer=ddp_cpu", "augment=none,device_flip_crop",
                    f"hydra.sweep.dir={sweep}"], tmp_path, timeout=400)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert out.count("[sweep] start") == 2  # the ranks did not start the sweep again
    assert "Epoch 0" not in out and "Test metric" not in out  # nor print their bars and tables
    jobs = sorted(p.name for p in sweep.iterdir() if (p / "run.json").exists())
    assert len(jobs) == 2 and jobs[0].startswith("device_flip_crop-s0-") and jobs[1].startswith("none-s0-")
    for job in jobs:
        record = json.loads((sweep / job / "run.json").read_text())
        ranks = {p.name: p.read_text()[-2000:] for p in (sweep / job / "ranks").glob("*.json")}
        assert record["status"] == "ok", (record, ranks, out[-3000:])
        assert 0 <= _metrics(sweep / job)["test/acc"] <= 1
        assert json.loads((sweep / job / "provenance.json").read_text())["world_size"] == 2


@pytest.mark.slow  # end to end, several subprocess runs: CI runs it
def test_wandb_offline_one_run_per_job_grouped_and_tagged(tmp_path):
    sweep = tmp_path / "wb_sweep"
    proc = run_cli(["train", "-m", *FAST, "logger=many", "augment=none,cutmix", f"hydra.sweep.dir={sweep}"],
                   tmp_path, WANDB_MODE="offline")
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_files = sorted(sweep.glob("*/wandb/offline-run-*/run-*.wandb"))
    assert len(run_files) == 2 and run_files[0].parent.parent != run_files[1].parent.parent
    for strategy, run_file in zip(["none", "cutmix"], run_files, strict=True):
        blob = run_file.read_bytes()
        assert strategy.encode() in blob and b"wb_sweep" in blob  # tag and group
        assert b"test/f1" in blob
        assert (run_file.parents[2] / "tensorboard").is_dir() and (run_file.parents[2] / "csv" / "metrics.csv").exists()
