"""The test confusion matrix of a classifier, as a picture in its run folder."""

from __future__ import annotations

from pathlib import Path

import torch


def plot_confusion(matrix: torch.Tensor, class_names: list[str], path: Path, title: str) -> None:
    """Save a row-normalised confusion matrix (rows: true class) with counts in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = matrix.numpy()
    rates = counts / counts.sum(axis=1, keepdims=True).clip(min=1)
    k = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * k, 0.8 + 0.55 * k))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), class_names, rotation=45, ha="right")
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if rates[i, j] > 0.5 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
