"""``auglab-eval``: test a checkpoint again with the data and model config of the run that made it.

    auglab-eval ckpt_path=outputs/runs/<run>/checkpoints/best.ckpt [trainer=ddp_cpu]
"""

from __future__ import annotations

from pathlib import Path

import hydra
import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from auglab import resolvers  # noqa: F401  (registers the configs' resolvers)
from auglab.cli import run_cli
from auglab.errors import AuglabError
from auglab.job import run_job
from auglab.train import build_datamodule, build_trainer, save_results

EVAL_KEYS = ("trainer", "logger", "callbacks", "paths", "ckpt_path", "task_name")


def run_config(ckpt_path: str | None) -> DictConfig:
    """The resolved config saved beside ``checkpoints/`` by the training run."""
    if not ckpt_path:
        raise AuglabError("ckpt_path is not set; e.g. auglab-eval ckpt_path=outputs/runs/<run>/checkpoints/best.ckpt")
    ckpt = Path(ckpt_path).expanduser()
    if not ckpt.is_file():
        raise AuglabError(f"ckpt_path={ckpt} does not exist; point it at a .ckpt file from a training run")
    config = ckpt.resolve().parent.parent / "config.yaml"
    if not config.is_file():
        raise AuglabError(f"{config} not found: ckpt_path must lie in <run folder>/checkpoints/ of an auglab run")
    return OmegaConf.load(config)


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Rebuild the run's data and model, load the checkpoint's weights and test them."""
    run_cfg = run_config(cfg.get("ckpt_path"))
    for key in EVAL_KEYS:
        run_cfg[key] = cfg.get(key)
    L.seed_everything(run_cfg.seed, workers=True)
    datamodule = build_datamodule(run_cfg)
    model = instantiate(run_cfg.model, **datamodule.model_kwargs())
    trainer = build_trainer(run_cfg)
    trainer.test(model, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
    return save_results(run_cfg, trainer, model, datamodule, tested_checkpoint=str(cfg.ckpt_path))


@hydra.main(version_base="1.3", config_path="conf", config_name="eval")
def _hydra_main(cfg: DictConfig) -> float | None:
    return run_job(evaluate, cfg)


def main() -> None:
    run_cli(_hydra_main, "eval")


if __name__ == "__main__":
    main()
