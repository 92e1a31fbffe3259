"""The batch every text transform and text model reads: the collate's ``input_ids``, ``attention_mask`` and
``special_tokens_mask``, each ``[B, L]``; device-stage transforms may add annotations that the models read
(``models/text_inputs.py``)."""

import torch

TextBatch = dict[str, torch.Tensor]
