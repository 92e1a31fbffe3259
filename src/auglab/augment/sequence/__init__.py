"""Sequence strategies' transforms: batched edits of padded histories on the device, contrastive views of them
in the model stage, and offline expansion of the training sequences. Configs name them as
``auglab.augment.sequence.<Class>``."""

from auglab.augment.sequence.contrastive import ContrastiveViews
from auglab.augment.sequence.device import (
    SeqCorrelatedInsert,
    SeqCrop,
    SeqInsert,
    SeqMask,
    SeqNoise,
    SeqOneOf,
    SeqReorder,
    SeqSubstitute,
)
from auglab.augment.sequence.offline import SlidingWindow, SubsetSplit

__all__ = ["ContrastiveViews", "SeqCorrelatedInsert", "SeqCrop", "SeqInsert", "SeqMask", "SeqNoise", "SeqOneOf",
           "SeqReorder", "SeqSubstitute", "SlidingWindow", "SubsetSplit"]
