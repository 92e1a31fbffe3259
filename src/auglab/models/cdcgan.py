"""Class-conditional DCGAN (Radford et al. 2015), trained with Lightning 2's manual optimisation.

The generator takes the latent concatenated with a label embedding; the discriminator is a projection
discriminator (Miyato & Koyama 2018): ``D(x, y) = w . phi(x) + embed(y) . phi(x)``. Each batch steps
the discriminator, then the generator, so ``global_step`` (optimizer steps) grows by 2 per batch.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from auglab.errors import OptionError, check_count, check_open_fraction
from auglab.models.generative_nets import ConvDecoder, ConvEncoder, dcgan_init
from auglab.models.image_generator import ImageGenerator


class Discriminator(nn.Module):
    def __init__(self, *, num_classes: int, channels: int, image_size: int, width: int, spectral_norm: bool) -> None:
        super().__init__()
        self.features = ConvEncoder(channels=channels, image_size=image_size, width=width, norm=not spectral_norm,
                                    spectral_norm=spectral_norm)
        self.linear = nn.Linear(self.features.feature_dim, 1)
        self.embed = nn.Embedding(num_classes, self.features.feature_dim)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # [B, C, H, W], [B] -> [B] logits
        phi = self.features(x)  # [B, F]
        return self.linear(phi).squeeze(1) + (self.embed(labels) * phi).sum(dim=1)


class Generator(nn.Module):
    def __init__(self, *, num_classes: int, latent_dim: int, channels: int, image_size: int, width: int,
                 label_dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, label_dim)
        self.decoder = ConvDecoder(code_dim=latent_dim + label_dim, channels=channels, image_size=image_size,
                                   width=width)

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # -> [B, C, H, W] in [-1, 1]
        return torch.tanh(self.decoder(torch.cat([noise, self.embed(labels)], dim=1)))


class CDCGAN(ImageGenerator):
    """``label_smoothing``: real targets 1 - s for the discriminator; ``spectral_norm`` on D's convolutions
    (then no BatchNorm in D); ``ema_decay``: sample from an exponential moving average of G (None: off)."""

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int,
        image_size: int,
        width: int = 32,
        label_dim: int = 50,
        label_smoothing: float = 0.0,
        spectral_norm: bool = False,
        ema_decay: float | None = 0.999,
        class_names: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_classes=num_classes, in_channels=in_channels, image_size=image_size,
                         class_names=class_names, **kwargs)
        if not 0.0 <= label_smoothing < 1.0:
            raise OptionError("model.label_smoothing", label_smoothing, "a number in [0, 1)")
        if ema_decay is not None:
            check_open_fraction("model.ema_decay", ema_decay)
        check_count("model.width", width)
        check_count("model.label_dim", label_dim)
        self.automatic_optimization = False
        self.label_smoothing, self.ema_decay = label_smoothing, ema_decay
        self.generator = Generator(num_classes=num_classes, latent_dim=self.latent_dim, channels=in_channels,
                                   image_size=image_size, width=width, label_dim=label_dim)
        self.discriminator = Discriminator(num_classes=num_classes, channels=in_channels, image_size=image_size,
                                           width=width, spectral_norm=spectral_norm)
        self.apply(dcgan_init)
        # a copy, not a parameter: the optimisers never see it; checkpoints carry it
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False) if ema_decay else None

    def generate(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        net = self.generator_ema if self.generator_ema is not None else self.generator
        return (net(noise, labels) + 1) / 2  # [-1, 1] -> [0, 1]

    def setup(self, stage: str) -> None:
        """Under DDP, each of the two backward passes leaves the other net's parameters unused, which DDP
        refuses unless told; Lightning wraps the model after this hook, with these keyword arguments."""
        from lightning.pytorch.strategies import DDPStrategy

        if isinstance(self.trainer.strategy, DDPStrategy):
            self.trainer.strategy._ddp_kwargs["find_unused_parameters"] = True

    def configure_optimizers(self) -> Any:
        return [self.optimizer_factory(params=self.discriminator.parameters()),
                self.optimizer_factory(params=self.generator.parameters())]

    def _d_loss(self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(loss, D's mean belief on real, on fake); images in [-1, 1], fake detached from G."""
        d_real, d_fake = self.discriminator(real, labels), self.discriminator(fake, labels)
        loss = F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 1.0 - self.label_smoothing)) + \
            F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
        return loss, torch.sigmoid(d_real).mean(), torch.sigmoid(d_fake).mean()

    def _g_loss(self, fake: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The non-saturating generator loss: -log D(G(z, y), y)."""
        logits = self.discriminator(fake, labels)
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))

    def _optimise(self, optimizer: Any, loss: torch.Tensor) -> None:
        self.check_finite(loss, "train")  # a collapsed GAN stops here, naming the epoch
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        real, labels = x * 2 - 1, self.hard_labels(y)
        opt_d, opt_g = self.optimizers()
        fake = self.generator(torch.randn(len(real), self.latent_dim, device=real.device), labels)
        # toggle: while one net steps, the other's parameters need no gradient
        self.toggle_optimizer(opt_d)
        d_loss, d_real, d_fake = self._d_loss(real, fake.detach(), labels)
        self._optimise(opt_d, d_loss)
        self.untoggle_optimizer(opt_d)
        self.toggle_optimizer(opt_g)
        g_loss = self._g_loss(fake, labels)  # scored by D after its step, as DCGAN alternates
        self._optimise(opt_g, g_loss)
        self.untoggle_optimizer(opt_g)
        self._update_ema()
        self.log_dict({"train/d_loss": d_loss.detach(), "train/g_loss": g_loss.detach(),
                       "train/d_real": d_real.detach(), "train/d_fake": d_fake.detach()}, on_step=True, on_epoch=True)

    @torch.no_grad()
    def _update_ema(self) -> None:
        """EMA with a warm-up (as TensorFlow's ExponentialMovingAverage with ``num_updates``): early on the
        decay is (1 + n) / (10 + n), so a short training run's average is not mostly the initial weights."""
        if self.generator_ema is None:
            return
        updates = self.global_step // 2  # generator steps so far (D and G each count one)
        decay = min(self.ema_decay, (1 + updates) / (10 + updates))
        for ema, live in zip(self.generator_ema.parameters(), self.generator.parameters(), strict=True):
            ema.lerp_(live, 1.0 - decay)
        for ema, live in zip(self.generator_ema.buffers(), self.generator.buffers(), strict=True):
            ema.copy_(live)  # BatchNorm statistics

    def score_batch(self, batch: Sequence[torch.Tensor], stage: str) -> None:
        x, y = batch
        labels = self.hard_labels(y)
        fake = self.generator(torch.randn(len(x), self.latent_dim, device=x.device), labels)
        d_loss, d_real, d_fake = self._d_loss(x * 2 - 1, fake, labels)
        self.log_dict({f"{stage}/d_loss": d_loss, f"{stage}/g_loss": self._g_loss(fake, labels),
                       f"{stage}/d_real": d_real, f"{stage}/d_fake": d_fake}, on_epoch=True)
