"""Device-stage batched augmentation vs the equivalent torchvision per-sample pipeline in a DataLoader.

    .venv/bin/python benchmarks/device_augment.py [--workers 0 2] [--epochs 2] [--smoke]

Both pipelines do the same work on Fashion-MNIST train images: a random horizontal flip and a
3-pixel pad-and-crop, a fresh draw per image. Per-sample: ``v2.RandomHorizontalFlip`` + ``PadCrop``
in ``Dataset.__getitem__``. Batched, as auglab runs a device-stage strategy: each batch made by one
indexing operation (``ImageBatchDataset.__getitems__``, no per-item Python), then
``BatchRandomHorizontalFlip`` + ``BatchRandomCrop`` on it (on the GPU when there is one, with the images
kept there: ``data.on_device``). Same process, same run. ``--smoke``: 64 images, one epoch, no workers.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader
from torchvision.transforms import v2

from auglab.augment.image import PadCrop
from auglab.augment.image.device import BatchRandomCrop, BatchRandomHorizontalFlip
from auglab.data.classification import collate_examples
from auglab.data.images import ImageBatchDataset, ImageDataset
from auglab.data.sources import fashion_mnist


def images_per_second(loader: DataLoader, device: torch.device, batched: list, epochs: int) -> float:
    n, start = 0, time.perf_counter()
    for _ in range(epochs):
        for x, y in loader:
            x = x.to(device, non_blocking=True)
            for t in batched:
                x, y = t(x, y)
            n += len(x)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--smoke", action="store_true", help="64 images, batch 16, one epoch, no workers")
    args = parser.parse_args()
    data = fashion_mnist.load(None)
    images, labels = data["train_images"], data["train_labels"]
    if args.smoke:
        images, labels, args.workers, args.epochs, args.batch_size = images[:64], labels[:64], [0], 1, 16
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    per_sample = v2.Compose([v2.RandomHorizontalFlip(p=0.5), PadCrop(padding=3)])
    batched = [BatchRandomHorizontalFlip(p=0.5), BatchRandomCrop(padding=3)]
    print(f"{len(images)} images, batch {args.batch_size}, {args.epochs} epochs, device {device}, "
          f"torch threads {torch.get_num_threads()}")
    print("| DataLoader workers | per-sample torchvision (img/s) | batched device stage (img/s) | ratio |")
    print("|---:|---:|---:|---:|")
    for workers in args.workers:
        def loader(dataset, workers=workers):
            on_host = dataset.images.device.type == "cpu"
            return DataLoader(dataset, batch_size=args.batch_size, shuffle=True, collate_fn=collate_examples,
                              num_workers=workers, persistent_workers=workers > 0,
                              pin_memory=on_host and device.type == "cuda")
        slow = images_per_second(loader(ImageDataset(images, labels, per_sample)), device, [], args.epochs)
        fast_data = ImageBatchDataset(images, labels)
        fast_data = fast_data.to(device) if workers == 0 else fast_data  # workers read from the host
        fast = images_per_second(loader(fast_data), device, batched, args.epochs)
        print(f"| {workers} | {slow:,.0f} | {fast:,.0f} | {fast / slow:.1f}x |")


if __name__ == "__main__":
    main()
