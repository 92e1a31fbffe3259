"""Sequence strategies' transforms: batched edits of padded histories on the device, contrastive views of them
in the model stage, offline expansion of the training sequences, and
behaviour simulated by a trained model. Configs name them as
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
from auglab.augment.sequence.simulated import PseudoPriorItems

__all__ = ["ContrastiveViews", "SeqCorrelatedInsert", "SeqCrop", "SeqInsert", "SeqMask", "SeqNoise", "SeqOneOf",
           "PseudoPriorItems", "SeqReorder", "SeqSubstitute", "SlidingWindow", "SubsetSplit"]
