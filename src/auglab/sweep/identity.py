"""Which job a folder belongs to (docs/architecture.md, "Job identity").

A job is its resolved config without the volatile keys below: where outputs go, how progress is
shown, which loggers watch, and the checkpoint it resumes from. None of them changes a metric.
Everything else, a default included, is identity: ``augment=none`` and ``augment=none seed=0`` are
the same job, ``seed=1`` is another. A sweep job's folder is named after its identity, so a sweep
extended in place (more seeds, more strategies) finds each finished job wherever Hydra numbers it.

Hydra asks for the folder's name (the ``auglab.job_folder`` resolver) before the job runs; the job
then computes the same identity again to check that the folder it was given holds no other job.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

VOLATILE = ("hydra", "paths", "logger", "callbacks.progress", "callbacks.augmented_preview", "ckpt_path")
JOB_FOLDER = "<job folder>"  # stands in for the job's own folder while resolving: paths under it are not identity
JOB_RECORD = "job.json"

# Classes that moved to another module keep their old dotted name in the identity, so sweep folders made
# before the move are still found, skipped and resumed. Moved by the layout change of issue 20 (augment/
# by data kind); a future move adds its entries here. New name -> the name identities were made with.
MOVED_TARGETS = {
    f"auglab.augment.{new}": f"auglab.augment.{old}" for new, old in {
        "image.BatchRandomHorizontalFlip": "batched_image.BatchRandomHorizontalFlip",
        "image.BatchRandomCrop": "batched_image.BatchRandomCrop",
        "image.BatchRandomErasing": "batched_image.BatchRandomErasing",
        "image.BatchBrightnessContrast": "batched_image.BatchBrightnessContrast",
        "image.MixUp": "mixing.MixUp",
        "image.CutMix": "mixing.CutMix",
        "image.GeneratedImages": "generative.GeneratedImages",
        "text.EDAOffline": "text_eda.EDAOffline",
        "text.EDASample": "text_eda.EDASample",
        "text.Typo": "text_typo.Typo",
        "text.TypoOffline": "text_typo.TypoOffline",
        "text.TokenDropout": "text_device.TokenDropout",
        "text.EmbeddingNoise": "text_device.EmbeddingNoise",
        "text.EmbeddingSubstitution": "text_device.EmbeddingSubstitution",
        "text.SentenceMixUp": "text_mixup.SentenceMixUp",
        "sequence.SubsetSplit": "sequence_offline.SubsetSplit",
        "sequence.SlidingWindow": "sequence_offline.SlidingWindow",
    }.items()
}


# Keys added to the configs after identities were first made, with the default they were added with: at
# that default the key is left out of the identity, so adding an option does not orphan sweep folders made
# before it (set to anything else, it is identity as usual). Added with issue 18: the strategies' model stage;
# with issue 19: image data kept on the accelerator; then FGSM from the clean pass, added as false (a pass
# of its own): its default is now auto, which is identity, so re-running a study re-runs its adversarial jobs.
# With issue 28: the IVF index's probes (the bi-encoder's search studies ran before it was an option); with
# issue 29: test metrics by history length; with issue 31: the corpus stage.
ADDED_DEFAULTS = {"augment.model": {}, "data.on_device": "auto", "augment.model.adversarial.from_clean_pass": False,
                  "model.index_probes": 16, "data.short_history": None, "augment.corpus": {},
                  **{f"augment.offline.{t}.drop_prompt_examples": False for t in ("paraphrase", "generate", "queries")},
                  "augment.offline.queries.examples": 0,
                  **{f"augment.corpus.{t}.example_words": "rare" for t in ("expansion", "enrichment")}}

# Of those, the ones whose default changed since: a report labels a job made before the key existed with the
# key's added value, so it never shares a row with jobs run at the new default.
CHANGED_DEFAULTS = ("augment.model.adversarial.from_clean_pass",
                    *(f"augment.offline.{t}.drop_prompt_examples" for t in ("paraphrase", "generate", "queries")),
                    "augment.offline.queries.examples")


# Data kinds added to existing strategies' ``kinds`` after identities were first made, with the data targets
# they count for: on any other data they are left out of ``augment.kinds``, so ``augment=none`` or ``typo``
# jobs made before keep their identity. Added with issue 21: search (the query strategies and none).
ADDED_KINDS = {"search": ("auglab.data.search.",)}


def _without_added_kinds(resolved: dict[str, Any]) -> None:
    kinds, data = _select(resolved, "augment.kinds"), str(_select(resolved, "data._target_") or "")
    if isinstance(kinds, list):
        resolved["augment"]["kinds"] = [k for k in kinds if k not in ADDED_KINDS or data.startswith(ADDED_KINDS[k])]


def _canonical(value: Any, folder: str | None) -> Any:
    """Paths under the job's folder as the placeholder (a saved config holds them resolved); moved classes
    by the name identities were first made with."""
    if isinstance(value, dict):
        return {k: (MOVED_TARGETS.get(v, v) if k == "_target_" else _canonical(v, folder)) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v, folder) for v in value]
    if folder is not None and isinstance(value, str) and (value == folder or value.startswith(folder + "/")):
        return JOB_FOLDER + value[len(folder):]
    return value


def identity(cfg: DictConfig, folder: Path | None = None) -> dict[str, Any]:
    """The resolved config that defines a job (with or without Hydra's own ``hydra`` node).

    ``folder``: the job's folder, when ``cfg`` is a saved, already resolved ``config.yaml``.
    """
    raw = OmegaConf.to_container(cfg, resolve=False)
    raw.pop("hydra", None)
    copy = OmegaConf.create(raw)
    if "output_dir" in copy.get("paths", {}):  # by key: its value is unset while Hydra names the folder
        copy.paths.output_dir = JOB_FOLDER
    resolved = _canonical(OmegaConf.to_container(copy, resolve=True),
                          str(Path(folder).resolve()) if folder is not None else None)
    _without_added_kinds(resolved)
    for key in (*VOLATILE, *(k for k, default in ADDED_DEFAULTS.items() if _select(resolved, k) == default)):
        *parents, leaf = key.split(".")
        node = resolved
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return resolved


def _select(tree: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        tree = tree.get(part) if isinstance(tree, dict) else None
    return tree


def digest(ident: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()


def job_identity(cfg: DictConfig) -> tuple[dict[str, Any], str, str]:
    """``(identity, its sha256, folder name)``; the folder is ``<strategy>-s<seed>-<first 10 hex digits>``."""
    ident = identity(cfg)
    key = digest(ident)
    strategy = OmegaConf.select(cfg, "augment.name", default=None) or cfg.get("task_name", "job")
    seed = cfg.get("seed")
    prefix = f"{strategy}-s{seed}" if seed is not None else str(strategy)
    return ident, key, f"{prefix}-{key[:10]}"


def folder_name(cfg: DictConfig) -> str:
    return job_identity(cfg)[2]


def read_record(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / JOB_RECORD).read_text())
    except (OSError, ValueError):
        return None


def differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted keys where two identities differ, for messages."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            out += differences(a.get(key), b.get(key), f"{prefix}{key}.")
        return out
    return [] if a == b else [f"{prefix[:-1]}: {a!r} vs {b!r}"]
