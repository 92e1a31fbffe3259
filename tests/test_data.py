"""Splits, subsamples, datamodules and data errors, on Fashion-MNIST and generated image folders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from auglab.augment.stages import AugmentationStrategy
from auglab.data import splits
from auglab.data.samplers import UnpaddedDistributedSampler
from auglab.data.sources import fashion_mnist
from auglab.errors import AuglabError
from tests.conftest import build_data, make_image_folder


def test_stratified_holdout_keeps_class_shares_and_is_seeded():
    labels = np.repeat(np.arange(4), [100, 50, 30, 20])
    keep, hold = splits.stratified_holdout(labels, 3, fraction=0.2)
    assert len(np.intersect1d(keep, hold)) == 0 and len(keep) + len(hold) == 200
    assert np.bincount(labels[hold]).tolist() == [20, 10, 6, 4]
    again, _ = splits.stratified_holdout(labels, 3, fraction=0.2)
    other, _ = splits.stratified_holdout(labels, 4, fraction=0.2)
    assert np.array_equal(keep, again) and not np.array_equal(keep, other)


def test_validation_hold_out_by_count_comes_from_the_pool():
    labels = np.repeat(np.arange(3), [40, 30, 12])
    keep, hold = splits.stratified_holdout(labels, 0, per_class=4, option="data.val_per_class")
    assert np.bincount(labels[hold]).tolist() == [4, 4, 4] and len(np.intersect1d(keep, hold)) == 0
    with pytest.raises(AuglabError, match=r"data.val_per_class=12: a class has only 12"):
        splits.stratified_holdout(labels, 0, per_class=12, option="data.val_per_class")
    with pytest.raises(AuglabError, match=r"data.val_per_class=0 is invalid: it must be an integer >= 1"):
        splits.stratified_holdout(labels, 0, per_class=0, option="data.val_per_class")


def test_subsample_per_class_and_fraction():
    labels = np.repeat(np.arange(3), [40, 30, 5])
    idx = splits.subsample(labels, 0, per_class=5)
    assert np.bincount(labels[idx]).tolist() == [5, 5, 5]
    # More than a class has: an error naming the class and the largest valid value, not a silent smaller run.
    with pytest.raises(AuglabError, match=r"train_per_class=10 but class 'c' has only 5 .*use at most 5"):
        splits.subsample(labels, 0, per_class=10, class_names=["a", "b", "c"])
    idx = splits.subsample(labels, 0, fraction=0.5)
    assert np.bincount(labels[idx]).tolist() == [20, 15, 2]
    assert len(splits.subsample(labels, 0)) == 75
    with pytest.raises(AuglabError, match="train_per_class or data.train_fraction, not both"):
        splits.subsample(labels, 0, per_class=1, fraction=0.5)
    with pytest.raises(AuglabError, match="train_per_class=0 is invalid: it must be an integer >= 1"):
        splits.subsample(labels, 0, per_class=0)


@pytest.mark.parametrize(("size", "world"), [(13, 2), (10, 2), (7, 3), (1, 2)])
def test_unpadded_sampler_counts_every_example_once(size, world):
    seen = []
    for rank in range(world):
        sampler = UnpaddedDistributedSampler(range(size), num_replicas=world, rank=rank)
        idx = list(sampler)
        assert len(idx) == len(sampler)
        seen += idx
    assert sorted(seen) == list(range(size))


class Flip1:
    """A test sample transform that marks its input, to see where augmentation runs."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x, 7)


def test_fashion_mnist_datamodule_augments_the_train_split_only():
    strategy = AugmentationStrategy(name="mark", sample={"mark": Flip1()})
    dm = build_data("fashion_mnist", augment=strategy, train_per_class=20, val_fraction=0.05, split_seed=0)
    dm.setup("fit")
    assert dm.split_sizes == {"train": 200, "val": 3000, "test": 10000}
    assert dm.classes[0] == "T-shirt/top" and dm.num_classes == 10
    x, y = next(iter(dm.train_dataloader()))
    assert torch.allclose(x, torch.full_like(x, 7 / 255)) and y.shape == (64, 10)  # soft labels
    for loader in (dm.val_dataloader(), dm.test_dataloader()):
        xe, ye = next(iter(loader))
        assert not torch.allclose(xe, torch.full_like(xe, 7 / 255)) and ye.ndim == 1
    assert len(dm.data_hash) == 64
    train_labels = dm.train_set.labels
    assert torch.bincount(train_labels).tolist() == [20] * 10


def test_offline_stage_expands_the_train_split():
    def double(examples):
        x, y = examples
        return torch.cat([x, x.flip(-1)]), torch.cat([y, y])

    dm = build_data("fashion_mnist", augment=AugmentationStrategy(name="dbl", offline={"double": double}),
                                train_per_class=5)
    dm.setup()
    assert dm.split_sizes["train"] == 100


def test_missing_fashion_mnist_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "nowhere")
    with pytest.raises(AuglabError, match=r"Fashion-MNIST files not found in .*apt-get install dataset-fashion-mnist"):
        build_data("fashion_mnist", root=str(tmp_path / "empty")).setup()


def test_image_folder_with_splits_mixed_modes_and_sizes(image_folder):
    dm = build_data("image_folder", path=str(image_folder), image_size=24, channels=3, split_seed=0)
    dm.setup()
    assert dm.classes == ["bag", "shirt", "shoe"]
    assert dm.split_sizes["test"] == 13 and dm.split_sizes["train"] + dm.split_sizes["val"] == 45
    x, _ = dm.test_set[0]
    assert x.shape == (3, 24, 24)
    grey = build_data("image_folder", path=str(image_folder), image_size=16, channels=1)
    grey.setup()
    assert grey.test_set[0][0].shape == (1, 16, 16) and grey.data_facts()["in_channels"] == 1


def test_image_folder_without_test_split_holds_one_out(tmp_path):
    make_image_folder(tmp_path / "flat", {"a": 20, "b": 20})
    dm = build_data("image_folder", path=str(tmp_path / "flat"), test_fraction=0.25, val_fraction=0.2)
    dm.setup()
    assert dm.split_sizes == {"train": 24, "val": 6, "test": 10}


@pytest.mark.parametrize(
    ("setup_folder", "message"),
    [
        (lambda p: None, r"data.path=.*does not exist or is not a folder; point data.path at a folder"),
        (lambda p: (p / "only").mkdir(parents=True), r"has 1 class folder\(s\), need at least 2"),
        (lambda p: [(p / c).mkdir(parents=True) for c in "ab"], r"class folder .*a has no images"),
    ],
)
def test_image_folder_errors_name_the_folder_and_the_fix(tmp_path, setup_folder, message):
    folder = tmp_path / "imgs"
    setup_folder(folder)
    with pytest.raises(AuglabError, match=message) as err:
        build_data("image_folder", path=str(folder)).setup()
    assert "\n" not in str(err.value)


def test_corrupt_image_is_named(tmp_path):
    make_image_folder(tmp_path / "shop", {"a": 3, "b": 3})
    (tmp_path / "shop" / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    with pytest.raises(AuglabError, match=r"cannot read image .*broken.png: .*remove or replace the file"):
        build_data("image_folder", path=str(tmp_path / "shop")).setup()
