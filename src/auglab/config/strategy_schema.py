"""The shape every ``conf/augment/<name>.yaml`` has (docs/architecture.md, "Stages"), as a structured
config: a strategy file writes only its ``kinds`` and the stages it uses. The others are empty, and the
name is the option's own (``augment=eda`` is named ``eda``). ``train.yaml`` puts this schema under
``augment`` before the chosen strategy, so a misspelt key (``augment.devise``) fails when Hydra composes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

GROUP, NAME = "schema", "strategy"  # train.yaml: ``- schema@augment: strategy``


@dataclass
class StrategySchema:
    name: str = "${hydra:runtime.choices.augment}"
    kinds: list[str] = MISSING  # the data kinds it fits: image, text, sequence, search
    # per stage, named transforms, each a ``_target_`` node (``null`` switches one off)
    corpus: dict[str, Any] = field(default_factory=dict)  # search: what the index holds per document
    offline: dict[str, Any] = field(default_factory=dict)
    sample: dict[str, Any] = field(default_factory=dict)
    batch: dict[str, Any] = field(default_factory=dict)
    device: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)  # with the model being trained (adversarial examples)


def register() -> None:
    ConfigStore.instance().store(group=GROUP, name=NAME, node=StrategySchema)
