"""Top-level options of ``train.yaml`` that no constructor validates, checked when a run starts."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from auglab.errors import AuglabError


def check_run_options(cfg: DictConfig) -> None:
    """Top-level options of ``train.yaml`` that nothing else validates."""
    seed = cfg.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise AuglabError(f"seed={seed}: must be an integer from 0 to 4294967295")
    metric, monitor = cfg.get("optimized_metric"), OmegaConf.select(cfg, "model.monitor")
    if metric and not str(metric).startswith("val/"):
        raise AuglabError(f"optimized_metric={metric}: sweepers may only see validation metrics, or they would "
                          f"select on the test set; leave it at the model's monitor ({monitor})")
    if metric and monitor and metric != monitor:
        raise AuglabError(f"optimized_metric={metric} differs from model.monitor={monitor}: the best epoch is picked "
                          f"by the monitor; to optimise {metric}, set model.monitor={metric} instead")
