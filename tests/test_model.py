"""The classifier's loss and metrics with hard and soft labels, the epoch loss, and its NaN guard."""

from __future__ import annotations

import functools

import pytest
import torch
from torchmetrics import MeanMetric

from auglab.errors import AuglabError
from auglab.metrics.mean_loss import MeanLoss
from auglab.models.backbones import SmallCNN, resnet
from auglab.models.image_classifier import ImageClassifier
from tests.conftest import monitoring


def make_model(k: int = 3) -> ImageClassifier:
    return ImageClassifier(**monitoring("image_cnn"),
                           net=functools.partial(SmallCNN, width=8), num_classes=k, in_channels=1,
                           optimizer=functools.partial(torch.optim.SGD, lr=0.1), class_names=["a", "b/c", "d"])


def test_soft_labels_train_on_mixed_targets_and_score_the_dominant_class():
    torch.manual_seed(0)
    model = make_model().eval()  # no dropout, so forward passes agree
    x = torch.rand(6, 1, 12, 12)
    soft = torch.tensor([[0.7, 0.3, 0], [0, 0.6, 0.4], [0.1, 0, 0.9]] * 2)
    loss = model._step((x, soft), "train")
    expected = torch.nn.functional.cross_entropy(model(x), soft)
    assert torch.allclose(loss, expected)
    logits = model(x)
    acc = (logits.argmax(1) == soft.argmax(1)).float().mean()
    assert torch.allclose(model.train_metrics["acc"].compute(), acc)


def test_metrics_match_a_hand_count():
    model = make_model()
    preds = torch.tensor([0, 0, 1, 1, 2, 2, 2, 0])
    target = torch.tensor([0, 1, 1, 1, 2, 2, 0, 0])
    logits = torch.nn.functional.one_hot(preds, 3).float()
    model.test_metrics.update(logits, target)
    got = {k.split("/")[1]: v.item() for k, v in model.test_metrics.compute().items()}
    # per class (tp, fp, fn): a (2,1,1)  b (2,0,1)  c (2,1,0)
    prec = [2 / 3, 1.0, 2 / 3]
    rec = [2 / 3, 2 / 3, 1.0]
    f1 = [2 * p * r / (p + r) for p, r in zip(prec, rec, strict=True)]
    assert got["acc"] == pytest.approx(6 / 8)
    assert got["precision"] == pytest.approx(sum(prec) / 3)
    assert got["recall"] == pytest.approx(sum(rec) / 3)
    assert got["f1"] == pytest.approx(sum(f1) / 3)
    assert got["f1_micro"] == pytest.approx(6 / 8)


def test_nan_loss_stops_with_a_one_line_hint():
    model = make_model()
    x = torch.full((4, 1, 12, 12), float("nan"))
    with pytest.raises(AuglabError, match=r"train loss is nan at epoch 0, step 0; lower model.optimizer.lr"):
        model._step((x, torch.tensor([0, 1, 2, 0])), "train")


def test_epoch_loss_is_the_example_weighted_mean_of_batch_losses_exactly_as_meanmetric():
    torch.manual_seed(0)
    losses, sizes = [torch.rand(()) * 3 for _ in range(5)], [64, 64, 64, 64, 17]
    ours, reference = MeanLoss(), MeanMetric()
    for loss, n in zip(losses, sizes, strict=True):
        ours.update(loss, n)
        reference.update(loss, weight=n)
    assert ours.compute().item() == reference.compute().item()  # bit for bit: recorded losses stay the same
    assert ours.compute().item() != pytest.approx(torch.stack(losses).mean().item())  # weighted, not per batch


def test_nan_guard_on_an_accelerator_reads_its_flag_every_n_steps_and_remembers_a_nan():
    model = make_model()
    model.defer_finite_reads = True  # as on a GPU, where each read waits for the device
    model.finite_check_every = 4
    losses = [torch.tensor(0.5), torch.tensor(float("nan")), torch.tensor(0.4)]
    for loss in losses:  # steps 1-3: nothing read yet, the NaN of step 2 waits on the device
        model.check_finite(loss, "train")
    with pytest.raises(AuglabError, match=r"train loss is nan or inf at epoch 0, step 0; lower model.optimizer.lr"):
        model.check_finite(torch.tensor(0.3), "train")  # step 4 reads the flag of steps 1-4
    for _ in range(8):  # read and cleared: finite losses pass again
        model.check_finite(torch.tensor(0.3), "train")
    with pytest.raises(AuglabError, match=r"val loss is nan"):  # evaluation is read at every step
        model.check_finite(torch.tensor(float("nan")), "val")


def test_resnet_backbone_keeps_small_images_resolution():
    net = resnet(in_channels=1, num_classes=5, depth=18)
    assert net(torch.rand(2, 1, 28, 28)).shape == (2, 5)
