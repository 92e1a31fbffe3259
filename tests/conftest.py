"""Shared fixtures: the real configs composed in-process, CLI runs in subprocesses, tiny image folders."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict
from PIL import Image

import auglab.config  # noqa: F401  (registers the configs' resolvers and schema)

ROOT = Path(__file__).resolve().parents[1]


def compose_cfg(overrides: list[str], out_dir: Path, config_name: str = "train") -> DictConfig:
    """Compose a real config as ``auglab-train`` would, with outputs in ``out_dir``."""
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="auglab.conf", version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(out_dir)
        cfg.hydra.job.num = 0
    HydraConfig().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(out_dir)
        del cfg.hydra
    return cfg


def run_cli(args: list[str], cwd: Path, timeout: int = 300, **env: str) -> subprocess.CompletedProcess:
    """Run an auglab command (``train``, ``evaluate``, ``report``) as a user would."""
    module, *rest = args
    full_env = {**os.environ, "WANDB_MODE": "offline", "PYTHONUNBUFFERED": "1", **env}
    return subprocess.run([sys.executable, "-m", f"auglab.{module}", *rest], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def assert_eval_reproduces(ckpt: Path, expected: dict, tmp_path: Path, *, approx: tuple[str, ...] = ("test/loss",),
                           rel: float = 1e-5) -> Path:
    """``auglab-eval`` of ``ckpt`` in one process (cpu) and two (ddp_cpu) gives the ``expected`` test metrics:
    counts exactly (no example seen twice or left out), metrics starting with ``approx`` (float sums in
    another order) to ``rel``. Returns the two-process eval folder."""
    import json

    for trainer in ("cpu", "ddp_cpu"):
        folder = tmp_path / f"eval_{trainer}"
        proc = run_cli(["evaluate", f"ckpt_path={ckpt}", f"trainer={trainer}", f"hydra.run.dir={folder}"], tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        got = json.loads((folder / "metrics.json").read_text())
        assert got.keys() == expected.keys()
        for name, value in expected.items():
            assert got[name] == (pytest.approx(value, rel=rel) if name.startswith(approx) else value), (trainer, name)
        assert_same_predictions(ckpt.parent.parent / "predictions.npz", folder / "predictions.npz")
    return folder


def assert_same_predictions(first: Path, second: Path) -> None:
    """The per-example test outcomes of two runs: integers exactly, probabilities to float precision."""
    import numpy as np

    from auglab.metrics import per_example

    a, b = per_example.load(first), per_example.load(second)
    assert a is not None and b is not None and a.keys() == b.keys()
    for name in a:
        if np.issubdtype(a[name].dtype, np.floating):
            np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-6, err_msg=name)
        else:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def make_image_folder(root: Path, counts: dict[str, int], *, seed: int = 0, size: tuple[int, int] = (40, 30)) -> Path:
    """Class folders of PNG/JPEG images, mixed grey and colour, each class with its own mean colour."""
    rng = np.random.default_rng(seed)
    for k, (name, n) in enumerate(counts.items()):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            base = 40 + 50 * k
            pixels = np.clip(rng.normal(base, 25, (*size[::-1], 3)), 0, 255).astype(np.uint8)
            pixels[: size[1] // 2, :, k % 3] = 255  # a class-specific stripe, so classes are learnable
            img = Image.fromarray(pixels)
            if i % 3 == 0:
                img.convert("L").save(folder / f"{i}.png")
            else:
                img.save(folder / f"{i}.jpg")
    return root


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """Three classes with train/ (45 images) and test/ (13 images, odd for two DDP ranks) splits."""
    make_image_folder(tmp_path / "shop" / "train", {"bag": 15, "shoe": 15, "shirt": 15}, seed=0)
    make_image_folder(tmp_path / "shop" / "test", {"bag": 5, "shoe": 4, "shirt": 4}, seed=1)
    return tmp_path / "shop"



@functools.cache
def _defaults(name: str) -> tuple:
    from auglab.config.composition import model_defaults

    GlobalHydra.instance().clear()
    return tuple(model_defaults(name).items())


def monitoring(name: str) -> dict:
    """``monitor``, ``monitor_mode`` (and a ranker's ``ks``, ``ties``, ``chunk_size``) of ``model=<name>``, for models
    built by hand."""
    return dict(_defaults(name))


@functools.cache
def _data_options(name: str) -> tuple:
    from auglab.config.composition import data_defaults

    return tuple(data_defaults(name).items())


def build_data(option: str, /, **overrides):
    """The datamodule of ``data=<option>`` built by hand: every option its YAML sets (their one home), updated
    with ``overrides`` (``augment``, ``context`` and the options a test is about)."""
    from hydra.utils import get_class
    from omegaconf import OmegaConf

    target = OmegaConf.load(ROOT / "conf" / "data" / f"{option}.yaml")._target_
    return get_class(target)(**{**dict(_data_options(option)), **overrides})
