"""Time per training epoch: an auglab classifier under Lightning vs a plain PyTorch loop.

    .venv/bin/python benchmarks/framework_overhead.py [--per-class 1000] [--epochs 3] [--rounds 3]
    .venv/bin/python benchmarks/framework_overhead.py --data text --per-class 250 --epochs 2
    .venv/bin/python benchmarks/framework_overhead.py --smoke   # both kinds, 2 per class, 32 tokens, 1 epoch

``--data image``: SmallCNN (width 32) on Fashion-MNIST, batch 64. ``--data text``: the ``bert`` model
(MiniLM-L6, AdamW with linear warm-up / decay stepped per batch on both sides) on the fine-food reviews,
batch 32, 128 tokens; it also prints training examples per second. Same model, data, loader,
optimiser and batch size on both sides, no augmentation, no validation. auglab's side is its LightningModule under
a Trainer set as ``conf/trainer/default.yaml`` sets it, logging every metric to CSV. The first epoch
of each run is a warm-up and is not counted; the two sides alternate for ``--rounds`` rounds (a
2-core machine's timings drift by several per cent between runs) and the medians are compared.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.loggers import CSVLogger

from auglab.config.composition import data_defaults, model_defaults
from auglab.data.images import FashionMNISTDataModule
from auglab.data.text import FineFoodReviewsDataModule
from auglab.models.backbones import SmallCNN
from auglab.models.image_classifier import ImageClassifier
from auglab.models.text_classifier import BertClassifier
from auglab.run.build import facts_for

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


class EpochTimer(L.Callback):
    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_epoch_start(self, trainer, module) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer, module) -> None:
        self.times.append(time.perf_counter() - self.start)


def make_datamodule(data: str, per_class: int, max_length: int = 128) -> L.LightningDataModule:
    if data == "text":
        dm = FineFoodReviewsDataModule(**data_defaults("fine_food_reviews", tokenizer=MINILM, max_length=max_length,
                                                       train_per_class=per_class, batch_size=32))
        dm.prepare_data()
    else:
        dm = FashionMNISTDataModule(**data_defaults("fashion_mnist", train_per_class=per_class, batch_size=64))
    dm.setup()
    return dm


def make_model(dm: L.LightningDataModule) -> L.LightningModule:
    if isinstance(dm, FineFoodReviewsDataModule):
        return BertClassifier(**model_defaults("bert"),
                              checkpoint=MINILM, optimizer=functools.partial(torch.optim.AdamW, lr=5e-5,
                                                                             weight_decay=0.01),
                              **facts_for(BertClassifier, dm.data_facts()))
    return ImageClassifier(**model_defaults("image_cnn"),
                           net=functools.partial(SmallCNN, width=32), optimizer=functools.partial(
        torch.optim.AdamW, lr=0.003, weight_decay=0.0005), **facts_for(ImageClassifier, dm.data_facts()))


def to_device(x: torch.Tensor | dict, device: torch.device) -> torch.Tensor | dict:
    return {k: v.to(device) for k, v in x.items()} if isinstance(x, dict) else x.to(device)


def lightning_epochs(dm: L.LightningDataModule, epochs: int, log_dir: str) -> list[float]:
    L.seed_everything(0, workers=True)
    timer = EpochTimer()
    trainer = L.Trainer(accelerator="auto", devices=1, max_epochs=epochs, logger=CSVLogger(log_dir), callbacks=[timer],
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        limit_val_batches=0, deterministic="warn", log_every_n_steps=10, precision="32-true")
    trainer.fit(make_model(dm), datamodule=dm)
    logged = set(trainer.logged_metrics)
    missing = {"train/loss", "train/acc", "train/precision", "train/recall", "train/f1"} - logged
    assert not missing, f"auglab stopped logging {missing}"
    return timer.times


def plain_epochs(dm: L.LightningDataModule, epochs: int) -> list[float]:
    L.seed_everything(0, workers=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = make_model(dm).to(device)
    optimizer = model.optimizer_factory(params=[p for p in model.parameters() if p.requires_grad])
    loader = dm.train_dataloader()
    schedule = None
    if isinstance(model, BertClassifier):  # the same per-step schedule as BertClassifier.configure_optimizers
        from transformers import get_linear_schedule_with_warmup

        total = epochs * len(loader)
        schedule = get_linear_schedule_with_warmup(optimizer, int(model.warmup_fraction * total), total)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        for x, y in loader:
            x, y = to_device(x, device), y.to(device)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", choices=["image", "text"], default="image")
    parser.add_argument("--smoke", action="store_true", help="image and text, 2 per class, 32 tokens, one epoch "
                        "(timed: no warm-up), one round")
    args = parser.parse_args()
    if args.smoke:
        for data in ("image", "text"):
            compare(make_datamodule(data, 2, max_length=32), data, epochs=1, rounds=1)
    else:
        compare(make_datamodule(args.data, args.per_class), args.data, args.epochs, args.rounds)


def compare(dm: L.LightningDataModule, data: str, epochs: int, rounds: int) -> None:
    plain, ours = [], []
    warm_up = 1 if epochs > 1 else 0  # a single epoch is timed as it is
    with tempfile.TemporaryDirectory() as log_dir:
        for _ in range(rounds):
            plain += plain_epochs(dm, epochs)[warm_up:]
            ours += lightning_epochs(dm, epochs, log_dir)[warm_up:]
    p, o = statistics.median(plain), statistics.median(ours)
    n = dm.split_sizes["train"]
    print(f"{n} train examples ({data}), batch {dm.batch_size}, {len(plain)} timed epochs per side "
          f"({rounds} alternating rounds), torch threads {torch.get_num_threads()}")
    print("| loop | median s / epoch | all |\n|---|---:|---|")
    print(f"| plain PyTorch | {p:.2f} | {' '.join(f'{t:.2f}' for t in plain)} |")
    print(f"| auglab (Lightning) | {o:.2f} | {' '.join(f'{t:.2f}' for t in ours)} |")
    print(f"overhead ratio auglab / plain: {o / p:.3f}; training examples / s: plain {n / p:,.1f}, "
          f"auglab {n / o:,.1f}")


if __name__ == "__main__":
    main()
