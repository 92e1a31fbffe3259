"""What every auglab model shares, whatever it predicts: the monitored metric, the NaN guard, the
optimiser and scheduler built from config factories, epoch logging, and the pictures a run saves after
testing."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import lightning as L
import torch
from torchmetrics import Metric, MetricCollection

from auglab.errors import AuglabError, check_choice
from auglab.figures.to_loggers import log_image
from auglab.metrics.mean_loss import MeanLoss

# Epoch metrics are torchmetrics' compute() results, already reduced over DDP ranks; Lightning cannot
# tell, and under DDP recommends sync_dist=True once per metric name.
warnings.filterwarnings("ignore", message=r"It is recommended to use `self\.log\(.*sync_dist=True\)` when logging on")


class AuglabModule(L.LightningModule):
    """Subclasses implement the steps; ``monitor`` names the validation metric that picks the best epoch."""

    data_kinds: ClassVar[tuple[str, ...]] = ()  # the datamodule kinds this model can train on
    finite_check_every: int = 32  # training steps between NaN-guard reads on an accelerator
    defer_finite_reads: bool | None = None  # None: defer on an accelerator, read every step on a CPU
    _unread_nonfinite: torch.Tensor | None = None  # the NaN guard's flag, still on the device
    _unread_steps: int = 0
    test_predictions: dict | None = None  # per-example test outcomes after testing (metrics/per_example.py)
    examples_seen: int = 0  # training examples this process has trained on (in checkpoints: resumes count on)

    def __init__(
        self,
        *,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        monitor: str | None,
        monitor_mode: str,
    ) -> None:
        super().__init__()
        # What picks the best epoch is the checkpoint callback's (conf/callbacks/checkpoint.yaml reads
        # model.monitor); the model takes both so that a config names them once, in conf/model/.
        check_choice("model.monitor_mode", monitor_mode, ("max", "min"))
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.train_adv_loss = MeanLoss()  # filled by a model-stage strategy (adversarial examples) only
        self.train_cl_loss = MeanLoss()  # ... and by contrastive views (their weighted InfoNCE terms)

    def check_finite(self, loss: torch.Tensor, stage: str) -> None:
        """The NaN guard. In training every DDP rank takes the same decision at the same step (one
        all-reduce), so all ranks stop together instead of leaving the others waiting in a collective.
        Evaluation steps are not in lockstep (ranks may hold one batch fewer), so they decide alone.
        Reading the flag makes the host wait for the device: on an accelerator, training keeps it on the
        device and reads it every ``finite_check_every`` steps and on an epoch's last batch (a wait every step
        put the image classifier at 1.64x a plain loop on an H200, 1.47x after this change: README,
        "Benchmarks"); on a CPU every step is read."""
        bad = ~torch.isfinite(loss.detach())
        defer = self.defer_finite_reads if self.defer_finite_reads is not None else loss.device.type != "cpu"
        if stage == "train" and defer:
            self._unread_nonfinite = bad if self._unread_nonfinite is None else self._unread_nonfinite | bad
            self._unread_steps += 1
            last = self._trainer is not None and self.trainer.is_last_batch
            if self._unread_steps < self.finite_check_every and not last:
                return
            bad, self._unread_nonfinite, self._unread_steps = self._unread_nonfinite, None, 0
        finite = not bool(bad)
        shared = stage == "train" and self._trainer is not None and self.trainer.world_size > 1
        if shared:
            finite = self.trainer.strategy.reduce_boolean_decision(finite, all=True)
        if not finite:
            where = " (on at least one process)" if shared else ""
            value = loss.item() if not torch.isfinite(loss) else "nan or inf"
            raise AuglabError(
                f"{stage} loss is {value} at epoch {self.current_epoch}, step {self.global_step}{where}; "
                "lower model.optimizer.lr or check the inputs for NaN"
            )

    def _model_stage_strategy(self) -> Any:
        strategy = getattr(getattr(self._trainer, "datamodule", None), "augment", None)
        return strategy if strategy is not None and strategy.model else None

    def clean_input(self, x: Any) -> torch.Tensor | None:
        """``attack_input(x)``, for the training step's clean pass to start from, when a model-stage transform
        takes its direction from that pass (adversarial ``from_clean_pass``); else None (the usual forward)."""
        strategy = self._model_stage_strategy()
        if strategy is None or not any(getattr(t, "needs_clean_input", False) for t in strategy.model.values()):
            return None
        z = self.attack_input(x)
        return z if z.requires_grad else z.requires_grad_(True)  # pixels, frozen embeddings: a leaf to differentiate

    def model_stage(self, x: Any, y: torch.Tensor, loss: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """The training loss after the strategy's model-stage transforms (none: the loss as it is); ``z``: the
        clean pass's input from ``clean_input``."""
        strategy = self._model_stage_strategy()
        return loss if strategy is None else strategy.apply_model(self, x, y, loss, z)

    def record_adversarial_loss(self, loss: torch.Tensor, count: int) -> None:
        self.train_adv_loss.update(loss, count)

    def record_contrastive_loss(self, loss: torch.Tensor, count: int) -> None:
        self.train_cl_loss.update(loss, count)

    def log_epoch(self, stage: str, loss: MeanLoss, metrics: Metric | MetricCollection | None = None) -> None:
        """Log the epoch's mean loss (``{stage}/loss``) and metrics once, at its end, then reset them. Steps
        only update their states: logging a metric every step costs Lightning's bookkeeping on every step
        for a value reported per epoch. ``compute()`` reduces the states over DDP ranks."""
        if loss.count > 0:  # an approximate index ranks no full corpus: no loss over it
            self.log(f"{stage}/loss", loss.compute(), prog_bar=stage != "test")
        loss.reset()
        for name, extra in (("adv_loss", self.train_adv_loss), ("cl_loss", self.train_cl_loss)):
            if stage == "train" and extra.count > 0:  # beside train/loss, never in evaluation
                self.log(f"train/{name}", extra.compute())
                extra.reset()
        if metrics is not None:
            self.log_dict(metrics.compute())
            metrics.reset()

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.examples_seen += len(batch[1])  # the labels / next items: one per example, whatever x is

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["auglab_examples_seen"] = self.examples_seen

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        restored = int(checkpoint.get("auglab_examples_seen", 0))
        fitting = self._trainer is None or self.trainer.state.fn == "fit"
        # resuming training counts on; testing the best checkpoint after training keeps the whole run's count;
        # auglab-eval (nothing trained in this process) reports what the checkpoint had seen
        self.examples_seen = restored if fitting else (self.examples_seen or restored)

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(params=self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": self.scheduler_factory(optimizer=optimizer)}

    def save_test_figures(self, out_dir: Path, title: str) -> list[Path]:
        """Draw the test pictures into the run folder and show each in the loggers that take pictures."""
        paths = self.draw_test_figures(out_dir, title)
        for path in paths:
            log_image(self.loggers, f"test/{path.stem}", path, step=self.global_step)
        return paths

    def draw_test_figures(self, out_dir: Path, title: str) -> list[Path]:
        """Pictures of the test results, as PNG files in ``out_dir`` (a classifier's confusion matrix); none
        by default."""
        return []
