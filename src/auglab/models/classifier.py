"""One home for what every classifier shares: soft-label training, metrics, logging, optimisers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from auglab.figures.confusion_matrix import plot_confusion
from auglab.metrics.classification import per_class_metrics, scalar_metrics
from auglab.metrics.mean_loss import MeanLoss
from auglab.metrics.per_example import PerExample
from auglab.models.base import AuglabModule


class Classifier(AuglabModule):
    """Subclasses define ``forward(x) -> logits [B, K]``; labels may be ints ``[B]`` or soft ``[B, K]``.

    Soft labels come from MixUp/CutMix: the loss uses them as they are, the train metrics score the
    dominant class. Validation and test batches are never mixed.
    """

    def __init__(
        self,
        *,
        num_classes: int,
        class_names: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.class_names = list(class_names or [str(i) for i in range(num_classes)])
        for stage in ("train", "val", "test"):  # attributes, not a ModuleDict: "train" is a Module method
            setattr(self, f"{stage}_metrics", scalar_metrics(num_classes, stage))
            setattr(self, f"{stage}_loss", MeanLoss())
        self.test_extra = per_class_metrics(num_classes)
        self.test_confusion: torch.Tensor | None = None  # [K, K], rows = true class, after test
        self.test_examples = PerExample()

    def _step(self, batch: Sequence[torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        z = self.clean_input(x) if stage == "train" else None  # None: no model-stage transform needs it
        logits = self(x) if z is None else self.attack_output(x, z)  # [B, K]
        clean = F.cross_entropy(logits, y)  # y: int [B] or probabilities [B, K]
        # the loss minimised: the model stage may add a term (adversarial examples); train/loss stays the clean one
        loss = self.model_stage(x, y, clean, z) if stage == "train" else clean
        self.check_finite(loss, stage)
        hard = y.argmax(dim=-1) if y.ndim == 2 else y
        getattr(self, f"{stage}_loss").update(clean, len(hard))
        getattr(self, f"{stage}_metrics").update(logits.detach(), hard)
        if stage == "test":
            self.test_extra.update(logits.detach(), hard)
            probs = logits.detach().float().softmax(-1)  # [B, K]
            self.test_examples.add(label=hard, prediction=probs.argmax(-1), probs=probs)
        return loss

    def attack_loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output, y)

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def _log_epoch(self, stage: str) -> None:
        self.log_epoch(stage, getattr(self, f"{stage}_loss"), getattr(self, f"{stage}_metrics"))

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")
        extra = self.test_extra.compute()  # synced across processes under DDP
        for name, value in zip(self.class_names, extra["f1_per_class"].tolist(), strict=True):
            self.log(f"test/f1_class/{name.replace('/', '_')}", value, sync_dist=True)
        self.test_confusion = extra["confusion"].cpu()
        self.test_extra.reset()
        self.test_predictions = self.test_examples.gather(self)

    def draw_test_figures(self, out_dir: Path, title: str) -> list[Path]:
        if self.test_confusion is None:
            return []
        path = out_dir / "confusion_matrix.png"
        plot_confusion(self.test_confusion, self.class_names, path, title)
        return [path]
