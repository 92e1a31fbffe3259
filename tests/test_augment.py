"""Augmentation transforms on real Fashion-MNIST images: what each stage does to inputs and labels."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms import v2

from auglab.augment.image import PadCrop
from auglab.augment.image.device import (
    BatchBrightnessContrast,
    BatchRandomCrop,
    BatchRandomErasing,
    BatchRandomHorizontalFlip,
)
from auglab.augment.image.mixing import CutMix, MixUp
from auglab.augment.stages import AugmentationStrategy
from auglab.config.catalogue import strategies_for
from auglab.data.sources import fashion_mnist
from auglab.errors import AuglabError
from tests.conftest import compose_cfg


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    """64 real test images, float [64, 1, 28, 28] in [0, 1]."""
    data = fashion_mnist.load(None)
    return data["test_images"][:64].float() / 255


def one_hot(n: int, k: int = 10) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.arange(n) % k, k).float()


# Strategies that only add generated images offline change no image (tests/test_generative_augment.py);
# adversarial examples are made by the model in its training step (tests/test_adversarial.py).
ADD_ONLY = ("none", "cgan_samples", "cvae_samples", "adversarial_image")


@pytest.mark.parametrize("name", [s for s in strategies_for("image") if s not in ADD_ONLY])
def test_every_image_strategy_changes_real_images_and_keeps_shapes(name, images, tmp_path):
    torch.manual_seed(0)
    strategy = AugmentationStrategy.from_config(compose_cfg([f"augment={name}"], tmp_path).augment)
    raw = (images * 255).to(torch.uint8)
    x = torch.stack([v2.functional.to_dtype(strategy.apply_sample(img), torch.float32, scale=True) for img in raw])
    y = one_hot(len(x))
    x, y = strategy.apply_batch(x, y)
    x, y = strategy.apply_device(x, y)
    assert x.shape == images.shape and x.dtype == torch.float32
    assert y.shape == (64, 10) and torch.allclose(y.sum(1), torch.ones(64))
    changed = (x - images).abs().flatten(1).amax(1) > 1e-3  # per image
    assert changed.float().mean() > 0.2, f"{name} changed only {changed.float().mean():.0%} of the images"


def test_wrong_data_kind_lists_the_strategies_that_fit():
    strategy = AugmentationStrategy(name="eda", kinds=("text",))
    with pytest.raises(AuglabError, match="augment=eda is for text data but data is image; choose one of: none"):
        strategy.check_fits("image", ["none", "flip_crop"])


@pytest.mark.parametrize(("overrides", "message"), [
    # auglab's own transforms name the option by its place in the config
    (["augment=mixup", "augment.batch.mixup.alpha=-1"],
     r"augment\.batch\.mixup\.alpha=-1 is invalid: it must be a number > 0"),
    # another library's transform: its own message, with the node to check
    (["augment=random_erasing", "augment.sample.erase.p=2"],
     r"cannot build sample\.erase: .*check augment\.sample\.erase\."),
])
def test_bad_transform_parameter_is_one_line(overrides, message, tmp_path):
    cfg = compose_cfg(overrides, tmp_path)
    with pytest.raises(AuglabError, match=message) as err:
        AugmentationStrategy.from_config(cfg.augment)
    assert "\n" not in str(err.value)


def test_mixup_mixes_images_and_labels_with_the_same_weight(images):
    torch.manual_seed(1)
    y = one_hot(64)
    x, y_mix = MixUp(alpha=0.4)(images, y)
    # Each mixed label has weight lam on its own class: recover lam and check the image matches.
    lam = (y_mix * y).sum(1)[0]
    partner = (y_mix - lam * y).argmax(1)
    assert 0 < lam < 1
    assert torch.allclose(y_mix.sum(1), torch.ones(64))
    assert not torch.equal(x, images)
    assert set(partner.tolist()) != {0}


def test_cutmix_label_weight_equals_pasted_area(images):
    torch.manual_seed(3)
    y = one_hot(64)
    x, y_mix = CutMix(alpha=1.0)(images, y)
    pasted = (x != images).flatten(1).any(0).view(28, 28)  # pixels changed in any image: the box
    rows, cols = pasted.any(1).nonzero(), pasted.any(0).nonzero()
    box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
    kept = (y_mix * y).sum(1)
    # the same box for the whole batch; an image paired with itself keeps weight 1
    assert torch.allclose(kept.min(), torch.tensor(1 - box.item() / 784), atol=1e-6)


def test_device_flip_draws_per_image_unlike_torchvision_on_a_batch(images):
    torch.manual_seed(0)
    same = images[:1].repeat(64, 1, 1, 1)
    ours, _ = BatchRandomHorizontalFlip(p=0.5)(same, one_hot(64))
    flipped = (ours == same.flip(-1)).flatten(1).all(1)
    assert 10 < flipped.sum() < 54  # a mix of flipped and unflipped images in one batch
    tv = v2.RandomHorizontalFlip(p=0.5)(same)  # one draw for the whole tensor
    tv_flipped = (tv == same.flip(-1)).flatten(1).all(1)
    assert tv_flipped.all() or (~tv_flipped).all()


def test_device_crop_is_a_per_image_shift_of_the_padded_image(images):
    torch.manual_seed(0)
    out, _ = BatchRandomCrop(padding=3)(images, one_hot(64))
    padded = torch.nn.functional.pad(images, (3, 3, 3, 3))
    offsets = set()
    for i in range(64):
        windows = [(dy, dx) for dy in range(7) for dx in range(7)
                   if torch.equal(padded[i, :, dy:dy + 28, dx:dx + 28], out[i])]
        assert windows, f"image {i} is not a crop of its padded original"
        offsets.add(windows[0])
    assert len(offsets) > 10


def test_sample_pad_crop_matches_the_batched_twin(images):
    raw = (images[0] * 255).to(torch.uint8)
    torch.manual_seed(0)
    out = PadCrop(padding=3)(raw)
    padded = torch.nn.functional.pad(raw, (3, 3, 3, 3))
    assert out.shape == raw.shape
    assert any(torch.equal(padded[:, dy:dy + 28, dx:dx + 28], out) for dy in range(7) for dx in range(7))


def test_device_erasing_boxes_differ_per_image(images):
    torch.manual_seed(0)
    out, _ = BatchRandomErasing(p=1.0, value=0.0)(images + 0.01, one_hot(64))
    boxes = (out == 0).flatten(1)
    assert boxes.any(1).all()
    assert len({tuple(b.nonzero().flatten()[:3].tolist()) for b in boxes}) > 30
    area = boxes.float().mean(1)
    assert area.min() >= 0.01 and area.max() <= 0.4


def test_device_jitter_stays_in_range_and_varies(images):
    torch.manual_seed(0)
    out, _ = BatchBrightnessContrast(brightness=0.3, contrast=0.3)(images, one_hot(64))
    assert out.min() >= 0 and out.max() <= 1
    ratio = out.mean((1, 2, 3)) / images.mean((1, 2, 3))
    assert ratio.std() > 0.05


def test_batched_transforms_run_on_cuda_when_available(images):
    if not torch.cuda.is_available():
        pytest.skip("no GPU here; the same code runs on CPU in the tests above")
    x = images.cuda()
    for t in (BatchRandomHorizontalFlip(), BatchRandomCrop(), BatchRandomErasing(), BatchBrightnessContrast()):
        out, _ = t(x, one_hot(64).cuda())
        assert out.device.type == "cuda" and out.shape == x.shape
