"""What a run writes into its folder: ``metrics.json`` (the test metrics and the best validation value that
sweepers see), ``provenance.json``, the model's test pictures, and what the offline stage reported
(``augmentation.json``: cost and acceptance per transform; ``generated_text.jsonl``: every generated example,
kept or why not); rank 0 only under DDP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig

from auglab.metrics import per_example
from auglab.run.provenance import provenance
from auglab.storage.atomic import write_atomic, write_json
from auglab.storage.run_folder import METRICS, PROVENANCE


def collect_test_metrics(trainer: L.Trainer) -> dict[str, float]:
    return {k: float(v) for k, v in sorted(trainer.callback_metrics.items()) if k.startswith("test/")}


def best_validation(trainer: L.Trainer, monitor: str, validated: dict[str, Any] | None = None) -> dict[str, float]:
    """``{monitor}_best``: the monitor's value at the selected epoch (the last epoch without checkpoints; the one
    validation, ``validated``, of a model with nothing to train)."""
    callback = trainer.checkpoint_callback
    if callback is not None and callback.monitor == monitor and callback.best_model_score is not None:
        return {f"{monitor}_best": float(callback.best_model_score)}
    value = (validated or {}).get(monitor, trainer.callback_metrics.get(monitor))
    return {f"{monitor}_best": float(value)} if value is not None else {}


def save_results(cfg: DictConfig, trainer: L.Trainer, model: Any, datamodule: Any, *, tested: bool = True,
                 validated: dict[str, Any] | None = None, **extra: Any) -> dict:
    """metrics.json, provenance.json and the model's test pictures, written by rank 0 only; ``validated``: the
    validation metrics of a run that validated without training."""
    metrics = collect_test_metrics(trainer) if tested else {}
    if cfg.get("optimized_metric"):
        metrics.update(best_validation(trainer, cfg.optimized_metric, validated))
    # what the training cost, for comparisons at equal compute (summed over DDP ranks; every rank calls)
    seen = trainer.strategy.reduce(torch.tensor(float(getattr(model, "examples_seen", 0))), reduce_op="sum")
    training = {"optimizer_steps": int(trainer.global_step), "examples_seen": int(seen),
                "epochs": int(trainer.current_epoch)}
    if trainer.is_global_zero:
        out_dir = Path(cfg.paths.output_dir)
        write_json(out_dir / METRICS, metrics)
        prov = provenance(seed=cfg.seed, data_hash=datamodule.data_hash, split_sizes=datamodule.split_sizes)
        offline = offline_summary(datamodule)
        write_json(out_dir / PROVENANCE, {**prov, "world_size": trainer.world_size, "training": training, **extra,
                                          **({"offline_stage": offline} if offline else {})})
        if tested:
            title = f"{cfg.augment.name}, seed {cfg.seed}: test acc {metrics.get('test/acc', float('nan')):.3f}"
            model.save_test_figures(out_dir, title)
            if getattr(model, "test_predictions", None):
                per_example.save(out_dir / per_example.FILENAME, model.test_predictions)
    return metrics


def _reports(datamodule: Any) -> dict[str, Any]:
    strategy = getattr(datamodule, "augment", None)
    return strategy.reports() if hasattr(strategy, "reports") else {}


def offline_summary(datamodule: Any) -> dict[str, Any]:
    """Per corpus or offline transform that reports: its report without the per-example records."""
    reports = _reports(datamodule)
    return {name: {k: v for k, v in report.items() if k != "records"} for name, report in reports.items()}


@rank_zero_only
def save_offline_report(cfg: DictConfig, datamodule: Any) -> None:
    """``augmentation.json`` and ``generated_text.jsonl``, written as soon as the data is built (a run that
    fails later still shows what its strategy generated); for a corpus stage also ``generated_text.png`` (a
    ranker like BM25 never trains, so the training-time preview never draws it)."""
    summary = offline_summary(datamodule)
    if not summary:
        return
    out_dir = Path(cfg.paths.output_dir)
    write_json(out_dir / "augmentation.json", summary)
    reports = _reports(datamodule)
    lines = [json.dumps({"transform": name, **record}, ensure_ascii=False) + "\n"
             for name, report in reports.items() for record in report.get("records", [])]
    if lines:
        write_atomic(out_dir / "generated_text.jsonl", lambda tmp: tmp.write_text("".join(lines), encoding="utf-8"))
    corpus = [r for report in datamodule.augment.corpus_report.values() for r in report.get("records", [])]
    if corpus and not (out_dir / "generated_text.png").exists():
        from auglab.figures.batch_previews import generated_text_table

        figure = generated_text_table(corpus, datamodule.augment.name)
        write_atomic(out_dir / "generated_text.png", lambda tmp: figure.savefig(tmp, dpi=100, format="png"))
