"""``auglab-report --wandb``: the report as a W&B run of its own, in the same group as the sweep's runs.

The run (job type ``report``) holds the summary table (every metric's rows, as ``report.csv``) and
the chart, so the dashboard shows the statistics next to the training runs they summarise. With
``WANDB_MODE=offline`` it is written under the report folder for a later ``wandb sync``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from auglab.errors import AuglabError, one_line
from auglab.report.report_csv import flat_table
from auglab.report.tables import Row


def _cell(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value  # W&B's table JSON has no NaN


def sweep_group(sweeps: list[Path]) -> str:
    """The W&B group of a sweep's training runs is its folder's name (``conf/logger/wandb.yaml``)."""
    return "+".join(sweep.resolve().name for sweep in sweeps)


def upload(tables: dict[str, list[Row]], keys: list[str], primary: str, charts: dict[str, Path], *, sweeps: list[Path],
           out: Path, project: str) -> str:
    """Log the summary table and the charts (name -> PNG) as one W&B run under ``out``; return its URL or
    local folder."""
    try:
        import wandb
        from wandb.errors import Error as WandbError
    except ImportError as err:
        raise AuglabError("--wandb needs the wandb package (pip install wandb)") from err
    columns, data = flat_table(tables, keys, primary)
    group = sweep_group(sweeps)
    try:
        run = wandb.init(project=project, group=group, job_type="report", name=f"report {group}", dir=str(out),
                         config={"sweeps": [str(s) for s in sweeps], "metrics": list(tables), "grouped_by": keys,
                                 "primary": primary})
    except WandbError as err:  # no account, no network
        cause = one_line(err).rstrip(".")
        raise AuglabError(f"W&B: {cause}; run with WANDB_MODE=offline and `wandb sync` later") from err
    try:
        run.log({"report/summary": wandb.Table(columns=columns, data=[[_cell(v) for v in row] for row in data]),
                 **{f"report/{name}": wandb.Image(str(path)) for name, path in charts.items()}})
    finally:
        run.finish()
    return str(run.settings.sync_dir) if run.offline else str(run.url)
