"""The stage contract shared by image, text and sequence data.

A strategy names transforms for up to four stages, the four places an augmentation can run
(docs/architecture.md, "Stages"). Each stage has one calling convention, whatever the data kind:

- ``offline(examples) -> examples``: once, before training, on the whole train split.
- ``sample(x) -> x``: per example, in ``Dataset.__getitem__`` (DataLoader workers).
- ``batch(x, y) -> (x, y)``: in ``collate_fn``; ``y`` holds soft labels ``[B, K]`` (classification)
  or next-item ids ``[B]`` (sequences).
- ``device(x, y) -> (x, y)``: in ``on_after_batch_transfer``, on the accelerator.

A transform with a ``fit(train)`` method gets the final train split once before training.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from auglab.augment.offline_cache import cached_offline
from auglab.errors import AuglabError

STAGES = ("offline", "sample", "batch", "device")


def fit_transforms(transforms: list[Callable], train: Any) -> None:
    """Call ``fit(train)`` on each transform that learns from the train split."""
    for transform in transforms:
        if hasattr(transform, "fit"):
            transform.fit(train)


def _instantiate_stage(stage: str, node: Mapping | None, strategy: str) -> dict[str, Callable]:
    """Build one stage's named transforms in config order; a ``null`` entry switches one off."""
    transforms: dict[str, Callable] = {}
    for name, spec in (node or {}).items():
        if spec is None:
            continue
        try:
            transforms[name] = instantiate(spec)
        except Exception as err:  # hydra wraps the real cause; keep the message to one line
            cause = err.__cause__ or err
            raise AuglabError(
                f"augment '{strategy}': cannot build {stage}.{name}: {str(cause).splitlines()[0]} "
                f"(check augment.{stage}.{name}.* overrides)"
            ) from err
    return transforms


@dataclass
class AugmentationStrategy:
    """A named augmentation strategy: which data kinds it fits and its transforms per stage."""

    name: str = "none"
    kinds: tuple[str, ...] = ("image", "text", "sequence")
    offline: dict[str, Callable] = field(default_factory=dict)
    sample: dict[str, Callable] = field(default_factory=dict)
    batch: dict[str, Callable] = field(default_factory=dict)
    device: dict[str, Callable] = field(default_factory=dict)
    offline_signature: str = ""  # the offline stage's resolved config: part of its cache key
    cache_dir: Path | None = None  # where offline results are cached; None: never cached

    @classmethod
    def from_config(cls, cfg: DictConfig | Mapping[str, Any], *, cache_dir: str | Path | None = None
                    ) -> AugmentationStrategy:
        """Instantiate every stage of an ``augment/*.yaml`` config."""
        if not isinstance(cfg, DictConfig):
            cfg = OmegaConf.create(dict(cfg))
        unknown = set(cfg.keys()) - {"name", "kinds", *STAGES}
        if unknown:
            raise AuglabError(
                f"augment '{cfg.get('name')}' has unknown keys {sorted(unknown)}; "
                f"valid keys: name, kinds, {', '.join(STAGES)}"
            )
        name = str(cfg.get("name", "none"))
        stages = {stage: _instantiate_stage(stage, cfg.get(stage), name) for stage in STAGES}
        offline = cfg.get("offline") or OmegaConf.create({})
        signature = json.dumps(OmegaConf.to_container(offline, resolve=True), sort_keys=True)
        return cls(name=name, kinds=tuple(cfg.get("kinds", cls.kinds)), **stages, offline_signature=signature,
                   cache_dir=Path(cache_dir) if cache_dir else None)

    def __post_init__(self) -> None:
        for transform in self.offline.values():  # e.g. a generator trained once and cached for a sweep
            if getattr(transform, "uses_cache_dir", False):
                transform.cache_dir = self.cache_dir

    def check_fits(self, data_kind: str, valid_choices: list[str]) -> None:
        """Fail before training when the strategy is for another kind of data."""
        if data_kind not in self.kinds:
            raise AuglabError(
                f"augment={self.name} is for {'/'.join(self.kinds)} data but data is {data_kind}; "
                f"choose one of: {', '.join(valid_choices)}"
            )

    def fit(self, train: Any) -> None:
        """Give transforms that learn from data (``fit(train)``, e.g. item co-occurrence) the final train split."""
        fit_transforms([t for stage in STAGES for t in getattr(self, stage).values()], train)

    def apply_offline(self, examples: Any) -> Any:
        """The offline transforms in order, cached by input and config when ``cache_dir`` is set."""
        if not self.offline:
            return examples

        def compute(examples: Any) -> Any:
            for transform in self.offline.values():
                examples = transform(examples)
            return examples

        return cached_offline(compute, examples, signature=self.offline_signature, cache_dir=self.cache_dir,
                              name=self.name)

    def apply_sample(self, x: Any) -> Any:
        for transform in self.sample.values():
            x = transform(x)
        return x

    def apply_batch(self, x: Any, y: Any) -> tuple[Any, Any]:
        for transform in self.batch.values():
            x, y = transform(x, y)
        return x, y

    def apply_device(self, x: Any, y: Any) -> tuple[Any, Any]:
        for transform in self.device.values():
            x, y = transform(x, y)
        return x, y
