"""``hparams_search=...``: Hydra's Optuna sweeper, made to continue an interrupted search.

The search's study lives in SQLite in the sweep folder. Run again with the same ``hydra.sweep.dir``,
the sweeper runs only the trials still missing, and a trial that was running when the search stopped
is asked again with the same parameters: its job folder (named by the job's identity) still holds
``last.ckpt``, so that job resumes instead of starting over.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import optuna
from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper
from optuna.trial import TrialState

from auglab import sweep_console

log = logging.getLogger(__name__)


class ResumableOptunaSweeper(OptunaSweeper):
    def sweep(self, arguments: list[str]) -> None:
        impl: Any = self.sweeper
        sweep_dir = Path(str(impl.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)  # the study's SQLite file goes there
        if impl.storage and impl.study_name:
            impl.n_trials = self._continue(impl.storage, impl.study_name, impl.n_trials)
        sweep_console.begin(sweep_dir, total=impl.n_trials, planned=True)
        return super().sweep(arguments)

    @staticmethod
    def _continue(storage: str, study_name: str, n_trials: int) -> int:
        """The trials still to run: re-asks the ones an interruption left running, counts the rest as done."""
        try:
            study = optuna.load_study(study_name=study_name, storage=storage)
        except KeyError:  # a new search
            return n_trials
        interrupted = [t for t in study.trials if t.state == TrialState.RUNNING]
        for trial in interrupted:
            study.tell(trial.number, state=TrialState.FAIL)  # nothing runs it any more
            study.enqueue_trial(trial.params)
        finished = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        done = sum(1 for t in study.trials if t.state in finished) - len(interrupted)
        left = max(n_trials - done, 0)
        log.info("continuing Optuna study %s: %d trials done, %d to run (%d interrupted, asked again)",
                 study_name, done, left, len(interrupted))
        return left
