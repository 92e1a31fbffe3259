"""auglab's Hydra plugins (Hydra only instantiates plugins that live under ``hydra_plugins``)."""

import importlib

PLUGINS = {  # module: class; each needs its engine (the ``sweeps`` extra), so a missing one is skipped
    "sequential": "SequentialLauncher",
    "local_gpus": "LocalGpusLauncher",
    "resumable_optuna": "ResumableOptunaSweeper",
}


def register() -> None:
    """Register the plugins with Hydra by hand: its plugin scan does not see an editable install's packages."""
    from hydra.core.plugins import Plugins

    for module, name in PLUGINS.items():
        try:
            plugin = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        except ImportError:  # e.g. optuna not installed: hparams_search is unavailable, the rest works
            continue
        Plugins.instance().register(plugin)
