"""Image batches made by indexing (no per-item Python) and kept on the accelerator: the same examples in
the same order, hence the same metrics, as item by item on the host (issue 19)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

from auglab.augment.stages import AugmentationStrategy
from auglab.data.classification import SoftLabelCollate, collate_examples
from auglab.data.images import ImageBatchDataset, ImageDataModule, ImageDataset
from auglab.errors import AuglabError
from auglab.run.build import build_datamodule, run_context
from auglab.train import train
from tests.conftest import assert_same_predictions, compose_cfg

FAST = ["debug=fast", "trainer=cpu", "callbacks.progress.refresh_rate=0"]


def _images(n: int = 50) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, 1, 8, 8), dtype=torch.uint8, generator=g), torch.arange(n) % 3


def _batches(dataset, collate, seed: int = 7) -> list:
    loader = DataLoader(dataset, batch_size=16, shuffle=True, collate_fn=collate,
                        generator=torch.Generator().manual_seed(seed))
    return list(loader)


def test_batched_and_item_by_item_loaders_give_the_same_batches():
    images, labels = _images()
    for collate in (collate_examples, SoftLabelCollate(AugmentationStrategy(), 3)):
        by_item = _batches(ImageDataset(images, labels, transform=None), collate)
        batched = _batches(ImageBatchDataset(images, labels), collate)
        assert len(by_item) == len(batched) == 4
        for (xa, ya), (xb, yb) in zip(by_item, batched, strict=True):
            assert xa.dtype == xb.dtype == torch.float32 and torch.equal(xa, xb) and torch.equal(ya, yb)


def test_only_strategies_without_a_sample_stage_get_batched_datasets(tmp_path):
    for strategy, batched in (("none", True), ("mixup", True), ("device_flip_crop", True), ("flip_crop", False)):
        cfg = compose_cfg([*FAST, f"augment={strategy}"], tmp_path)
        datamodule = build_datamodule(cfg, run_context(cfg))
        datamodule.setup("fit")
        assert isinstance(datamodule.train_set, ImageBatchDataset) == batched, strategy
        assert isinstance(datamodule.test_set, ImageBatchDataset)


def test_batched_loading_and_on_device_reproduce_item_by_item_metrics(tmp_path, monkeypatch):
    overrides = [*FAST, "augment=mixup"]  # a batch-stage strategy: soft labels through the collate
    batched = train(compose_cfg([*overrides, "data.on_device=false"], tmp_path / "batched"))
    on_device = train(compose_cfg([*overrides, "data.on_device=true"], tmp_path / "on_device"))  # the CPU here
    monkeypatch.setattr(ImageDataModule, "make_dataset",
                        lambda self, examples, transform: ImageDataset(*examples, transform=transform))
    by_item = train(compose_cfg([*overrides, "data.on_device=false"], tmp_path / "by_item"))
    assert batched == by_item == on_device
    assert_same_predictions(tmp_path / "by_item" / "predictions.npz", tmp_path / "batched" / "predictions.npz")
    assert_same_predictions(tmp_path / "by_item" / "predictions.npz", tmp_path / "on_device" / "predictions.npz")


@pytest.mark.parametrize(("overrides", "message"), [
    (["data.on_device=yes"], "data.on_device='yes' is invalid: it must be auto, true or false"),
    (["data.on_device=true", "augment=flip_crop"], "data.on_device=true is impossible here: the sample stage"),
    (["data.on_device=true", "data.num_workers=1"], "data.on_device=true is impossible here: DataLoader workers"),
    (["data.batch_size=-3"], "data.batch_size=-3 is invalid: it must be an integer >= 1"),
    (["data.num_workers=-1"], "data.num_workers=-1 is invalid: it must be an integer >= 0"),
])
def test_bad_on_device_values_say_what_to_do(overrides, message, tmp_path):
    with pytest.raises(AuglabError, match=message.replace("(", r"\(")):
        train(compose_cfg([*FAST, *overrides], tmp_path))
