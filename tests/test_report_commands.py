"""auglab-report, reread, publish and auglab-decide end to end on hand-made sweeps with per-example outcomes:
verdicts over one family on the primary metric, a CSV every reader parses (and old shifted ones repaired or
refused), study tables regenerated from their reports, the sequential runner's rounds, and one-line errors."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from omegaconf import OmegaConf

from auglab.metrics import per_example
from auglab.report import main as report_main
from auglab.report import report
from auglab.report.publish import generated
from auglab.report.report_csv import read_rows
from auglab.report.reread import reread
from auglab.report.reread import run as reread_run
from auglab.report.sequential import main as decide_main
from auglab.report.sequential import round_command
from auglab.report.tables import Settings
from tests.conftest import ROOT
from tests.test_report import csv_rows, write_job

TESTED = 400


def planted_job(sweep, strategy: str, seed: int, effect: float, size: int = 10, steps: int = 100) -> None:
    """A finished job whose predictions hit the label with probability 0.7 + effect (and a seed's own shift)."""
    rng = np.random.default_rng([seed, size, len(strategy)])
    label = np.random.default_rng(0).integers(0, 4, TESTED)  # one test set for every job
    hit = rng.random(TESTED) < 0.7 + effect + rng.normal(0, 0.005)
    pred = np.where(hit, label, (label + 1) % 4)
    folder = sweep / f"{strategy}-{size}-s{seed}"
    write_job(folder, strategy, "ok", float((pred == label).mean()), seed, data={"train_per_class": size},
              model={"monitor": "val/acc"})
    (folder / ".hydra" / "overrides.yaml").write_text(f"- data.train_per_class={size}\n")
    per_example.save(folder / "predictions.npz", {"index": np.arange(TESTED), "label": label, "prediction": pred,
                                                  "probs": np.zeros((TESTED, 4))})
    (folder / "provenance.json").write_text(json.dumps({"training": {
        "optimizer_steps": steps, "examples_seen": steps * 16, "epochs": 3}}))
    run = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps({**run, "duration_s": 30.0}))


def study(tmp_path, effects: dict[str, float], sizes=(10, 100), seeds=3, steps=None):
    sweep = tmp_path / "sweep"
    for size in sizes:
        for strategy, effect in effects.items():
            for seed in range(seeds):
                planted_job(sweep, strategy, seed, effect * 10 / size, size, (steps or {}).get(strategy, 100))
    return sweep


def test_the_report_decides_one_family_on_the_primary_metric_and_its_intervals_agree(tmp_path):
    sweep = study(tmp_path, {"none": 0.0, "good": 0.15, "same": 0.0}, steps={"good": 500})
    md = report(sweep, metrics=("test/acc", "test/f1"), settings=Settings(rope=0.03), curve="data.train_per_class")
    out = sweep / "report"
    for name in ("forest.png", "forest.pdf", "curve.png", "curve.pdf", "report.tex"):
        assert (out / name).stat().st_size > 500
    with (out / "report.csv").open() as f:
        rows = {(r["metric"], r["data.train_per_class"], r["strategy"]): r for r in csv.DictReader(f)}
    good = rows["test/acc", "10", "good"]
    assert good["role"] == "primary" and good["verdict"] == "helps" and good["test_part"] == "shared"
    assert float(good["level"]) == pytest.approx(0.05 / 4)  # one family: 2 strategies x 2 sizes
    assert float(good["diff_low"]) > 0 and float(good["diff_low"]) < float(good["diff_low95"])
    assert rows["test/f1", "10", "good"]["verdict"] == "" and rows["test/f1", "10", "good"]["role"] == "secondary"
    assert "Primary metric: **test/acc** (the models' monitor (val/acc) at test time)" in md
    assert "one family of 4 comparison(s)" in md and "Secondary metric: described, not decided" in md
    assert "Unequal compute" in md and "good 500 vs none 100" in md
    assert "test/acc across groups (descriptive)" in md  # rliable-style aggregates over the two sizes
    assert r"$\uparrow$" in (out / "report.tex").read_text()
    # the CSV read back decides the same verdicts, to the last digit of the interval
    again = reread(out / "report.csv", Settings(rope=0.03))
    assert again.split("\n\n")[1] == md.split("### test/acc (primary)\n\n")[1].split("\n\n")[0]


def test_report_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    sweep = study(tmp_path, {"none": 0.0, "good": 0.1}, sizes=(10,))
    for argv, message in (([str(sweep), "--alpha", "1.5"], "--alpha: 1.5: must be a number between 0 and 1"),
                          ([str(sweep), "--rope", "-0.1"], "--rope: -0.1: must be a number >= 0"),
                          ([str(sweep), "--primary", "test/nope"], "--primary test/nope: not a metric of these runs"),
                          ([str(sweep), "--curve", "data.size"], "--curve data.size: not an option that varies")):
        with pytest.raises(SystemExit) as err:
            report_main(argv)
        assert err.value.code == 2 and message in str(err.value)
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    empty = tmp_path / "empty"
    write_job(empty / "a", "none", "failed")
    with pytest.raises(SystemExit, match="no finished job"):
        report_main([str(empty)])


# --- report.csv ------------------------------------------------------------------------------------------------
def test_labels_and_verdicts_with_commas_survive_the_csv(tmp_path):
    sweep = tmp_path / "sweep"
    for seed in range(3):
        write_job(sweep / f"n{seed}", "none", "ok", 0.70 + seed / 100, seed)
        write_job(sweep / f"a{seed}", "adversarial_image", "ok", (0.71, 0.69, 0.73)[seed], seed)
        (sweep / f"a{seed}" / ".hydra" / "overrides.yaml").write_text(
            "- augment.model.adversarial.epsilon=0.1\n- augment.model.adversarial.from_clean_pass=false\n")
    report(sweep, settings=Settings(effect=0.001))
    rows = csv_rows(sweep / "report" / "report.csv", "test/acc")
    label = "adversarial_image[epsilon=0.1, from_clean_pass=false]"
    assert rows[label]["verdict"].startswith("undecided: ") and "," in label
    tables, _ = read_rows(sweep / "report" / "report.csv")
    assert [r.strategy for r in tables["test/acc"]] == ["none", label]


def test_an_old_shifted_csv_is_repaired_on_read_and_an_unplaceable_one_refused(tmp_path):
    shipped = ROOT / "experiments" / "fashion_lowdata" / "report_adversarial_clean_pass.csv"
    tables, _ = read_rows(shipped)  # the unquoted file that crashed reread before issue 27
    labels = [r.strategy for r in tables["test/acc"]]
    assert "adversarial_image[epsilon=0.1, from_clean_pass=false]" in labels
    assert all(r.comparison is None or r.comparison.test_part == "bound" for r in tables["test/acc"])
    broken = tmp_path / "report.csv"
    lines = shipped.read_text().splitlines()
    broken.write_text("\n".join([lines[0], lines[2].replace("undecided:", "undecided,x:")]) + "\n")
    with pytest.raises(SystemExit) as err:
        reread_run([str(broken)], "reread")
    assert err.value.code == 2 and "line 2" in str(err.value) and "cannot be placed" in str(err.value)
    (tmp_path / "junk.csv").write_text("a,b\n1,2\n")
    with pytest.raises(SystemExit, match="not a report.csv"):
        reread_run([str(tmp_path / "junk.csv")], "reread")
    with pytest.raises(SystemExit, match="test/nope: not a metric of"):
        reread_run([str(shipped), "--primary", "test/nope"], "reread")


def test_every_study_readme_table_is_what_its_report_gives_today():
    stale = [readme for readme in sorted((ROOT / "experiments").glob("*/README.md"))
             if generated(readme) != readme.read_text()]
    assert not stale, f"run python -m auglab.report.publish on {stale}"
    assert all("<!-- auglab-report " in r.read_text() for r in (ROOT / "experiments").glob("*/README.md"))


def test_publishing_rewrites_a_block_from_its_csv(tmp_path):
    shutil.copy(ROOT / "experiments" / "fashion_lowdata" / "report_adversarial.csv", tmp_path / "r.csv")
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- auglab-report r.csv --primary test/acc -->\nhand-edited\n<!-- /auglab-report -->\n")
    text = generated(readme)
    assert "hand-edited" not in text and "| adversarial_image[epsilon=0.3] |" in text


# --- auglab-decide ----------------------------------------------------------------------------------------------
def fake_rounds(monkeypatch, effects: dict[str, float], ran: list, die_after: int | None = None) -> None:
    """Each round's `auglab-train -m` makes its jobs at once (and a kill after ``die_after`` jobs)."""
    import auglab.report.sequential as sequential

    def train(command, check=False):
        sweep = sequential.Path(next(a for a in command if a.startswith("hydra.sweep.dir=")).split("=", 1)[1])
        names = next(a for a in command if a.startswith("augment=")).split("=", 1)[1].split(",")
        seeds = [int(s) for s in next(a for a in command if a.startswith("seed=")).split("=", 1)[1].split(",")]
        for name, seed in ((n, s) for n in names for s in seeds):
            if die_after is not None and len(ran) >= die_after:
                raise KeyboardInterrupt  # killed half-way through the round
            if not (sweep / f"{name}-10-s{seed}").exists():
                planted_job(sweep, name, seed, effects[name])
                ran.append((name, seed))
        return type("Done", (), {"returncode": 0})()

    monkeypatch.setattr(sequential.subprocess, "run", train)


def decide_sweep(tmp_path, effects: dict[str, float], seeds: int):
    sweep = study(tmp_path, effects, sizes=(10,), seeds=seeds)
    OmegaConf.save({"hydra": {"overrides": {"hydra": ["hydra.mode=MULTIRUN"],
                                            "task": ["experiment=x", f"augment={','.join(effects)}", "seed=0"]}}},
                   sweep / "multirun.yaml")
    return sweep


def test_auglab_decide_warms_up_plans_stops_each_strategy_and_writes_the_report(tmp_path, monkeypatch, capsys):
    effects = {"none": 0.0, "good": 0.12, "bad": -0.12, "same": 0.0}
    sweep, ran = decide_sweep(tmp_path, effects, seeds=1), []  # a 1-seed main job: nothing to test yet
    fake_rounds(monkeypatch, effects, ran)
    decide_main([str(sweep), "--rope", "0.05", "--max-seeds", "9"])
    plan = json.loads((sweep / "sequential.json").read_text())
    assert plan["looks"] == 1 + 3 and plan["start_seeds"] == 3  # planned at 3 seeds, not at the 1-seed sweep
    rounds = [r["look"] for r in plan["rounds"]]
    assert rounds == sorted(set(rounds)) and all(r["done"] for r in plan["rounds"])  # each round once
    rows = csv_rows(sweep / "report" / "report.csv", "test/acc")
    assert rows["good"]["verdict"] == "helps" and rows["bad"]["verdict"] == "hurts"
    assert int(rows["good"]["runs"]) < 9 and int(rows["bad"]["runs"]) < 9  # decided strategies stopped early
    assert float(rows["good"]["level"]) == pytest.approx(0.05 / (3 * 4))
    err = capsys.readouterr().err
    assert "bringing every strategy to 3 seeds" in err and "report written to" in err
    before = len(ran)
    decide_main([str(sweep), "--rope", "0.05", "--max-seeds", "9"])  # again: nothing left to run
    assert len(ran) == before


def test_a_killed_round_is_finished_not_recorded_twice(tmp_path, monkeypatch):
    effects = {"none": 0.0, "a": 0.0, "b": 0.0}
    sweep, ran = decide_sweep(tmp_path, effects, seeds=3), []
    fake_rounds(monkeypatch, effects, ran, die_after=2)
    with pytest.raises(KeyboardInterrupt):
        decide_main([str(sweep), "--rope", "0.01", "--max-seeds", "7", "--futility", "0"])
    plan = json.loads((sweep / "sequential.json").read_text())
    assert len(plan["rounds"]) == 1 and not plan["rounds"][0]["done"]
    fake_rounds(monkeypatch, effects, ran)
    decide_main([str(sweep), "--rope", "0.01", "--max-seeds", "7", "--futility", "0"])
    plan = json.loads((sweep / "sequential.json").read_text())
    assert [r["look"] for r in plan["rounds"]] == [1, 2] and len(ran) == len(set(ran)) == 3 * 4


def test_auglab_decide_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    sweep = decide_sweep(tmp_path, {"none": 0.0, "a": 0.0}, seeds=5)
    for argv, message in (([], "the following arguments are required: --rope"),
                          (["--rope", "0"], "--rope 0: must be > 0"),
                          (["--rope", "0.01", "--alpha", "0"], "--alpha: 0: must be a number between 0 and 1"),
                          (["--rope", "0.01", "--metric", "test/nope"], "--metric test/nope: not a metric"),
                          (["--rope", "0.01", "--max-seeds", "4"], "--max-seeds 4: the sweep already has 5 seeds"),
                          (["--rope", "0.01", "--futility", "1"], "--futility 1: must be in [0, 1)")):
        with pytest.raises(SystemExit) as err:
            decide_main([str(sweep), *argv])
        assert err.value.code == 2 and message in str(err.value), str(err.value)
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    empty = tmp_path / "empty"
    write_job(empty / "x", "none", "failed")
    with pytest.raises(SystemExit, match="no finished job"):
        decide_main([str(empty), "--rope", "0.01"])


def test_a_round_runs_only_the_undecided_strategies_with_new_seeds(tmp_path):
    command = round_command(["experiment=fashion_lowdata", "augment=none,mixup,cutmix", "seed=0,1,2",
                             "data.train_per_class=10,100", "hydra/launcher=local_gpus"],
                            ("data.train_per_class=10",), ["cutmix"], [3, 4], tmp_path)
    assert command[2:] == ["auglab.train", "-m", "experiment=fashion_lowdata", "hydra/launcher=local_gpus",
                           "data.train_per_class=10", "augment=cutmix,none", "seed=3,4",
                           f"hydra.sweep.dir={tmp_path}"]
