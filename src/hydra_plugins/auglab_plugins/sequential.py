"""``hydra/launcher=sequential`` (the default): Hydra's basic launcher, one job after another in this
process, telling the sweep console how many jobs there are so it can show progress."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from hydra._internal.core_plugins import basic_launcher
from hydra._internal.core_plugins.basic_launcher import BasicLauncher
from hydra.core.utils import JobReturn

from auglab.sweep import console as sweep_console


class SequentialLauncher(BasicLauncher):
    """Hydra's basic launcher; announces the number of jobs to ``sweep/console.py`` first."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        assert self.config is not None
        sweep_console.begin(Path(str(self.config.hydra.sweep.dir)), total=len(job_overrides))
        # each job prints its own start line; the basic launcher's "#i : overrides" line would repeat it
        logging.getLogger(basic_launcher.__name__).setLevel(logging.WARNING)
        return super().launch(job_overrides, initial_job_idx)
