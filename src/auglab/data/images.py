"""Product-image datamodules: Fashion-MNIST (embedded default) and a user's image folder."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as TF

from auglab.data.classification import ClassificationDataModule, Examples
from auglab.data.sources import fashion_mnist, image_folder
from auglab.errors import AuglabError, OptionError

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class ImageDataset(Dataset):
    """uint8 images ``[N, C, H, W]`` in memory; yields float ``[C, H, W]`` in [0, 1] and an int label.

    Sample-stage transforms see the uint8 image, as torchvision's auto-augment policies expect.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform: Callable | None = None) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.images[i]
        if self.transform is not None:
            x = self.transform(x)
        return TF.to_dtype(x, torch.float32, scale=True), self.labels[i]


class ImageBatchDataset(ImageDataset):
    """Without a sample stage: the DataLoader asks for a whole batch (``__getitems__``) and gets one indexing
    operation, not ``B`` calls of ``__getitem__`` and a collate. Same pixels, same order as item by item.
    The tensors may live on the accelerator (``data.on_device``): batches are then made there."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        super().__init__(images, labels)

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.as_tensor(indices, device=self.images.device)
        # TF.to_dtype's own arithmetic (to float, times 1/255: bit for bit the items' pixels), without its
        # dispatch, which costs more than the indexing
        return self.images[idx].to(torch.float32).mul_(1.0 / 255), self.labels[idx]  # [B, C, H, W], [B]

    def to(self, device: torch.device) -> ImageBatchDataset:
        return ImageBatchDataset(self.images.to(device), self.labels.to(device))


class ImageDataModule(ClassificationDataModule):
    """Images of one size and channel count; exposes per-channel mean/std of the train split.

    ``on_device``: keep the uint8 splits on the accelerator, so batches are indexed there and never copied
    from the host (``auto``: on a GPU, when no sample stage or worker needs them on the host and they take
    under a quarter of its free memory; ``true``: always, or an error saying why not; ``false``: never).
    The shuffling order is drawn on the host from the run's resumable stream, as without it: same batches.
    """

    kind = "image"
    FREE_MEMORY_SHARE = 0.25  # what data may take of the accelerator's free memory under on_device=auto

    def __init__(self, *, on_device: str | bool = "auto", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if on_device not in ("auto", True, False):
            raise OptionError("data.on_device", on_device, "auto, true or false")
        self.on_device = on_device

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        device = self._data_device()
        if device is not None:
            self.train_set, self.val_set, self.test_set = (d.to(device) for d in
                                                           (self.train_set, self.val_set, self.test_set))

    def _data_device(self) -> torch.device | None:
        """The device the splits should live on, or None: on the host (once a trainer has a device)."""
        if self.on_device is False or self.trainer is None:
            return None
        device = self.trainer.strategy.root_device
        blocker = ("the sample stage runs on the host" if self.augment.sample else
                   "DataLoader workers read from the host" if self.num_workers > 0 else None)
        if self.on_device is True:
            if blocker:
                raise AuglabError(f"data.on_device=true is impossible here: {blocker}; set data.on_device=auto "
                                  "or false, or use a strategy without a sample stage and data.num_workers=0")
            return device
        if blocker or device.type != "cuda":
            return None
        size = sum(d.images.nbytes + d.labels.nbytes for d in (self.train_set, self.val_set, self.test_set))
        free, _ = torch.cuda.mem_get_info(device)
        return device if size < self.FREE_MEMORY_SHARE * free else None

    def make_dataset(self, examples: Examples, transform: Callable | None) -> Dataset:
        return ImageDataset(*examples, transform=transform) if transform is not None else ImageBatchDataset(*examples)

    def on_examples_ready(self, train: Examples) -> None:
        images = train[0].float() / 255  # [N, C, H, W]
        self.channels, self.image_size = images.shape[1], images.shape[-1]
        self.mean = images.mean(dim=(0, 2, 3)).tolist()
        self.std = images.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist()

    def data_facts(self) -> dict[str, Any]:
        return {**super().data_facts(), "in_channels": self.channels, "image_size": self.image_size,
                "mean": self.mean, "std": self.std}

    def preview_figure(self, batch: Any, count: int = 16) -> Figure:
        """The first ``count`` images with their (maybe mixed) labels. Batches hold pixels in [0, 1] (the
        model normalises them itself), so they are drawn as they are."""
        from auglab.figures.batch_previews import image_grid  # matplotlib only when drawing

        x, y = batch
        return image_grid(x[:count], y[:count], self.classes, self.augment.name)


class FashionMNISTDataModule(ImageDataModule):
    """Fashion-MNIST: 60,000 train (val held out from it) and the official 10,000 test images."""

    def __init__(self, *, root: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = root

    def load_source(self) -> dict[str, Any]:
        data = fashion_mnist.load(self.root)
        return {
            "classes": fashion_mnist.CLASSES,
            "train": (data["train_images"], data["train_labels"]),
            "test": (data["test_images"], data["test_labels"]),
        }


class ImageFolderDataModule(ImageDataModule):
    """Folder-per-class images of any size, fitted to ``image_size`` and ``channels``."""

    def __init__(self, *, path: str | None = None, image_size: int = 64, channels: int = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path, self.size, self.n_channels = path, image_size, channels

    def load_source(self) -> dict[str, Any]:
        data = image_folder.load(self.path, image_size=self.size, channels=self.n_channels)
        source = {"classes": data["classes"], "train": (data["train_images"], data["train_labels"])}
        if "test_images" in data:
            source["test"] = (data["test_images"], data["test_labels"])
        return source
