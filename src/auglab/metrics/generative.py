"""Generator metrics without downloads: FID and KID in the feature space of a classifier trained on the
real train split, and the Classification Accuracy Score (Ravuri & Vinyals 2019).

The feature classifier is auglab's SmallCNN (width 32), trained with a fixed recipe on the real train
split; its features are the 128 pooled activations before the linear head. It is cached under
``<cache_dir>/feature_classifier/<sha>.pt``, keyed by a hash of that train split (images and labels)
and the recipe, so generators trained on the same split are measured in the same space and no run
trains it twice; another split (size, seed) gets its own. CAS trains the same
network on generated images only and tests it on the real test split, beside the real-data score.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassF1Score

from auglab.fingerprint import fingerprint
from auglab.models.backbones import SmallCNN


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


@torch.no_grad()
def accuracy_and_f1(net: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                    num_classes: int) -> tuple[float, float]:
    """Accuracy and macro F1 of ``net`` on a real split."""
    preds = torch.cat([net(images[i:i + 512]).argmax(1) for i in range(0, len(images), 512)])
    f1 = MulticlassF1Score(num_classes=num_classes, average="macro", zero_division=0)(preds, labels)
    return float((preds == labels).float().mean()), float(f1)


class ClassifierFeatures(nn.Module):
    """The pooled features of a trained SmallCNN, ``[N, C, H, W]`` in [0, 1] -> ``[N, 128]`` (for torchmetrics)."""

    def __init__(self, net: SmallCNN) -> None:
        super().__init__()
        self.features = net.features.eval().requires_grad_(False)
        self.num_features = net.head[-1].in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x.float())


def feature_classifier(images: torch.Tensor, labels: torch.Tensor, num_classes: int, *,
                       cache_dir: Path | None, recipe: Recipe) -> tuple[SmallCNN, Path | None, bool]:
    """(the classifier trained on the real train split, its cache file, whether it came from there)."""
    key = fingerprint(json.dumps({"recipe": asdict(recipe), "classes": num_classes}, sort_keys=True), images, labels)
    path = Path(cache_dir) / "feature_classifier" / f"{key[:16]}.pt" if cache_dir else None
    net = SmallCNN(in_channels=images.shape[1], num_classes=num_classes, width=recipe.width, dropout=0.0)
    if path is not None and path.exists():
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return net.eval(), path, True
    net = train_classifier(images, labels, num_classes, recipe)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # DDP ranks may write the same file at once
        torch.save(net.state_dict(), tmp)
        tmp.replace(path)
    return net, path, False


def dataset_tensors(dataset: object) -> tuple[torch.Tensor, torch.Tensor]:
    """All of an image split as ``(images [N, C, H, W] float in [0, 1], labels [N])``."""
    images, labels = getattr(dataset, "images", None), getattr(dataset, "labels", None)
    if images is not None and labels is not None and getattr(dataset, "transform", None) is None:
        return images.float() / 255 if images.dtype == torch.uint8 else images.float(), torch.as_tensor(labels)
    pairs = [dataset[i] for i in range(len(dataset))]  # type: ignore[arg-type]
    return torch.stack([p[0] for p in pairs]).float(), torch.as_tensor([int(p[1]) for p in pairs])
