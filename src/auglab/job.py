"""Run one Hydra job: skip it when already finished, record failures, keep a sweep going."""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from auglab.ddp_hydra import ddp_job_scope
from auglab.errors import AuglabError
from auglab.run_record import write_json

log = logging.getLogger(__name__)


def _is_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _finish_wandb() -> None:
    """Close the W&B run so the next job of a sweep opens its own instead of appending to this one."""
    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:
        wandb.finish()


def _one_line(err: BaseException) -> str:
    """The root cause in one line (Hydra wraps errors raised while instantiating)."""
    while err.__cause__ is not None and not isinstance(err, AuglabError):
        err = err.__cause__
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return text if isinstance(err, AuglabError) else f"{type(err).__name__}: {text}"


def run_job(task: Callable[[DictConfig], dict[str, Any]], cfg: DictConfig) -> float | None:
    """Call ``task(cfg)``; write ``run.json`` with its status. Returns ``cfg.optimized_metric``'s value.

    In a sweep a failed job is recorded and the sweep goes on; a job whose folder already says
    ``ok`` (the same sweep started again) is skipped. In a single run a bad input prints one line.
    """
    out_dir = Path(cfg.paths.output_dir)
    record = out_dir / "run.json"
    if _is_multirun() and record.exists() and json.loads(record.read_text()).get("status") == "ok":
        log.info("skipping %s: finished in an earlier run of this sweep", out_dir)
        metrics = json.loads((out_dir / "metrics.json").read_text())
        return metrics.get(cfg.get("optimized_metric") or "")
    last = out_dir / "checkpoints" / "last.ckpt"
    if _is_multirun() and cfg.get("ckpt_path", "unset") is None and last.exists():
        log.info("resuming %s from %s", out_dir.name, last)  # the sweep was interrupted mid-job
        cfg.ckpt_path = str(last)
    info = {"augment": OmegaConf.select(cfg, "augment.name"), "seed": cfg.get("seed"), "task": cfg.get("task_name")}
    started = time.time()
    try:
        try:
            with ddp_job_scope():
                metrics = task(cfg)
        except MissingMandatoryValue as err:  # a required option (``???``) left unset
            raise AuglabError(f"{err.full_key} is not set; add {err.full_key}=<value> to the command line") from err
    except (Exception, KeyboardInterrupt) as err:
        status = "interrupted" if isinstance(err, KeyboardInterrupt) else "failed"
        message = _one_line(err)
        write_json(record, {**info, "status": status, "error": message, "traceback": traceback.format_exc(),
                            "duration_s": round(time.time() - started, 1)})
        if isinstance(err, KeyboardInterrupt):
            raise
        if _is_multirun():
            log.error("job failed (%s); the sweep goes on: %s", out_dir.name, message)
            return None
        if isinstance(err, AuglabError):
            print(f"auglab: error: {message}", file=sys.stderr)
            sys.exit(2)
        raise
    finally:
        _finish_wandb()
    write_json(record, {**info, "status": "ok", "duration_s": round(time.time() - started, 1)})
    return metrics.get(cfg.get("optimized_metric") or "")
