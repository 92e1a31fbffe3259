"""The stage contract shared by image, text and sequence data.

A strategy names transforms for up to six stages, the places an augmentation can run
(docs/architecture.md, "Stages"). Each stage has one calling convention, whatever the data kind:

- ``corpus(documents) -> documents``: search data only, once per corpus, before the queries are split: what
  the index holds for each document (``augment/corpus/``). Its transforms see the documents and the cache
  folder, never a query.

- ``offline(examples) -> examples``: once, before training, on the whole train split.
- ``sample(x) -> x``: per example, in ``Dataset.__getitem__`` (DataLoader workers).
- ``batch(x, y) -> (x, y)``: in ``collate_fn``; ``y`` holds soft labels ``[B, K]`` (classification)
  or next-item ids ``[B]`` (sequences).
- ``device(x, y) -> (x, y)``: in ``on_after_batch_transfer``, on the accelerator.
- ``model(module, x, y, loss) -> loss``: in the model's training step, with the model being trained (its
  clean loss in, the loss to minimise out): adversarial examples (``augment/adversarial.py``), contrastive
  views of histories (``augment/sequence/contrastive.py``).

A transform with a ``setup(context)`` method gets the run's context once (``augment/context.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from auglab.augment.context import RunContext, setup_transforms
from auglab.augment.offline_cache import cached_offline
from auglab.errors import AuglabError, OptionError, root_cause

STAGES = ("corpus", "offline", "sample", "batch", "device", "model")
AFTER_OFFLINE = ("sample", "batch", "device", "model")  # stages that see the final train split


def _instantiate_stage(stage: str, node: Mapping | None, strategy: str) -> dict[str, Callable]:
    """Build one stage's named transforms in config order; a ``null`` entry switches one off."""
    transforms: dict[str, Callable] = {}
    for name, spec in (node or {}).items():
        if spec is None:
            continue
        try:
            transforms[name] = instantiate(spec)
        except Exception as err:  # hydra wraps the real cause; keep the message to one line
            cause = root_cause(err)
            if isinstance(cause, OptionError):  # name the option by its place in the config
                raise cause.at(f"augment.{stage}.{name}") from err
            raise AuglabError(
                f"augment '{strategy}': cannot build {stage}.{name}: {str(cause).splitlines()[0]} "
                f"(check augment.{stage}.{name}.* overrides)"
            ) from err
    return transforms


@dataclass
class AugmentationStrategy:
    """A named augmentation strategy: which data kinds it fits and its transforms per stage."""

    name: str = "none"
    kinds: tuple[str, ...] = ("image", "text", "sequence", "search")
    corpus: dict[str, Callable] = field(default_factory=dict)
    offline: dict[str, Callable] = field(default_factory=dict)
    sample: dict[str, Callable] = field(default_factory=dict)
    batch: dict[str, Callable] = field(default_factory=dict)
    device: dict[str, Callable] = field(default_factory=dict)
    model: dict[str, Callable] = field(default_factory=dict)
    offline_signature: str = ""  # the offline stage's resolved config: part of its cache key
    offline_report: dict[str, Any] = field(default_factory=dict)  # what offline transforms reported, by name
    corpus_report: dict[str, Any] = field(default_factory=dict)  # what corpus transforms reported, by name

    @classmethod
    def from_config(cls, cfg: DictConfig | Mapping[str, Any]) -> AugmentationStrategy:
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
        return cls(name=name, kinds=tuple(cfg.get("kinds", cls.kinds)), **stages, offline_signature=signature)

    def check_fits(self, data_kind: str, valid_choices: list[str]) -> None:
        """Fail before training when the strategy is for another kind of data."""
        if self.corpus and data_kind != "search":
            raise AuglabError(f"augment={self.name} rewrites the documents of a search corpus, and {data_kind} data "
                              "has none; use it with data=pricerunner_search or data=search_files")
        if data_kind not in self.kinds:
            raise AuglabError(
                f"augment={self.name} is for {'/'.join(self.kinds)} data but data is {data_kind}; "
                f"choose one of: {', '.join(valid_choices)}"
            )

    def reports(self) -> dict[str, Any]:
        """What the corpus and offline transforms reported, by name (corpus ones as ``corpus.<name>``)."""
        return {**{f"corpus.{name}": r for name, r in self.corpus_report.items()}, **self.offline_report}

    def apply_corpus(self, documents: list[str], context: RunContext | None = None) -> list[str]:
        """The corpus transforms in order: what the index holds for each document. They get the documents and
        the cache folder only, so nothing about a query (train or held out) can reach what they write."""
        if not self.corpus:
            return list(documents)
        cache_dir = context.cache_dir if context is not None else None
        setup_transforms(list(self.corpus.values()), RunContext(cache_dir=cache_dir, corpus=tuple(documents)))
        texts = list(documents)
        for transform in self.corpus.values():
            texts = transform(texts)
        self.corpus_report = {name: t.report() for name, t in self.corpus.items() if hasattr(t, "report")}
        return texts

    def apply_offline(self, examples: Any, context: RunContext | None = None) -> Any:
        """The offline transforms in order, cached by input and config in ``context.cache_dir``."""
        if not self.offline:
            return examples
        context = (context or RunContext()).with_train(examples)
        setup_transforms(list(self.offline.values()), context)

        def compute(examples: Any) -> dict[str, Any]:
            for transform in self.offline.values():
                examples = transform(examples)
            # e.g. generated texts: costs, acceptance per filter, every decision; cached with the output,
            # so a job that loads the output still writes them into its run folder
            reports = {name: t.report() for name, t in self.offline.items() if hasattr(t, "report")}
            return {"examples": examples, "reports": reports}

        result = cached_offline(compute, examples, signature=self.offline_signature, cache_dir=context.cache_dir,
                                name=self.name)
        self.offline_report = result["reports"]
        return result["examples"]

    def setup(self, context: RunContext) -> None:
        """Hand the sample, batch, device and model transforms the run's context (``context.train``: the final
        train split), once, before training."""
        setup_transforms([t for stage in AFTER_OFFLINE for t in getattr(self, stage).values()], context)

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

    def apply_model(self, module: Any, x: Any, y: Any, loss: Any, z: Any = None) -> Any:
        """The training loss after the model-stage transforms (called by the model's training step); ``z``: the
        clean pass's input representation, when a transform asked for it (``needs_clean_input``)."""
        for transform in self.model.values():
            loss = transform(module, x, y, loss, z=z)
        return loss
