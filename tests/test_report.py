"""auglab-report on a hand-made sweep folder: statistics, tolerance of failed and missing jobs, outputs."""

from __future__ import annotations

import csv
import json
import math
import os
import socket
import subprocess
import sys

import pytest
from omegaconf import OmegaConf
from scipy import stats

from auglab.report import report
from auglab.sweep.identity import digest, identity


def write_job(folder, strategy, status, acc=None, seed=0, **options):
    """A job folder as auglab-train leaves it: job.json first, then config.yaml, run.json, metrics.json."""
    folder.mkdir(parents=True)
    (folder / ".hydra").mkdir()
    cfg = OmegaConf.create({"augment": {"name": strategy}, "seed": seed, **options})
    key = digest(identity(cfg))
    (folder / "job.json").write_text(json.dumps({"identity_sha256": key, "identity": identity(cfg)}))
    if status is None:
        return  # started, never finished: no run.json
    OmegaConf.save(cfg, folder / "config.yaml")
    (folder / "run.json").write_text(json.dumps({"augment": strategy, "status": status, "seed": seed,
                                                 "identity_sha256": key}))
    if acc is not None:
        (folder / "metrics.json").write_text(json.dumps({"test/acc": acc, "test/f1": acc - 0.01}))


def csv_rows(path, metric: str) -> dict[str, dict[str, str]]:
    """report.csv's rows of one metric by strategy, read with the csv module (labels may hold commas)."""
    with path.open() as f:
        return {r["strategy"]: r for r in csv.DictReader(f) if r["metric"] == metric}


def test_report_tables_ci_and_failures(tmp_path):
    sweep = tmp_path / "sweep"
    accs = {"none": [0.70, 0.72, 0.71], "flip_crop": [0.78, 0.81, 0.79]}  # seeds 0, 1, 2
    n = 0
    for strategy, values in accs.items():
        for seed, acc in enumerate(values):
            write_job(sweep / str(n), strategy, "ok", acc, seed)
            n += 1
    write_job(sweep / str(n), "mixup", "failed")
    write_job(sweep / str(n + 1), "mixup", None)
    write_job(sweep / str(n + 2), "cutmix", "ok", 0.75)
    # Never counted: a folder from before job identities, and one whose config is not its job's.
    legacy = sweep / "legacy"
    legacy.mkdir()
    (legacy / "run.json").write_text(json.dumps({"augment": "none", "status": "ok", "seed": 5}))
    (legacy / "metrics.json").write_text(json.dumps({"test/acc": 0.99}))
    write_job(sweep / "swapped", "none", "ok", 0.99, seed=7)
    (sweep / "swapped" / "config.yaml").write_text("augment:\n  name: none\nseed: 8\n")

    md = report(sweep)
    out = sweep / "report"
    assert {p.name for p in out.iterdir()} == {"report.md", "report.csv", "report.tex", "report.png", "forest.png",
                                               "forest.pdf"}
    assert "11 jobs: 7 ok, 1 failed, 0 interrupted, 0 running, 1 missing" in md
    assert "2 folder(s) left out" in md and "legacy" in md and "swapped" in md

    rows = csv_rows(out / "report.csv", "test/acc")
    def half(values):
        return stats.t.ppf(0.975, len(values) - 1) * stats.tstd(values) / math.sqrt(len(values))

    paired = [f - b for f, b in zip(accs["flip_crop"], accs["none"], strict=True)]  # same seed, same data
    flip = rows["flip_crop"]
    assert float(flip["mean"]) == pytest.approx(0.7933333)
    assert float(flip["ci95"]) == pytest.approx(half(accs["flip_crop"]))
    assert float(flip["diff_vs_none"]) == pytest.approx(sum(paired) / 3) and flip["pairs"] == "3"
    assert float(flip["seed_variance"]) == pytest.approx(stats.tvar(paired))
    # no per-example outcomes: the unadjusted interval is the paired Student-t one, about this test set only
    assert flip["test_part"] == "unknown" and flip["role"] == "primary"
    assert float(flip["diff_high95"]) - float(flip["diff_vs_none"]) == pytest.approx(half(paired))
    assert float(rows["cutmix"]["diff_vs_none"]) == pytest.approx(0.75 - 0.70)  # seed 0 only: one pair
    assert rows["cutmix"]["pairs"] == "1" and rows["cutmix"]["diff_low95"] == "" and rows["cutmix"]["ci95"] == ""
    assert (rows["mixup"]["runs"], rows["mixup"]["failed"]) == ("0", "2")  # no finished run, two failed or missing
    table = md.split("### test/acc")[1]
    assert table.index("| none ") < table.index("| flip_crop ") < table.index("| cutmix ")
    assert r"95\% CI" in (out / "report.tex").read_text()


def test_a_running_job_is_not_counted_as_failed(tmp_path):
    sweep = tmp_path / "sweep"
    for n, (strategy, status, acc) in enumerate([("none", "ok", 0.70), ("mixup", "ok", 0.72),
                                                  ("mixup", "running", None), ("mixup", "failed", None)]):
        write_job(sweep / str(n), strategy, status, acc, seed=n)
    record = sweep / "2" / "run.json"  # the running job's process, here: alive
    record.write_text(json.dumps({**json.loads(record.read_text()), "pid": os.getpid(), "host": socket.gethostname()}))
    md = report(sweep)
    assert "4 jobs: 2 ok, 1 failed, 0 interrupted, 1 running, 0 missing" in md
    assert csv_rows(sweep / "report" / "report.csv", "test/acc")["mixup"]["failed"] == "1"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process of this host that no longer exists: its job was killed, not running
    record.write_text(json.dumps({**json.loads(record.read_text()), "pid": dead.pid}))
    assert "4 jobs: 2 ok, 1 failed, 1 interrupted, 0 running, 0 missing" in report(sweep)
    assert csv_rows(sweep / "report" / "report.csv", "test/acc")["mixup"]["failed"] == "2"


def test_report_on_a_missing_folder_is_one_line(tmp_path):
    with pytest.raises(SystemExit, match="is not a folder"):
        report(tmp_path / "nope")


def test_runs_sharing_a_seed_all_count_and_are_not_paired(tmp_path):
    sweep = tmp_path / "sweep"
    # e.g. a sweep over another option too: two runs per strategy with seed 0
    for n, (strategy, acc) in enumerate([("none", 0.70), ("none", 0.72), ("mixup", 0.74), ("mixup", 0.78)]):
        write_job(sweep / str(n), strategy, "ok", acc, seed=0, data={"train_per_class": 10 * (n % 2 + 1)})
    report(sweep)
    rows = csv_rows(sweep / "report" / "report.csv", "test/acc")
    assert rows["mixup"]["runs"] == "2" and float(rows["mixup"]["mean"]) == pytest.approx(0.76)
    assert float(rows["mixup"]["diff_vs_none"]) == pytest.approx(0.76 - 0.71)  # difference of means, no pairing
    assert rows["mixup"]["pairs"] == "0" and rows["mixup"]["diff_low95"] == ""


def write_sweep_job(folder, strategy, seed, metrics, overrides=(), choices=None, **options):
    """A job with Hydra's records of what the user asked for: overrides.yaml and the group choices."""
    write_job(folder, strategy, "ok", None, seed, **options)
    (folder / "metrics.json").write_text(json.dumps(metrics))
    OmegaConf.save(OmegaConf.create([f"augment={strategy}", f"seed={seed}", *overrides]),
                   folder / ".hydra" / "overrides.yaml")
    hydra = {"runtime": {"choices": {"augment": strategy, "model": "image_cnn", "experiment": "x", **(choices or {})}}}
    OmegaConf.save(OmegaConf.create({"hydra": hydra}), folder / ".hydra" / "hydra.yaml")


def test_report_groups_by_every_swept_option_and_pairs_within_a_group(tmp_path):
    sweep = tmp_path / "sweep"
    acc = {(10, "none"): [0.50, 0.52], (10, "mixup"): [0.55, 0.58],
           (50, "none"): [0.70, 0.71], (50, "mixup"): [0.69, 0.71]}
    for (size, strategy), values in acc.items():
        for seed, value in enumerate(values):
            # split_seed follows the seed: derived values never split a group; only what was asked for does
            metrics = {"test/acc": value, "test/loss": 1 - value}
            write_sweep_job(sweep / f"{strategy}-{size}-{seed}", strategy, seed, metrics,
                            [f"data.train_per_class={size}"], data={"train_per_class": size, "split_seed": seed})
    md = report(sweep, metrics=("test/acc", "test/loss"))
    assert "Grouped by data.train_per_class" in md
    assert "| data.train_per_class | strategy | runs |" in md
    header = (sweep / "report" / "report.csv").read_text().splitlines()[0]
    assert header.startswith("metric,role,data.train_per_class,strategy,runs,failed,mean,ci95,diff_vs_none,pairs,")
    with (sweep / "report" / "report.csv").open() as f:
        rows = {(r["data.train_per_class"], r["strategy"]): r for r in csv.DictReader(f) if r["metric"] == "test/acc"}
    assert set(rows) == {("10", "none"), ("10", "mixup"), ("50", "none"), ("50", "mixup")}
    assert float(rows["10", "mixup"]["diff_vs_none"]) == pytest.approx(0.055)  # paired with none at 10 only
    assert float(rows["50", "mixup"]["diff_vs_none"]) == pytest.approx(-0.005)
    # loss: lower is better, so each group's smallest mean is the bold one
    tex = (sweep / "report" / "report.tex").read_text().split("test/loss")[1]
    assert r"mixup & 2 & 0 & \textbf{0.4350" in tex and r"50 & none & 2 & 0 & \textbf{0.2950" in tex


def test_merged_sweeps_group_by_model_and_count_a_repeated_job_once(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for seed in (0, 1):
        write_sweep_job(a / f"none-{seed}", "none", seed, {"test/ndcg@10": 0.04 + seed / 100})
        write_sweep_job(a / f"seq_crop-{seed}", "seq_crop", seed, {"test/ndcg@10": 0.05 + seed / 100})
        write_sweep_job(b / f"none-{seed}", "none", seed, {"test/ndcg@10": 0.03}, ["model=sasrec"],
                        {"model": "sasrec"}, model={"name": "sasrec"})
    write_sweep_job(b / "copy", "none", 0, {"test/ndcg@10": 0.04})  # the same job as a/none-0, copied over
    with pytest.raises(SystemExit, match="several sweep folders: say where the merged report goes with --out"):
        report([a, b])
    md = report([a, b], tmp_path / "merged")
    assert "6 jobs: 6 ok" in md and "1 job(s) found in more than one folder count once" in md
    assert "Grouped by model" in md
    assert "| image_cnn | none | 2 |" in md and "| image_cnn | seq_crop | 2 | 0 | 0.0550 |" in md
    assert "| sasrec | none | 2 |" in md


def test_settings_of_one_strategy_are_rows_of_one_group_paired_with_its_none(tmp_path):
    sweep = tmp_path / "sweep"
    for seed in range(3):
        write_sweep_job(sweep / f"none-{seed}", "none", seed, {"test/acc": 0.70 + seed / 100}, [])
        for eps, gain in (("0.05", 0.01), ("0.1", 0.03)):
            acc = 0.70 + seed / 100 + gain
            write_sweep_job(sweep / f"adv-{eps}-{seed}", "adversarial_image", seed, {"test/acc": acc},
                            [f"augment.model.adversarial.epsilon={eps}"])
    md = report(sweep, metrics=("test/acc",))
    assert "Grouped by" not in md
    assert "| adversarial_image[epsilon=0.1] | 3 | 0 | 0.7400 |" in md and "| +0.0300 |" in md
    assert "| adversarial_image[epsilon=0.05] | 3 | 0 | 0.7200 |" in md


def test_jobs_made_before_a_default_changed_are_a_row_of_their_own(tmp_path):
    """FGSM's step came from a pass of its own before ``from_clean_pass`` existed; it now comes from the clean
    pass by default. Old jobs (no such key) keep their own row, shared with ``from_clean_pass=false`` jobs."""
    sweep = tmp_path / "sweep"
    for seed in range(2):
        write_sweep_job(sweep / f"none-{seed}", "none", seed, {"test/acc": 0.70}, [])
        for folder, attack, acc in (("old", {}, 0.71), ("new", {"from_clean_pass": "auto"}, 0.72)):
            strategy = {"name": "adversarial_image", "model": {"adversarial": {"epsilon": 0.1, **attack}}}
            write_sweep_job(sweep / f"{folder}-{seed}", "adversarial_image", seed, {"test/acc": acc}, [],
                            augment=strategy)
    # the same job as the old ones, asked for again in a sweep (which writes the boolean back as False)
    strategy = {"name": "adversarial_image", "model": {"adversarial": {"epsilon": 0.1, "from_clean_pass": False}}}
    write_sweep_job(sweep / "asked-2", "adversarial_image", 2, {"test/acc": 0.71},
                    ["augment.model.adversarial.from_clean_pass=False"], augment=strategy)
    md = report(sweep, metrics=("test/acc",))
    assert "| adversarial_image[from_clean_pass=false] | 3 | 0 | 0.7100 |" in md
    assert "| adversarial_image | 2 | 0 | 0.7200 |" in md
