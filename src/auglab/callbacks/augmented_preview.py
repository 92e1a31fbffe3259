"""A picture of what the model really trains on: the first training batch after every augmentation stage.

Lightning calls ``on_train_batch_start`` after the datamodule's ``on_after_batch_transfer``, so the
batch here has been through the sample, batch and device stages. The datamodule draws it (images as
a labelled grid, sequences as a table of item ids); the picture goes to the run folder and to every
logger that takes pictures. A strategy that generated texts offline also gets ``generated_text.png``, a
sample of its decisions (original, generated, kept or why not), and a W&B table of all of them. Drawing
uses no random numbers, so metrics do not change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L

from auglab.figures.to_loggers import log_image

FILENAME = "augmented_preview.png"
GENERATED = "generated_text.png"


class AugmentedPreview(L.Callback):
    """Draws ``<out_dir>/augmented_preview.png`` once per run, on rank 0; a resumed run keeps the first one."""

    def __init__(self, out_dir: str) -> None:
        self.path = Path(out_dir) / FILENAME
        self.done = False

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        if self.done or not trainer.is_global_zero or _model_stage(trainer):
            return  # a model-stage strategy (adversarial examples) is drawn after the step that makes them
        self.done = True  # the first batch only, whatever happens below
        draw = getattr(trainer.datamodule, "preview_figure", None)
        if self.path.exists() or draw is None:
            return
        figure = draw(batch)
        if figure is None:  # a data kind without a preview
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(self.path, dpi=100)
        log_image(trainer.loggers, "train/augmented_preview", self.path, step=trainer.global_step)
        self._generated_text(trainer)

    def _generated_text(self, trainer: L.Trainer) -> None:
        reports = getattr(getattr(trainer.datamodule, "augment", None), "offline_report", None) or {}
        records = [{"transform": name, **r} for name, report in reports.items() for r in report.get("records", [])]
        path = self.path.with_name(GENERATED)
        if not records or path.exists():
            return
        from auglab.figures.batch_previews import generated_text_table

        generated_text_table(records, trainer.datamodule.augment.name).savefig(path, dpi=100)
        log_image(trainer.loggers, "train/generated_text", path, step=trainer.global_step)
        columns = ["transform", "original", "generated", "label", "kept", "reason"]
        for logger in trainer.loggers:
            if hasattr(logger, "log_table"):  # W&B
                logger.log_table("train/generated_text", columns=columns,
                                 data=[[str(r.get(c)) for c in columns] for r in records])

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        """Adversarial examples: images as perturbed, texts and histories as the size of each perturbation."""
        if self.done or not trainer.is_global_zero or not _model_stage(trainer):
            return
        self.done = True
        last = next((t.last for t in trainer.datamodule.augment.model.values() if getattr(t, "last", None)), None)
        if last is None or self.path.exists():
            return
        from auglab.figures.batch_previews import perturbation_sizes

        pixels = pl_module.attack_as_input(last["input"] + last["delta"])
        if pixels is not None:
            figure = trainer.datamodule.preview_figure((pixels.clamp(0, 1), batch[1]))
        else:
            size = last["delta"].flatten(1).norm(dim=1) / max(pl_module.attack_scale(), 1e-12)
            figure = perturbation_sizes(size, trainer.datamodule.augment.name)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(self.path, dpi=100)
        log_image(trainer.loggers, "train/augmented_preview", self.path, step=trainer.global_step)


def _model_stage(trainer: L.Trainer) -> bool:
    strategy = getattr(trainer.datamodule, "augment", None)
    return bool(strategy is not None and strategy.model)
