"""A report's tables as Markdown, LaTeX (booktabs, each group's best mean in bold, verdicts marked) and a bar
chart; the CSV file is ``report_csv.py``'s."""

from __future__ import annotations

import math
from pathlib import Path

from auglab.report.tables import BASELINE, Row, best_rows

PRIMARY = ("strategy", "runs", "failed", "mean", "95% CI ±", "Δ vs none", "Δ interval (verdict's)",
           "P(worse / ≈ / better)", "verdict", "steps", "examples seen")
SECONDARY = ("strategy", "runs", "failed", "mean", "95% CI ±", "Δ vs none", "Δ 95% interval")
MARKS = {"helps": r"$\uparrow$", "hurts": r"$\downarrow$", "equivalent": r"$\approx$"}
FLAGS = {"unknown": "*", "bound": "‡"}  # how the test set's error entered the interval (verdicts.Comparison)


def _fmt(x: float, signed: bool = False) -> str:
    if math.isnan(x):
        return "–"
    return f"{x:+.4f}" if signed else f"{x:.4f}"


def _group_cells(row: Row) -> list[str]:
    return [item.split("=", 1)[1] for item in row.group]


def interval(r: Row, *, verdicts: bool = True) -> str:
    """``[low, high]`` (the verdict's interval, or the unadjusted 95 % one), flagged ``*`` when the runs left no
    per-example outcomes and ``‡`` when an old report's bound stands in for the shared test error."""
    low, high = (r.low, r.high) if verdicts else (r.low95, r.high95)
    if math.isnan(low):
        return "–"
    return f"[{low:+.4f}, {high:+.4f}]" + FLAGS.get(r.test_part, "")


def _count(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:,.0f}"


def _posterior(r: Row, rope: float) -> str:
    c = r.comparison
    if c is None or math.isnan(c.p_worse):
        return "–"
    return f"{c.p_worse:.2f} / {f'{c.p_rope:.2f}' if rope else '–'} / {c.p_better:.2f}"


def _cells(r: Row, primary: bool, rope: float = 0.0) -> list[str]:
    head = [*_group_cells(r), r.strategy, str(r.runs), str(r.failed), _fmt(r.mean), _fmt(r.ci95), _fmt(r.diff, True),
            interval(r, verdicts=primary)]
    return [*head, _posterior(r, rope), r.verdict or "–", _count(r.steps), _count(r.examples)] if primary else head


def method_note(rows: list[Row], *, primary: bool, alpha: float, rope: float, looks: int) -> str:
    """The line under a table that says what its intervals are."""
    flags = {r.test_part for r in rows}
    notes = []
    if primary:
        levels = {r.comparison.level for r in rows if r.comparison is not None and r.comparison.testable}
        m = sum(1 for r in rows if r.comparison is not None and r.comparison.testable)
        if levels:
            spent = f" x {looks} looks" if looks > 1 else ""
            notes.append(f"Verdicts on this metric, one family of {m} comparison(s){spent}: "
                         f"each interval at {100 * (1 - levels.pop()):.3g} %, so all hold together with "
                         f"{100 * (1 - alpha):g} % (Bonferroni); the verdict is read off it"
                         f"{f' (ROPE ±{rope:g})' if rope else ' (no ROPE: no equivalence verdict)'}. "
                         "P(worse / ≈ / better): posterior mass below, inside and above the ROPE (t on k - 1 df, "
                         "flat prior).")
    else:
        notes.append("Secondary metric: described, not decided (unadjusted 95 % intervals).")
    if "unknown" in flags:
        notes.append("* seeds only: the runs kept no per-example outcomes, so the interval is about this test set.")
    if "bound" in flags:
        notes.append("‡ an old report's test-set variance stands in for the shared part (an upper bound: "
                     "conservative).")
    return " ".join(notes)


def markdown(metric: str, rows: list[Row], keys: list[str], *, primary: bool = True, alpha: float = 0.05,
             rope: float = 0.0, looks: int = 1) -> str:
    columns = PRIMARY if primary else SECONDARY
    header = [*keys, *columns]
    lines = [f"### {metric}{' (primary)' if primary else ''}", "", "| " + " | ".join(header) + " |",
             "|---" * (len(keys) + 1) + "|---:" * (len(columns) - 1) + "|"]
    lines += ["| " + " | ".join(_cells(r, primary, rope)) + " |" for r in rows]
    note = method_note(rows, primary=primary, alpha=alpha, rope=rope, looks=looks)
    return "\n".join(lines) + "\n" + (f"\n{note}\n" if note else "")


def _tex(text: str) -> str:
    return text.replace("_", r"\_").replace("%", r"\%").replace("–", "--").replace("Δ", r"$\Delta$")


def latex(metric: str, rows: list[Row], keys: list[str], *, primary: bool = True) -> str:
    """A booktabs table: mean ± 95 % CI, Δ with its interval (the verdict's on the primary metric); each
    group's best mean in bold."""
    best = best_rows(rows, metric)
    which = "simultaneous interval" if primary else r"95\% interval"
    header = [*keys, "strategy", "runs", "failed", r"mean $\pm$ 95\% CI", rf"$\Delta$ vs none [{which}]",
              *(["verdict"] if primary else [])]
    caption = (rf"{_tex(metric)}: mean and 95\% CI over seeds; " + (
        r"verdict ($\uparrow$ helps, $\downarrow$ hurts, $\approx$ equivalent, ? undecided) read off intervals "
        r"that hold together over the report's comparisons" if primary else r"described, not decided"))
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{caption}}}",
             r"\begin{tabular}{" + "l" * (len(keys) + 1) + "rrrr" + ("c" if primary else "") + "}", r"\toprule",
             " & ".join(_tex(h) if "$" not in h else h for h in header) + r" \\", r"\midrule"]
    for i, r in enumerate(rows):
        mean = _fmt(r.mean) if math.isnan(r.ci95) else rf"{_fmt(r.mean)} $\pm$ {_fmt(r.ci95)}"
        if i in best:
            mean = rf"\textbf{{{mean}}}"
        low, high = (r.low, r.high) if primary else (r.low95, r.high95)
        diff = _fmt(r.diff, True) + ("" if math.isnan(low) else f" [{_fmt(low, True)}, {_fmt(high, True)}]")
        cells = [*(_tex(c) for c in _group_cells(r)), _tex(r.strategy), str(r.runs), str(r.failed), mean,
                 "--" if r.strategy == BASELINE else diff]
        if primary:
            cells.append("" if r.strategy == BASELINE or not r.verdict else MARKS.get(r.verdict.split(":")[0], "?"))
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
