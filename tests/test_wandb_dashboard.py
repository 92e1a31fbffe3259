"""W&B dashboards, offline: top-level keys to group runs by, pictures in every logger that takes them,
the augmented-batch preview for images and sequences, and ``auglab-report --wandb``."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.loggers import CSVLogger, WandbLogger
from omegaconf import OmegaConf
from PIL import Image

from auglab.callbacks.augmented_preview import AugmentedPreview
from auglab.figures.batch_previews import MASK_RGB, PADDING_RGB, image_grid, sequence_rows
from auglab.report import main as report_main
from auglab.run.loggers import dashboard_keys, run_config
from auglab.train import train
from tests.conftest import compose_cfg, run_cli
from tests.test_report import write_sweep_job

FAST = ["debug=fast", "trainer=cpu", "callbacks.progress.refresh_rate=0"]
BLOCK = 32768  # the .wandb transaction log: LevelDB's log format in 32 KiB blocks after a 7-byte header


def wandb_env(tmp_path: Path) -> dict[str, str]:
    """Offline, quiet, and every W&B folder under the test's own."""
    return {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(tmp_path / "wandb"),
            **{f"WANDB_{name}_DIR": str(tmp_path / f"wandb_{name.lower()}") for name in
               ("CACHE", "CONFIG", "DATA", "ARTIFACT")}}


def read_offline_run(folder: Path) -> dict:
    """Group, job type, config (top-level key -> value) and logged files of one offline run folder.

    wandb 0.31 writes no ``files/config.yaml`` offline, so this reads the run's ``.wandb`` log itself.
    """
    from wandb.proto import wandb_internal_pb2 as pb

    raw = next(folder.glob("run-*.wandb")).read_bytes()
    assert raw[:4] == b":W&B"
    run: dict = {"config": {}, "files": []}
    pos, pending = 7, b""
    while pos + 7 <= len(raw):
        if BLOCK - pos % BLOCK < 7:  # a block's tail too short for a header is padding
            pos += BLOCK - pos % BLOCK
            continue
        length, kind = struct.unpack("<HB", raw[pos + 4:pos + 7])
        chunk, pos = raw[pos + 7:pos + 7 + length], pos + 7 + length
        if kind == 0:
            break
        pending = chunk if kind in (1, 2) else pending + chunk  # full/first start a record, middle/last extend it
        if kind not in (1, 4):
            continue
        record = pb.Record()
        record.ParseFromString(pending)
        which = record.WhichOneof("record_type")
        if which == "run":
            run["group"], run["job_type"] = record.run.run_group, record.run.job_type
            updates = record.run.config.update
        elif which == "config":
            updates = record.config.update
        else:
            updates = ()
            if which == "files":
                run["files"] += [f.path for f in record.files.files]
        run["config"].update({u.key: json.loads(u.value_json) for u in updates})
    return run


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def _logged(run_dir: Path, run: dict, prefix: str) -> Path:
    """The one media file the run logged under ``prefix``, which must exist on disk."""
    (name,) = [f for f in run["files"] if f.startswith(prefix)]
    return run_dir / "files" / name


@pytest.mark.slow  # an end-to-end run of 20-60 s on 2 cores; CI runs it
def test_sweep_runs_carry_group_by_keys_and_pictures_and_the_report_joins_their_group(tmp_path):
    sweep = tmp_path / "wb_sweep"
    proc = run_cli(["train", "-m", *FAST, "seed=0,1", "augment=cutmix", "data.train_per_class=8", "logger=many",
                    f"hydra.sweep.dir={sweep}"], tmp_path, **wandb_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = sorted(p for p in sweep.iterdir() if (p / "job.json").exists())
    assert [j.name.split("-")[:2] for j in jobs] == [["cutmix", "s0"], ["cutmix", "s1"]]
    for seed, job in enumerate(jobs):
        (run_dir,) = job.glob("wandb/offline-run-*")
        run = read_offline_run(run_dir)
        assert run["group"] == "wb_sweep" and run["job_type"] == "train"
        config = run["config"]
        assert {k: config[k] for k in ("augment", "data", "model", "seed", "train_per_class", "debug")} == {
            "augment": "cutmix", "data": "fashion_mnist", "model": "image_cnn", "seed": seed, "train_per_class": 8,
            "debug": "fast"}
        assert "refresh_rate" not in config and "logger" not in config  # volatile: never worth grouping by
        # the full resolved config, nested, is the one the job saved
        assert config["cfg"]["data"] == OmegaConf.to_container(OmegaConf.load(job / "config.yaml").data)
        # the run folder's pictures, byte for byte, in the W&B run and in TensorBoard
        for key, png in (("train/augmented_preview", "augmented_preview.png"),
                         ("test/confusion_matrix", "confusion_matrix.png")):
            logged = _logged(run_dir, run, f"media/images/{key}_")
            assert logged.read_bytes() == (job / png).read_bytes()
        preview = _pixels(job / "augmented_preview.png")
        assert preview.shape[0] > 300 and preview.std() > 20  # a grid of pictures, not a blank canvas
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        events = EventAccumulator(str(job / "tensorboard"), size_guidance={"images": 0})
        events.Reload()
        assert set(events.Tags()["images"]) == {"train/augmented_preview", "test/confusion_matrix"}
        assert events.Images("train/augmented_preview")[0].height == preview.shape[0]

    rep = run_cli(["report", str(sweep), "--wandb", "--wandb-project", "dash"], tmp_path, **wandb_env(tmp_path))
    assert rep.returncode == 0, rep.stderr[-3000:]
    (run_dir,) = (sweep / "report").glob("wandb/offline-run-*")
    assert f"W&B run: {run_dir}" in rep.stderr
    run = read_offline_run(run_dir)
    assert run["group"] == "wb_sweep" and run["job_type"] == "report"  # beside the runs it summarises
    table = json.loads(_logged(run_dir, run, "media/table/report/summary_").read_text())
    row = dict(zip(table["columns"], next(r for r in table["data"] if r[0] == "test/acc"), strict=True))
    accs = [json.loads((job / "metrics.json").read_text())["test/acc"] for job in jobs]
    assert row["strategy"] == "cutmix" and row["runs"] == 2 and row["mean"] == pytest.approx(sum(accs) / 2)
    assert _logged(run_dir, run, "media/images/report/chart_").read_bytes() == \
        (sweep / "report" / "report.png").read_bytes()


def test_report_wandb_table_has_no_nan_and_without_wandb_is_one_line(tmp_path, monkeypatch):
    sweep = tmp_path / "sweep"
    for strategy, acc in (("none", 0.70), ("mixup", 0.75)):  # one seed each: no interval (NaN in report.csv)
        write_sweep_job(sweep / strategy, strategy, 0, {"test/acc": acc})
    proc = run_cli(["report", str(sweep), "--wandb"], tmp_path, **wandb_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = (sweep / "report").glob("wandb/offline-run-*")
    run = read_offline_run(run_dir)
    table = json.loads(_logged(run_dir, run, "media/table/report/summary_").read_text())
    rows = {r[table["columns"].index("strategy")]: dict(zip(table["columns"], r, strict=True)) for r in table["data"]}
    assert rows["mixup"]["mean"] == pytest.approx(0.75) and rows["mixup"]["ci95"] is None
    assert rows["mixup"]["diff_vs_none"] == pytest.approx(0.05)

    monkeypatch.setitem(sys.modules, "wandb", None)  # as if wandb were not installed
    with pytest.raises(SystemExit, match=r"^auglab-report: error: --wandb needs the wandb package"):
        report_main([str(sweep), "--wandb"])


def test_dashboard_keys_name_overrides_by_last_name_unless_ambiguous(tmp_path):
    cfg = compose_cfg(["debug=fast_sequence", "trainer=cpu", "callbacks.progress.refresh_rate=0", "data=movielens_100k",
                       "model=gru4rec", "augment=seq_crop", "data.train_users=40", "model.optimizer.lr=0.01",
                       "+extra.seed=3", "+a.x=1", "+b.x=2", "logger=wandb"], tmp_path)
    # a single run is a group of its own, named like its run folder
    assert cfg.logger.wandb.group == Path(HydraConfig.get().run.dir).name
    keys = dashboard_keys(cfg)
    assert keys == {"augment": "seq_crop", "data": "movielens_100k", "model": "gru4rec", "seed": 0,
                    "debug": "fast_sequence",
                    "trainer": "cpu", "train_users": 40, "lr": 0.01, "extra.seed": 3, "a.x": 1, "b.x": 2}
    wandb_layout = run_config(WandbLogger(offline=True, save_dir=str(tmp_path)), cfg)
    assert wandb_layout["cfg"]["data"]["train_users"] == 40 and wandb_layout["augment"] == "seq_crop"
    full = run_config(CSVLogger(str(tmp_path)), cfg)  # CSV and TensorBoard: the resolved config as it is
    assert full["augment"]["name"] == "seq_crop" and "cfg" not in full


def test_sequence_run_writes_a_preview_after_the_device_stage(tmp_path):
    # seq_mask runs on the device stage only: red mask cells in the picture prove it shows batches after it
    cfg = compose_cfg(["data=movielens_100k", "model=gru4rec", "debug=fast_sequence", "trainer=cpu",
                       "callbacks.progress.refresh_rate=0", "augment=seq_mask", "augment.device.mask.p=1.0",
                       "augment.device.mask.gamma=0.5", "trainer.max_epochs=1", "+trainer.limit_train_batches=1",
                       "+trainer.limit_val_batches=1", "test=false"], tmp_path)
    train(cfg)
    pixels = _pixels(tmp_path / "augmented_preview.png")
    mask = np.all(np.abs(pixels.astype(int) - np.array(MASK_RGB) * 255) <= 2, axis=-1)
    assert mask.sum() > 100


def test_sequence_rows_shows_ids_padding_mask_and_targets():
    x = torch.tensor([[5, 7, 99, 0, 0, 0], [3, 0, 0, 0, 0, 0]])  # 99: the mask item; 0: padding
    fig = sequence_rows(x, torch.tensor([11, 12]), mask_item=99, strategy="seq_mask")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["5", "7", "M", "11", "3", "12"]
    cells = ax.images[0].get_array()  # columns: 3 used + 1 padding kept, the gap, the target
    assert cells.shape[:2] == (2, 6)
    assert np.allclose(cells[0, 2], MASK_RGB) and np.allclose(cells[1, 1], PADDING_RGB)
    assert np.allclose(cells[:, 4], 1.0)  # the white gap before the targets


def test_image_grid_titles_mixed_labels_by_their_shares():
    x = torch.rand(3, 1, 8, 8) * 1.4 - 0.2  # jitter may leave [0, 1]: drawn clamped
    y = torch.tensor([[0.0, 1.0], [0.7, 0.3], [1.0, 0.0]])
    fig = image_grid(x, y, ["bag", "shoe"], "mixup")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["shoe", "bag 0.70 + shoe 0.30", "bag"]
    assert len(fig.axes) == 4 and fig.axes[0].images[0].get_array().max() <= 1.0


def test_preview_is_drawn_once_on_rank_zero_and_kept_on_resume(tmp_path):
    drawn = []
    datamodule = SimpleNamespace(preview_figure=lambda batch: drawn.append(batch))
    trainer = SimpleNamespace(is_global_zero=False, datamodule=datamodule, loggers=[], global_step=0)
    callback = AugmentedPreview(str(tmp_path))
    callback.on_train_batch_start(trainer, None, "batch", 0)  # rank 1: nothing
    assert drawn == [] and not callback.path.exists()
    callback.path.write_bytes(b"from the first start")
    trainer.is_global_zero = True
    callback.on_train_batch_start(trainer, None, "batch", 0)  # resumed: the file is there
    assert drawn == [] and callback.path.read_bytes() == b"from the first start"
    callback.path.unlink()
    callback.on_train_batch_start(trainer, None, "batch", 1)  # only ever the first batch
    assert drawn == []
