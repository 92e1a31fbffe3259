"""Properties of every sequence augmentation: layout, bounds, item range, per-sequence randomness, targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from auglab.augment import RunContext
from auglab.augment.sequence import (
    SeqCorrelatedInsert,
    SeqCrop,
    SeqInsert,
    SeqMask,
    SeqNoise,
    SeqOneOf,
    SeqReorder,
    SeqSubstitute,
)
from auglab.augment.sequence.fit import cooccurrence_neighbours
from auglab.augment.sequence.offline import SlidingWindow, SubsetSplit
from auglab.data.user_sequences import UserSequences
from auglab.errors import AuglabError

NUM_ITEMS, L = 30, 12


def batch(b: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-aligned histories of length 1..L with distinct items per row, 0 after them."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, L + 1, (b,), generator=g)
    x = torch.zeros(b, L, dtype=torch.int64)
    for i, n in enumerate(lengths.tolist()):
        x[i, :n] = torch.randperm(NUM_ITEMS, generator=g)[:n] + 1
    return x, torch.randint(1, NUM_ITEMS + 1, (b,), generator=g)


def train_split() -> UserSequences:
    rng = np.random.default_rng(0)
    return UserSequences.from_list([rng.integers(1, NUM_ITEMS + 1, rng.integers(3, 20)) for _ in range(50)], NUM_ITEMS)


def fitted(transform):
    if hasattr(transform, "setup"):
        transform.setup(RunContext(train=train_split()))
    return transform


ALL = {
    "crop": lambda: SeqCrop(eta=0.5),
    "mask": lambda: SeqMask(gamma=0.5),
    "reorder": lambda: SeqReorder(beta=0.5),
    "insert": lambda: SeqInsert(rate=0.5),
    "noise": lambda: SeqNoise(rate=0.5),
    "substitute": lambda: SeqSubstitute(rate=0.5),
    "correlated_insert": lambda: SeqCorrelatedInsert(rate=0.5),
    "one_of": lambda: SeqOneOf(transforms={"crop": SeqCrop(), "mask": SeqMask(), "reorder": SeqReorder()}),
}


def lengths(x: torch.Tensor) -> torch.Tensor:
    return (x > 0).sum(1)


@pytest.mark.parametrize("name", ALL)
def test_layout_range_and_targets(name):
    torch.manual_seed(0)
    x, y = batch()
    out, out_y = fitted(ALL[name]())(x.clone(), y.clone())
    assert out.shape == x.shape and out.dtype == torch.int64
    assert torch.equal(out_y, y)  # the target is never touched
    n = lengths(out)
    assert (n >= 1).all()  # never an empty history
    assert ((torch.arange(L)[None, :] < n[:, None]) == (out > 0)).all()  # left-aligned, padding after
    assert out.max() <= NUM_ITEMS + 1 and out.min() >= 0  # real items or the mask item
    assert not torch.equal(out, x)  # it did something


def test_per_sequence_randomness():
    torch.manual_seed(0)
    x = torch.arange(1, L + 1).repeat(64, 1)  # 64 identical full histories
    for name in ALL:
        out, _ = fitted(ALL[name]())(x.clone(), x[:, 0])
        assert len({tuple(row.tolist()) for row in out}) >= 6, name  # a crop of 6 from 12 has 7 places


def test_crop_keeps_a_contiguous_share_and_reorder_a_permutation():
    torch.manual_seed(0)
    x, y = batch()
    n = lengths(x)
    out, _ = SeqCrop(eta=0.5)(x, y)
    assert torch.equal(lengths(out), (n * 0.5).floor().long().clamp_min(1))
    for row, orig in zip(out, x, strict=True):
        kept = row[row > 0].tolist()
        src = orig[orig > 0].tolist()
        start = src.index(kept[0])
        assert src[start:start + len(kept)] == kept
    out, _ = SeqReorder(beta=0.5)(x, y)
    for row, orig in zip(out, x, strict=True):
        assert sorted(row.tolist()) == sorted(orig.tolist())
        moved = (row != orig).nonzero().flatten()
        if len(moved):
            assert moved.max() - moved.min() < max(1, int(len(orig[orig > 0]) * 0.5))


def test_mask_masks_exactly_gamma_and_insert_keeps_order_and_the_last_item():
    torch.manual_seed(0)
    x, y = batch()
    n = lengths(x)
    mask = fitted(SeqMask(gamma=0.5))
    out, _ = mask(x, y)
    assert torch.equal((out == mask.mask_item).sum(1), (n * 0.5).floor().long())
    out, _ = SeqInsert(rate=0.5)(x, y)
    expected = torch.clamp(n + (n * 0.5).ceil().long(), max=L)
    assert torch.equal(lengths(out), expected)
    for row, orig, m in zip(out, x, n.tolist(), strict=True):
        assert row[lengths(row[None])[0] - 1] == orig[m - 1]  # the most recent item stays last

    class Sentinel(SeqInsert):
        def new_items(self, x: torch.Tensor, n: torch.Tensor, m: int) -> torch.Tensor:
            return torch.full((len(x), m), NUM_ITEMS + 5)

    out, _ = Sentinel(rate=0.5)(x, y)
    for row, orig, m in zip(out, x, n.tolist(), strict=True):
        kept = [v for v in row.tolist() if 0 < v <= NUM_ITEMS]
        assert kept == orig[:m].tolist()[m - len(kept):]  # originals in order; only the oldest give way
        assert row.tolist()[len(kept) + (row == NUM_ITEMS + 5).sum() - 1] == orig[m - 1]


def test_masked_positions_are_a_uniform_sample_of_the_real_ones():
    torch.manual_seed(0)
    x = torch.tensor([[1, 2, 3, 4, 5, 0, 0]]).repeat(20_000, 1)
    out, _ = fitted(SeqMask(gamma=0.4))(x, x[:, 0])  # 2 of 5 items per row
    pairs = torch.unique((out == NUM_ITEMS + 1).nonzero()[:, 1].view(-1, 2), dim=0, return_counts=True)
    assert len(pairs[0]) == 10 and pairs[0].max() <= 4  # every pair of real positions, never padding
    assert ((pairs[1] - 2_000).abs() < 200).all()  # each pair 1/10 of the time (sd about 42)
    # every item chosen, also in histories shorter than the longest: padding stays padding
    x, y = batch()
    out, _ = fitted(SeqMask(gamma=1.0))(x, y)
    assert torch.equal(out == NUM_ITEMS + 1, x > 0) and torch.equal(out > 0, x > 0)
    out, _ = fitted(SeqSubstitute(rate=1.0, top_k=2, window=1))(x, y)
    assert torch.equal(out > 0, x > 0)


def test_p_zero_changes_nothing_and_bad_values_fail():
    x, y = batch()
    for cls, kw in ((SeqCrop, "eta"), (SeqMask, "gamma"), (SeqReorder, "beta"), (SeqInsert, "rate")):
        out, _ = fitted(cls(**{kw: 0.5, "p": 0.0}))(x, y)
        assert torch.equal(out, x), cls
        with pytest.raises(AuglabError, match=rf"{kw}=1.5 is invalid: it must be a number in \[0, 1\]"):
            cls(**{kw: 1.5})


def test_noise_and_substitute_draw_from_the_catalogue_and_the_train_split():
    torch.manual_seed(0)
    x, y = batch()
    out, _ = fitted(SeqNoise(rate=1.0))(x, y)
    assert out.max() <= NUM_ITEMS
    sub = fitted(SeqSubstitute(rate=1.0, top_k=2, window=1))
    out, _ = sub(x, y)
    table = sub.table(torch.device("cpu"))
    changed = out != x
    assert changed.any()
    assert (table[x[changed]] == out[changed][:, None]).any(1).all()  # every new item is a neighbour
    insert = fitted(SeqCorrelatedInsert(rate=1.0, top_k=2, window=1))
    out, _ = insert(x, y)
    for row, orig in zip(out, x, strict=True):
        history = set(orig[orig > 0].tolist())
        neighbours = set(table[sorted(history)].flatten().tolist())
        new = [v for v in row[row > 0].tolist() if v not in history]
        assert new and set(new) <= neighbours  # each inserted item co-occurs with one of the history's


def test_cooccurrence_neighbours_by_hand():
    # sequences 1 2 3 and 2 3 4: within one position, 2~3 twice, 1~2 once, 3~4 once
    seqs = UserSequences.from_list([np.array([1, 2, 3]), np.array([2, 3, 4])], 4)
    table = cooccurrence_neighbours(seqs.items, seqs.offsets, 4, window=1, top_k=2)
    assert table.shape == (6, 2)
    assert table[2].tolist() == [3, 1] and table[3].tolist() == [2, 4]
    assert table[1].tolist() == [2, 2] and table[4].tolist() == [3, 3]  # one neighbour: repeated
    assert table[5].tolist() == [5, 5]  # the mask item has none: stays itself


def test_offline_expansions_add_sequences_and_keep_the_originals():
    seqs = [np.arange(1, 21), np.array([5, 6, 7])]
    out = SubsetSplit(n_aug=2, drop_rate=0.5, seed=0)(seqs)
    assert [list(s) for s in out[:2]] == [list(s) for s in seqs] and 3 <= len(out) <= 6
    for new in out[2:]:
        assert len(new) >= 2
        assert new[-1] in (20, 7) and list(new) == sorted(new)  # a subsequence ending at the last item
    assert [list(s) for s in SubsetSplit(n_aug=2, drop_rate=0.5, seed=0)(seqs)] == [list(s) for s in out]
    windows = SlidingWindow(window=10, stride=5)(seqs)
    assert [list(w) for w in windows[2:]] == [list(range(2, 12)), list(range(7, 17))]


def test_offline_stage_is_cached_by_input_and_config(tmp_path):
    from auglab.augment import AugmentationStrategy

    cfg = {"name": "subset_split", "kinds": ["sequence"], "offline": {"s": {
        "_target_": "auglab.augment.sequence.offline.SubsetSplit", "n_aug": 1, "drop_rate": 0.5, "seed": 0}}}
    seqs = [np.arange(1, 21), np.arange(5, 15)]
    cached = RunContext(cache_dir=tmp_path)
    first = AugmentationStrategy.from_config(cfg).apply_offline(seqs, cached)
    files = list((tmp_path / "offline").glob("subset_split-*.pt"))
    assert len(files) == 1
    torch.save({"examples": [np.array([7, 7])], "reports": {}}, files[0])  # tamper: a second call must read it
    assert [list(s) for s in AugmentationStrategy.from_config(cfg).apply_offline(seqs, cached)] == [[7, 7]]
    other_seed = {**cfg, "offline": {"s": {**cfg["offline"]["s"], "seed": 1}}}
    AugmentationStrategy.from_config(other_seed).apply_offline(seqs, cached)
    AugmentationStrategy.from_config(cfg).apply_offline(seqs[:1], cached)  # other input
    assert len(list((tmp_path / "offline").glob("*.pt"))) == 3
    uncached = AugmentationStrategy.from_config(cfg).apply_offline(seqs)
    assert [list(s) for s in uncached] == [list(s) for s in first]
