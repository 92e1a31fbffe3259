"""What the run hands a strategy's transforms (docs/architecture.md, "Stages"): one object, given once.

A transform that needs anything beyond its own options defines ``setup(context)``. The datamodule calls
it once before the transform's stage first runs: an ``offline`` transform sees the train split it is about
to expand as ``context.train``; ``sample``, ``batch`` and ``device`` transforms see the final train split
(after the offline stage). Fields a run does not have are ``None`` (no tokenizer for images).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunContext:
    cache_dir: Path | None = None  # where computed artefacts are cached (paths.cache_dir); None: never cached
    # the train split: (inputs, labels) for labelled data, UserSequences for sequences, (queries, labels) for
    # search, a label naming the query whose relevant documents a (generated) query shares
    train: Any = None
    held_out: Sequence[Any] | None = None  # validation and test inputs: what generated data must never copy
    class_names: Sequence[str] | None = None  # labelled data: the name of each class id
    tokenizer: Any = None  # text: the model checkpoint's tokenizer ...
    checkpoint: str | None = None  # ... and that checkpoint's name or folder
    # the composed config of a ``model=`` option, for transforms that train a model of their own
    model_config: Callable[[str], Any] | None = None
    # search data: the document texts, and each train label's relevant documents (indices into corpus)
    corpus: Sequence[str] | None = None
    relevant: Sequence[Sequence[int]] | None = None

    def with_train(self, train: Any) -> RunContext:
        return replace(self, train=train)


def setup_transforms(transforms: list[Any], context: RunContext) -> None:
    """``setup(context)`` on each transform that has one."""
    for transform in transforms:
        if hasattr(transform, "setup"):
            transform.setup(context)
