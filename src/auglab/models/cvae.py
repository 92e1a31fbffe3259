"""Class-conditional VAE (Kingma & Welling 2013; conditional: Sohn et al. 2015; beta-VAE: Higgins et
al. 2017). The label enters the encoder as extra one-hot channels and the decoder beside the latent."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.utils import save_image

from auglab.errors import OptionError, check_count
from auglab.figures.to_loggers import log_image
from auglab.models.generative_nets import ConvDecoder, ConvEncoder, dcgan_init
from auglab.models.image_generator import ImageGenerator


class CVAE(ImageGenerator):
    """Loss per image: binary cross-entropy of the pixels (summed) + ``beta`` x KL(q(z|x,y) || N(0, I)).
    Logged as ``{stage}/loss``, ``{stage}/recon`` and ``{stage}/kl``; the best epoch is the lowest
    ``val/loss``."""

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int,
        image_size: int,
        width: int = 32,
        beta: float = 1.0,
        class_names: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_classes=num_classes, in_channels=in_channels, image_size=image_size,
                         class_names=class_names, **kwargs)
        if beta < 0:
            raise OptionError("model.beta", beta, "a number >= 0")
        check_count("model.width", width)
        self.beta = beta
        self.encoder = ConvEncoder(channels=in_channels + num_classes, image_size=image_size, width=width)
        self.to_posterior = nn.Linear(self.encoder.feature_dim, 2 * self.latent_dim)  # mean and log-variance
        self.decoder = ConvDecoder(code_dim=self.latent_dim + num_classes, channels=in_channels,
                                   image_size=image_size, width=width)
        self.apply(dcgan_init)

    def _decode(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # -> logits [B, C, H, W]
        return self.decoder(torch.cat([z, F.one_hot(labels, self.num_classes).to(z.dtype)], dim=1))

    def generate(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self._decode(noise, labels))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(reconstruction logits, posterior mean, log-variance) of images ``[B, C, H, W]`` in [0, 1]."""
        onehot = F.one_hot(labels, self.num_classes).to(x.dtype)[:, :, None, None]
        h = self.encoder(torch.cat([x, onehot.expand(-1, -1, *x.shape[2:])], dim=1))
        mean, log_var = self.to_posterior(h).chunk(2, dim=1)
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp() if self.training else mean
        return self._decode(z, labels), mean, log_var

    def score_batch(self, batch: Sequence[torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        logits, mean, log_var = self(x, self.hard_labels(y))
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        kl = -0.5 * (1 + log_var - mean.pow(2) - log_var.exp()).sum() / len(x)
        loss = recon + self.beta * kl
        self.check_finite(loss, stage)
        self.log_dict({f"{stage}/loss": loss.detach(), f"{stage}/recon": recon.detach(), f"{stage}/kl": kl.detach()},
                      on_step=False, on_epoch=True, prog_bar=stage == "train", batch_size=len(x))
        return loss

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self.score_batch(batch, "train")

    def validation_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> None:
        self.score_batch(batch, "val")
        if batch_idx == 0:
            self._last_val = batch  # reconstructed at the epoch's end

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()
        every, epoch = self.sample_every_n_epochs, self.current_epoch + 1
        batch = getattr(self, "_last_val", None)
        if batch is None or not every or epoch % every or not self.trainer.is_global_zero:
            return
        path = self.save_reconstructions(batch, Path(self.trainer.default_root_dir) / "samples" /
                                         f"reconstructions_{epoch:03d}.png")
        log_image(self.loggers, "val/reconstructions", path, step=self.global_step)

    @torch.no_grad()
    def save_reconstructions(self, batch: Sequence[torch.Tensor], path: Path, count: int = 16) -> Path:
        """Row 1: validation images; row 2: their reconstructions."""
        x, y = batch[0][:count], self.hard_labels(batch[1][:count])
        was_training = self.training
        self.eval()
        logits, _, _ = self(x, y)
        self.train(was_training)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(torch.cat([x, torch.sigmoid(logits)]).float().cpu(), path, nrow=len(x), padding=1, pad_value=1.0)
        return path
