"""A generator's test metrics: ``test/fid``, ``test/kid``, ``test/cas_acc``, ``test/cas_f1`` beside
``test/real_acc``, ``test/real_f1`` (the same classifier trained on the real train split).

FID and KID compare the real test images with as many generated images of the same classes (drawn
batch by batch during the test loop, seeded by batch index). CAS generates one image per real train
image, with its label, trains the classifier on those only and tests it on the real test split.
Every draw is seeded, so ``auglab-eval`` on the checkpoint gives the same numbers on CPU.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchmetrics.classification import MulticlassF1Score
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from auglab.models.backbones import SmallCNN
from auglab.models.feature_classifier import Recipe, feature_classifier, train_classifier


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


def dataset_tensors(dataset: object) -> tuple[torch.Tensor, torch.Tensor]:
    """All of an image split as ``(images [N, C, H, W] float in [0, 1], labels [N])``."""
    images, labels = getattr(dataset, "images", None), getattr(dataset, "labels", None)
    if images is not None and labels is not None and getattr(dataset, "transform", None) is None:
        return images.float() / 255 if images.dtype == torch.uint8 else images.float(), torch.as_tensor(labels)
    pairs = [dataset[i] for i in range(len(dataset))]  # type: ignore[arg-type]
    return torch.stack([p[0] for p in pairs]).float(), torch.as_tensor([int(p[1]) for p in pairs])


KID_SUBSET = 1000  # images per KID subset (torchmetrics' default), fewer when the test split is smaller
CAS_SEED = 4321  # the noise of the CAS training images


class GeneratorEvaluation:
    """Accumulates FID/KID over the test loop; ``compute`` adds CAS and returns every ``test/`` metric."""

    def __init__(self, model: Any, datamodule: Any, *, cache_dir: str | Path | None, steps: int) -> None:
        self.model, self.num_classes = model, model.num_classes
        self.recipe = Recipe(steps=steps)
        self.train_x, self.train_y = dataset_tensors(datamodule.train_set)
        self.test_x, self.test_y = dataset_tensors(datamodule.test_set)
        self.classifier, self.classifier_file, self.cached = feature_classifier(
            self.train_x, self.train_y, self.num_classes, cache_dir=cache_dir,
            recipe=self.recipe)
        features = ClassifierFeatures(self.classifier)
        # normalize=True: images arrive as floats in [0, 1]; the metrics are kept off the LightningModule
        # so the feature network never lands in the generator's checkpoint
        self.fid = FrechetInceptionDistance(feature=features, normalize=True).to(model.device)
        with warnings.catch_warnings():  # "saves all features": 128 floats per image here, a few MB
            warnings.filterwarnings("ignore", message=".*will save all extracted features")
            self.kid = KernelInceptionDistance(feature=features, normalize=True).to(model.device)

    def update(self, real: torch.Tensor, fake: torch.Tensor) -> None:
        """One test batch: real images and generated ones of the same classes, ``[B, C, H, W]`` in [0, 1]."""
        for metric in (self.fid, self.kid):
            metric.update(real, real=True)
            metric.update(fake, real=False)

    def compute(self) -> dict[str, float]:
        fid = float(self.fid.compute())
        seen = min(sum(len(f) for f in self.kid.real_features), sum(len(f) for f in self.kid.fake_features))
        self.kid.subset_size = max(2, min(KID_SUBSET, seen))
        with torch.random.fork_rng(devices=[]):  # KID draws its subsets from the global stream
            torch.manual_seed(0)
            kid = float(self.kid.compute()[0])
        real_acc, real_f1 = accuracy_and_f1(self.classifier, self.test_x, self.test_y, self.num_classes)
        cas_net = train_classifier(self._generated_train_split(), self.train_y, self.num_classes, self.recipe)
        cas_acc, cas_f1 = accuracy_and_f1(cas_net, self.test_x, self.test_y, self.num_classes)
        return {"test/fid": fid, "test/kid": kid, "test/cas_acc": cas_acc, "test/cas_f1": cas_f1,
                "test/real_acc": real_acc, "test/real_f1": real_f1}

    def record(self) -> dict[str, Any]:
        """What the run folder keeps about how it was measured (``generator_evaluation.json``)."""
        return {"feature_classifier": str(self.classifier_file) if self.classifier_file else None,
                "feature_classifier_from_cache": self.cached, "recipe": asdict(self.recipe),
                "feature_layer": "SmallCNN.features (global-average-pooled, before the linear head)",
                "kid_subset_size": self.kid.subset_size}

    def _generated_train_split(self, batch_size: int = 500) -> torch.Tensor:
        """One generated image per real train image, with its label: ``[N, C, H, W]`` on the CPU."""
        gen = torch.Generator().manual_seed(CAS_SEED)
        labels = self.train_y.to(self.model.device)
        return torch.cat([self.model.sample(labels[i:i + batch_size], gen).cpu()
                          for i in range(0, len(labels), batch_size)])
