"""The report's statistics against known cases: simulated studies (false verdicts at most alpha per family of
ten strategies, planted effects found as often as power says, seeds that suffice, the sequential procedure's
error rate), metrics recomputed from per-example outcomes, and the report and auglab-decide end to end."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from statsmodels.stats.power import TTestPower
from torchmetrics.classification import MulticlassF1Score, MulticlassPrecision, MulticlassRecall

from auglab.metrics import per_example
from auglab.report import report
from auglab.report.outcomes import metric_function, variance_from_test_set
from auglab.report.sequential import round_command
from auglab.report.tables import Settings
from auglab.report.verdicts import Comparison, decide
from tests.test_report import write_job

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _no_full_collections(monkeypatch):
    """statsmodels' Holm runs a full garbage collection per call (0.2 s in a process holding torch): the
    thousands of simulated families skip it; nothing here depends on it."""
    import gc

    monkeypatch.setattr(gc, "collect", lambda *args: 0)  # statsmodels imports gc inside multipletests


def family(diffs: np.ndarray, test_variance: float | None = None, **options) -> list[str]:
    """Verdicts for one simulated group: ``diffs [strategies, seeds]``."""
    return [c.verdict for c in decide([Comparison(list(row), test_variance) for row in diffs], plan=False,
                                      **options)]


def test_no_effect_gives_a_false_verdict_in_at_most_alpha_of_families_of_ten():
    studies = 600
    wrong = sum(any(v in ("helps", "hurts") for v in family(RNG.normal(0, 0.01, (10, 3)))) for _ in range(studies))
    assert wrong / studies <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / studies)  # Holm: family-wise error <= alpha
    naive = sum((np.abs(d.mean(1)) / (d.std(1, ddof=1) / math.sqrt(3)) > 4.303).any()  # ten tests at 0.05 each
                for d in RNG.normal(0, 0.01, (studies, 10, 3)))
    assert naive / studies > 0.3  # what the report did before: about 40 % of families show a false effect


def test_a_shared_test_set_error_is_only_controlled_when_it_is_counted():
    # each strategy's seeds share one test set: its sampling error shifts all of them alike
    studies, v = 400, 0.01**2
    def draw() -> np.ndarray:
        return RNG.normal(0, math.sqrt(v), (10, 1)) + RNG.normal(0, 0.002, (10, 5))

    counted = sum(any(x in ("helps", "hurts") for x in family(draw(), v)) for _ in range(studies))
    ignored = sum(any(x in ("helps", "hurts") for x in family(draw(), None)) for _ in range(studies))
    assert counted / studies <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / studies)
    assert ignored / studies > 0.5


def test_a_planted_effect_is_found_as_often_as_power_predicts():
    studies, seeds, effect = 400, 5, 0.02
    found = 0
    for _ in range(studies):
        diffs = RNG.normal(0, 0.01, (10, seeds))
        diffs[0] += effect
        found += family(diffs)[0] == "helps"
    at_bonferroni = TTestPower().power(effect_size=effect / 0.01, nobs=seeds, alpha=0.05 / 10)
    assert found / studies >= at_bonferroni - 0.07  # Holm is at least as powerful as Bonferroni


def test_the_seeds_an_effect_needs_are_enough():
    pilot = decide([Comparison(list(RNG.normal(0.01, 0.01, 3)))] + [Comparison(list(RNG.normal(0, 0.01, 3)))
                                                                     for _ in range(9)], effect=0.01)[0]
    assert pilot.verdict == "undecided" and pilot.seeds_needed is not None
    n, studies = pilot.seeds_needed, 300
    sd = pilot.se * math.sqrt(3)  # the pilot's estimate of the per-seed spread
    found = sum(family(np.vstack([RNG.normal(0.01, sd, (1, n)), RNG.normal(0, sd, (9, n))]))[0] == "helps"
                for _ in range(studies))
    assert found / studies >= 0.72  # planned for 80 %


def test_equivalence_within_the_rope_and_never_beyond_it():
    inside = [family(RNG.normal(0, 0.001, (3, 5)), rope=0.005) for _ in range(100)]
    assert np.mean([v == "equivalent" for f in inside for v in f]) > 0.9
    outside = [family(RNG.normal(0.008, 0.002, (3, 5)), rope=0.005) for _ in range(300)]
    assert np.mean([any(v == "equivalent" for v in f) for f in outside]) <= 0.05


def test_adding_seeds_after_looking_keeps_the_error_rate_with_alpha_spending():
    studies, looks = 400, 4  # 3 seeds, then up to three rounds of 2
    wrong = 0
    for _ in range(studies):
        diffs = RNG.normal(0, 0.01, (10, 9))
        for seeds in (3, 5, 7, 9):
            verdicts = family(diffs[:, :seeds], looks=looks)
            if any(v in ("helps", "hurts") for v in verdicts):
                wrong += 1
                break
    assert wrong / studies <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / studies)


# --- metrics from per-example outcomes ---------------------------------------------------------------------
def test_recomputed_metrics_equal_torchmetrics():
    label = RNG.integers(0, 5, 300)
    pred = np.where(RNG.random(300) < 0.6, label, RNG.integers(0, 4, 300))  # class 4 never predicted
    outcomes = {"label": label, "prediction": pred, "probs": np.zeros((300, 5))}
    for name, metric in (("f1", MulticlassF1Score), ("precision", MulticlassPrecision), ("recall", MulticlassRecall)):
        expected = metric(num_classes=5, average="macro", zero_division=0)(torch.tensor(pred), torch.tensor(label))
        assert metric_function(f"test/{name}", outcomes)(outcomes) == pytest.approx(float(expected), abs=1e-6)
    ranks = {"rank": np.array([0, 3, 12, 1, 40]), "target": np.arange(5)}
    assert metric_function("test/ndcg@10", ranks)(ranks) == pytest.approx((1 + 1 / math.log2(5) + 1 / math.log2(3)) / 5)
    assert metric_function("test/mrr@10", ranks)(ranks) == pytest.approx((1 + 1 / 4 + 1 / 2) / 5)
    assert metric_function("test/loss", outcomes) is None


def test_the_bootstrap_test_variance_matches_the_paired_formula():
    label = RNG.integers(0, 3, 2000)
    runs = [{"label": label, "prediction": np.where(RNG.random(2000) < p, label, (label + 1) % 3)}
            for p in (0.8, 0.75)]
    variance = variance_from_test_set("test/acc", [runs[0]], [runs[1]])
    paired = (runs[0]["prediction"] == label).astype(float) - (runs[1]["prediction"] == label)
    assert variance == pytest.approx(paired.var() / len(label), rel=0.15)
    other = {"label": np.roll(label, 1), "prediction": label}
    assert variance_from_test_set("test/acc", [runs[0]], [other]) is None  # not the same test set


# --- the report and auglab-decide end to end -------------------------------------------------------------
def _study(tmp_path, effects: dict[str, float], sizes=(10, 100), seeds=3, steps=None):
    sweep = tmp_path / "sweep"
    label = RNG.integers(0, 4, 400)
    for size in sizes:
        for strategy, effect in effects.items():
            for seed in range(seeds):
                hit = RNG.random(400) < 0.7 + effect * (10 / size) + RNG.normal(0, 0.005)
                pred = np.where(hit, label, (label + 1) % 4)
                folder = sweep / f"{strategy}-{size}-s{seed}"
                write_job(folder, strategy, "ok", float((pred == label).mean()), seed,
                          data={"train_per_class": size})
                (folder / ".hydra" / "overrides.yaml").write_text(f"- data.train_per_class={size}\n")
                per_example.save(folder / "predictions.npz", {"index": np.arange(400), "label": label,
                                                              "prediction": pred, "probs": np.zeros((400, 4))})
                used = (steps or {}).get(strategy, 100)
                (folder / "provenance.json").write_text(json.dumps({"training": {
                    "optimizer_steps": used, "examples_seen": used * 16, "epochs": 3}}))
    return sweep


def test_the_report_gives_verdicts_intervals_a_forest_plot_and_a_data_size_curve(tmp_path):
    sweep = _study(tmp_path, {"none": 0.0, "good": 0.15, "same": 0.0}, steps={"good": 500})
    md = report(sweep, metrics=("test/acc",), settings=Settings(rope=0.03), curve="data.train_per_class")
    out = sweep / "report"
    for name in ("forest.png", "forest.pdf", "curve.png", "curve.pdf"):
        assert (out / name).stat().st_size > 1000
    rows = {(r[1], r[2]): r for r in (line.split(",") for line in (out / "report.csv").read_text().splitlines())}
    assert rows["10", "good"][12] == "helps" and rows["10", "good"][11] == "True"  # test-set error included
    assert rows["100", "same"][12] == "equivalent" or rows["100", "same"][12].startswith("undecided")
    assert "Holm" in md and "Unequal compute" in md and "good 500 vs none 100" in md
    assert r"$\uparrow$" in (out / "report.tex").read_text()


def test_a_curve_over_an_option_that_does_not_vary_is_refused(tmp_path):
    sweep = _study(tmp_path, {"none": 0.0, "good": 0.1}, sizes=(10,))
    with pytest.raises(SystemExit, match="--curve data.size: not an option that varies"):
        report(sweep, curve="data.size")


def test_a_round_of_auglab_decide_runs_only_the_undecided_strategies_with_new_seeds(tmp_path):
    command = round_command(["experiment=fashion_lowdata", "augment=none,mixup,cutmix", "seed=0,1,2",
                             "data.train_per_class=10,100", "hydra/launcher=local_gpus"],
                            ("data.train_per_class=10",), ["cutmix"], [3, 4], tmp_path)
    assert command[2:] == ["auglab.train", "-m", "experiment=fashion_lowdata", "hydra/launcher=local_gpus",
                           "data.train_per_class=10", "augment=cutmix,none", "seed=3,4",
                           f"hydra.sweep.dir={tmp_path}"]


def test_auglab_decide_plans_its_looks_and_the_report_spends_alpha_over_them(tmp_path, capsys):
    from omegaconf import OmegaConf

    from auglab.report.sequential import planned_looks, run

    sweep = _study(tmp_path, {"none": 0.0, "good": 0.15, "same": 0.0}, sizes=(10,))
    OmegaConf.save({"hydra": {"overrides": {"hydra": ["hydra.mode=MULTIRUN", "hydra/launcher=local_gpus"],
                                            "task": ["experiment=x", "augment=none,good,same", "seed=0,1,2"]}}},
                   sweep / "multirun.yaml")
    assert run(sweep, metric="test/acc", settings=Settings(), max_seeds=7, per_round=2, dry_run=True) == 1
    printed = capsys.readouterr().err
    assert "augment=same,none seed=3,4" in printed and "good" not in printed.split("augment=")[1].split()[0]
    assert planned_looks(sweep) == 1 + 2  # this look, then rounds for seeds 3-4 and 5-6
    assert "spent over 3 looks" in report(sweep, metrics=("test/acc",))
