"""``auglab-train``: train and test one model on one dataset with one augmentation strategy.

    auglab-train augment=randaugment seed=1
    auglab-train -m experiment=fashion_lowdata
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from auglab import resolvers, slurm, sweep_console  # noqa: F401  (resolvers: registers the configs' resolvers)
from auglab.argument_checks import check_arguments
from auglab.augment.stages import AugmentationStrategy
from auglab.cli import run_cli
from auglab.config_checks import check_run_options, models_for, strategies_for
from auglab.errors import AuglabError, one_line, root_cause
from auglab.job import run_job
from auglab.loggers import run_config
from auglab.run_record import provenance, save_config, write_json

log = logging.getLogger(__name__)


def build_datamodule(cfg: DictConfig) -> L.LightningDataModule:
    """The datamodule with the strategy built in; fails on a strategy for another data kind."""
    strategy = AugmentationStrategy.from_config(cfg.augment, cache_dir=OmegaConf.select(cfg, "paths.cache_dir"))
    kind = get_class(cfg.data._target_).kind
    strategy.check_fits(kind, strategies_for(kind))
    model_kinds = getattr(get_class(cfg.model._target_), "data_kinds", (kind,))
    if kind not in model_kinds:
        name = cfg.model._target_.rsplit(".", 1)[-1]
        raise AuglabError(f"model {name} is for {'/'.join(model_kinds)} data but data is {kind}; "
                          f"choose model= one of: {', '.join(models_for(kind))}")
    datamodule = instantiate(cfg.data, _partial_=True)(augment=strategy)  # objects bypass OmegaConf
    datamodule.prepare_data()
    datamodule.setup("fit")  # loads and splits now, so bad data fails before any training
    return datamodule


def build_model(cfg: DictConfig, datamodule: Any) -> L.LightningModule:
    """The model, sized by the data; a bad ``model.*`` value fails in one line."""
    try:
        model = instantiate(cfg.model, **datamodule.model_kwargs())
    except Exception as err:  # hydra wraps the real cause
        cause = root_cause(err)
        if isinstance(cause, AuglabError) or not isinstance(cause, ValueError | TypeError):
            raise
        name = cfg.model._target_.rsplit(".", 1)[-1]
        raise AuglabError(f"cannot build model {name}: {one_line(cause)} (check the model.* overrides)") from err
    cache_dir = OmegaConf.select(cfg, "paths.cache_dir")
    model.cache_dir = Path(cache_dir) if cache_dir else None  # not a model option: paths are not identity
    return model


def build_trainer(cfg: DictConfig) -> L.Trainer:
    """The Trainer with every configured logger and callback; loggers also get the resolved config."""
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c is not None]
    quiet = sweep_console.in_sweep()  # a sweep prints a line per job (sweep_console), not per-epoch bars
    callbacks = [instantiate(c) for name, c in (cfg.get("callbacks") or {}).items()
                 if c is not None and not (quiet and name == "progress")]
    console = {"enable_progress_bar": False, "enable_model_summary": False} if quiet else {}
    # inside a multi-task SLURM allocation, devices and num_nodes come from the allocation
    trainer = instantiate(cfg.trainer, logger=loggers or False, callbacks=callbacks, **console,
                          **slurm.trainer_overrides())
    for logger in loggers:  # W&B gets top-level keys to group runs by, besides the full config
        logger.log_hyperparams(run_config(logger, cfg))
    return trainer


def collect_test_metrics(trainer: L.Trainer) -> dict[str, float]:
    return {k: float(v) for k, v in sorted(trainer.callback_metrics.items()) if k.startswith("test/")}


def best_validation(trainer: L.Trainer, monitor: str) -> dict[str, float]:
    """``{monitor}_best``: the monitor's value at the selected epoch (the last epoch without checkpoints)."""
    callback = trainer.checkpoint_callback
    if callback is not None and callback.monitor == monitor and callback.best_model_score is not None:
        return {f"{monitor}_best": float(callback.best_model_score)}
    value = trainer.callback_metrics.get(monitor)
    return {f"{monitor}_best": float(value)} if value is not None else {}


def save_results(cfg: DictConfig, trainer: L.Trainer, model: Any, datamodule: Any, *, tested: bool = True,
                 **extra: Any) -> dict:
    """metrics.json, provenance.json and the model's test pictures, written by rank 0 only."""
    metrics = collect_test_metrics(trainer) if tested else {}
    if cfg.get("optimized_metric"):
        metrics.update(best_validation(trainer, cfg.optimized_metric))
    if trainer.is_global_zero:
        out_dir = Path(cfg.paths.output_dir)
        write_json(out_dir / "metrics.json", metrics)
        prov = provenance(seed=cfg.seed, data_hash=datamodule.data_hash, split_sizes=datamodule.split_sizes)
        write_json(out_dir / "provenance.json", {**prov, "world_size": trainer.world_size, **extra})
        if tested:
            title = f"{cfg.augment.name}, seed {cfg.seed}: test acc {metrics.get('test/acc', float('nan')):.3f}"
            model.save_test_figures(out_dir, title)
    return metrics


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit on the train split, pick the best epoch on validation, test it.

    Returns the test metrics and ``{monitor}_best``, the best validation value that sweepers see.
    """
    check_run_options(cfg)
    check_arguments(cfg)
    L.seed_everything(cfg.seed, workers=True)
    save_config(cfg, Path(cfg.paths.output_dir) / "config.yaml")
    datamodule = build_datamodule(cfg)
    log.info("data %s: %s", cfg.data._target_.rsplit(".", 1)[-1], datamodule.split_sizes)
    model = build_model(cfg, datamodule)
    trainer = build_trainer(cfg)
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    if not cfg.get("test", True):
        return save_results(cfg, trainer, model, datamodule, tested=False)
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    trainer.test(model, datamodule=datamodule, ckpt_path=best or None, verbose=not sweep_console.in_sweep())
    return save_results(cfg, trainer, model, datamodule, tested_checkpoint=best or "last weights")


@hydra.main(version_base="1.3", config_path="pkg://auglab.conf", config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    return run_job(train, cfg)


def main() -> None:
    run_cli(_hydra_main, "train")


if __name__ == "__main__":
    main()
