"""``hparams_search=...``: Hydra's Optuna sweeper, made to continue an interrupted search.

The search's study lives in SQLite in the sweep folder. Run again with the same ``hydra.sweep.dir``,
the sweeper runs only the trials still missing, and a trial that was running when the search stopped
is asked again with the same parameters: its job folder (named by the job's identity) still holds
``last.ckpt``, so that job resumes instead of starting over. One search process per study: trials
found running are taken to be left over from an interrupted run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import optuna
from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper
from optuna.trial import TrialState

from auglab.sweep import console as sweep_console

log = logging.getLogger(__name__)

INTERRUPTED = "auglab_interrupted"  # user attribute of a trial failed by an interruption (asked again)
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class ResumableOptunaSweeper(OptunaSweeper):
    """Hydra's Optuna sweeper that continues the study it finds in the sweep folder."""

    def sweep(self, arguments: list[str]) -> None:
        impl: Any = self.sweeper
        sweep_dir = Path(str(impl.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)  # the study's SQLite file goes there
        if impl.storage and impl.study_name:
            done, impl.n_trials = self._continue(impl.storage, impl.study_name, impl.n_trials)
            if done and hasattr(impl.sampler, "reseed_rng"):  # else a seeded sampler repeats its first picks
                impl.sampler.reseed_rng()
        sweep_console.begin(sweep_dir, total=impl.n_trials, planned=True)
        try:
            super().sweep(arguments)
        except ValueError as err:
            if "No trials are completed yet" not in str(err):
                raise
            sweep_console.say("[sweep] search ended with no completed trial; see the failed jobs' run.json")
            return
        if impl.storage and impl.study_name:
            best = optuna.load_study(study_name=impl.study_name, storage=impl.storage).best_trial
            params = " ".join(f"{k}={v}" for k, v in best.params.items())
            sweep_console.say(f"[sweep] best trial {best.number}: {best.value:.4f}  {params}")

    @staticmethod
    def _continue(storage: str, study_name: str, n_trials: int) -> tuple[int, int]:
        """(trials done, trials still to run); re-asks the trials an interruption left running."""
        try:
            study = optuna.load_study(study_name=study_name, storage=storage)
        except KeyError:  # a new search
            return 0, n_trials
        interrupted = [t for t in study.trials if t.state == TrialState.RUNNING]
        for trial in interrupted:
            study._storage.set_trial_user_attr(trial._trial_id, INTERRUPTED, True)  # not a finished trial
            study.tell(trial.number, state=TrialState.FAIL)  # nothing runs it any more
            study.enqueue_trial(trial.params)
        done = sum(1 for t in study.trials if t.state in FINISHED and not t.user_attrs.get(INTERRUPTED))
        left = max(n_trials - done, 0)
        log.info("continuing Optuna study %s: %d trials done, %d to run (%d interrupted, asked again)",
                 study_name, done, left, len(interrupted))
        return done, left
