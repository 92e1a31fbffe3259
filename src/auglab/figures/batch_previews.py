"""Pictures of a training batch as the model receives it, one drawer per kind of input.

Figures are built without pyplot (no global state, no GUI backend), so a run can draw one at any
point and a sweep never accumulates open figures.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.figure import Figure

PADDING_RGB = (0.93, 0.93, 0.93)
MASK_RGB = (0.75, 0.1, 0.1)  # darker than any item colour, with white text


def _title(strategy: str) -> str:
    return f"augment={strategy}: the first training batch as the model sees it"


def _label(y: torch.Tensor, class_names: list[str]) -> str:
    """The class name; a mixed label (MixUp, CutMix) as its two largest shares."""
    if y.ndim == 0:
        return class_names[int(y)]
    shares, classes = y.float().topk(min(2, len(y)))
    if shares[0] >= 0.999:
        return class_names[int(classes[0])]
    return " + ".join(f"{class_names[int(k)]} {float(s):.2f}" for s, k in zip(shares, classes, strict=True))


def image_grid(x: torch.Tensor, y: torch.Tensor, class_names: list[str], strategy: str) -> Figure:
    """Images ``[N, C, H, W]`` with pixels in [0, 1] in a square grid, each titled with its label."""
    n = len(x)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(1.7 * cols, 1.8 * rows + 0.4))
    # clamp: photometric jitter may overshoot [0, 1], which imshow would otherwise warn about and clip
    images = x.detach().float().cpu().clamp(0, 1).permute(0, 2, 3, 1).numpy()  # [N, H, W, C]
    for i, ax in enumerate(fig.subplots(rows, cols, squeeze=False).flat):
        ax.axis("off")
        if i < n:
            colour = images.shape[-1] == 3
            ax.imshow(images[i] if colour else images[i, ..., 0], cmap=None if colour else "gray", vmin=0, vmax=1)
            ax.set_title(_label(y[i].cpu(), class_names), fontsize=7)
    fig.suptitle(_title(strategy), fontsize=9)
    # fixed margins: tight_layout renders the figure once more to measure it, about half the drawing time
    # of a job's one picture
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=1 - 0.5 / fig.get_figheight(), hspace=0.35,
                        wspace=0.1)
    return fig


def _cell_colours(ids: np.ndarray, mask_item: int | None) -> np.ndarray:
    """RGB per cell: an item's colour follows its id (repeats stand out), padding grey, mask items red."""
    palette = np.asarray(colormaps["tab20"].colors)[:, :3] * 0.45 + 0.55  # light, so ids stay readable
    rgb = palette[ids % len(palette)]
    rgb[ids == 0] = PADDING_RGB
    if mask_item is not None:
        rgb[ids == mask_item] = MASK_RGB
    return rgb


def sequence_rows(x: torch.Tensor, y: torch.Tensor, mask_item: int | None, strategy: str) -> Figure:
    """Histories ``[N, L]`` (left-aligned, 0 = padding) as a table of item ids, then the next item ``y [N]``.

    Columns that are padding in every shown row are left out; one column of padding stays visible.
    """
    hist, target = x.detach().cpu().numpy(), y.detach().cpu().numpy()
    used = np.flatnonzero((hist > 0).any(axis=0))
    width = min(hist.shape[1], (used[-1] + 2) if len(used) else 1)
    ids = np.concatenate([hist[:, :width], np.zeros((len(hist), 1), int), target[:, None]], axis=1)
    rgb = _cell_colours(ids, mask_item)
    rgb[:, width] = 1.0  # a white gap before the target column
    fig = Figure(figsize=(0.32 * ids.shape[1] + 1.2, 0.32 * len(ids) + 1.1))
    ax = fig.subplots()
    ax.imshow(rgb, aspect="auto", interpolation="nearest")
    for (row, col), item in np.ndenumerate(ids):
        if item > 0 and col != width:
            masked = item == mask_item
            text = "M" if masked else str(item)
            ax.text(col, row, text, ha="center", va="center", fontsize=6 if len(text) < 5 else 4.5,
                    color="white" if masked else "black")
    ticks = list(range(0, width, 5))
    ax.set_xticks([*ticks, width + 1], [*(str(t) for t in ticks), "next"], fontsize=7)
    ax.set_yticks(range(len(ids)), [str(r) for r in range(len(ids))], fontsize=7)
    ax.set_xlabel("history position (oldest first); grey = padding (0), M = mask item", fontsize=7)
    ax.set_ylabel("example", fontsize=7)
    ax.set_title(_title(strategy), fontsize=9)
    fig.tight_layout()
    return fig


def text_table(texts: list[str], y: torch.Tensor, class_names: list[str], strategy: str, width: int = 110) -> Figure:
    """Texts (decoded from the batch's token ids, so truncation and edits show) with their labels."""
    lines = [f"[{_label(label.cpu(), class_names)}] {text[:width] + ('...' if len(text) > width else '')}"
             for text, label in zip(texts, y, strict=True)]
    fig = Figure(figsize=(9, 0.32 * len(lines) + 0.8))
    ax = fig.subplots()
    ax.axis("off")
    for row, line in enumerate(lines):
        ax.text(0, 1 - (row + 0.5) / len(lines), line, fontsize=7, family="monospace", va="center",
                transform=ax.transAxes)
    ax.set_title(_title(strategy), fontsize=9)
    fig.tight_layout()
    return fig


def generated_text_table(records: list[dict], strategy: str, width: int = 60, *, sample: int = 14) -> Figure:
    """Generated texts beside what they came from, with the filter's decision (kept, or the reason): ``sample``
    of them, spread over the whole list (every class or document, kept and dropped)."""
    records = records[::max(1, len(records) // sample)][:sample]
    def cut(text: str) -> str:
        return text[:width] + ("..." if len(text) > width else "")

    lines = [f"{'kept ' if r['kept'] else (r['reason'] or '')[:5].ljust(5)} [{r['label']}] {cut(str(r['original']))}"
             f"  ->  {cut(str(r['generated']))}" for r in records]
    fig = Figure(figsize=(13, 0.32 * len(lines) + 0.8))
    ax = fig.subplots()
    ax.axis("off")
    for row, line in enumerate(lines):
        ax.text(0, 1 - (row + 0.5) / len(lines), line, fontsize=7, family="monospace", va="center",
                transform=ax.transAxes, color="black" if records[row]["kept"] else "0.45")
    ax.set_title(f"augment={strategy}: generated texts (grey: dropped by a filter, reason first)", fontsize=9)
    fig.tight_layout()
    return fig


def perturbation_sizes(sizes: torch.Tensor, strategy: str) -> Figure:
    """The L2 size of each example's adversarial perturbation ``[B]`` (in units of the embeddings' RMS)."""
    values = sizes.detach().float().cpu().numpy()
    fig = Figure(figsize=(7, 3))
    ax = fig.subplots()
    ax.bar(range(len(values)), values, color="tab:red")
    ax.set_xlabel("example of the first training batch", fontsize=8)
    ax.set_ylabel("|perturbation| / embedding RMS", fontsize=8)
    ax.set_title(_title(strategy) + ": adversarial perturbation sizes", fontsize=9)
    fig.tight_layout()
    return fig
