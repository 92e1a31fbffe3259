"""A report's tables as Markdown, CSV, LaTeX (booktabs, each group's best mean in bold, verdicts marked) and a
bar chart."""

from __future__ import annotations

import math
from pathlib import Path

from auglab.report.tables import BASELINE, Row, best_rows

COLUMNS = ("strategy", "runs", "failed", "mean", "95% CI ±", "Δ vs none", "Δ 95% CI ±", "Δ 95% interval",
           "verdict", "steps", "examples seen")
MARKS = {"helps": r"$\uparrow$", "hurts": r"$\downarrow$", "equivalent": r"$\approx$"}


def _fmt(x: float, signed: bool = False) -> str:
    if math.isnan(x):
        return "–"
    return f"{x:+.4f}" if signed else f"{x:.4f}"


def _group_cells(row: Row) -> list[str]:
    return [item.split("=", 1)[1] for item in row.group]


def interval(r: Row) -> str:
    """``[low, high]``; ``*`` when the runs left no per-example outcomes (seed-to-seed error only)."""
    if math.isnan(r.low):
        return "–"
    return f"[{r.low:+.4f}, {r.high:+.4f}]" + ("" if r.test_part else "*")


def _count(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:,.0f}"


def _cells(r: Row) -> list[str]:
    return [*_group_cells(r), r.strategy, str(r.runs), str(r.failed), _fmt(r.mean), _fmt(r.ci95), _fmt(r.diff, True),
            _fmt(r.diff_ci95), interval(r), r.verdict or "–", _count(r.steps), _count(r.examples)]


def markdown(metric: str, rows: list[Row], keys: list[str]) -> str:
    header = [*keys, *COLUMNS]
    lines = [f"### {metric}", "", "| " + " | ".join(header) + " |",
             "|---" * (len(keys) + 1) + "|---:" * (len(COLUMNS) - 1) + "|"]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def flat_table(tables: dict[str, list[Row]], keys: list[str]) -> tuple[list[str], list[list]]:
    """Every metric's rows in one table, values unformatted: the CSV file's and W&B's summary table."""
    columns = ["metric", *keys, "strategy", "runs", "failed", "mean", "ci95", "diff_vs_none", "diff_ci95",
               "diff_low", "diff_high", "includes_test_sampling", "verdict", "p_difference", "p_equivalence",
               "detectable_diff", "seeds_needed", "optimizer_steps", "examples_seen"]

    def stats(r: Row) -> list:
        c = r.comparison
        if c is None:
            return [math.nan, math.nan, math.nan, None]
        return [c.p_difference, c.p_equivalence, c.detectable, c.seeds_needed]

    data = [[metric, *_group_cells(r), r.strategy, r.runs, r.failed, r.mean, r.ci95, r.diff, r.diff_ci95, r.low,
             r.high, r.test_part, r.verdict, *stats(r), r.steps, r.examples]
            for metric, rows in tables.items() for r in rows]
    return columns, data


def csv(tables: dict[str, list[Row]], keys: list[str]) -> str:
    columns, data = flat_table(tables, keys)
    return "\n".join(",".join(map(str, line)) for line in [columns, *data]) + "\n"


def _tex(text: str) -> str:
    return text.replace("_", r"\_").replace("%", r"\%").replace("–", "--").replace("Δ", r"$\Delta$")


def latex(metric: str, rows: list[Row], keys: list[str]) -> str:
    """A booktabs table: mean ± interval, Δ ± paired interval; each group's best mean in bold."""
    def pm(value: float, half: float, signed: bool = False) -> str:
        text = _fmt(value, signed)
        return text if math.isnan(half) else rf"{text} $\pm$ {_fmt(half)}"

    best = best_rows(rows, metric)
    header = [*keys, "strategy", "runs", "failed", r"mean $\pm$ 95\% CI", r"$\Delta$ vs none $\pm$ 95\% CI", "verdict"]
    caption = (rf"{_tex(metric)}: mean and 95\% CI over seeds; verdict ($\uparrow$ helps, $\downarrow$ hurts, "
               r"$\approx$ equivalent, ? undecided) with Holm's control over the group's strategies")
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{caption}}}",
             r"\begin{tabular}{" + "l" * (len(keys) + 1) + "rrrrc}", r"\toprule",
             " & ".join(_tex(h) if "$" not in h else h for h in header) + r" \\", r"\midrule"]
    for i, r in enumerate(rows):
        mean = pm(r.mean, r.ci95)
        if i in best:
            mean = rf"\textbf{{{mean}}}"
        cells = [*(_tex(c) for c in _group_cells(r)), _tex(r.strategy), str(r.runs), str(r.failed), mean,
                 "--" if r.strategy == BASELINE else pm(r.diff, r.diff_ci95, signed=True),
                 "" if r.strategy == BASELINE or not r.verdict else MARKS.get(r.verdict, "?")]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def bar_chart(tables: dict[str, list[Row]], path: Path) -> None:
    """One panel per metric: mean per (group, strategy) with 95% CI error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = max(len(rows) for rows in tables.values())
    if bars <= 12:  # panels side by side
        fig, axes = plt.subplots(1, len(tables), figsize=(4.5 * len(tables), 4), squeeze=False)
    else:  # many groups: one wide panel per metric, stacked
        fig, axes = plt.subplots(len(tables), 1, figsize=(0.4 * bars + 1, 4.5 * len(tables)), squeeze=False)
    for ax, (metric, rows) in zip(axes.flat, tables.items(), strict=True):
        names = [", ".join([*_group_cells(r), r.strategy]) for r in rows]
        ax.bar(names, [r.mean for r in rows], yerr=[0 if math.isnan(r.ci95) else r.ci95 for r in rows],
               capsize=3, color=["grey" if r.strategy == BASELINE else "tab:blue" for r in rows])
        low = [r.mean - (0 if math.isnan(r.ci95) else r.ci95) for r in rows if not math.isnan(r.mean)]
        high = [r.mean + (0 if math.isnan(r.ci95) else r.ci95) for r in rows if not math.isnan(r.mean)]
        if low:  # the whole error bars in view
            pad = max(max(high) - min(low), 0.01) * 0.1
            top = max(high) + pad
            ax.set_ylim(max(0.0, min(low) - pad), min(1.0, top) if max(high) <= 1 else top)
        ax.set_title(metric)
        plt.setp(ax.get_xticklabels(), rotation=60, ha="right", rotation_mode="anchor")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
