"""Labelled examples (images, texts): seeded stratified hold-outs, a low-data subsample per class,
one-hot train labels so the batch stage can mix them (docs/architecture.md, "One run")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, default_collate

from auglab.augment import AugmentationStrategy, RunContext
from auglab.data.base import AugmentedDataModule, take
from auglab.data.splits import grouped_holdout, grouped_subsample, stratified_holdout, subsample
from auglab.storage.fingerprint import fingerprint

Examples = tuple[Any, torch.Tensor]  # (inputs, int64 labels [N]); inputs: a tensor or a list


def collate_examples(items: list | tuple) -> Any:
    """Stack a list of examples; a batch a dataset already built (a tuple from ``__getitems__``) passes."""
    return items if isinstance(items, tuple) else default_collate(items)


class SoftLabelCollate:
    """Train-loader collate: stack, turn labels into one-hot ``[B, K]``, run the batch stage."""

    def __init__(self, strategy: AugmentationStrategy, num_classes: int) -> None:
        self.strategy, self.num_classes = strategy, num_classes

    def __call__(self, items: list | tuple) -> tuple[Any, torch.Tensor]:
        x, y = collate_examples(items)
        y = torch.nn.functional.one_hot(y, self.num_classes).float()
        return self.strategy.apply_batch(x, y)


class ClassificationDataModule(AugmentedDataModule):
    """Split, subsample and augment a labelled source; subclasses load it and wrap it in Datasets."""

    def __init__(
        self,
        *,
        val_fraction: float,
        val_per_class: int | None,
        train_per_class: int | None,
        train_fraction: float | None,
        test_fraction: float = 0.2,  # only sources without a test split of their own use it (their YAML sets it)
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.val_fraction, self.val_per_class, self.test_fraction = val_fraction, val_per_class, test_fraction
        self.train_per_class, self.train_fraction = train_per_class, train_fraction
        self.classes: list[str] = []
        self.held_out_inputs: list[Any] = []  # validation and test inputs, once split
        self.split_groups: dict[str, np.ndarray] = {}  # sources with groups: each split's example groups

    # --- what a source provides --------------------------------------------------------------------
    def load_source(self) -> dict[str, Any]:
        """Return ``train`` (Examples), optional ``test`` (Examples) and ``classes`` (names)."""
        raise NotImplementedError

    def make_dataset(self, examples: Examples, transform: Callable | None) -> Dataset:
        """Wrap examples in a Dataset that applies ``transform`` to each input (train split only)."""
        raise NotImplementedError

    def on_examples_ready(self, train: Examples) -> None:
        """Hook for statistics of the final train split (e.g. image normalisation)."""

    # --- the classification protocol -----------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def data_facts(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "class_names": self.classes}

    def collate(self, *, train: bool) -> Callable | None:
        return SoftLabelCollate(self.augment, self.num_classes) if train else collate_examples

    def transform_context(self, train: Any) -> RunContext:
        """With the validation and test inputs (what generated examples must never copy) and the class names."""
        return replace(super().transform_context(train), held_out=self.held_out_inputs, class_names=self.classes)

    def _holdout(self, labels: np.ndarray, groups: np.ndarray | None, **options: Any) -> tuple[np.ndarray, np.ndarray]:
        if groups is None:
            return stratified_holdout(labels, self.split_seed, **options)
        return grouped_holdout(labels, groups, self.split_seed, **options)

    def build_splits(self) -> tuple[Dataset, Dataset, Dataset]:
        source = self.load_source()
        self.classes = list(source["classes"])
        pool_x, pool_y = source["train"]
        test = source.get("test")
        groups = source.get("groups")  # e.g. the product of each offer: a product never straddles two splits
        self.data_hash = fingerprint(pool_x, pool_y, *(test or ()), *(() if groups is None else (groups,)))
        labels = pool_y.numpy()
        if test is None:  # the source has no official test split: hold one out, seeded and stratified
            keep, test_idx = self._holdout(labels, groups, fraction=self.test_fraction, option="data.test_fraction")
            test = (take(pool_x, test_idx), pool_y[test_idx])
            if groups is not None:
                self.split_groups["test"], groups = groups[test_idx], groups[keep]
            pool_x, pool_y, labels = take(pool_x, keep), pool_y[keep], labels[keep]
        keep, val_idx = self._holdout(  # val_per_class, when set, wins over val_fraction
            labels, groups, fraction=self.val_fraction, per_class=self.val_per_class,
            option="data.val_per_class" if self.val_per_class is not None else "data.val_fraction",
        )
        sizes = {"per_class": self.train_per_class, "fraction": self.train_fraction, "class_names": self.classes}
        chosen = (subsample(labels[keep], self.split_seed, **sizes) if groups is None else
                  grouped_subsample(labels[keep], groups[keep], self.split_seed, **sizes))
        train_idx = keep[chosen]
        if groups is not None:
            self.split_groups.update(train=groups[train_idx], val=groups[val_idx])
        val = (take(pool_x, val_idx), pool_y[val_idx])
        self.held_out_inputs = list(val[0]) + list(test[0])
        train = (take(pool_x, train_idx), pool_y[train_idx])
        train = self.augment.apply_offline(train, self.transform_context(train))
        self.on_examples_ready(train)
        self.augment.setup(self.transform_context(train))
        self.split_sizes = {"train": len(train[1]), "val": len(val_idx), "test": len(test[1])}
        return (self.make_dataset(train, self.augment.apply_sample if self.augment.sample else None),
                self.make_dataset(val, None), self.make_dataset(test, None))
