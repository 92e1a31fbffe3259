"""The batch every text transform and text model reads: the collate's ``input_ids``, ``attention_mask`` and
``special_tokens_mask``, each ``[B, L]``; device-stage transforms may add annotations that the models read
(``models/text_inputs.py``)."""

from collections.abc import Sequence

import torch

TextBatch = dict[str, torch.Tensor]


def padded(lists: Sequence[Sequence[int]], width: int, fill: int = -1) -> torch.Tensor:
    """Lists of ids as ``[B, width]``, ``fill`` where a list is shorter."""
    out = torch.full((len(lists), width), fill, dtype=torch.long)
    for i, ids in enumerate(lists):
        out[i, :len(ids)] = torch.as_tensor(ids, dtype=torch.long)
    return out
