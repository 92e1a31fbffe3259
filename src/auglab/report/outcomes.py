"""Metrics recomputed from runs' per-example test outcomes (``predictions.npz``), vectorised over bootstrap
resamples, and the variance that sampling the test set adds to a paired strategy-vs-baseline difference.

The formulas are the ones the runs logged (``metrics/classification.py``, ``metrics/ranking.py``): macro
precision, recall and F1 over the classes that occur (torchmetrics leaves out a class with no true or
predicted example), micro F1 = accuracy, and the full-ranking metrics from each user's target rank or each
query's relevant documents' ranks (``metrics/ranking.py``'s ``per_query``). A recomputed value equals the
logged one (tested).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from scipy import stats

Outcomes = dict[str, np.ndarray]
RESAMPLES = 1000  # enough for a standard error; seeded, so a report is the same every time


def _macro(name: str, label: np.ndarray, pred: np.ndarray, classes: int) -> np.ndarray:
    """Macro precision / recall / F1 of predictions ``[..., N]`` against labels ``[..., N]``."""
    tp = np.stack([((pred == c) & (label == c)).sum(-1) for c in range(classes)], -1).astype(float)  # [..., K]
    fp = np.stack([((pred == c) & (label != c)).sum(-1) for c in range(classes)], -1).astype(float)
    fn = np.stack([((pred != c) & (label == c)).sum(-1) for c in range(classes)], -1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = {"precision": tp / (tp + fp), "recall": tp / (tp + fn), "f1": 2 * tp / (2 * tp + fp + fn)}[name]
    score = np.nan_to_num(score, nan=0.0)
    present = (tp + fp + fn) > 0
    return (score * present).sum(-1) / np.maximum(present.sum(-1), 1)


def metric_function(metric: str, outcomes: Outcomes) -> Callable[[Outcomes], np.ndarray] | None:
    """``f(outcomes) -> value`` for a logged metric name, arrays ``[..., N]`` in; None when the metric cannot be
    recomputed from per-example outcomes (a loss, FID)."""
    name = metric.removeprefix("test/")
    if "rank" in outcomes or "ranks" in outcomes:  # one relevant item (recommenders) or several (search)
        at = re.fullmatch(r"(recall|precision|f1|ndcg|mrr)@(\d+)", name)
        if name != "acc" and at is None:
            return None
        kind, k = ("acc", 1) if name == "acc" else (at.group(1), int(at.group(2)))

        def ranked(o: Outcomes) -> np.ndarray:
            import torch  # here: the report imports no torch for tables without ranking metrics

            from auglab.metrics.ranking import per_query

            ranks = torch.from_numpy(np.asarray(o["ranks"] if "ranks" in o else o["rank"][..., None], dtype=float))
            return per_query(ranks, k)[kind].mean(-1).numpy()  # [..., N, R] -> [..., N] -> [...]
        return ranked
    if "prediction" not in outcomes:
        return None
    classes = int(outcomes["probs"].shape[-1]) if "probs" in outcomes else int(outcomes["label"].max()) + 1
    if name in ("acc", "f1_micro"):
        return lambda o: (o["prediction"] == o["label"]).mean(-1)
    if name in ("precision", "recall", "f1"):
        return lambda o: _macro(name, o["label"], o["prediction"], classes)
    return None


def same_test_set(runs: list[Outcomes]) -> bool:
    """Whether the runs tested the same examples in the same order (their labels or targets agree)."""
    key = "label" if "label" in runs[0] else "target"
    return all(key in r and np.array_equal(r[key], runs[0][key]) for r in runs)


def variance_from_test_set(metric: str, strategy: list[Outcomes], baseline: list[Outcomes]) -> float | None:
    """The variance, over test sets resampled with replacement (a paired bootstrap: the same examples for
    every run), of the mean over seeds of ``metric(strategy run) - metric(baseline run)``; the runs are
    paired by seed. None when the metric is not per-example or the runs tested different examples."""
    runs = strategy + baseline
    if not runs or not same_test_set(runs):
        return None
    fn = metric_function(metric, runs[0])
    if fn is None:
        return None
    fields = [f for f in ("label", "prediction", "rank") if f in runs[0]]
    k = len(strategy)

    def seed_mean_difference(*arrays: np.ndarray, axis: int = -1) -> np.ndarray:
        per_run = [dict(zip(fields, arrays[i * len(fields):(i + 1) * len(fields)], strict=True))
                   for i in range(len(runs))]
        values = [fn(o) for o in per_run]
        return sum(values[i] - values[k + i] for i in range(k)) / k

    data = tuple(run[f] for run in runs for f in fields)
    result = stats.bootstrap(data, seed_mean_difference, paired=True, vectorized=True, n_resamples=RESAMPLES,
                             batch=50, method="percentile", random_state=np.random.default_rng(0))
    return float(result.standard_error) ** 2
