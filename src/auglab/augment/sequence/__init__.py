"""Sequence strategies' transforms: batched edits of padded histories on the device, and offline expansion
of the training sequences. Configs name them as ``auglab.augment.sequence.<Class>``."""

from auglab.augment.sequence.device import SeqCrop, SeqInsert, SeqMask, SeqNoise, SeqOneOf, SeqReorder, SeqSubstitute
from auglab.augment.sequence.offline import SlidingWindow, SubsetSplit

__all__ = ["SeqCrop", "SeqInsert", "SeqMask", "SeqNoise", "SeqOneOf", "SeqReorder", "SeqSubstitute", "SlidingWindow",
           "SubsetSplit"]
