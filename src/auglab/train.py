"""``auglab-train``: train and test one model on one dataset with one augmentation strategy.

    auglab-train augment=randaugment seed=1
    auglab-train -m experiment=fashion_lowdata
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig

from auglab.config.cli import run_cli

log = logging.getLogger(__name__)

# Lightning and everything that builds a run are imported inside the functions below, not here: importing
# them takes seconds (lightning -> torchmetrics -> torchvision.models), and a mistyped option on the command
# line should be answered before that (config/cli.py checks the overrides first).


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit on the train split, pick the best epoch on validation, test it.

    Returns the test metrics and ``{monitor}_best``, the best validation value that sweepers see.
    """
    import lightning as L

    from auglab.config.arguments import check_arguments
    from auglab.config.run_options import check_run_options
    from auglab.run.build import build_datamodule, build_model, build_trainer, run_context
    from auglab.run.provenance import save_config
    from auglab.run.results import save_offline_report, save_results
    from auglab.sweep import console

    check_run_options(cfg)
    check_arguments(cfg)
    L.seed_everything(cfg.seed, workers=True)
    save_config(cfg, Path(cfg.paths.output_dir) / "config.yaml")
    context = run_context(cfg)
    datamodule = build_datamodule(cfg, context)
    save_offline_report(cfg, datamodule)
    log.info("data %s: %s", cfg.data._target_.rsplit(".", 1)[-1], datamodule.split_sizes)
    model = build_model(cfg, datamodule, context)
    trainer = build_trainer(cfg)
    validated = None
    if getattr(model, "trains", True):
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    else:  # BM25, a zero-shot encoder: nothing to fit; one validation gives the sweepers their value
        validated = trainer.validate(model, datamodule=datamodule, verbose=False)[0]
    if not cfg.get("test", True):
        return save_results(cfg, trainer, model, datamodule, tested=False, validated=validated)
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    trainer.test(model, datamodule=datamodule, ckpt_path=best or None, verbose=not console.in_sweep())
    return save_results(cfg, trainer, model, datamodule, validated=validated,
                        tested_checkpoint=best or ("last weights" if validated is None else "nothing trained"))


@hydra.main(version_base="1.3", config_path="pkg://auglab.conf", config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    from auglab.sweep.job import run_job

    return run_job(train, cfg)


def main() -> None:
    run_cli(_hydra_main, "train")


if __name__ == "__main__":
    main()
