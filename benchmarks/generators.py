"""Generator cost on this machine: training time per epoch (cDCGAN, cVAE) on a Fashion-MNIST subsample,
and sampling throughput against the small CNN's training throughput (generation must not dominate a
study's wall time).

    .venv/bin/python benchmarks/generators.py [--per-class 100] [--epochs 3] [--batch-size 32] [--smoke]

Both generators at their default options (width 32), the batch of the generative strategies' recipe.
``--smoke``: 3 images per class, one epoch, 100 sampled images, 2 classifier steps.
"""

from __future__ import annotations

import argparse
import functools
import time

import lightning as L
import torch
from framework_overhead import EpochTimer  # benchmarks/ is the script's folder, so its sibling imports

from auglab.config.composition import data_defaults, model_defaults
from auglab.data.images import FashionMNISTDataModule
from auglab.models.cdcgan import CDCGAN
from auglab.models.cvae import CVAE
from auglab.models.feature_classifier import Recipe, train_classifier
from auglab.models.generator_evaluation import dataset_tensors
from auglab.run.build import facts_for


def epoch_time(model: L.LightningModule, dm: FashionMNISTDataModule, epochs: int) -> float:
    timer = EpochTimer()
    L.Trainer(accelerator="auto", devices=1, max_epochs=epochs, logger=False, enable_checkpointing=False,
              enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0, callbacks=[timer]
              ).fit(model, train_dataloaders=dm.train_dataloader())
    return min(timer.times[1:] or timer.times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--smoke", action="store_true", help="3 per class, 1 epoch, 100 samples, 2 classifier steps")
    args = parser.parse_args()
    samples, steps = (100, 2) if args.smoke else (5000, 100)
    if args.smoke:
        args.per_class, args.epochs = 3, 1
    L.seed_everything(0)
    dm = FashionMNISTDataModule(**data_defaults("fashion_mnist", train_per_class=args.per_class,
                                                batch_size=args.batch_size))
    dm.setup()
    kwargs = facts_for(CDCGAN, dm.data_facts())
    kwargs["sample_every_n_epochs"] = 0  # no grids: they would land in samples/ of the current folder
    models = {"cdcgan": CDCGAN(**model_defaults("cdcgan"),
                               **kwargs, optimizer=functools.partial(torch.optim.Adam, lr=2e-4)),
              "cvae": CVAE(**model_defaults("cvae"), **kwargs, optimizer=functools.partial(torch.optim.Adam, lr=1e-3))}
    n = dm.split_sizes["train"]
    print(f"{n} train images (Fashion-MNIST, {args.per_class} per class), batch {args.batch_size}, "
          f"torch threads {torch.get_num_threads()}, {'GPU' if torch.cuda.is_available() else 'CPU'}")
    print("| model | s / training epoch | sampled images / s |\n|---|---:|---:|")
    labels = torch.arange(10).repeat(samples // 10)
    for name, model in models.items():
        seconds = epoch_time(model, dm, args.epochs)
        start = time.perf_counter()
        model.sample(labels, torch.Generator().manual_seed(0))
        rate = len(labels) / (time.perf_counter() - start)
        print(f"| {name} | {seconds:.2f} | {rate:,.0f} |")
    x, y = dataset_tensors(dm.train_set)
    start = time.perf_counter()
    train_classifier(x, y, 10, Recipe(steps=steps))
    rate = steps * 128 / (time.perf_counter() - start)
    print(f"small CNN (width 32) training: {rate:,.0f} images / s")


if __name__ == "__main__":
    main()
