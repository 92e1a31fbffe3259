"""``auglab-eval``: test a checkpoint again with the data and model config of the run that made it.

    auglab-eval ckpt_path=outputs/runs/<run>/checkpoints/best.ckpt [trainer=ddp_cpu]
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import hydra
import lightning as L
from omegaconf import DictConfig, OmegaConf

from auglab import resolvers  # noqa: F401  (registers the configs' resolvers)
from auglab.cli import run_cli
from auglab.errors import AuglabError
from auglab.job import run_job
from auglab.train import build_datamodule, build_model, build_trainer, save_results

EVAL_KEYS = ("trainer", "logger", "callbacks", "paths", "ckpt_path", "task_name")
log = logging.getLogger(__name__)


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


def check_same_data(ckpt_path: str, datamodule: L.LightningDataModule, allow_mismatch: bool) -> None:
    """The rebuilt data must be what the run trained and tested on (its provenance.json)."""
    record = Path(ckpt_path).expanduser().resolve().parent.parent / "provenance.json"
    try:
        prov = json.loads(record.read_text())
    except (OSError, ValueError):
        log.warning("%s is missing or unreadable: cannot check that the data is the run's own", record)
        return
    problems = []
    if prov.get("data_sha256") != datamodule.data_hash:
        problems.append(f"data sha256 {datamodule.data_hash[:12]} vs the run's {str(prov.get('data_sha256'))[:12]}")
    if prov.get("split_sizes") != datamodule.split_sizes:
        problems.append(f"split sizes {datamodule.split_sizes} vs the run's {prov.get('split_sizes')}")
    if problems and not allow_mismatch:
        raise AuglabError(f"the data differs from the run's ({'; '.join(problems)}); point the data options at the "
                          "run's data, or add allow_data_mismatch=true to evaluate on this data anyway")
    for problem in problems:
        log.warning("evaluating on other data than the run's: %s", problem)


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Rebuild the run's data and model, load the checkpoint's weights and test them."""
    run_cfg = run_config(cfg.get("ckpt_path"))
    for key in EVAL_KEYS:
        run_cfg[key] = cfg.get(key)
    L.seed_everything(run_cfg.seed, workers=True)
    datamodule = build_datamodule(run_cfg)
    check_same_data(cfg.ckpt_path, datamodule, bool(cfg.get("allow_data_mismatch")))
    model = build_model(run_cfg, datamodule)
    trainer = build_trainer(run_cfg)
    trainer.test(model, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
    return save_results(run_cfg, trainer, model, datamodule, tested_checkpoint=str(cfg.ckpt_path))


@hydra.main(version_base="1.3", config_path="pkg://auglab.conf", config_name="eval")
def _hydra_main(cfg: DictConfig) -> float | None:
    return run_job(evaluate, cfg)


def main() -> None:
    run_cli(_hydra_main, "eval")


if __name__ == "__main__":
    main()
