"""What a run is made of, built from its config through ``_target_``: the datamodule with its strategy,
the model sized by the data, and the Trainer with its loggers and callbacks."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from auglab.augment import AugmentationStrategy, RunContext
from auglab.config.catalogue import model_target, models_for, strategies_for
from auglab.config.composition import compose_model
from auglab.errors import AuglabError, one_line, root_cause
from auglab.run.loggers import run_config
from auglab.sweep import console, slurm

TRAINING_STAGES = ("offline", "sample", "batch", "device", "model")  # what a strategy changes training with

def run_context(cfg: DictConfig) -> RunContext:
    """What the run knows before any data is read: where to cache, and how to compose a ``model=`` option."""
    cache_dir = OmegaConf.select(cfg, "paths.cache_dir")
    return RunContext(cache_dir=Path(cache_dir) if cache_dir else None, model_config=compose_model)


def build_datamodule(cfg: DictConfig, context: RunContext) -> L.LightningDataModule:
    """The datamodule with the strategy built in, data loaded and split; fails on a strategy or model for
    another data kind before anything is trained."""
    strategy = AugmentationStrategy.from_config(cfg.augment)
    kind = get_class(cfg.data._target_).kind
    strategy.check_fits(kind, strategies_for(kind))
    model_kinds = getattr(get_class(cfg.model._target_), "data_kinds", (kind,))
    if kind not in model_kinds:
        name = cfg.model._target_.rsplit(".", 1)[-1]
        raise AuglabError(f"model {name} is for {'/'.join(model_kinds)} data but data is {kind}; "
                          f"choose model= one of: {', '.join(models_for(kind))}")
    datamodule = instantiate(cfg.data, _partial_=True)(augment=strategy, context=context)  # objects bypass OmegaConf
    datamodule.prepare_data()
    datamodule.setup("fit")  # loads and splits now, so bad data fails before any training
    return datamodule


def declared_keywords(cls: type) -> set[str]:
    """The keyword arguments ``cls(...)`` accepts by name: its ``__init__``'s, and its bases' as long as each
    passes ``**kwargs`` on."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(klass.__init__).parameters.values()
        names |= {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names


def facts_for(cls: type, facts: dict[str, Any]) -> dict[str, Any]:
    """Those of ``facts`` that ``cls``'s constructor asks for by name."""
    wanted = declared_keywords(cls)
    return {k: v for k, v in facts.items() if k in wanted}


def build_model(cfg: DictConfig, datamodule: Any, context: RunContext) -> L.LightningModule:
    """The model, given those of the data's facts (sizes, classes, normalisation) and of the run's context
    (cache folder) that its signature asks for; a bad ``model.*`` value fails in one line."""
    offered = {**datamodule.data_facts(), "cache_dir": context.cache_dir}
    cls = get_class(cfg.model._target_)
    if datamodule.augment.model and not getattr(cls, "attackable", False):  # a model-stage strategy needs it
        fit = [m for m in models_for(datamodule.kind) if getattr(get_class(model_target(m)), "attackable", False)]
        raise AuglabError(f"augment={datamodule.augment.name} perturbs what a model exposes, and model "
                          f"{cls.__name__} exposes nothing to perturb; choose model= one of: {', '.join(fit)}")
    try:
        model = instantiate(cfg.model, **facts_for(cls, offered))
    except Exception as err:  # hydra wraps the real cause
        cause = root_cause(err)
        if isinstance(cause, AuglabError) or not isinstance(cause, ValueError | TypeError):
            raise
        name = cfg.model._target_.rsplit(".", 1)[-1]
        raise AuglabError(f"cannot build model {name}: {one_line(cause)} (check the model.* overrides)") from err
    check_model_uses_data(model, datamodule)
    return model


def check_model_uses_data(model: Any, datamodule: Any) -> None:
    """A model with nothing to train (BM25, a zero-shot encoder) cannot use a strategy that changes training
    data, and a model that trains needs training examples: both fail before anything runs."""
    strategy = datamodule.augment
    trains = getattr(model, "trains", True)
    if not trains and any(getattr(strategy, stage) for stage in TRAINING_STAGES):
        raise AuglabError(f"augment={strategy.name} changes training data, and model {type(model).__name__} trains "
                          "nothing (it ranks with what it is), so the run would repeat augment=none; use "
                          "augment=none, or a model that trains (model=bi_encoder without zero_shot)")
    if trains and datamodule.split_sizes.get("train", 1) == 0:
        raise AuglabError("the data has no training queries (the collection's splits name test only); rank with "
                          "model=bm25 or model.zero_shot=true, or re-split every query with data.split=seeded")


def build_trainer(cfg: DictConfig) -> L.Trainer:
    """The Trainer with every configured logger and callback; loggers also get the resolved config."""
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c is not None]
    quiet = console.in_sweep()  # a sweep prints a line per job (sweep/console.py), not per-epoch bars
    callbacks = [instantiate(c) for name, c in (cfg.get("callbacks") or {}).items()
                 if c is not None and not (quiet and name == "progress")]
    bars = {"enable_progress_bar": False, "enable_model_summary": False} if quiet else {}
    # inside a multi-task SLURM allocation, devices and num_nodes come from the allocation
    trainer = instantiate(cfg.trainer, logger=loggers or False, callbacks=callbacks, **bars,
                          **slurm.trainer_overrides())
    for logger in loggers:  # W&B gets top-level keys to group runs by, besides the full config
        logger.log_hyperparams(run_config(logger, cfg))
    return trainer
