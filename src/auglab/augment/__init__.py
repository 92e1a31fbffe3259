"""Augmentation strategies: named transforms for the offline, sample, batch and device stages
(``stages.py``), the context a run hands them (``context.py``), and the transforms by data kind
(``image/``, ``text/``, ``sequence/``), as ``conf/augment/<name>.yaml`` names them."""

from auglab.augment.context import RunContext
from auglab.augment.stages import STAGES, AugmentationStrategy

__all__ = ["STAGES", "AugmentationStrategy", "RunContext"]
