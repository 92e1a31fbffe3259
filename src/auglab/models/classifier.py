"""One home for what every classifier shares: soft-label training, metrics, logging, optimisers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torchmetrics import MeanMetric

from auglab.errors import AuglabError
from auglab.metrics.classification import per_class_metrics, scalar_metrics


class Classifier(L.LightningModule):
    """Subclasses define ``forward(x) -> logits [B, K]``; labels may be ints ``[B]`` or soft ``[B, K]``.

    Soft labels come from MixUp/CutMix: the loss uses them as they are, the train metrics score the
    dominant class. Validation and test batches are never mixed.
    """

    def __init__(
        self,
        *,
        num_classes: int,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        class_names: Sequence[str] | None = None,
        monitor: str = "val/f1",
        monitor_mode: str = "max",
    ) -> None:
        super().__init__()
        self.monitor, self.monitor_mode = monitor, monitor_mode  # read by the checkpoint callback's config
        self.num_classes = num_classes
        self.class_names = list(class_names or [str(i) for i in range(num_classes)])
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        for stage in ("train", "val", "test"):  # attributes, not a ModuleDict: "train" is a Module method
            setattr(self, f"{stage}_metrics", scalar_metrics(num_classes, stage))
            setattr(self, f"{stage}_loss", MeanMetric())
        self.test_extra = per_class_metrics(num_classes)
        self.test_confusion: torch.Tensor | None = None  # [K, K], rows = true class, after test

    def _step(self, batch: Sequence[torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        logits = self(x)  # [B, K]
        loss = F.cross_entropy(logits, y)  # y: int [B] or probabilities [B, K]
        self._check_finite(loss, stage)
        hard = y.argmax(dim=-1) if y.ndim == 2 else y
        metrics, mean_loss = getattr(self, f"{stage}_metrics"), getattr(self, f"{stage}_loss")
        mean_loss.update(loss.detach(), weight=len(hard))
        metrics.update(logits.detach(), hard)
        self.log(f"{stage}/loss", mean_loss, on_step=False, on_epoch=True, prog_bar=stage != "test")
        self.log_dict(metrics, on_step=False, on_epoch=True)
        if stage == "test":
            self.test_extra.update(logits.detach(), hard)
        return loss

    def _check_finite(self, loss: torch.Tensor, stage: str) -> None:
        """The NaN guard. In training every DDP rank takes the same decision at the same step (one
        all-reduce), so all ranks stop together instead of leaving the others waiting in a collective.
        Evaluation steps are not in lockstep (ranks may hold one batch fewer), so they decide alone."""
        finite = bool(torch.isfinite(loss))
        shared = stage == "train" and self._trainer is not None and self.trainer.world_size > 1
        if shared:
            finite = self.trainer.strategy.reduce_boolean_decision(finite, all=True)
        if not finite:
            where = " (on at least one process)" if shared else ""
            raise AuglabError(
                f"{stage} loss is {loss.item()} at epoch {self.current_epoch}, step {self.global_step}{where}; "
                "lower model.optimizer.lr or check the inputs for NaN"
            )

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def on_test_epoch_end(self) -> None:
        extra = self.test_extra.compute()  # synced across processes under DDP
        for name, value in zip(self.class_names, extra["f1_per_class"].tolist(), strict=True):
            self.log(f"test/f1_class/{name.replace('/', '_')}", value, sync_dist=True)
        self.test_confusion = extra["confusion"].cpu()
        self.test_extra.reset()

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(params=self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": self.scheduler_factory(optimizer=optimizer)}
