"""The class-conditional image generators: shapes for every image size, the GAN's two optimizers and
global_step, exact resume, sample grids, and the bad inputs a user meets."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import torch

from auglab.errors import AuglabError
from auglab.models.cdcgan import CDCGAN
from auglab.models.cvae import CVAE
from auglab.models.generative_nets import ConvDecoder, ConvEncoder, upsampling_steps
from tests.conftest import monitoring, run_cli
from tests.test_cli import assert_one_line_error

ADAM = functools.partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))
FAST = ["debug=fast", "trainer=cpu", "callbacks.progress.refresh_rate=0", "model.evaluation_steps=20"]
GENERATOR_METRICS = {"test/fid", "test/kid", "test/cas_acc", "test/cas_f1", "test/real_acc", "test/real_f1"}


@pytest.mark.parametrize(("size", "channels"), [(28, 1), (32, 3), (64, 3), (56, 1)])
def test_nets_follow_the_image_size_and_channels(size, channels):
    decoder = ConvDecoder(code_dim=10, channels=channels, image_size=size, width=8)
    assert decoder(torch.randn(2, 10)).shape == (2, channels, size, size)
    encoder = ConvEncoder(channels=channels, image_size=size, width=8)
    assert encoder(torch.rand(2, channels, size, size)).shape == (2, encoder.feature_dim)
    for model in (CDCGAN(**monitoring("cdcgan"),
                         num_classes=3, in_channels=channels, image_size=size, width=8, optimizer=ADAM),
                  CVAE(**monitoring("cvae"),
                       num_classes=3, in_channels=channels, image_size=size, width=8, optimizer=ADAM)):
        images = model.sample(torch.tensor([0, 1, 2, 2]))
        assert images.shape == (4, channels, size, size)
        assert images.min() >= 0 and images.max() <= 1


@pytest.mark.parametrize("size", [30, 100, 3])
def test_an_image_size_the_nets_cannot_build_fails_in_one_line(size):
    with pytest.raises(AuglabError, match=f"7 or 4 times a power of 2.*got {size}"):
        upsampling_steps(size)


def test_samples_depend_on_the_class_and_the_grid_noise_is_fixed():
    torch.manual_seed(0)
    gan = CDCGAN(**monitoring("cdcgan"),
                 num_classes=4, in_channels=1, image_size=28, width=8, ema_decay=None, optimizer=ADAM)
    again = CDCGAN(**monitoring("cdcgan"),
                   num_classes=4, in_channels=1, image_size=28, width=8, ema_decay=None, optimizer=ADAM)
    assert torch.equal(gan.grid_noise, again.grid_noise)  # whatever the global seed did in between
    noise = torch.randn(1, gan.latent_dim).expand(2, -1)
    a, b = gan.generate(noise, torch.tensor([0, 3]))
    assert not torch.allclose(a, b)  # the label changes the image


def test_cvae_loss_is_reconstruction_plus_beta_kl():
    torch.manual_seed(0)
    x, y = torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 2, 1])
    for beta in (0.0, 4.0):
        model = CVAE(**monitoring("cvae"),
                     num_classes=3, in_channels=1, image_size=28, width=8, beta=beta, optimizer=ADAM).eval()
        loss = model.score_batch((x, y), "val")
        logits, mean, log_var = model(x, y)
        recon = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum") / 4
        kl = -0.5 * (1 + log_var - mean**2 - log_var.exp()).sum() / 4
        assert torch.allclose(loss, recon + beta * kl)


@pytest.mark.parametrize(("value", "fragment"), [
    ("model.label_smoothing=1.5", "model.label_smoothing=1.5 is invalid: it must be a number in [0, 1)"),
    ("model.ema_decay=1", "model.ema_decay=1 is invalid: it must be a number in (0, 1)"),
    ("model.latent_dim=0", "model.latent_dim=0 is invalid: it must be an integer >= 1"),
])
def test_bad_generator_options_fail_in_one_line(value, fragment, tmp_path):
    proc = run_cli(["train", "model=cdcgan", *FAST, value, f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert_one_line_error(proc, fragment)


def test_a_generator_on_sequence_data_fails_before_training(tmp_path):
    proc = run_cli(["train", "model=cvae", "data=synthetic_sessions", "debug=fast_sequence", "trainer=cpu",
                    f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert_one_line_error(proc, "model CVAE is for image data but data is sequence", "choose model=")


def _run(tmp_path: Path, name: str, *args: str) -> Path:
    out = tmp_path / name
    proc = run_cli(["train", *FAST, *args, f"hydra.run.dir={out}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.slow  # an end-to-end run of 20-60 s on 2 cores; CI runs it
def test_cdcgan_steps_both_optimizers_writes_grids_and_resumes_exactly(tmp_path):
    full = _run(tmp_path, "full", "model=cdcgan", "model.width=8", "trainer.max_epochs=2")
    ckpt = torch.load(full / "checkpoints" / "last.ckpt", weights_only=False, map_location="cpu")
    batches = -(-100 // 64)  # 10 classes x 10 images, batch 64, 2 epochs
    assert ckpt["global_step"] == 2 * 2 * batches  # D and G step on every batch
    assert len(ckpt["optimizer_states"]) == 2
    assert any(k.startswith("generator_ema.") for k in ckpt["state_dict"])
    assert sorted(p.name for p in (full / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    assert (full / "samples.png").exists()
    metrics = json.loads((full / "metrics.json").read_text())
    assert {"test/d_loss", "test/g_loss", "test/d_real", "test/d_fake"} | GENERATOR_METRICS <= set(metrics)
    assert metrics["test/fid"] > 0 and 0 <= metrics["test/cas_acc"] <= 1 and 0 <= metrics["test/real_acc"] <= 1
    first = json.loads((full / "generator_evaluation.json").read_text())
    assert first["feature_classifier_from_cache"] is False and Path(first["feature_classifier"]).exists()

    # auglab-eval on the checkpoint: the same generator metrics, exactly; the feature classifier is reused
    proc = run_cli(["evaluate", f"ckpt_path={full / 'checkpoints' / 'last.ckpt'}", "trainer=cpu",
                    "+trainer.limit_test_batches=2", f"hydra.run.dir={tmp_path / 'eval'}"], tmp_path)  # as debug=fast
    assert proc.returncode == 0, proc.stderr[-3000:]
    again = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    for key in GENERATOR_METRICS:
        assert again[key] == metrics[key], key
    assert json.loads((tmp_path / "eval" / "generator_evaluation.json").read_text())["feature_classifier_from_cache"]

    # one epoch, then resume to two: the same weights as the uninterrupted run
    half = _run(tmp_path, "half", "model=cdcgan", "model.width=8", "trainer.max_epochs=1")
    resumed = _run(tmp_path, "resumed", "model=cdcgan", "model.width=8", "trainer.max_epochs=2",
                   f"ckpt_path={half / 'checkpoints' / 'last.ckpt'}")
    a = torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=False, map_location="cpu")
    assert a["global_step"] == ckpt["global_step"]
    for key, value in ckpt["state_dict"].items():
        assert torch.equal(a["state_dict"][key], value), key


@pytest.mark.slow  # end to end, several subprocess runs: CI runs it
def test_cvae_logs_its_terms_and_picks_the_lowest_validation_loss(tmp_path):
    run = _run(tmp_path, "vae", "model=cvae", "model.width=8", "model.beta=2")
    metrics = json.loads((run / "metrics.json").read_text())
    assert GENERATOR_METRICS <= set(metrics)
    assert metrics["test/loss"] == pytest.approx(metrics["test/recon"] + 2 * metrics["test/kl"], rel=1e-4)
    assert "val/loss_best" in metrics
    assert (run / "samples" / "reconstructions_002.png").exists()


def test_fid_of_a_set_with_itself_is_zero_and_with_noise_large():
    from torchmetrics.image.fid import FrechetInceptionDistance

    from auglab.models.backbones import SmallCNN
    from auglab.models.generator_evaluation import ClassifierFeatures

    torch.manual_seed(0)
    features = ClassifierFeatures(SmallCNN(in_channels=1, num_classes=3, width=8))
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 28), torch.linspace(-1, 1, 28), indexing="ij")
    radius = torch.rand(300, 1, 1) * 0.6 + 0.2  # discs of random size: a smooth, structured image set
    real = ((xx**2 + yy**2)[None] < radius**2).float()[:, None]
    scores = {}
    for name, fake in {"same": real, "noise": torch.rand_like(real)}.items():
        fid = FrechetInceptionDistance(feature=features, normalize=True)
        fid.update(real, real=True)
        fid.update(fake, real=False)
        scores[name] = float(fid.compute())
    # an untrained feature net has small activations, so "large" is relative to the same-set score
    assert abs(scores["same"]) < 1e-6 and scores["noise"] > 0.01 and scores["noise"] > 1e6 * abs(scores["same"])


@pytest.mark.slow  # two DDP processes on 2 cores
def test_cdcgan_trains_and_tests_under_ddp_cpu(tmp_path):
    run = _run(tmp_path, "ddp", "model=cdcgan", "model.width=8", "trainer=ddp_cpu")
    metrics = json.loads((run / "metrics.json").read_text())
    assert GENERATOR_METRICS <= set(metrics) and metrics["test/fid"] > 0
    assert json.loads((run / "provenance.json").read_text())["world_size"] == 2
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False, map_location="cpu")
    assert ckpt["global_step"] == 2 * 2 * 1  # 100 images over 2 ranks at batch 64: 1 batch per epoch each


def test_the_feature_classifier_is_cached_per_train_split(tmp_path):
    from auglab.models.feature_classifier import Recipe, feature_classifier

    gen = torch.Generator().manual_seed(0)
    images, labels = torch.rand(40, 1, 28, 28, generator=gen), torch.arange(40) % 4
    recipe = Recipe(steps=2, batch_size=8, width=4)
    _, first, cached = feature_classifier(images, labels, 4, cache_dir=tmp_path, recipe=recipe)
    _, again, cached_again = feature_classifier(images, labels, 4, cache_dir=tmp_path, recipe=recipe)
    assert (cached, cached_again) == (False, True) and again == first
    # a smaller split of the same data (another data.train_per_class or seed) is a different classifier
    _, smaller, cached_smaller = feature_classifier(images[:20], labels[:20], 4, cache_dir=tmp_path, recipe=recipe)
    assert smaller != first and not cached_smaller
