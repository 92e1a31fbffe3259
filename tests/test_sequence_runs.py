"""Recommenders as a user runs them, in subprocesses: every model and strategy, sweep + report, exact
evaluation in one and two processes, determinism, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import assert_eval_reproduces, run_cli
from tests.test_cli import assert_one_line_error
from tests.test_configs import SEQUENCE_STRATEGIES

FAST = ["data=movielens_100k", "debug=fast_sequence", "trainer=cpu", "callbacks.progress.refresh_rate=0"]
# 101 users (odd, for two DDP ranks), small catalogue: seconds per run.
SMALL = ["data=synthetic_sessions", "data.num_users=101", "data.num_items=60", "data.num_categories=4",
         "trainer=cpu", "trainer.max_epochs=3", "callbacks.progress.refresh_rate=0"]
RANKING = {f"test/{m}@{k}" for m in ("recall", "ndcg", "mrr", "precision", "f1") for k in (5, 10, 20)} | {"test/acc"}


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.slow  # an end-to-end run of 20-60 s on 2 cores; CI runs it
def test_every_sequence_strategy_trains_both_models_and_the_report_ranks_them(tmp_path):
    sweep = tmp_path / "sweep"
    strategies = ",".join(SEQUENCE_STRATEGIES)
    proc = run_cli(["train", "-m", *FAST, "model=gru4rec", f"augment={strategies}", f"hydra.sweep.dir={sweep}"],
                   tmp_path, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    records = {p.parent.name: _json(p) for p in sweep.glob("*/run.json")}
    assert len(records) == len(SEQUENCE_STRATEGIES)
    assert all(r["status"] == "ok" for r in records.values()), records
    for job in sweep.glob("*/metrics.json"):
        metrics = _json(job)
        assert RANKING <= metrics.keys()
        assert 0 <= metrics["test/ndcg@10"] <= metrics["test/recall@10"] <= metrics["test/recall@20"] <= 1
        assert "val/ndcg@10_best" in metrics  # what a sweeper gets: validation only
    rep = run_cli(["report", str(sweep)], tmp_path)
    assert rep.returncode == 0, rep.stderr
    assert "### test/ndcg@10" in rep.stdout and "### test/recall@10" in rep.stdout
    assert "| seq_crop | 1 | 0 |" in rep.stdout

    sasrec = run_cli(["train", *FAST, "model=sasrec", "augment=seq_crop_mask_reorder", "model.loss=sampled_softmax",
                      f"hydra.run.dir={tmp_path / 'sasrec'}"], tmp_path)
    assert sasrec.returncode == 0, sasrec.stderr[-3000:]
    assert RANKING <= _json(tmp_path / "sasrec" / "metrics.json").keys()


@pytest.mark.slow  # an end-to-end run of 20-60 s on 2 cores; CI runs it
def test_same_seed_same_metrics_and_eval_is_exact_in_one_and_two_processes(tmp_path):
    runs = []
    for name in ("a", "b"):
        proc = run_cli(["train", *SMALL, "model=sasrec", "augment=seq_substitute", f"hydra.run.dir={tmp_path / name}"],
                       tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs.append(_json(tmp_path / name / "metrics.json"))
    assert runs[0] == runs[1]
    expected = {k: v for k, v in runs[0].items() if k.startswith("test/")}
    # ndcg, mrr, loss: float sums in another order; counts of hits exact
    assert_eval_reproduces(tmp_path / "a" / "checkpoints" / "best.ckpt", expected, tmp_path,
                           approx=("test/ndcg", "test/mrr", "test/loss"), rel=1e-6)
    assert _json(tmp_path / "eval_ddp_cpu" / "provenance.json")["split_sizes"]["test"] == 101
    from auglab.metrics import per_example  # each user's rank, in agreement with the metrics

    ranks = per_example.load(tmp_path / "a" / "predictions.npz")["rank"]
    assert len(ranks) == 101 and (ranks < 10).mean() == pytest.approx(expected["test/recall@10"])


@pytest.mark.slow  # three end-to-end runs of about 10 s; CI runs it
def test_contrastive_views_log_their_loss_reproduce_and_change_training(tmp_path):
    runs = {}
    for name, strategy in (("a", "duorec"), ("b", "duorec"), ("none", "none")):
        proc = run_cli(["train", *SMALL, "model=sasrec", f"augment={strategy}", f"hydra.run.dir={tmp_path / name}"],
                       tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs[name] = _json(tmp_path / name / "metrics.json")
    assert runs["a"] == runs["b"]  # its draws (positives, dropout) come from the run's seeded stream
    assert runs["a"]["test/loss"] != runs["none"]["test/loss"]
    logged = (tmp_path / "a" / "csv" / "metrics.csv").read_text()
    assert "train/cl_loss" in logged and "train/cl_loss" not in (tmp_path / "none" / "csv" / "metrics.csv").read_text()

    # Its weights at 0: the run is augment=none's, bit for bit (the views' draws and passes are skipped too).
    zero = run_cli(["train", *SMALL, "model=sasrec", "augment=cl4srec", "augment.model.contrastive.weight=0",
                    f"hydra.run.dir={tmp_path / 'zero'}"], tmp_path)
    assert zero.returncode == 0, zero.stderr[-3000:]
    assert _json(tmp_path / "zero" / "metrics.json") == runs["none"]


@pytest.mark.slow  # two processes, about 30 s; CI runs it
def test_contrastive_views_and_simulated_behaviour_train_under_ddp(tmp_path):
    for strategy in ("cl4srec", "asrep"):
        proc = run_cli(["train", *SMALL, "model=sasrec", "trainer=ddp_cpu", f"augment={strategy}",
                        "augment.model.contrastive.same_target_weight=0.1" if strategy == "cl4srec" else
                        "augment.offline.simulated.epochs=2", "data.short_history=15",
                        f"hydra.run.dir={tmp_path / strategy}"], tmp_path, timeout=400)
        assert proc.returncode == 0, proc.stderr[-3000:]
        metrics = _json(tmp_path / strategy / "metrics.json")
        assert RANKING <= metrics.keys() and metrics["test/short/users"] + metrics["test/long/users"] == 101
    assert _json(tmp_path / "asrep" / "augmentation.json")["simulated"]["users_extended"] > 0


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["data=interactions", "data.path=/no/log.csv", "model=gru4rec"], ["data.path=/no/log.csv does not exist"]),
        (["data=interactions", "model=gru4rec"], ["data.path is not set"]),
        (["augment=seq_crop"], ["augment=seq_crop is for sequence data but data is image; choose one of:", "mixup"]),
        (["data=movielens_100k", "model=gru4rec", "augment=cutmix"],
         ["augment=cutmix is for image data but data is sequence", "seq_crop"]),
        (["data=movielens_100k"], ["model ImageClassifier is for image data but data is sequence; choose model= "
                                   "one of: gru4rec, sasrec"]),
        (["data=movielens_100k", "model=sasrec", "model.loss=hinge"],
         ["model.loss='hinge' is invalid: it must be one of ce, bpr"]),
        (["data=movielens_100k", "model=sasrec", "model.ks=[3]"], ["model.monitor=val/ndcg@10 is not logged"]),
        (["data=movielens_100k", "model=sasrec", "model.num_heads=3"], ["model.num_heads=3 must divide"]),
        (["data=movielens_100k", "model=gru4rec", "model.dropout=1.5"],
         ["cannot build model GRU4Rec: ValueError: dropout probability", "check the model.* overrides"]),
        (["data=movielens_100k", "model=gru4rec", "augment=seq_mask", "augment.device.mask.gamma=2"],
         ["augment.device.mask.gamma=2 is invalid: it must be a number in [0, 1]"]),
        (["data=movielens_100k", "model=gru4rec", "data.user_core=500"], ["left no user in", "lower them"]),
        (["augment=cl4srec"], ["augment=cl4srec is for sequence data but data is image"]),
        (["data=movielens_100k", "model=sasrec", "augment=duorec", "augment.model.contrastive.temperature=0"],
         ["augment.model.contrastive.temperature=0 is invalid"]),
        (["data=movielens_100k", "model=sasrec", "augment=duorec", "augment.model.contrastive.weight=-0.1"],
         ["augment.model.contrastive.weight=-0.1 is invalid: it must be a number >= 0"]),
        (["data=movielens_100k", "model=sasrec", "augment=cl4srec",
          "augment.model.contrastive.views.one_of._target_=auglab.augment.image.BatchRandomErasing",
          "~augment.model.contrastive.views.one_of.transforms", "~augment.model.contrastive.views.one_of.p"],
         ["augment.model.contrastive.views.one_of='BatchRandomErasing' is invalid: it must be a sequence transform"]),
    ],
)
def test_bad_sequence_input_fails_before_training_with_one_line(args, fragments, tmp_path):
    proc = run_cli(["train", "trainer=cpu", *args], tmp_path)
    assert_one_line_error(proc, *fragments)
    assert "Epoch 0" not in proc.stdout + proc.stderr
