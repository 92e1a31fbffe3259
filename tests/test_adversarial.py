"""Adversarial examples (``model`` stage) for every data kind: the perturbation stays in its budget and off
padding and special tokens, the attack ascends the loss, and it leaves parameters, gradients, buffers, the
optimiser and the run's random stream as they would be without it, apart from the extra loss term; runs
and bad options end to end."""

from __future__ import annotations

import functools
import json
import re
from types import SimpleNamespace

import pytest
import torch

from auglab.augment import AugmentationStrategy
from auglab.augment.adversarial import AdversarialExamples
from auglab.errors import AuglabError
from auglab.models.attack_surface import embedding_rms
from auglab.models.backbones import SmallCNN
from auglab.models.gru4rec import GRU4Rec
from auglab.models.image_classifier import ImageClassifier
from auglab.models.text_classifier import CNNBody, SmallTextClassifier
from tests.conftest import compose_cfg, monitoring, run_cli

ADAM = functools.partial(torch.optim.Adam, lr=1e-3)


def image_model():
    torch.manual_seed(0)
    return ImageClassifier(**monitoring("image_cnn"),
                           net=functools.partial(SmallCNN, width=8, dropout=0.0), num_classes=3, in_channels=1,
                           mean=[0.3], std=[0.2], optimizer=ADAM).train()


def text_model():
    torch.manual_seed(0)
    return SmallTextClassifier(**monitoring("text_cnn"),
                               body=functools.partial(CNNBody, filters=8, width=3), num_classes=2, vocab_size=30,
                               pad_token_id=0, init_embeddings=False, embedding_dim=8, freeze_embeddings=False,
                               optimizer=ADAM).train()


def items_model():
    torch.manual_seed(0)
    return GRU4Rec(**monitoring("gru4rec"),
                   num_items=20, max_len=6, embedding_size=8, hidden_size=8, dropout=0.0, optimizer=ADAM).train()


def image_batch():
    g = torch.Generator().manual_seed(1)
    return torch.rand(6, 1, 12, 12, generator=g), torch.nn.functional.one_hot(torch.arange(6) % 3, 3).float()


def text_batch():
    ids = torch.tensor([[1, 5, 6, 7, 2, 0], [1, 8, 2, 0, 0, 0], [1, 9, 10, 11, 12, 2]])
    mask = (ids > 0).long()
    special = ((ids == 1) | (ids == 2)).long()
    return {"input_ids": ids, "attention_mask": mask, "special_tokens_mask": special}, torch.eye(2)[[0, 1, 0]]


def items_batch():
    return torch.tensor([[3, 4, 5, 0, 0, 0], [7, 8, 9, 10, 11, 12], [2, 0, 0, 0, 0, 0]]), torch.tensor([6, 13, 4])


CASES = {"image": (image_model, image_batch), "text": (text_model, text_batch), "items": (items_model, items_batch)}


@pytest.mark.parametrize("kind", list(CASES))
@pytest.mark.parametrize(("method", "norm"), [("fgsm", "linf"), ("pgd", "linf"), ("pgd", "l2")])
def test_the_perturbation_stays_in_its_budget_and_off_padding(kind, method, norm):
    make, batch = CASES[kind]
    model, (x, y) = make(), batch()
    attack = AdversarialExamples(method=method, norm=norm, epsilon=0.2, steps=3)
    delta = attack._attack(model, x, y)
    size = model.attack_scale() * 0.2
    if norm == "linf":
        assert delta.abs().flatten(1).amax(1).le(size + 1e-6).all()
    else:
        movable = torch.ones_like(delta) if model.attack_mask(x) is None else model.attack_mask(x).expand_as(delta)
        assert delta.flatten(1).norm(dim=1).le(size * movable.flatten(1).sum(1).sqrt() + 1e-5).all()
    mask = model.attack_mask(x)
    if mask is not None:  # padding, [CLS] and [SEP] never move
        assert (delta * (1 - mask)).abs().max() == 0 and delta.abs().sum() > 0
    else:  # pixels stay pixels: what [0, 1] normalises to
        low, high = model.attack_bounds(model.attack_input(x))
        z = model.attack_input(x) + delta
        assert (z >= low - 1e-6).all() and (z <= high + 1e-6).all()


@pytest.mark.parametrize("kind", list(CASES))
def test_the_attack_ascends_the_loss(kind):
    make, batch = CASES[kind]
    model, (x, y) = make().eval(), batch()  # eval: the same function for both losses
    clean = model.attack_loss(model.attack_output(x, model.attack_input(x)), y)
    delta = AdversarialExamples(method="pgd", epsilon=0.1, steps=5)._attack(model, x, y)
    adversarial = model.attack_loss(model.attack_output(x, model.attack_input(x) + delta), y)
    assert adversarial > clean


@pytest.mark.parametrize("kind", list(CASES))
def test_the_attack_changes_nothing_but_the_loss_term(kind):
    make, batch = CASES[kind]
    model, (x, y) = make(), batch()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.attack_loss(model.attack_output(x, model.attack_input(x)), y).backward()
    optimizer.step()  # a real optimiser state to compare
    optimizer.zero_grad()
    params = [p.detach().clone() for p in model.parameters()]
    state = {k: {n: v.clone() if torch.is_tensor(v) else v for n, v in s.items()} for k, s in optimizer.state.items()}
    attack = AdversarialExamples(method="pgd", epsilon=0.1, steps=2, alpha=0.3, seed=5)
    clean = model.attack_loss(model.attack_output(x, model.attack_input(x)), y)  # its draws and statistics first
    buffers = [b.detach().clone() for b in model.buffers()]
    rng = torch.get_rng_state()
    total = attack(model, x, y, clean)
    assert torch.equal(torch.get_rng_state(), rng)  # the run's own random stream: untouched
    assert all(p.grad is None for p in model.parameters())  # nothing accumulated before the step's backward
    assert all(torch.equal(a, b) for a, b in zip(buffers, model.buffers(), strict=True))  # BatchNorm statistics
    assert all(torch.equal(a, b) for a, b in zip(params, model.parameters(), strict=True))
    assert all(torch.equal(state[k][n], optimizer.state[k][n]) for k in state for n in state[k]
               if torch.is_tensor(state[k][n]))
    total.backward()
    got = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    with torch.random.fork_rng():  # the same perturbation again: seeded by the seed and the step
        torch.manual_seed(5 * 1_000_003)
        delta = attack._attack(model, x, y)
        adversarial = model.attack_loss(model.attack_output(x, model.attack_input(x) + delta), y)
    (0.7 * model.attack_loss(model.attack_output(x, model.attack_input(x)), y) + 0.3 * adversarial).backward()
    assert all(torch.allclose(a, p.grad, atol=1e-6) for a, p in zip(got, model.parameters(), strict=True))


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
@pytest.mark.parametrize("kind", list(CASES))
def test_the_attack_from_the_clean_pass_equals_the_separate_attack(kind, method):
    """Without dropout the clean pass and the attack's own pass see the same network: the same step, the same
    loss and the same gradients, from one backward pass fewer."""
    make, batch = CASES[kind]
    model, (x, y) = make(), batch()
    results = []
    for from_clean_pass in (False, True):
        attack = AdversarialExamples(method=method, epsilon=0.1, norm="l2", alpha=0.3, seed=5, steps=3,
                                     random_start=False, from_clean_pass=from_clean_pass)
        model.zero_grad(set_to_none=True)
        z = model.attack_input(x)
        if from_clean_pass and not z.requires_grad:
            z.requires_grad_(True)
        clean = model.attack_loss(model.attack_output(x, z), y)
        rng = torch.get_rng_state()
        total = attack(model, x, y, clean, z=z if from_clean_pass else None)
        assert torch.equal(torch.get_rng_state(), rng)
        assert all(p.grad is None for p in model.parameters())  # nothing accumulated before the step's backward
        total.backward()
        results.append((total.detach(), attack.last["delta"], [p.grad.clone() for p in model.parameters()]))
    (total_a, delta_a, grads_a), (total_b, delta_b, grads_b) = results
    assert delta_b.abs().sum() > 0 and torch.allclose(delta_a, delta_b, atol=1e-6)
    assert torch.allclose(total_a, total_b, atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(grads_a, grads_b, strict=True))


@pytest.mark.parametrize(("options", "expected"), [
    ({"method": "fgsm"}, True), ({"method": "pgd"}, False), ({"method": "pgd", "random_start": False}, True),
    ({"method": "fgsm", "from_clean_pass": False}, False)])
def test_auto_takes_the_first_step_from_the_clean_pass_when_it_starts_from_zero(options, expected):
    assert AdversarialExamples(**options).from_clean_pass is expected


def test_the_clean_pass_is_differentiated_at_the_mixed_precision_loss_scale():
    """Under 16-mixed, float16 activations carry the clean pass's gradients: taken at the trainer's loss scale
    (as Lightning's own backward is) they survive; unscaled, these small ones underflow to zero."""
    model, (x, y) = image_model(), image_batch()
    attack = AdversarialExamples(method="fgsm", alpha=0.5)

    def clean_gradients(scaler):
        model._trainer = None if scaler is None else SimpleNamespace(precision_plugin=SimpleNamespace(scaler=scaler))
        z = model.attack_input(x).requires_grad_(True)
        with torch.autocast("cpu", dtype=torch.float16):
            loss = 1e-7 * model.attack_loss(model.attack_output(x, z), y)
        return [g for _, g in attack._from_clean_pass(model, x, loss, z)[1]]

    scaled, unscaled = clean_gradients(torch.amp.GradScaler("cpu", init_scale=2.0**16)), clean_gradients(None)
    assert all(g.abs().sum() == 0 for g in unscaled[:2])  # the first layers' gradients underflowed
    exact = torch.autograd.grad(1e7 * 0.5e-7 * model.attack_loss(model(x), y), list(model.parameters()))
    assert all((1e7 * g - e).norm() < 0.1 * e.norm() for g, e in zip(scaled, exact, strict=True))  # float16's error


def test_from_clean_pass_without_the_clean_input_fails_in_one_line():
    model, (x, y) = image_model(), image_batch()
    attack = AdversarialExamples(from_clean_pass=True)
    with pytest.raises(AuglabError, match="from_clean_pass needs the clean pass's input"):
        attack(model, x, y, model.attack_loss(model(x), y))


def test_the_embedding_scale_follows_in_place_changes_of_the_table():
    table = torch.nn.Embedding(50, 8)
    first = embedding_rms(table.weight)
    assert embedding_rms(table.weight) == first == pytest.approx(float(table.weight.pow(2).mean().sqrt()))
    optimizer = torch.optim.SGD(table.parameters(), lr=1.0)
    table(torch.tensor([3, 4])).sum().backward()
    optimizer.step()  # changes the table in place: the cached scale must not survive it
    assert embedding_rms(table.weight) == pytest.approx(float(table.weight.detach().pow(2).mean().sqrt()))
    assert embedding_rms(table.weight) != first
    stepped = embedding_rms(table.weight)
    with torch.no_grad():
        table.weight.mul_(2)
    assert embedding_rms(table.weight) == pytest.approx(2 * stepped)


@pytest.mark.parametrize(("options", "message"), [
    ({"epsilon": -0.1}, "epsilon=-0.1 is invalid: it must be a number >= 0"),
    ({"method": "pgd", "steps": 0}, "steps=0 is invalid: it must be an integer >= 1"),
    ({"norm": "l1"}, "norm='l1' is invalid: it must be one of linf, l2"),
    ({"alpha": 1.5}, "alpha=1.5 is invalid: it must be a number in [0, 1]"),
    ({"method": "cw"}, "method='cw' is invalid: it must be one of fgsm, pgd"),
    ({"from_clean_pass": "yes"}, "from_clean_pass='yes' is invalid: it must be true, false or auto"),
    ({"from_clean_pass": 1}, "from_clean_pass=1 is invalid: it must be true, false or auto"),
    ({"method": "pgd", "from_clean_pass": True}, "from_clean_pass=True is invalid: it must be false or auto with a"),
])
def test_bad_options_fail_in_one_line(options, message):
    cfg = {"name": "a", "kinds": ["image"], "model": {"adversarial": {
        "_target_": "auglab.augment.adversarial.AdversarialExamples", **options}}}
    with pytest.raises(AuglabError, match=re.escape(f"augment.model.adversarial.{message}")):
        AugmentationStrategy.from_config(cfg)


@pytest.mark.slow  # end to end, several subprocess runs: CI runs it
def test_a_model_with_nothing_to_perturb_and_another_data_kind_fail_before_training(tmp_path):
    proc = run_cli(["train", "debug=fast", "trainer=cpu", "model=cvae", "augment=adversarial_image"], tmp_path)
    assert proc.returncode == 2 and "model CVAE exposes nothing to perturb; choose model= one of: image_cnn, " \
                                   "image_resnet" in proc.stderr
    proc = run_cli(["train", "debug=fast", "trainer=cpu", "augment=adversarial_text"], tmp_path)
    assert proc.returncode == 2 and "augment=adversarial_text is for text data but data is image" in proc.stderr


def test_strategies_compose_with_other_stages(tmp_path):
    cfg = compose_cfg(["augment=adversarial_text", "+augment.offline.eda._target_=auglab.augment.text.EDAOffline"],
                      tmp_path)
    strategy = AugmentationStrategy.from_config(cfg.augment)
    assert list(strategy.offline) == ["eda"] and list(strategy.model) == ["adversarial"]


@pytest.mark.slow  # end to end, several subprocess runs: CI runs it
@pytest.mark.parametrize("trainer", ["cpu", "ddp_cpu"])
@pytest.mark.parametrize("attack", [["method=pgd", "steps=2"], ["method=fgsm"]])  # own pass; from the clean pass
def test_an_image_run_logs_the_adversarial_loss_and_reproduces(trainer, attack, tmp_path):
    args = ["train", "debug=fast", f"trainer={trainer}", "augment=adversarial_image",
            *(f"augment.model.adversarial.{option}" for option in attack)]
    first = run_cli([*args, f"hydra.run.dir={tmp_path / 'a'}"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    logged = (next((tmp_path / "a" / "csv").rglob("metrics.csv"))).read_text()
    assert "train/adv_loss" in logged.splitlines()[0]
    if trainer == "cpu":
        again = run_cli([*args, f"hydra.run.dir={tmp_path / 'b'}"], tmp_path)
        assert again.returncode == 0
        assert json.loads((tmp_path / "a" / "metrics.json").read_text()) == \
            json.loads((tmp_path / "b" / "metrics.json").read_text())
