"""What the class-conditional image generators share: sampling, a fixed-noise sample grid, and the
pictures that go to the run folder and the loggers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torchvision.utils import save_image

from auglab.errors import check_count
from auglab.figures.to_loggers import log_image
from auglab.models.base import AuglabModule
from auglab.models.generator_evaluation import GeneratorEvaluation
from auglab.storage.atomic import write_json

GRID_SEED = 1234  # the fixed noise of the sample grids; its own generator, so training draws are untouched


class ImageGenerator(AuglabModule):
    """Subclasses implement ``generate(noise [B, latent_dim], labels [B]) -> images [B, C, H, W] in [0, 1]``.

    ``sample_every_n_epochs`` writes ``samples/epoch_<n>.png`` (one row per class, the same noise each
    time, so the rows show how training changes the same draws) and logs it to every logger that
    takes pictures.
    """

    data_kinds = ("image",)

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int,
        image_size: int,
        latent_dim: int = 100,
        class_names: Sequence[str] | None = None,
        sample_every_n_epochs: int = 1,
        grid_per_class: int = 8,
        evaluation_steps: int = 500,
        cache_dir: Path | None = None,  # the run's cache folder: the feature classifier of FID / KID is kept there
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_count("model.latent_dim", latent_dim)
        check_count("model.grid_per_class", grid_per_class)
        check_count("model.sample_every_n_epochs", sample_every_n_epochs, minimum=0)
        self.num_classes, self.channels, self.image_size = num_classes, in_channels, image_size
        self.latent_dim = latent_dim
        self.class_names = list(class_names or [str(i) for i in range(num_classes)])
        self.sample_every_n_epochs, self.grid_per_class = sample_every_n_epochs, grid_per_class
        self.evaluation_steps, self.cache_dir = evaluation_steps, cache_dir
        fixed = torch.Generator().manual_seed(GRID_SEED)
        noise = torch.randn(num_classes * grid_per_class, latent_dim, generator=fixed)  # [K * n, latent]
        self.register_buffer("grid_noise", noise, persistent=False)
        self.register_buffer("grid_labels", torch.arange(num_classes).repeat_interleave(grid_per_class),
                             persistent=False)

    def generate(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score_batch(self, batch: Any, stage: str) -> None:
        """Log the model's own losses on a validation or test batch."""
        raise NotImplementedError

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.score_batch(batch, "val")

    # --- test: the model's losses, then FID / KID / CAS (metrics/generative.py) --------------------
    def on_test_start(self) -> None:
        self.evaluation = GeneratorEvaluation(self, self.trainer.datamodule, cache_dir=self.cache_dir,
                                              steps=self.evaluation_steps)

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.score_batch(batch, "test")
        x, y = batch
        labels = self.hard_labels(y)
        fake = self.sample(labels, torch.Generator().manual_seed(GRID_SEED + 1 + batch_idx))
        self.evaluation.update(x, fake)

    def on_test_epoch_end(self) -> None:
        self.log_dict(self.evaluation.compute(), sync_dist=False)  # every rank computes the same values

    @torch.no_grad()
    def sample(self, labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images of the given classes ``[B]`` -> ``[B, C, H, W]`` in [0, 1], in eval mode. The noise is drawn
        on the CPU (``generator``: a seeded CPU generator), so a seed gives the same images on any device."""
        noise = torch.randn(len(labels), self.latent_dim, generator=generator).to(labels.device)
        was_training = self.training
        self.eval()
        try:
            return self.generate(noise, labels)
        finally:
            self.train(was_training)

    @staticmethod
    def hard_labels(y: torch.Tensor) -> torch.Tensor:
        """Class ids ``[B]`` from ids or (mixed) probabilities ``[B, K]``."""
        return y.argmax(dim=-1) if y.ndim == 2 else y

    # --- pictures --------------------------------------------------------------------------------
    def save_grid(self, path: Path) -> Path:
        was_training = self.training
        self.eval()
        with torch.no_grad():
            images = self.generate(self.grid_noise, self.grid_labels)
        self.train(was_training)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(images.float().cpu(), path, nrow=self.grid_per_class, padding=1, pad_value=1.0)
        return path

    def on_train_epoch_end(self) -> None:
        every, epoch = self.sample_every_n_epochs, self.current_epoch + 1
        if not every or epoch % every or not self.trainer.is_global_zero:
            return
        path = self.save_grid(Path(self.trainer.default_root_dir) / "samples" / f"epoch_{epoch:03d}.png")
        log_image(self.loggers, "train/samples", path, step=self.global_step)

    def draw_test_figures(self, out_dir: Path, title: str) -> list[Path]:
        if getattr(self, "evaluation", None) is not None:
            write_json(out_dir / "generator_evaluation.json", self.evaluation.record())
        return [self.save_grid(out_dir / "samples.png")]
