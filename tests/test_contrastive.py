"""Contrastive views of histories (model stage): the InfoNCE loss by hand, DuoRec's same-target positives from
the train split only, the loss the model trains on, and bad options."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from auglab.augment import RunContext
from auglab.augment.image.device import BatchRandomErasing
from auglab.augment.sequence import ContrastiveViews, SeqCrop
from auglab.augment.sequence.contrastive import SameTargetHistories, info_nce
from auglab.augment.sequence.prefixes import prefix_bounds
from auglab.data.user_sequences import UserSequences
from auglab.errors import AuglabError
from auglab.models.gru4rec import GRU4Rec
from tests.test_sequence_augment import NUM_ITEMS, batch, train_split


def _by_hand(a, b, temperature, same=None):
    """NT-Xent as a loop: for each of the 2B views, -log softmax of its pair among every other view but excluded."""
    z, n, total = torch.cat([a, b]), len(a), 0.0
    for i in range(2 * n):
        pair = (i + n) % (2 * n)
        logits = []
        for j in range(2 * n):
            if j == i or (same is not None and same[i % n, j % n] and j != pair):
                continue
            logits.append((float(z[i] @ z[j]) / temperature, j == pair))
        top = max(v for v, _ in logits)
        norm = top + math.log(sum(math.exp(v - top) for v, _ in logits))
        total += norm - next(v for v, is_pair in logits if is_pair)
    return total / (2 * n)


def test_info_nce_equals_the_loop_with_and_without_masked_negatives():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 4, generator=g, dtype=torch.float64), torch.randn(6, 4, generator=g, dtype=torch.float64)
    y = torch.tensor([1, 2, 1, 3, 2, 4])
    same = y[:, None] == y[None, :]
    assert float(info_nce(a, b, temperature=0.5, similarity="dot")) == pytest.approx(_by_hand(a, b, 0.5), rel=1e-5)
    assert float(info_nce(a, b, temperature=0.5, similarity="dot", same=same)) == pytest.approx(
        _by_hand(a, b, 0.5, same), rel=1e-5)
    unit_a, unit_b = F.normalize(a, dim=1), F.normalize(b, dim=1)
    assert float(info_nce(a, b, temperature=1.0, similarity="cosine")) == pytest.approx(
        _by_hand(unit_a, unit_b, 1.0), rel=1e-5)


def test_same_target_histories_are_training_examples_with_that_next_item():
    train = train_split()
    starts, ends = prefix_bounds(train.offsets)
    examples = {}  # next item -> the set of its training histories, as left-aligned rows of 12
    for s, e in zip(starts, ends, strict=True):
        row = train.items[max(s, e - 12):e].tolist()
        examples.setdefault(int(train.items[e]), set()).add(tuple(row + [0] * (12 - len(row))))
    sampler = SameTargetHistories()
    sampler.setup(train.items, train.offsets, NUM_ITEMS)
    torch.manual_seed(0)
    x, _ = batch()
    y = torch.tensor(sorted(examples))[torch.randint(len(examples), (len(x),))]
    drawn = sampler.draw(x, y)
    assert drawn.shape == x.shape
    for row, target in zip(drawn.tolist(), y.tolist(), strict=True):
        assert tuple(row) in examples[target]
    common = max(examples, key=lambda t: len(examples[t]))  # a next item of several histories: each can be drawn
    seen = {tuple(r) for r in sampler.draw(x, torch.full((len(x),), common)).tolist()}
    assert len(examples[common]) > 2 and seen == examples[common]
    unknown = torch.full((len(x),), NUM_ITEMS + 1)  # the mask item is nobody's target: the row itself
    assert torch.equal(sampler.draw(x, unknown), x)


def test_same_target_positives_never_come_from_a_held_out_target():
    """Validation and test targets are the last two items of each user: the split handed to setup stops before
    them, so no drawn history contains or precedes them."""
    full = [np.array([1, 2, 3, 4, 5, 6]), np.array([2, 3, 4, 7, 8])]
    train = UserSequences.from_list([s[:-2] for s in full], 8)
    sampler = SameTargetHistories()
    sampler.setup(train.items, train.offsets, 8)
    held_out = {5, 6, 7, 8}
    for target in (2, 3, 4):
        drawn = sampler.draw(torch.zeros(50, 4, dtype=torch.int64), torch.full((50,), target))
        assert not set(drawn.flatten().tolist()) & held_out


def _model():
    from torch.optim import SGD

    torch.manual_seed(0)
    return GRU4Rec(num_items=NUM_ITEMS, max_len=12, embedding_size=8, hidden_size=8, ks=[10],
                   monitor="val/ndcg@10", monitor_mode="max", optimizer=lambda params: SGD(params, lr=0.1))


@pytest.mark.parametrize("options", [{"views": {"crop": SeqCrop(eta=0.5)}},
                                     {"views": {}, "same_target_weight": 0.1, "mask_same_target": True}])
def test_the_loss_adds_the_weighted_contrastive_terms_and_trains_the_encoder(options):
    model = _model().train()
    views = ContrastiveViews(**options)
    views.setup(RunContext(train=train_split()))
    x, y = batch(64)
    clean = model.next_item_loss(x, y)
    loss = views(model, x, y, clean)
    extra = float((loss - clean).detach())
    assert extra > 0 and float(model.train_cl_loss.compute()) == pytest.approx(extra, rel=1e-6)
    loss.backward()
    assert model.gru.weight_ih_l0.grad.abs().sum() > 0


def test_views_differ_per_history_and_leave_the_target():
    views = ContrastiveViews(views={"crop": SeqCrop(eta=0.5)})
    torch.manual_seed(0)
    x, y = batch()
    a, b = views.view(x, y), views.view(x, y)
    assert not torch.equal(a, b) and torch.equal(y, batch()[1])


@pytest.mark.parametrize(("options", "message"), [
    ({"weight": -1}, "weight=-1 is invalid: it must be a number >= 0"),
    ({"same_target_weight": -0.5}, "same_target_weight=-0.5 is invalid: it must be a number >= 0"),
    ({"views": {"erase": BatchRandomErasing()}}, "views.erase='BatchRandomErasing' is invalid: it must be a sequence "
                                                 "transform"),
    ({"temperature": 0}, "temperature=0 is invalid"),
    ({"similarity": "l2"}, "similarity='l2' is invalid: it must be one of dot, cosine"),
    ({"mask_same_target": "yes"}, "mask_same_target='yes' is invalid: it must be true or false"),
])
def test_bad_options_fail_in_one_line(options, message):
    with pytest.raises(AuglabError, match=message.replace("(", r"\(").replace("[", r"\[")):
        ContrastiveViews(**options)


def test_weight_zero_leaves_the_loss_and_draws_nothing():
    views = ContrastiveViews(views={"crop": SeqCrop(eta=0.5)}, weight=0)
    x, y = batch(8)
    module = torch.nn.Linear(2, 2)  # not even a model that encodes histories is needed
    loss, state = torch.tensor(1.25), torch.random.get_rng_state()
    assert views(module, x, y, loss) is loss
    assert torch.equal(torch.random.get_rng_state(), state)


def test_a_model_without_an_encoder_is_refused():
    views = ContrastiveViews()
    x, y = batch(8)
    with pytest.raises(AuglabError, match="contrastive views need a model that encodes histories"):
        views(torch.nn.Linear(2, 2), x, y, torch.zeros(()))
