"""Classification metrics: ``{stage}/acc`` plus macro precision, recall and F1; extras at test.

``average=`` is always explicit: accuracy is micro (the share of correct predictions), precision,
recall and F1 are macro (every class counts the same, which is what low-data studies compare).
"""

from __future__ import annotations

from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)

# The models hand over logits [B, K] and class ids [B] they built themselves: torchmetrics' per-update
# argument checks (value ranges, a torch.unique per batch) would only cost time on every step.
FAST = {"validate_args": False}


def scalar_metrics(num_classes: int, stage: str) -> MetricCollection:
    """acc, precision, recall, f1 named ``{stage}/<metric>``; test adds ``f1_micro``."""
    k = num_classes
    metrics = {
        "acc": MulticlassAccuracy(num_classes=k, average="micro", **FAST),
        "precision": MulticlassPrecision(num_classes=k, average="macro", zero_division=0, **FAST),
        "recall": MulticlassRecall(num_classes=k, average="macro", zero_division=0, **FAST),
        "f1": MulticlassF1Score(num_classes=k, average="macro", zero_division=0, **FAST),
    }
    if stage == "test":
        metrics["f1_micro"] = MulticlassF1Score(num_classes=k, average="micro", **FAST)
    return MetricCollection(metrics, prefix=f"{stage}/")


def per_class_metrics(num_classes: int) -> MetricCollection:
    """Per-class F1 (``average=None``) and the confusion matrix, computed at test."""
    return MetricCollection(
        {
            "f1_per_class": MulticlassF1Score(num_classes=num_classes, average=None, zero_division=0, **FAST),
            "confusion": MulticlassConfusionMatrix(num_classes=num_classes, **FAST),
        }
    )
