"""The datamodule skeleton every data kind shares (docs/architecture.md, "One run").

A data kind brings its own split protocol (stratified hold-outs for labelled examples, leave-one-out
per user for interaction sequences) by implementing ``build_splits``, and its own collate functions.
This class owns what is the same for all: the loaders (unpadded evaluation sampler, workers seeded
from the resumable stream), the device stage on train batches only, the data hash and split sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from auglab.augment import AugmentationStrategy, RunContext
from auglab.data.samplers import eval_sampler
from auglab.errors import check_count

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def take(inputs: Any, idx: np.ndarray) -> Any:
    """Select examples by index from a tensor, array or list."""
    if isinstance(inputs, torch.Tensor | np.ndarray):
        return inputs[torch.as_tensor(idx) if isinstance(inputs, torch.Tensor) else idx]
    return [inputs[i] for i in idx]


class AugmentedDataModule(L.LightningDataModule):
    """Train, validation and test Datasets from one seeded split; only the train split is augmented."""

    kind: ClassVar[str]  # "image", "text" or "sequence": which augment strategies fit

    def __init__(
        self,
        *,
        augment: AugmentationStrategy | None = None,
        context: RunContext | None = None,
        batch_size: int,
        eval_batch_size: int,
        num_workers: int,
        split_seed: int,
    ) -> None:
        super().__init__()
        self.augment = augment or AugmentationStrategy()
        self.context = context or RunContext()  # what the run hands the strategy's transforms (cache folder, ...)
        self.batch_size = check_count("data.batch_size", batch_size)
        self.eval_batch_size = check_count("data.eval_batch_size", eval_batch_size)
        self.num_workers = check_count("data.num_workers", num_workers, minimum=0)
        self.split_seed = split_seed
        self.data_hash = ""
        self.split_sizes: dict[str, int] = {}
        self.train_set: Dataset | None = None

    # --- what a data kind provides -------------------------------------------------------------
    def build_splits(self) -> tuple[Dataset, Dataset, Dataset]:
        """Load, split and augment (offline, sample stages); set ``data_hash`` and ``split_sizes``."""
        raise NotImplementedError

    def collate(self, *, train: bool) -> Callable | None:
        """The loader's collate function; the train one also runs the batch stage."""
        return None

    def data_facts(self) -> dict[str, Any]:
        """What a model may need to know about the data (class names, image size, vocabulary, ...); the run
        hands each model the facts its constructor asks for by name. Call after ``setup``."""
        return {}

    def transform_context(self, train: Any) -> RunContext:
        """The context the strategy's transforms get: the run's, with ``train`` (and, for text, the tokenizer)."""
        return self.context.with_train(train)

    def preview_figure(self, batch: Any) -> Figure | None:
        """A picture of the first examples of a train batch as the model receives it, after every
        augmentation stage (``callbacks/augmented_preview.py``); None: this kind draws none."""
        return None

    # --- the shared part -------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self.train_set, self.val_set, self.test_set = self.build_splits()

    def _loader(self, dataset: Dataset, *, train: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size if train else self.eval_batch_size,
            shuffle=train,
            sampler=None if train else eval_sampler(dataset),
            collate_fn=self.collate(train=train),
            num_workers=self.num_workers,
            # Train workers are re-created each epoch, seeded from the main process's RNG, which the
            # checkpoint holds; persistent workers would carry RNG state a resumed run cannot restore.
            persistent_workers=self.num_workers > 0 and not train,
            # A last batch of 1 breaks BatchNorm; with no full batch, dropping it would leave none.
            drop_last=train and len(dataset) > self.batch_size and len(dataset) % self.batch_size == 1,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, train=False)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """The device stage: whole train batches on the accelerator, never evaluation batches."""
        if self.augment.device and self.trainer is not None and self.trainer.training:
            x, y = batch
            return self.augment.apply_device(x, y)
        return batch
