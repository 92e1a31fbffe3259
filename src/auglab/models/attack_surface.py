"""What a model lets an adversarial strategy perturb (``augment/adversarial.py``): a representation of its
input that its forward pass starts from. The strategy calls these methods and nothing else of the model.

    z = attack_input(x)                  # the representation, with the graph to the parameters that make it
    out = attack_output(x, z + delta)    # the model's output from a perturbed representation
    loss = attack_loss(out, y)           # the model's own training loss on that output

``attack_loss`` comes from the model's family (``Classifier``, ``SequentialRecommender``); the mixin goes
first in a model's bases and supplies the rest.
"""

from __future__ import annotations

from typing import Any

import torch


class AttackSurface:
    attackable = True  # checked before training: a strategy's one-line error names the models that are

    def attack_input(self, x: Any) -> torch.Tensor:
        raise NotImplementedError

    def attack_output(self, x: Any, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def attack_mask(self, x: Any) -> torch.Tensor | None:
        """1 where a perturbation is allowed (not padding, not special tokens), broadcastable to z; None: all."""
        return None

    def attack_bounds(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The valid range of z (normalised pixels); None: unbounded (embeddings)."""
        return None

    def attack_as_input(self, z: torch.Tensor) -> torch.Tensor | None:
        """A representation as the model's input, where that is a picture (pixels); None: it is not."""
        return None

    def attack_scale(self) -> float:
        """What epsilon is measured in: 1 (absolute), or the RMS of the embedding weights z comes from."""
        return 1.0


def embedding_rms(weight: torch.Tensor) -> float:
    """The RMS of an embedding table, computed again only after the table changed in place (an optimiser
    step, a checkpoint load: each bumps the tensor's version). Frozen tables (text_cnn's 30,522 x 384) were
    otherwise reduced on every training step, which cost text_cnn more than its own forward pass."""
    cached = getattr(weight, "_auglab_rms", None)  # (version, rms), kept on the tensor so it dies with it
    if cached is not None and cached[0] == weight._version:
        return cached[1]
    rms = float(weight.detach().float().pow(2).mean().sqrt())
    weight._auglab_rms = (weight._version, rms)
    return rms
