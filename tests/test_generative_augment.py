"""Generated images as an offline augmentation: how many and of which classes, the generator trained once
and cached, a user's checkpoint, and the checkpoints that must be refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from auglab.augment import RunContext
from auglab.augment.image.generated import GeneratedImages
from auglab.augment.label_allocation import labels_to_generate
from auglab.config.composition import compose_model
from auglab.errors import AuglabError
from auglab.models.cvae import CVAE
from tests.conftest import monitoring


def _examples(counts: tuple[int, ...] = (6, 3, 3), size: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    labels = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
    images = (torch.rand(len(labels), 1, size, size, generator=gen) * 255).to(torch.uint8)
    return images, labels


def test_generated_labels_follow_the_classes_or_fill_the_small_ones_first():
    _, labels = _examples((6, 3, 3))
    plain = labels_to_generate(labels, 3, ratio=1.0, class_balance=False)
    assert torch.bincount(plain, minlength=3).tolist() == [6, 3, 3]
    balanced = labels_to_generate(labels, 3, ratio=0.5, class_balance=True)
    assert torch.bincount(balanced, minlength=3).tolist() == [0, 3, 3]  # 6 images: the small classes catch up
    more = labels_to_generate(labels, 3, ratio=1.5, class_balance=True)
    assert (torch.bincount(labels, minlength=3) + torch.bincount(more, minlength=3)).tolist() == [10, 10, 10]


def test_the_generator_is_trained_on_the_split_once_and_then_comes_from_the_cache(tmp_path):
    images, labels = _examples()
    stage = GeneratedImages(generator="cvae", epochs=1, batch_size=8, model={"width": 8}, ratio=2.0, seed=3)
    stage.setup(RunContext(cache_dir=tmp_path, model_config=compose_model))
    state = torch.random.get_rng_state()
    out_x, out_y = stage((images, labels))
    assert torch.equal(torch.random.get_rng_state(), state)  # the classifier's random stream is untouched
    assert stage.used["trained_here"] is True
    assert out_x.dtype == torch.uint8 and out_x.shape == (36, 1, 28, 28)
    assert torch.equal(out_x[:12], images) and torch.equal(out_y[:12], labels)
    assert torch.bincount(out_y[12:]).tolist() == [12, 6, 6]
    (cached,) = (tmp_path / "generators").iterdir()

    again = GeneratedImages(generator="cvae", epochs=1, batch_size=8, model={"width": 8}, ratio=2.0, seed=3)
    again.setup(RunContext(cache_dir=tmp_path, model_config=compose_model))
    x2, y2 = again((images, labels))
    assert again.used == {"generator": str(cached), "trained_here": False}
    assert torch.equal(x2, out_x) and torch.equal(y2, out_y)  # same generator, same draws

    other_seed = GeneratedImages(generator="cvae", epochs=1, batch_size=8, model={"width": 8}, ratio=2.0, seed=4)
    other_seed.setup(RunContext(cache_dir=tmp_path, model_config=compose_model))
    other_seed((images, labels))
    assert other_seed.used["trained_here"] is True and len(list((tmp_path / "generators").iterdir())) == 2


def _fake_run(folder: Path, model_cfg: dict, state_dict: dict) -> Path:
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump({"model": model_cfg}))
    torch.save({"state_dict": state_dict}, folder / "checkpoints" / "last.ckpt")
    return folder / "checkpoints" / "last.ckpt"


def test_a_users_generator_checkpoint_is_used_and_wrong_ones_are_refused(tmp_path):
    images, labels = _examples()
    cvae_cfg = {"_target_": "auglab.models.cvae.CVAE", "width": 8, "latent_dim": 4, **monitoring("cvae"),
                "optimizer": {"_target_": "torch.optim.Adam", "_partial_": True}}
    trained = CVAE(**monitoring("cvae"), num_classes=3, in_channels=1, image_size=28, width=8, latent_dim=4,
                   optimizer=torch.optim.Adam)
    good = _fake_run(tmp_path / "good", cvae_cfg, trained.state_dict())
    stage = GeneratedImages(generator="cvae", generator_ckpt=str(good), ratio=1.0)
    out_x, _ = stage((images, labels))
    assert len(out_x) == 24 and stage.used == {"generator": str(good), "trained_here": False}

    with pytest.raises(AuglabError, match="trained for another number of classes, image size or channels"):
        GeneratedImages(generator_ckpt=str(good))(_examples((3, 3, 3, 3)))  # 4 classes
    classifier = _fake_run(tmp_path / "clf", {"_target_": "auglab.models.image_classifier.ImageClassifier"}, {})
    with pytest.raises(AuglabError, match="is not a generator checkpoint .*ImageClassifier"):
        GeneratedImages(generator_ckpt=str(classifier))((images, labels))
    with pytest.raises(AuglabError, match="does not exist"):
        GeneratedImages(generator_ckpt=str(tmp_path / "missing.ckpt"))((images, labels))


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"ratio": 0}, "ratio=0 is invalid: it must be a number > 0"),
    ({"min_confidence": 1.5}, "min_confidence=1.5 is invalid: it must be a number in (0, 1)"),
    ({"generator": "image_cnn"}, "generator='image_cnn' is invalid: it must be one of cdcgan, cvae"),
    ({"epochs": 0}, "epochs=0 is invalid: it must be an integer >= 1"),
])
def test_bad_options_fail_in_one_line(kwargs, fragment):
    with pytest.raises(AuglabError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        GeneratedImages(**kwargs)
