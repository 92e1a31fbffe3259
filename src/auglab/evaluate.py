"""``auglab-eval``: test a checkpoint again with the data and model config of the run that made it.

    auglab-eval ckpt_path=outputs/runs/<run>/checkpoints/best.ckpt [trainer=ddp_cpu]
"""

from __future__ import annotations

import json
import logging

import hydra
import lightning as L
from omegaconf import DictConfig

from auglab.config.cli import run_cli
from auglab.errors import AuglabError
from auglab.run.build import build_datamodule, build_model, build_trainer, run_context
from auglab.run.results import save_results
from auglab.storage.run_folder import PROVENANCE, checkpoint_config, run_of_checkpoint
from auglab.sweep.job import run_job

EVAL_KEYS = ("trainer", "logger", "callbacks", "paths", "ckpt_path", "task_name")
log = logging.getLogger(__name__)


def check_same_data(ckpt_path: str, datamodule: L.LightningDataModule, allow_mismatch: bool) -> None:
    """The rebuilt data must be what the run trained and tested on (its provenance.json)."""
    record = run_of_checkpoint(ckpt_path) / PROVENANCE
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
    if not cfg.get("ckpt_path"):
        raise AuglabError("ckpt_path is not set; e.g. auglab-eval ckpt_path=outputs/runs/<run>/checkpoints/best.ckpt")
    run_cfg = checkpoint_config(cfg.ckpt_path)
    for key in EVAL_KEYS:
        run_cfg[key] = cfg.get(key)
    L.seed_everything(run_cfg.seed, workers=True)
    context = run_context(run_cfg)
    datamodule = build_datamodule(run_cfg, context)
    check_same_data(cfg.ckpt_path, datamodule, bool(cfg.get("allow_data_mismatch")))
    model = build_model(run_cfg, datamodule, context)
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
