"""Offline stage: class-conditional generated images added to a classifier's train split
(``augment=cgan_samples`` / ``cvae_samples``).

The generator is a checkpoint the user trained (``generator_ckpt``) or, by default, one trained here
on exactly this train split with a named model option (``model=cdcgan`` / ``cvae``, as Hydra composes it)
and cached under ``<cache_dir>/generators/`` by a hash of (train images, labels, generator config, epochs,
seed): a sweep over strategies and seeds trains each generator once per seed. Training runs in a forked
random state, so the classifier's own random stream is the same with or without this stage.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, TensorDataset

from auglab.augment.context import RunContext
from auglab.augment.label_allocation import labels_to_generate
from auglab.augment.random_isolation import isolated_random_state
from auglab.errors import AuglabError, check_choice, check_count, check_open_fraction, check_positive
from auglab.models.feature_classifier import Recipe, train_classifier
from auglab.models.image_generator import ImageGenerator
from auglab.storage.artefact_cache import load_or_compute
from auglab.storage.fingerprint import fingerprint
from auglab.storage.run_folder import checkpoint_config

log = logging.getLogger(__name__)
GENERATORS = ("cdcgan", "cvae")
GENERATOR_CLASSES = ("auglab.models.cdcgan.CDCGAN", "auglab.models.cvae.CVAE")


class GeneratedImages:
    """``ratio`` generated images per real one; ``class_balance`` gives them to the smallest classes first
    (until every class has as many as the largest, then evenly); ``min_confidence`` keeps only images a
    classifier trained on the real split assigns to their class with at least that probability."""

    def __init__(self, *, generator: str = "cdcgan", generator_ckpt: str | None = None, epochs: int = 150,
                 batch_size: int = 32, ratio: float = 1.0, class_balance: bool = False,
                 min_confidence: float | None = None, model: dict[str, Any] | None = None, seed: int = 0) -> None:
        self.generator = check_choice("generator", generator, GENERATORS)
        self.ratio = check_positive("ratio", ratio)  # generated images per real one
        if min_confidence is not None:  # null: keep every generated image
            min_confidence = check_open_fraction("min_confidence", min_confidence)
        self.epochs, self.batch_size = check_count("epochs", epochs), check_count("batch_size", batch_size)
        self.generator_ckpt, self.class_balance, self.min_confidence = generator_ckpt, class_balance, min_confidence
        self.model_overrides, self.seed = dict(model or {}), seed
        self.context = RunContext()
        self.used: dict[str, Any] = {}  # which generator the last call used, and whether it was cached

    def setup(self, context: RunContext) -> None:
        self.context = context  # the cache folder, and how to compose the generator's model option

    def __call__(self, examples: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = examples  # uint8 [N, C, H, W], int64 [N]
        num_classes = int(labels.max()) + 1
        net = self._load(images, num_classes) if self.generator_ckpt else self._trained(images, labels, num_classes)
        wanted = labels_to_generate(labels, num_classes, ratio=self.ratio, class_balance=self.class_balance)
        gen = torch.Generator().manual_seed(self.seed)
        fake = torch.cat([net.sample(wanted[i:i + 500], gen) for i in range(0, len(wanted), 500)])  # [M, C, H, W]
        if self.min_confidence is not None:
            keep = self._confident(images, labels, fake, wanted, num_classes)
            log.info("generated images: %d of %d kept at confidence >= %s", int(keep.sum()), len(keep),
                     self.min_confidence)
            fake, wanted = fake[keep], wanted[keep]
        fake_u8 = (fake * 255).round().clamp(0, 255).to(torch.uint8)
        return torch.cat([images, fake_u8]), torch.cat([labels, wanted])

    def _confident(self, images: torch.Tensor, labels: torch.Tensor, fake: torch.Tensor, wanted: torch.Tensor,
                   num_classes: int) -> torch.Tensor:
        judge = train_classifier(images.float() / 255, labels, num_classes, Recipe(seed=self.seed))
        with torch.no_grad():
            probs = torch.cat([judge(fake[i:i + 512]).softmax(1) for i in range(0, len(fake), 512)])
        return probs[torch.arange(len(wanted)), wanted] >= self.min_confidence

    def _build(self, model_cfg: Any, images: torch.Tensor, num_classes: int) -> ImageGenerator:
        from hydra.utils import instantiate

        return instantiate(model_cfg, num_classes=num_classes, in_channels=images.shape[1],
                           image_size=images.shape[-1], sample_every_n_epochs=0)

    def _rebuilt(self, model_cfg: Any, images: torch.Tensor, num_classes: int,
                 state: dict[str, torch.Tensor]) -> ImageGenerator:
        """A generator with the given weights; building it leaves every random state untouched."""
        with isolated_random_state():
            net = self._build(model_cfg, images, num_classes)
        net.load_state_dict(state)
        return net.eval()

    def _load(self, images: torch.Tensor, num_classes: int) -> ImageGenerator:
        """The user's generator: rebuilt from its run's config.yaml, weights from the checkpoint."""
        path = Path(self.generator_ckpt).expanduser()
        if not path.is_file():
            raise AuglabError(f"augment: generator_ckpt {path} does not exist; give the path of a cdcgan or cvae "
                              "checkpoint (outputs/runs/<run>/checkpoints/last.ckpt)")
        model_cfg = checkpoint_config(str(path), option="generator_ckpt").model
        target = str(model_cfg.get("_target_"))
        if target not in GENERATOR_CLASSES:
            raise AuglabError(f"augment: {path} is not a generator checkpoint (its model is {target}); "
                              f"use a checkpoint of model=cdcgan or model=cvae")
        try:
            net = self._rebuilt(model_cfg, images, num_classes,
                                torch.load(path, map_location="cpu", weights_only=False)["state_dict"])
        except (RuntimeError, KeyError) as err:
            raise AuglabError(f"augment: generator {path} does not fit this data ({num_classes} classes of "
                              f"{images.shape[1]}x{images.shape[-1]}x{images.shape[-1]} images): it was trained for "
                              "another number of classes, image size or channels; train one on this data") from err
        self.used = {"generator": str(path), "trained_here": False}
        return net

    def _trained(self, images: torch.Tensor, labels: torch.Tensor, num_classes: int) -> ImageGenerator:
        """A generator trained on this train split, or the cached one trained on it before."""
        if self.context.model_config is None:
            raise AuglabError(f"augment: training a {self.generator} needs its model config; run through "
                              "auglab-train, or set generator_ckpt")
        model_cfg = OmegaConf.merge(self.context.model_config(self.generator), self.model_overrides)
        recipe = json.dumps({"model": OmegaConf.to_container(model_cfg), "epochs": self.epochs,
                             "batch_size": self.batch_size, "seed": self.seed}, sort_keys=True)
        key = fingerprint(recipe, (images, labels))[:20]
        cache_dir = self.context.cache_dir
        path = Path(cache_dir) / "generators" / f"{self.generator}-{key}.pt" if cache_dir else None

        def train() -> dict[str, torch.Tensor]:
            with isolated_random_state():
                L.seed_everything(self.seed, workers=True, verbose=False)
                net = self._build(model_cfg, images, num_classes)  # initialised from the seed
                loader = DataLoader(TensorDataset(images.float() / 255, labels), batch_size=self.batch_size,
                                    shuffle=True, generator=torch.Generator().manual_seed(self.seed))
                trainer = L.Trainer(max_epochs=self.epochs, accelerator="cpu", devices=1, logger=False,
                                    enable_checkpointing=False, enable_model_summary=False, limit_val_batches=0,
                                    num_sanity_val_steps=0, deterministic="warn", default_root_dir=cache_dir)
                log.info("training generator %s on %d images for %d epochs (augment offline stage)",
                         self.generator, len(labels), self.epochs)
                trainer.fit(net, train_dataloaders=loader)
            return net.state_dict()

        state, loaded = load_or_compute(path, train, what=f"generator {self.generator}")
        self.used = {"generator": str(path) if path else None, "trained_here": not loaded}
        return self._rebuilt(model_cfg, images, num_classes, state)
