"""Text classifiers as a user runs them, in subprocesses: every text model, determinism, exact
evaluation from a checkpoint in one and two processes, and bad input."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from tests.conftest import assert_eval_reproduces, run_cli
from tests.test_cli import assert_one_line_error
from tests.test_configs import TEXT_STRATEGIES

WORDS = {"good": ["great", "lovely", "tasty", "fresh", "perfect"], "bad": ["awful", "stale", "broken", "bland", "sour"]}
FILLER = ["the", "coffee", "box", "tea", "arrived", "and", "was", "really", "quite", "product"]
CLASSIFIER = {"test/acc", "test/precision", "test/recall", "test/f1", "test/f1_micro", "test/loss",
              "test/f1_class/bad", "test/f1_class/good"}


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def review_folder(root: Path, train: int = 60, test: int = 31, seed: int = 0) -> Path:
    """train.csv and test.csv of short reviews whose class shows in a few words (test: an odd count)."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for name, count in (("train", train), ("test", test)):
        with (root / f"{name}.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["review", "label"])
            for i in range(count):
                label = ["good", "bad"][i % 2]
                words = rng.sample(FILLER, 5) + rng.sample(WORDS[label], 2)
                rng.shuffle(words)
                writer.writerow([" ".join(words), label])
    return root


def small(tmp_path: Path) -> list[str]:
    return ["data=text_file", f"data.path={review_folder(tmp_path / 'reviews')}", "data.text_field=review",
            "data.max_length=16",
            "data.batch_size=8", "trainer=cpu", "trainer.max_epochs=2", "callbacks.progress.refresh_rate=0"]


@pytest.mark.slow  # end to end, several subprocess runs: CI runs it
@pytest.mark.parametrize("model", ["bert", "text_cnn", "text_bilstm"])
def test_each_text_model_trains_and_logs_the_classifier_metrics(model, tmp_path):
    run = tmp_path / "run"
    proc = run_cli(["train", *small(tmp_path), f"model={model}", f"hydra.run.dir={run}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = _json(run / "metrics.json")
    assert CLASSIFIER <= metrics.keys() and "val/f1_best" in metrics
    assert 0 <= metrics["test/f1"] <= 1 and (run / "confusion_matrix.png").is_file()
    assert (run / "augmented_preview.png").is_file()


@pytest.mark.slow  # an end-to-end run of 20-60 s on 2 cores; CI runs it
def test_every_text_strategy_trains_in_one_sweep_and_the_report_compares_them(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli(["train", "-m", *small(tmp_path), "model=text_cnn", f"augment={','.join(TEXT_STRATEGIES)}",
                    f"hydra.sweep.dir={sweep}"], tmp_path, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    records = {p.parent.name: _json(p) for p in sweep.glob("*/run.json")}
    assert len(records) == len(TEXT_STRATEGIES) and all(r["status"] == "ok" for r in records.values()), records
    train_sizes = {r["augment"]: _json(sweep / job / "provenance.json")["split_sizes"]["train"]
                   for job, r in records.items()}
    plain = train_sizes["none"]
    for name in ("eda", "eda_sr", "eda_ri", "eda_rs", "eda_rd"):  # offline: n_aug=4 copies beside each original
        assert train_sizes[name] == 5 * plain, (name, train_sizes)
    for name in ("typo", "eda_sample", "token_dropout", "embedding_noise", "embedding_substitution"):
        assert train_sizes[name] == plain, (name, train_sizes)  # sample and device stages: edits, no copies
    rep = run_cli(["report", str(sweep)], tmp_path)
    assert rep.returncode == 0, rep.stderr
    assert "### test/f1" in rep.stdout and "| eda_rd | 1 | 0 |" in rep.stdout


@pytest.mark.slow  # an end-to-end run of 20-60 s on 2 cores; CI runs it
def test_bert_same_seed_same_metrics_and_eval_is_exact_in_one_and_two_processes(tmp_path):
    runs = []
    for name in ("a", "b"):
        proc = run_cli(["train", *small(tmp_path), "model=bert", "model.freeze_layers=4",
                        f"hydra.run.dir={tmp_path / name}"], tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs.append(_json(tmp_path / name / "metrics.json"))
    assert runs[0] == runs[1]
    expected = {k: v for k, v in runs[0].items() if k.startswith("test/")}
    assert_eval_reproduces(tmp_path / "a" / "checkpoints" / "best.ckpt", expected, tmp_path)
    assert _json(tmp_path / "eval_ddp_cpu" / "provenance.json")["split_sizes"]["test"] == 31


@pytest.mark.parametrize(("args", "fragments"), [
    (["data=fine_food_reviews"], ["model ImageClassifier is for image data but data is text; choose model= one of: "
                                  "bert, text_bilstm, text_cnn"]),
    (["data=fine_food_reviews", "model=bert", "augment=mixup"], ["augment=mixup is for image data but data is text"]),
    (["model=bert"], ["model BertClassifier is for text data but data is image"]),
    (["data=text_file", "model=text_cnn"], ["data.path"]),
    (["data=fine_food_reviews", "model=bert", "model.checkpoint=acme/no-such-bert"],
     ["model.checkpoint=acme/no-such-bert: not a local folder", "--local-dir DIR"]),
    (["data=fine_food_reviews", "model=bert", "data.max_length=4096"], ["data.max_length=4096 is larger than"]),
    (["data=fine_food_reviews", "model=bert", "model.freeze_layers=9"],
     ["model.freeze_layers=9 is invalid: it must be in [0, 6]"]),
    (["data=eda_benchmark", "model=text_cnn", "data.name=imdb"], ["data.name=imdb is not an EDA benchmark"]),
    (["data=eda_benchmark", "model=text_cnn", "augment=text_mixup", "augment.device.text_mixup.alpha=0"],
     ["augment.device.text_mixup.alpha=0 is invalid: it must be a number > 0"]),
])
def test_bad_text_input_fails_before_training_with_one_line(args, fragments, tmp_path):
    proc = run_cli(["train", "trainer=cpu", *args], tmp_path, HF_HUB_OFFLINE="1")
    assert_one_line_error(proc, *fragments)
