"""Augmentation strategies: named transforms for the offline, sample, batch and device stages."""

from auglab.augment.stages import STAGES, AugmentationStrategy

__all__ = ["STAGES", "AugmentationStrategy"]
