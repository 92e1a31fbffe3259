"""Adversarial examples made by the model being trained (``model`` stage): FGSM (Goodfellow et al. 2015,
arXiv 1412.6572) or PGD (Madry et al. 2018, arXiv 1706.06083) on the representation a model declares
(``models/attack_surface.py``): normalised pixels of images, input word embeddings of texts (Miyato, Dai
& Goodfellow 2017, arXiv 1605.07725), the item embeddings of a history (APR, He et al. 2018, arXiv
1808.03908, adapted to sequential recommenders). One attack loop for all three; it never names a model's
internals.

The training loss becomes ``(1 - alpha) * clean + alpha * adversarial``. The attack leaves everything else as
it would be without it: its gradients are taken with respect to the perturbation only (never accumulated
into parameters), its forward passes update copies of the buffers (BatchNorm statistics), and its random
draws (dropout, the random start) come from a generator forked off and seeded by ``seed`` and the step, so
the run's own random stream, and hence a resumed run, is the same with or without it.

``from_clean_pass``: the first step's direction is the clean pass's own input gradient (FGSM; PGD without a
random start, whose first step starts from zero too), taken in the one backward pass that also gives the
parameters' clean gradients; those reach the optimiser through a zero-valued term
of the returned loss, so the step's single backward (and DDP's one gradient reduction) carries the same
``(1 - alpha) * clean + alpha * adversarial`` gradient. A forward and a backward fewer than the separate
attack: FGSM about 2x the cost of no augmentation, PGD-k about k + 1 (``benchmarks/adversarial_cost.py``).
It is what FGSM adversarial training is (Goodfellow et al.'s objective takes the gradient at the clean
input); the separate pass differs from it only by its own dropout draws. ``auto`` (the default) uses it
whenever the first step starts from zero; a random start needs a pass of its own (PGD-k: about k + 2).
Under ``precision=16-mixed`` the clean pass is differentiated at the trainer's loss scale, as Lightning's
backward is, so float16 activations' small gradients do not underflow.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from auglab.errors import AuglabError, OptionError, check_choice, check_count, check_fraction

METHODS, NORMS = ("fgsm", "pgd"), ("linf", "l2")


def _per_example(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1)


def _direction(grad: torch.Tensor, norm: str) -> torch.Tensor:
    """The ascent direction of unit size in ``norm``: the gradient's sign (L∞) or its unit vector (L2)."""
    if norm == "linf":
        return grad.sign()
    length = _per_example(grad).norm(dim=1).clamp_min(1e-12)
    return grad / length.view(-1, *([1] * (grad.dim() - 1)))


def _project(delta: torch.Tensor, epsilon: torch.Tensor, norm: str) -> torch.Tensor:
    """``delta`` moved into the ball of radius ``epsilon [B]`` (per example)."""
    shape = (-1, *([1] * (delta.dim() - 1)))
    if norm == "linf":
        return torch.maximum(torch.minimum(delta, epsilon.view(shape)), -epsilon.view(shape))
    length = _per_example(delta).norm(dim=1)
    return delta * (epsilon / length.clamp_min(1e-12)).clamp(max=1).view(shape)


def _loss_scale(module: Any, loss: torch.Tensor) -> torch.Tensor | None:
    """The loss scale of ``precision=16-mixed`` (the trainer's GradScaler), as a tensor (no wait for the device);
    None without one. Gradients that reach the parameters carry an overflow (inf) on to the scaler, which then
    skips the step as it would without the attack."""
    plugin = getattr(getattr(module, "_trainer", None), "precision_plugin", None)
    scaler = getattr(plugin, "scaler", None)
    return None if scaler is None else scaler.scale(torch.ones((), device=loss.device))


@contextmanager
def _scratch_buffers(module: torch.nn.Module) -> Iterator[None]:
    """Inside, every buffer is a copy (BatchNorm statistics updated there are thrown away); the originals come
    back untouched, never written in place, so the clean pass's graph, which saved them, stays valid."""
    originals = [(owner, name, buffer) for owner in module.modules() for name, buffer in owner._buffers.items()
                 if buffer is not None]
    for owner, name, buffer in originals:
        owner._buffers[name] = buffer.clone()
    try:
        yield
    finally:
        for owner, name, buffer in originals:
            owner._buffers[name] = buffer


class AdversarialExamples:
    """``epsilon``: the perturbation's size per coordinate, relative to the RMS of the model's embedding weights
    for texts and items, in normalised pixel units for images; in ``l2`` the budget is epsilon x sqrt(the
    coordinates that may move), so both norms allow the same total size. ``pgd``: ``steps`` of ``step_size``
    (relative to epsilon; default 2.5 / steps) from a random start. ``from_clean_pass``: see the module."""

    def __init__(self, *, method: str = "fgsm", epsilon: float = 0.1, norm: str = "linf", steps: int = 3,
                 step_size: float | None = None, random_start: bool = True, alpha: float = 0.5,
                 from_clean_pass: bool | str = "auto", seed: int = 0) -> None:
        self.method, self.norm = check_choice("method", method, METHODS), check_choice("norm", norm, NORMS)
        if isinstance(epsilon, bool) or not isinstance(epsilon, int | float) or epsilon < 0:
            raise OptionError("epsilon", epsilon, "a number >= 0")
        self.epsilon, self.alpha = float(epsilon), check_fraction("alpha", alpha)
        self.steps = 1 if method == "fgsm" else check_count("steps", steps)
        if step_size is not None and (isinstance(step_size, bool) or step_size <= 0):
            raise OptionError("step_size", step_size, "a number > 0 or null")
        self.step_size = step_size if step_size is not None else (1.0 if method == "fgsm" else 2.5 / self.steps)
        self.random_start, self.seed = random_start and method == "pgd", seed
        if not (isinstance(from_clean_pass, bool) or from_clean_pass == "auto"):
            raise OptionError("from_clean_pass", from_clean_pass, "true, false or auto")
        if from_clean_pass is True and self.random_start:
            raise OptionError("from_clean_pass", from_clean_pass, "false or auto with a random start (the clean "
                              "pass gives the gradient at zero; set random_start=false or method=fgsm)")
        # auto: whenever the attack's first step starts from zero, where the clean pass already has the gradient
        self.from_clean_pass = not self.random_start if from_clean_pass == "auto" else from_clean_pass
        self.last: dict[str, torch.Tensor] = {}  # the last batch's perturbation, for the preview

    def check_model(self, module: Any) -> None:
        if not getattr(module, "attackable", False):
            raise AuglabError(f"augment: adversarial examples need a model that declares what to perturb; "
                              f"{type(module).__name__} does not")

    @property
    def needs_clean_input(self) -> bool:
        """Whether the model's clean pass must start from ``attack_input(x)`` and hand it over (``z``)."""
        return self.from_clean_pass and self.epsilon > 0 and self.alpha > 0

    def __call__(self, module: Any, x: Any, y: torch.Tensor, loss: torch.Tensor,
                 z: torch.Tensor | None = None) -> torch.Tensor:
        if self.epsilon == 0 or self.alpha == 0:
            return loss
        clean_grads: list[tuple[torch.Tensor, torch.Tensor]] = []
        if self.from_clean_pass:
            if z is None:
                raise AuglabError(f"augment: from_clean_pass needs the clean pass's input; {type(module).__name__}"
                                  f"'s training step does not hand it over")
            delta, clean_grads = self._from_clean_pass(module, x, loss, z)
        devices = [loss.device] if loss.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), _scratch_buffers(module):
            torch.manual_seed(self.seed * 1_000_003 + int(module.global_step))
            if not self.from_clean_pass:
                delta = self._attack(module, x, y)
            elif self.steps > 1:  # pgd: the first step came from the clean pass
                delta = self._attack(module, x, y, start=delta, steps=self.steps - 1)
            adversarial = module.attack_loss(module.attack_output(x, module.attack_input(x) + delta), y)
        module.record_adversarial_loss(adversarial, len(y))
        if not clean_grads:
            return (1 - self.alpha) * loss + self.alpha * adversarial
        # value: the clean term (already differentiated); gradient: exactly the clean gradients taken above
        carry = sum((p * g).sum() - (p.detach() * g).sum() for p, g in clean_grads)
        return (1 - self.alpha) * loss.detach() + self.alpha * adversarial + carry

    def _from_clean_pass(self, module: Any, x: Any, loss: torch.Tensor,
                         z: torch.Tensor) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """One backward pass of the clean loss: the FGSM step from its gradient at ``z``, and the parameters'
        gradients of ``(1 - alpha) * clean``. ``autograd.grad`` leaves ``.grad`` (and DDP's hooks) alone."""
        params = [p for p in module.parameters() if p.requires_grad]
        scale = _loss_scale(module, loss)  # float16 activations: differentiate at the scale Lightning's backward uses
        grads = torch.autograd.grad(loss if scale is None else loss * scale, [z, *params], allow_unused=True)
        weight = (1 - self.alpha) if scale is None else (1 - self.alpha) / scale
        clean = [(p, weight * g) for p, g in zip(params, grads[1:], strict=True) if g is not None]
        z = z.detach()
        delta = self._step_from(z, torch.zeros_like(z), grads[0], self._limits(module, x, z))
        self.last = {"input": z, "delta": delta}
        return delta, clean

    def _attack(self, module: Any, x: Any, y: torch.Tensor, *, start: torch.Tensor | None = None,
                steps: int | None = None) -> torch.Tensor:
        """The perturbation ``delta`` (detached): ``steps`` ascent steps on the model's loss, projected back into
        the epsilon ball (and into the representation's valid range, for pixels), padding left untouched; from
        ``start`` when given (the clean pass's step), else from zero or a random start."""
        z = module.attack_input(x).detach()
        limits = self._limits(module, x, z)
        radius, mask, bounds = limits
        delta = torch.zeros_like(z) if start is None else start
        if self.random_start and start is None:
            delta = _project(torch.empty_like(z).uniform_(-1, 1) * radius.view(-1, *([1] * (z.dim() - 1))),
                             radius, self.norm)
        delta = self._clean(delta, z, mask, bounds)
        for _ in range(self.steps if steps is None else steps):
            delta.requires_grad_(True)
            with torch.enable_grad():
                objective = module.attack_loss(module.attack_output(x, z + delta), y)
                (grad,) = torch.autograd.grad(objective, delta)
            delta = self._step_from(z, delta.detach(), grad, limits)
        self.last = {"input": z, "delta": delta}
        return delta

    def _limits(self, module: Any, x: Any, z: torch.Tensor) -> tuple[torch.Tensor, Any, Any]:
        """What bounds a batch's perturbation, asked of the model once per attack: each example's radius ``[B]``
        (epsilon in the model's unit, times sqrt(movable coordinates) in l2), the mask and the valid range."""
        mask = module.attack_mask(x)  # broadcastable to z, 1 where perturbing is allowed; None: everywhere
        radius = torch.full((len(z),), self.epsilon * float(module.attack_scale()), device=z.device)
        if self.norm == "l2":  # the same size per coordinate as in linf: sqrt(coordinates that may move) times
            movable = torch.ones_like(z) if mask is None else mask.expand_as(z)
            radius = radius * _per_example(movable).sum(1).sqrt()
        return radius, mask, module.attack_bounds(z)

    def _step_from(self, z: torch.Tensor, delta: torch.Tensor, grad: torch.Tensor,
                   limits: tuple[torch.Tensor, Any, Any]) -> torch.Tensor:
        """One ascent step of ``delta`` along ``grad``, projected into the ball, the mask and the valid range."""
        radius, mask, bounds = limits
        delta = _project(delta + self.step_size * radius.view(-1, *([1] * (z.dim() - 1))) * _direction(grad, self.norm),
                         radius, self.norm)
        return self._clean(delta, z, mask, bounds).detach()

    @staticmethod
    def _clean(delta: torch.Tensor, z: torch.Tensor, mask: torch.Tensor | None,
               bounds: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        if mask is not None:
            delta = delta * mask
        if bounds is not None:
            delta = torch.maximum(torch.minimum(z + delta, bounds[1]), bounds[0]) - z
        return delta
