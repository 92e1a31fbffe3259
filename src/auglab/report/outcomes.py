"""Metrics recomputed from runs' per-example test outcomes (``predictions.npz``), vectorised over bootstrap
resamples, and how sampling the test set moves a paired strategy-vs-baseline difference (``sampling_error``).

The formulas are the ones the runs logged (``metrics/classification.py``, ``metrics/ranking.py``): macro
precision, recall and F1 over the classes that occur (torchmetrics leaves out a class with no true or
predicted example), micro F1 = accuracy, and the full-ranking metrics from each user's target rank or each
query's relevant documents' ranks (``metrics/ranking.py``'s ``per_query``). A recomputed value equals the
logged one (tested).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Outcomes = dict[str, np.ndarray]
RESAMPLES = 1000  # enough for a (co)variance; seeded, so a report is the same every time
BATCH = 50  # resamples evaluated at once: [50, N] index arrays per run


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
    group, _, name = name.rpartition("/")  # test/short/ndcg@10: the users of group "short" (data.short_history)
    if group and f"group_{group}" not in outcomes:
        return None
    if "rank" in outcomes or "ranks" in outcomes:  # one relevant item (recommenders) or several (search)
        at = re.fullmatch(r"(recall|precision|f1|ndcg|map|mrr)@(\d+)", name)
        if name != "acc" and at is None:
            return None
        kind, k = ("acc", 1) if name == "acc" else (at.group(1), int(at.group(2)))

        def ranked(o: Outcomes) -> np.ndarray:
            import torch  # here: the report imports no torch for tables without ranking metrics

            from auglab.metrics.ranking import per_query

            ranks = torch.from_numpy(np.asarray(o["ranks"] if "ranks" in o else o["rank"][..., None], dtype=float))
            gains = torch.from_numpy(np.asarray(o["gains"], dtype=float)) if "gains" in o else None
            values = per_query(ranks, k, gains)[kind].numpy()  # [..., N, R] -> [..., N]
            if not group:
                return values.mean(-1)
            member = np.asarray(o[f"group_{group}"], dtype=float)  # [..., N]
            return (values * member).sum(-1) / np.maximum(member.sum(-1), 1)
        return ranked
    if group:
        return None
    if "prediction" not in outcomes:
        return None
    classes = int(outcomes["probs"].shape[-1]) if "probs" in outcomes else int(outcomes["label"].max()) + 1
    if name in ("acc", "f1_micro"):
        return lambda o: (o["prediction"] == o["label"]).mean(-1)
    if name in ("precision", "recall", "f1"):
        return lambda o: _macro(name, o["label"], o["prediction"], classes)
    return None


def same_test_set(runs: list[Outcomes]) -> bool:
    """Whether the runs tested the same examples in the same order (their labels, targets or queries agree)."""
    key = next((k for k in ("label", "target", "query") if k in runs[0]), "label")
    return all(key in r and np.array_equal(r[key], runs[0][key]) for r in runs)


@dataclass
class SamplingError:
    """How sampling the test set moves one comparison's paired differences: ``part`` ``shared`` (the seeds
    tested the same examples) or ``independent`` (each seed its own test set: nothing shared); ``shared`` the
    covariance of two seeds' test errors (what adds to ``s² / k``, clipped at 0), ``per_seed`` each seed's own
    test-error variance (already inside ``s²``; reported to show which error dominates)."""

    part: str
    shared: float = 0.0
    per_seed: float = math.nan


def sampling_error(metric: str, strategy: list[Outcomes], baseline: list[Outcomes]) -> SamplingError | None:
    """From a paired bootstrap over test examples (the same resampled examples for every run), the covariance
    matrix of the per-seed differences ``metric(strategy run i) - metric(baseline run i)``; runs paired by
    seed. None when the metric is not per-example or a run kept no outcomes."""
    runs = strategy + baseline
    if not runs:
        return None
    if not same_test_set(runs):
        return SamplingError("independent")
    fn = metric_function(metric, runs[0])
    if fn is None:
        return None
    fields = [f for f in ("label", "prediction", "rank", "ranks", "gains") if f in runs[0]]
    fields += [f for f in runs[0] if f.startswith("group_")]  # which test users a group metric averages
    k, examples = len(strategy), len(runs[0][fields[0]])
    rng = np.random.default_rng(0)
    differences = []  # [k, b] per batch of resamples
    for start in range(0, RESAMPLES, BATCH):
        index = rng.integers(0, examples, (min(BATCH, RESAMPLES - start), examples))  # [b, N]
        values = [fn({f: run[f][index] for f in fields}) for run in runs]  # each [b]
        differences.append(np.stack([values[i] - values[k + i] for i in range(k)]))
    covariance = np.atleast_2d(np.cov(np.concatenate(differences, axis=1)))  # [k, k]
    off = covariance[~np.eye(k, dtype=bool)]
    return SamplingError("shared", max(float(off.mean()), 0.0) if k > 1 else 0.0, float(np.diag(covariance).mean()))
