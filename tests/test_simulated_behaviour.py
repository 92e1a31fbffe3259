"""ASReP's simulated behaviour (augment=asrep): reversed training examples, backward generation, the simulator
sees training items only, the cache (cold, warm, the run's random stream), what the report measures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from auglab.augment import RunContext
from auglab.augment.sequence import PseudoPriorItems
from auglab.augment.sequence import simulated as simulated_module
from auglab.augment.sequence.simulated import extend_backwards, later_interaction_rate, reversed_examples
from auglab.config.composition import compose_model
from auglab.errors import OptionError
from auglab.run.build import build_datamodule, run_context
from tests.conftest import compose_cfg, run_cli
from tests.test_cli import assert_one_line_error

TINY = {"model": {"num_layers": 1, "inner_size": 16, "embedding_size": 8}, "epochs": 2, "max_len": 6,
        "batch_size": 64}


def test_reversed_examples_predict_the_item_before():
    x, y = reversed_examples([np.array([1, 2, 3]), np.array([7]), np.array([4, 5])], max_len=2)
    # 1 2 3 reversed is 3 2 1: [3] -> 2, [3, 2] -> 1; 4 5 reversed: [5] -> 4; a one-item sequence teaches nothing
    assert x.tolist() == [[3, 0], [3, 2], [5, 0]]
    assert y.tolist() == [2, 1, 4]


class PreferHighIds(torch.nn.Module):
    """Scores item i as i (padding and the mask item at -inf), whatever the history."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, L] -> [B, 10 + 2]
        scores = torch.arange(12, dtype=torch.float32).repeat(len(x), 1)
        scores[:, 0] = scores[:, 11] = float("-inf")
        return scores


def test_backward_generation_is_chronological_and_never_repeats_an_item():
    out = extend_backwards(PreferHighIds(), [np.array([10, 3]), np.array([1])], count=3, max_len=4,
                           device=torch.device("cpu"))
    # the first item generated comes just before the history: written last
    assert [o.tolist() for o in out] == [[7, 8, 9], [8, 9, 10]]


def test_bad_options_fail_in_one_line():
    for option in ("pseudo_items", "short_history", "epochs", "max_len"):
        with pytest.raises(OptionError, match=f"{option}=0 is invalid"):
            PseudoPriorItems(**{option: 0})


def test_later_interaction_rate_counts_held_out_items():
    report = {"catalogue": 100, "all_prepended": [{"label": 0, "prepended": [5, 6]}, {"label": 1, "prepended": [9, 2]}]}
    later_interaction_rate(report, [np.array([6, 7]), np.array([1, 3])])
    assert report["later_interaction_rate"] == 0.25 and report["later_interaction_rate_by_chance"] == 0.02
    assert "all_prepended" not in report


def test_cold_and_warm_cache_give_the_same_histories_and_leave_the_random_stream(tmp_path):
    rng = np.random.default_rng(0)
    sequences = [rng.permutation(np.arange(1, 41))[:n] for n in rng.integers(3, 15, 60)]
    outs, reports = [], []
    for _ in range(2):
        stage = PseudoPriorItems(short_history=8, pseudo_items=4, seed=3, **TINY)
        stage.setup(RunContext(cache_dir=tmp_path, model_config=compose_model))
        before = torch.random.get_rng_state()
        outs.append(stage(list(sequences)))
        assert torch.equal(torch.random.get_rng_state(), before)
        reports.append(stage.report())
    assert [r["trained_here"] for r in reports] == [True, False]
    assert all(np.array_equal(a, b) for a, b in zip(*outs, strict=True))
    short = [i for i, s in enumerate(sequences) if len(s) < 8]
    assert reports[0]["users_extended"] == len(short) > 0
    for i, (before, after) in enumerate(zip(sequences, outs[0], strict=True)):
        if i in short:  # four new items in front, none already in the history, the history unchanged after them
            assert len(after) == len(before) + 4 and np.array_equal(after[4:], before)
            assert not set(after[:4]) & set(before) and len(set(after[:4])) == 4
        else:
            assert np.array_equal(after, before)


def test_the_simulator_never_sees_a_validation_or_test_item(tmp_path, monkeypatch):
    """Two items planted where only validation and test look: never in what the simulator trains on."""
    lines = ["user_id,item_id,timestamp"]
    rng = np.random.default_rng(1)
    for u in range(40):
        items = [f"i{j}" for j in rng.permutation(30)[:8]]
        if u == 0:
            items[-1] = "planted_test"
        if u == 1:
            items[-2] = "planted_validation"
        lines += [f"u{u},{item},{t}" for t, item in enumerate(items)]
    log = tmp_path / "log.csv"
    log.write_text("\n".join(lines) + "\n")
    seen: list[torch.Tensor] = []
    real_fit = simulated_module._fit

    def fit(net, x, y, **options):
        seen.extend([x, y])
        real_fit(net, x, y, **options)

    monkeypatch.setattr(simulated_module, "_fit", fit)
    cfg = compose_cfg(["data=interactions", f"data.path={log}", "data.user_core=0", "data.item_core=0",
                       "model=sasrec", "augment=asrep", "augment.offline.simulated.epochs=1",
                       "augment.offline.simulated.short_history=7", f"paths.cache_dir={tmp_path / 'cache'}"], tmp_path)
    datamodule = build_datamodule(cfg, run_context(cfg))
    datamodule.setup("fit")
    planted = {int(datamodule.test_set.__getitems__([0])[1][0]), int(datamodule.val_set.__getitems__([1])[1][0])}
    assert planted == {datamodule.num_items - 1, datamodule.num_items}  # "planted_*" sort after "i*"
    assert len(seen) == 2 and planted.isdisjoint(torch.cat([seen[0].flatten(), seen[1]]).tolist())
    report = datamodule.augment.offline_report["simulated"]
    assert report["users_extended"] == 40 and "later_interaction_rate" in report


@pytest.mark.parametrize(("overrides", "message"), [
    (["augment=asrep", "augment.offline.simulated.pseudo_items=0"],
     "augment.offline.simulated.pseudo_items=0 is invalid"),
    (["augment=asrep", "augment.offline.simulated.short_history=0"],
     "augment.offline.simulated.short_history=0 is invalid"),
    (["data.short_history=0"], "data.short_history=0 is invalid: it must be an integer >= 1"),
])
def test_bad_cli_values_fail_in_one_line(tmp_path, overrides, message):
    proc = run_cli(["train", "data=movielens_100k", "model=sasrec", "trainer=cpu", *overrides,
                    f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert_one_line_error(proc, message)
