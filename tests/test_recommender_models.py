"""GRU4Rec and SASRec as functions: a history's score depends on its real items only, and SASRec's
last-position shortcut equals running its last block on every position."""

from __future__ import annotations

import functools
import math

import pytest
import torch

from auglab.errors import AuglabError
from auglab.models.gru4rec import GRU4Rec
from auglab.models.recommender import last_position
from auglab.models.sasrec import SASRec, SelfAttentionBlock
from tests.conftest import monitoring

ADAM = functools.partial(torch.optim.Adam, lr=0.001)


def _histories(n: int, length: int, num_items: int) -> torch.Tensor:
    """Left-aligned ``[n, length]`` histories of 1..length real items, 0 after them."""
    x = torch.randint(1, num_items + 1, (n, length))
    lengths = torch.randint(1, length + 1, (n,))
    return x.masked_fill(torch.arange(length) >= lengths[:, None], 0)


@pytest.mark.parametrize("model_cls", [GRU4Rec, SASRec])
def test_scores_depend_on_the_real_items_only(model_cls):
    torch.manual_seed(0)
    model = model_cls(**monitoring(model_cls.__name__.lower()), num_items=30, max_len=12, optimizer=ADAM).eval()
    x = _histories(16, 8, 30)  # [16, 8]
    wider = torch.cat([x, torch.zeros(16, 4, dtype=x.dtype)], 1)  # the same histories, more padding
    with torch.no_grad():
        scores = model(x)  # [16, 32]
        assert torch.allclose(scores, model(wider), atol=1e-5)
        changed = x.clone()
        changed[:, 0] = changed[:, 0] % 30 + 1  # a different first item changes every history's score
        assert not torch.isclose(model(changed), scores).all(dim=1).any()
    assert torch.isinf(scores[:, [0, 31]]).all() and torch.isfinite(scores[:, 1:31]).all()


def test_sasrec_last_block_on_the_scored_position_equals_the_full_block():
    torch.manual_seed(0)
    block = SelfAttentionBlock(16, 2, 32, dropout=0.5, eps=1e-12).eval()
    h = torch.randn(10, 7, 16)  # [B, L, D]
    x = _histories(10, 7, 5)
    last = (x > 0).sum(1) - 1  # [B]
    with torch.no_grad():
        assert torch.allclose(block(h, last), last_position(block(h), x), atol=1e-6)


def test_bad_model_values_fail_before_training():
    with pytest.raises(AuglabError, match="model.num_heads=3 must divide model.embedding_size=64"):
        SASRec(**monitoring("sasrec"), num_items=10, max_len=5, num_heads=3, optimizer=ADAM)
    with pytest.raises(AuglabError, match="model.num_layers=0 is invalid: it must be an integer >= 1"):
        SASRec(**monitoring("sasrec"), num_items=10, max_len=5, num_layers=0, optimizer=ADAM)
    with pytest.raises(AuglabError, match="model.loss=bpr samples negatives but the data has 1 item"):
        GRU4Rec(**monitoring("gru4rec"), num_items=1, max_len=5, loss="bpr", optimizer=ADAM)


def test_scores_stay_float32_under_mixed_precision():
    torch.manual_seed(0)
    model = SASRec(**monitoring("sasrec"), num_items=30, max_len=8, optimizer=ADAM).eval()
    x = _histories(4, 8, 30)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        scores = model(x)
    assert scores.dtype == torch.float32


def test_group_metrics_equal_the_metrics_of_each_group_alone():
    from auglab.metrics.ranking import RankingMetrics, group_metrics

    ranks = torch.randint(0, 40, (300,), generator=torch.Generator().manual_seed(0)).float()
    short = torch.arange(300) % 3 == 0
    out = group_metrics(ranks, {"short": short, "long": ~short, "nobody": torch.zeros(300, dtype=torch.bool)},
                        [5, 10], "test/")
    for name, mask in (("short", short), ("long", ~short)):
        alone = RankingMetrics([5, 10], f"test/{name}/")
        alone.update(ranks[mask])
        expected = {k: float(v) for k, v in alone.compute().items()}
        assert {k: pytest.approx(v, rel=1e-6) for k, v in expected.items()} == {
            k: out[k] for k in expected}
        assert out[f"test/{name}/users"] == int(mask.sum())
    assert math.isnan(out["test/nobody/ndcg@10"]) and out["test/nobody/users"] == 0


def test_the_report_recomputes_a_group_metric_from_per_user_outcomes():
    from auglab.metrics.ranking import group_metrics
    from auglab.report.outcomes import metric_function

    ranks = torch.randint(0, 40, (200,), generator=torch.Generator().manual_seed(1))
    short = (torch.arange(200) % 4 == 0).numpy()
    logged = group_metrics(ranks.float(), {"short": torch.as_tensor(short)}, [10], "test/")
    outcomes = {"rank": ranks.numpy(), "group_short": short}
    for metric in ("test/short/ndcg@10", "test/short/recall@10", "test/short/acc"):
        assert metric_function(metric, outcomes)(outcomes) == pytest.approx(logged[metric])
    assert metric_function("test/long/ndcg@10", outcomes) is None  # a group the run did not record
