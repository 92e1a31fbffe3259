"""auglab's Hydra plugins (Hydra only instantiates plugins that live under ``hydra_plugins``)."""


def register() -> None:
    """Register the plugins with Hydra by hand: its plugin scan does not see an editable install's packages."""
    from hydra.core.plugins import Plugins

    from hydra_plugins.auglab_plugins.local_gpus import LocalGpusLauncher
    from hydra_plugins.auglab_plugins.resumable_optuna import ResumableOptunaSweeper
    from hydra_plugins.auglab_plugins.sequential import SequentialLauncher

    for plugin in (LocalGpusLauncher, SequentialLauncher, ResumableOptunaSweeper):
        Plugins.instance().register(plugin)
