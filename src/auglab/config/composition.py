"""Configs composed by Hydra on request, for code that needs another option's config than the run's."""

from __future__ import annotations

from omegaconf import DictConfig


def compose_model(name: str) -> DictConfig:
    """The ``model=<name>`` option as Hydra composes it (with the user's ``--config-dir`` in a running
    command); e.g. the generator that ``augment=cgan_samples`` trains."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():  # inside an auglab command: its own search path
        return compose(config_name="train", overrides=[f"model={name}"]).model
    with initialize_config_module(config_module="auglab.conf", version_base="1.3"):
        return compose(config_name="train", overrides=[f"model={name}"]).model


def model_defaults(name: str, keys: tuple[str, ...] = ("monitor", "monitor_mode", "ks", "ties", "chunk_size")) -> dict:
    """Those of ``keys`` that the ``model=<name>`` option sets, as plain values: what code that builds a model
    by hand (tests, benchmarks) takes from the YAML, the one home of these defaults."""
    from omegaconf import OmegaConf

    node = OmegaConf.to_container(compose_model(name))
    return {k: node[k] for k in keys if k in node}


def data_defaults(option: str, /, **overrides: object) -> dict:
    """The ``data=<option>`` option's keyword arguments as the YAML sets them (resolved, ``_target_`` left out),
    updated with ``overrides``: how code that builds a datamodule by hand (tests, benchmarks) gets the options
    it does not set itself from their one home."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    import auglab.config  # noqa: F401  (the resolvers the data options use)

    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="auglab.conf", version_base="1.3"):
        node = compose(config_name="train", overrides=[f"data={option}"]).data
    options = {k: v for k, v in OmegaConf.to_container(node, resolve=True).items() if k != "_target_"}
    return {**options, **overrides}
