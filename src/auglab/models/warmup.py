"""The fine-tuning schedule of the pretrained encoders (Devlin et al. 2019): a linear warm-up over
``warmup_fraction`` of the optimizer steps, then a linear decay to 0."""

from __future__ import annotations

from typing import Any

import lightning as L

from auglab.errors import OptionError


def check_warmup(fraction: float) -> float:
    if not 0.0 <= fraction < 1.0:
        raise OptionError("model.warmup_fraction", fraction, "a number in [0, 1)")
    return fraction


def warmup_then_decay(module: L.LightningModule, warmup_fraction: float) -> dict[str, Any]:
    """``configure_optimizers``' result for ``module``'s trainable parameters under that schedule."""
    from transformers import get_linear_schedule_with_warmup

    optimizer = module.optimizer_factory(params=[p for p in module.parameters() if p.requires_grad])
    total = int(module.trainer.estimated_stepping_batches)
    schedule = get_linear_schedule_with_warmup(optimizer, int(warmup_fraction * total), total)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
