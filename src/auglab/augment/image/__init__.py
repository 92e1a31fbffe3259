"""Image strategies' transforms: per-sample (``sample``), batched on the accelerator (``device``), label
mixing (``batch``), and generated images (``offline``). Configs name them as ``auglab.augment.image.<Class>``."""

from auglab.augment.image.device import (
    BatchBrightnessContrast,
    BatchRandomCrop,
    BatchRandomErasing,
    BatchRandomHorizontalFlip,
)
from auglab.augment.image.generated import GeneratedImages
from auglab.augment.image.mixing import CutMix, MixUp
from auglab.augment.image.sample import PadCrop

__all__ = ["BatchBrightnessContrast", "BatchRandomCrop", "BatchRandomErasing", "BatchRandomHorizontalFlip", "CutMix",
           "GeneratedImages", "MixUp", "PadCrop"]
