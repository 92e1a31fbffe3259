"""A small image classifier trained with a fixed recipe, in a plain loop, for judging images rather than for
a study: the feature space of the generators' FID / KID and their Classification Accuracy Score
(``models/generator_evaluation.py``), and the ``min_confidence`` filter of generated images.

The network is auglab's SmallCNN (width 32). The one trained on a real train split is cached under
``<cache_dir>/feature_classifier/<sha>.pt``, keyed by a hash of that split (images and labels) and the
recipe, so generators trained on the same split are measured in the same space and no run trains it
twice; another split (size, seed) gets its own.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from auglab.models.backbones import SmallCNN
from auglab.storage.artefact_cache import load_or_compute
from auglab.storage.fingerprint import fingerprint


@dataclass(frozen=True)
class Recipe:
    """How both classifiers train (plain loop, CPU-friendly)."""

    steps: int = 500  # optimizer steps, whatever the split's size (a 20-per-class split needs them too)
    batch_size: int = 128
    lr: float = 0.003
    width: int = 32
    seed: int = 0


def train_classifier(images: torch.Tensor, labels: torch.Tensor, num_classes: int, recipe: Recipe) -> SmallCNN:
    """SmallCNN fitted to ``images [N, C, H, W]`` in [0, 1] and ``labels [N]``, seeded: same inputs, same net.

    Runs during a Trainer's test loop, so it leaves inference mode; the copies turn tensors made
    there into ones autograd may use.
    """
    with torch.inference_mode(False), torch.enable_grad():
        images, labels = images.clone(), labels.clone()
        gen = torch.Generator().manual_seed(recipe.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(recipe.seed)
            net = SmallCNN(in_channels=images.shape[1], num_classes=num_classes, width=recipe.width, dropout=0.0)
        optimizer = torch.optim.Adam(net.parameters(), lr=recipe.lr)
        net.train()
        order = torch.empty(0, dtype=torch.long)
        for _ in range(recipe.steps):
            if len(order) < recipe.batch_size:  # a new shuffled pass once the current one runs out
                order = torch.cat([order, torch.randperm(len(images), generator=gen)])
            idx, order = order[:recipe.batch_size], order[recipe.batch_size:]
            loss = F.cross_entropy(net(images[idx]), labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return net.eval()


def feature_classifier(images: torch.Tensor, labels: torch.Tensor, num_classes: int, *,
                       cache_dir: Path | None, recipe: Recipe) -> tuple[SmallCNN, Path | None, bool]:
    """(the classifier trained on the real train split, its cache file, whether it came from there)."""
    key = fingerprint(json.dumps({"recipe": asdict(recipe), "classes": num_classes}, sort_keys=True), images, labels)
    path = Path(cache_dir) / "feature_classifier" / f"{key[:16]}.pt" if cache_dir else None
    net = SmallCNN(in_channels=images.shape[1], num_classes=num_classes, width=recipe.width, dropout=0.0)
    state, loaded = load_or_compute(path, lambda: train_classifier(images, labels, num_classes, recipe).state_dict(),
                                    what="feature classifier")
    net.load_state_dict(state)
    return net.eval(), path, loaded
