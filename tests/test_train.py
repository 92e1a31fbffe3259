"""Short in-process runs of the real configs: every strategy trains, and runs reproduce."""

from __future__ import annotations

import json

import pytest
import torch

from auglab.config.catalogue import strategies_for
from auglab.errors import AuglabError
from auglab.run.build import build_datamodule, run_context
from auglab.train import train
from tests.conftest import compose_cfg

FAST = ["debug=fast", "trainer=cpu", "callbacks.progress.refresh_rate=0"]


@pytest.mark.parametrize("strategy", strategies_for("image"))
def test_each_image_strategy_trains_and_writes_its_results(strategy, tmp_path):
    cfg = compose_cfg([*FAST, f"augment={strategy}"], tmp_path)
    metrics = train(cfg)
    for name in ("test/acc", "test/precision", "test/recall", "test/f1", "test/f1_micro", "test/f1_class/Bag"):
        assert 0.0 <= metrics[name] <= 1.0
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    prov = json.loads((tmp_path / "provenance.json").read_text())
    assert prov["seed"] == 0 and len(prov["data_sha256"]) == 64 and "git_dirty" in prov
    assert prov["packages"]["torch"]
    assert (tmp_path / "confusion_matrix.png").stat().st_size > 1000
    assert (tmp_path / "checkpoints" / "best.ckpt").exists() and (tmp_path / "config.yaml").exists()
    csv_header = (tmp_path / "csv" / "metrics.csv").read_text().splitlines()[0]
    assert "test/f1" in csv_header and "val/acc" in csv_header


def test_same_seed_same_metrics_different_seed_different(tmp_path):
    overrides = [*FAST, "augment=flip_crop", "data.num_workers=2"]  # augmentation in worker processes
    first = train(compose_cfg(overrides, tmp_path / "a"))
    second = train(compose_cfg(overrides, tmp_path / "b"))
    other = train(compose_cfg([*overrides, "seed=1"], tmp_path / "c"))
    assert first == second
    assert first != other


def test_strategy_for_another_data_kind_fails_before_training(tmp_path):
    cfg = compose_cfg(FAST, tmp_path)
    cfg.augment.name, cfg.augment.kinds = "eda", ["text"]
    with pytest.raises(AuglabError, match="augment=eda is for text data but data is image; choose one of: .*cutmix"):
        build_datamodule(cfg, run_context(cfg))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU; the CPU runs above cover the same code")
def test_gpu_run_with_device_stage(tmp_path):
    cfg = compose_cfg(["debug=fast", "trainer=gpu", "augment=device_erase_jitter",
                       "callbacks.progress.refresh_rate=0"], tmp_path)
    metrics = train(cfg)
    assert 0.0 <= metrics["test/acc"] <= 1.0
    assert json.loads((tmp_path / "provenance.json").read_text())["cuda"] is True
