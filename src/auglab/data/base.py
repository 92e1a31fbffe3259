"""The datamodule pipeline every data kind shares (docs/architecture.md, "One run").

source -> seeded stratified split -> low-data subsample -> offline stage -> Dataset with the sample
stage (train only) -> collate with the batch stage (train only) -> device stage after transfer.
Subclasses say how to load a source and how to wrap examples in a Dataset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from auglab.augment.stages import AugmentationStrategy
from auglab.data.samplers import eval_sampler
from auglab.data.splits import stratified_holdout, subsample

Examples = tuple[Any, torch.Tensor]  # (inputs, int64 labels [N]); inputs: a tensor or a list


def take(inputs: Any, idx: np.ndarray) -> Any:
    """Select examples by index from a tensor, array or list."""
    if isinstance(inputs, torch.Tensor | np.ndarray):
        return inputs[torch.as_tensor(idx) if isinstance(inputs, torch.Tensor) else idx]
    return [inputs[i] for i in idx]


def fingerprint(*parts: Any) -> str:
    """sha256 over tensors, arrays and strings: the 'hash of the data read' in a run's provenance."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, torch.Tensor):
            part = part.contiguous().numpy()
        if isinstance(part, np.ndarray):
            digest.update(str(part.shape).encode())
            digest.update(part.tobytes())
        else:
            digest.update(repr(part).encode())
    return digest.hexdigest()


class SoftLabelCollate:
    """Train-loader collate: stack, turn labels into one-hot ``[B, K]``, run the batch stage."""

    def __init__(self, strategy: AugmentationStrategy, num_classes: int) -> None:
        self.strategy, self.num_classes = strategy, num_classes

    def __call__(self, items: list) -> tuple[Any, torch.Tensor]:
        x, y = default_collate(items)
        y = torch.nn.functional.one_hot(y, self.num_classes).float()
        return self.strategy.apply_batch(x, y)


class AugmentedDataModule(L.LightningDataModule):
    """Split, subsample and augment a labelled source; the train split alone is augmented."""

    kind: ClassVar[str]  # "image", "text" or "sequence": which augment strategies fit

    def __init__(
        self,
        *,
        augment: AugmentationStrategy | None = None,
        batch_size: int = 64,
        eval_batch_size: int = 512,
        num_workers: int = 0,
        val_fraction: float = 0.1,
        val_per_class: int | None = None,
        test_fraction: float = 0.2,
        train_per_class: int | None = None,
        train_fraction: float | None = None,
        split_seed: int = 0,
    ) -> None:
        super().__init__()
        self.augment = augment or AugmentationStrategy()
        self.batch_size, self.eval_batch_size, self.num_workers = batch_size, eval_batch_size, num_workers
        self.val_fraction, self.val_per_class, self.test_fraction = val_fraction, val_per_class, test_fraction
        self.train_per_class, self.train_fraction = train_per_class, train_fraction
        self.split_seed = split_seed
        self.classes: list[str] = []
        self.data_hash = ""
        self.train_set: Dataset | None = None

    # --- what a data kind provides -------------------------------------------------------------
    def load_source(self) -> dict[str, Any]:
        """Return ``train`` (Examples), optional ``test`` (Examples) and ``classes`` (names)."""
        raise NotImplementedError

    def make_dataset(self, examples: Examples, transform: Callable | None) -> Dataset:
        """Wrap examples in a Dataset that applies ``transform`` to each input (train split only)."""
        raise NotImplementedError

    def on_examples_ready(self, train: Examples) -> None:
        """Hook for statistics of the final train split (e.g. image normalisation)."""

    # --- the shared pipeline ---------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def model_kwargs(self) -> dict[str, Any]:
        """What a model must know about the data; call after ``setup``."""
        return {"num_classes": self.num_classes, "class_names": self.classes}

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        source = self.load_source()
        self.classes = list(source["classes"])
        pool_x, pool_y = source["train"]
        test = source.get("test")
        self.data_hash = fingerprint(pool_x, pool_y, *(test or ()))
        labels = pool_y.numpy()
        if test is None:  # the source has no official test split: hold one out, seeded and stratified
            keep, test_idx = stratified_holdout(labels, self.split_seed, fraction=self.test_fraction,
                                                option="data.test_fraction")
            test = (take(pool_x, test_idx), pool_y[test_idx])
            pool_x, pool_y, labels = take(pool_x, keep), pool_y[keep], labels[keep]
        keep, val_idx = stratified_holdout(  # val_per_class, when set, wins over val_fraction
            labels, self.split_seed, fraction=self.val_fraction, per_class=self.val_per_class,
            option="data.val_per_class" if self.val_per_class is not None else "data.val_fraction",
        )
        train_idx = keep[subsample(labels[keep], self.split_seed, per_class=self.train_per_class,
                                   fraction=self.train_fraction, class_names=self.classes)]
        train = self.augment.apply_offline((take(pool_x, train_idx), pool_y[train_idx]))
        self.on_examples_ready(train)
        self.split_sizes = {"train": len(train[1]), "val": len(val_idx), "test": len(test[1])}
        self.train_set = self.make_dataset(train, self.augment.apply_sample if self.augment.sample else None)
        self.val_set = self.make_dataset((take(pool_x, val_idx), pool_y[val_idx]), None)
        self.test_set = self.make_dataset(test, None)

    def _loader(self, dataset: Dataset, *, train: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size if train else self.eval_batch_size,
            shuffle=train,
            sampler=None if train else eval_sampler(dataset),
            collate_fn=SoftLabelCollate(self.augment, self.num_classes) if train else None,
            num_workers=self.num_workers,
            # Train workers are re-created each epoch, seeded from the main process's RNG, which the
            # checkpoint holds; persistent workers would carry RNG state a resumed run cannot restore.
            persistent_workers=self.num_workers > 0 and not train,
            drop_last=train and len(dataset) % self.batch_size == 1,  # a batch of 1 breaks BatchNorm
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, train=False)

    def on_after_batch_transfer(self, batch: Sequence, dataloader_idx: int) -> Any:
        """The device stage: whole train batches on the accelerator, never evaluation batches."""
        if self.augment.device and self.trainer is not None and self.trainer.training:
            x, y = batch
            return self.augment.apply_device(x, y)
        return batch
