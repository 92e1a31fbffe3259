"""Interaction logs, pre-processing, leave-one-out splits, synthetic sessions and ranking metrics."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from auglab.data.sequences import InteractionsDataModule
from auglab.data.sources.interactions import InteractionLog, read_interactions
from auglab.data.sources.synthetic_sessions import generate
from auglab.data.user_sequences import build_sequences
from auglab.errors import AuglabError
from auglab.metrics.ranking import RankingMetrics, target_ranks
from tests.conftest import build_data

LOG = [  # user, item, time: u1 has 4 interactions (listed out of time order), u2 has 3, u3 has 2
    ("u1", "a", 3), ("u1", "b", 1), ("u1", "c", 2), ("u1", "d", 4),
    ("u2", "b", 5), ("u2", "c", 6), ("u2", "a", 7),
    ("u3", "a", 1), ("u3", "d", 2),
]


def write_log(path, rows=LOG, sep=",", header=("user_id", "item_id", "timestamp")):
    path.write_text(sep.join(header) + "\n" + "".join(sep.join(map(str, r)) + "\n" for r in rows))
    return path


def datamodule(path, **kw) -> InteractionsDataModule:
    dm = build_data("interactions", path=str(path), user_core=0, item_core=0, max_len=3, **kw)
    dm.setup()
    return dm


def test_leave_one_out_by_time(tmp_path):
    dm = datamodule(write_log(tmp_path / "log.csv"))
    # items re-indexed by sorted raw id: a=1 b=2 c=3 d=4; u3 (2 interactions) is dropped
    assert dm.split_sizes == {"train": 1, "val": 2, "test": 2, "users": 2, "items": 4, "train_users": 2}
    x, y = dm.test_set.__getitems__([0, 1])
    assert x.tolist() == [[2, 3, 1], [2, 3, 0]] and y.tolist() == [4, 1]  # u1: b c a -> d; u2: b c -> a
    x, y = dm.val_set.__getitems__([0, 1])
    assert x.tolist() == [[2, 3, 0], [2, 0, 0]] and y.tolist() == [1, 3]
    x, y = dm.train_set.__getitems__([0])  # u1's training part is b c: one example b -> c; u2's is b alone
    assert x.tolist() == [[2, 0, 0]] and y.tolist() == [3]


def test_history_keeps_the_most_recent_max_len_items(tmp_path):
    rows = [("u", f"i{k:02d}", k) for k in range(10)]
    dm = datamodule(write_log(tmp_path / "log.csv", rows))
    x, y = dm.test_set.__getitems__([0])
    assert x.tolist() == [[7, 8, 9]] and y.tolist() == [10]
    x, y = dm.train_set.__getitems__(list(range(len(dm.train_set))))
    assert y.tolist() == list(range(2, 9))  # targets of the training prefixes: never item 9 or 10
    assert x[0].tolist() == [1, 0, 0] and x[-1].tolist() == [5, 6, 7]


def test_low_data_users_are_seeded_and_evaluation_keeps_everyone():
    kw = {"num_users": 300, "num_items": 50, "num_categories": 5}
    a = build_data("synthetic_sessions", train_users=30, split_seed=1, **kw)
    b = build_data("synthetic_sessions", train_users=30, split_seed=1, **kw)
    c = build_data("synthetic_sessions", train_user_fraction=0.1, split_seed=2, **kw)
    for dm in (a, b, c):
        dm.setup()
    assert a.split_sizes == b.split_sizes and a.data_hash == b.data_hash
    assert a.split_sizes["train_users"] == 30 and a.split_sizes["test"] == 300
    assert a.split_sizes["train"] != c.split_sizes["train"]
    with pytest.raises(AuglabError, match="data.train_users=301: the data has 300 users"):
        build_data("synthetic_sessions", train_users=301, **kw).setup()


@pytest.mark.parametrize("fmt", ["inter", "tsv", "parquet"])
def test_formats_and_dates(tmp_path, fmt):
    if fmt == "parquet":
        path = tmp_path / "log.parquet"
        pq.write_table(pa.table({"user": [r[0] for r in LOG], "item": [r[1] for r in LOG],
                                 "when": [f"2024-01-{r[2]:02d}" for r in LOG]}), path)
        log = read_interactions(path, user_field="user", item_field="item", time_field="when")
        assert log.time[0] == pytest.approx(1704067200 + 2 * 86400)  # 2024-01-03
    else:
        header = ("user_id:token", "item_id:token", "timestamp:float") if fmt == "inter" else None
        path = write_log(tmp_path / f"log.{fmt}", sep="\t", **({"header": header} if header else {}))
        log = read_interactions(path)
    seqs = build_sequences(log, user_core=0, item_core=0)
    assert seqs.num_users == 2 and seqs[0].tolist() == [2, 3, 1, 4]


def test_ids_are_text_and_times_keep_sub_second_order(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("user_id,item_id,timestamp\n"
                    "u,007,2020-01-01 10:00:00.300\nu,7,2020-01-01 10:00:00.100\n"
                    "u,12345678901234567890001,2020-01-01T10:00:00.200\n"
                    "u,12345678901234567890002,2020-01-01 10:00:01\n")
    log = read_interactions(path)
    assert log.item.tolist() == ["007", "7", "12345678901234567890001", "12345678901234567890002"]  # 4 items
    assert np.argsort(log.time).tolist() == [1, 2, 0, 3]
    parquet = tmp_path / "log.parquet"
    stamps = pa.array([1_577_872_800_300_000_000, 1_577_872_800_100_000_000], pa.timestamp("ns"))
    pq.write_table(pa.table({"user_id": ["u", "u"], "item_id": ["a", "b"], "timestamp": stamps}), parquet)
    assert read_interactions(parquet).time.tolist() == pytest.approx([1577872800.3, 1577872800.1])


@pytest.mark.parametrize(
    ("content", "kwargs", "message"),
    [
        (None, {}, "does not exist; point it at a .inter, .csv, .tsv or .parquet log"),
        ("user_id,item,timestamp\n", {}, "data.item_field=item_id is not a column of"),
        ("user_id,item_id,timestamp\n", {}, "holds no interactions (only a header)"),
        ("user_id,item_id,timestamp\nu,a,yesterday\n", {}, "holds 'yesterday', neither a number nor a date"),
        ("user_id,item_id,timestamp\nu,a,1\nu,b,2\nu,c,3\nv,a,4\n", {"user_core": 5},
         "left no user in"),
        ("user_id,item_id,timestamp\nu,a,1\nu,,2\nu,c,3\n", {}, "data.item_field=item_id: 1 row(s) of"),
        ("user_id,item_id,timestamp\nu,a,1\nu,b,2\nu,c,3\nv,a,4\nv,b,5\nv,c,6\n", {},
         "no training example: each of the 2 training users has fewer than 4 interactions"),
    ],
)
def test_bad_logs_fail_in_one_line(tmp_path, content, kwargs, message):
    path = tmp_path / "log.csv"
    if content is not None:
        path.write_text(content)
    kw = {"user_core": 0, "item_core": 0, **kwargs}
    with pytest.raises(AuglabError, match=None) as err:
        build_data("interactions", path=str(path), **kw).setup()
    assert message in str(err.value) and "\n" not in str(err.value)
    if "is not a column" in message:
        assert "columns found: user_id, item, timestamp" in str(err.value)


def test_k_core_is_iterated_and_reported():
    users = np.array(["a"] * 5 + ["b"] * 5 + ["c"] * 2)
    items = np.array(["x", "y", "z", "w", "v"] * 2 + ["x", "q"])
    seqs = build_sequences(InteractionLog(users, items, np.arange(12.0)), user_core=3, item_core=2)
    assert seqs.num_users == 2 and seqs.num_items == 5  # c (2 interactions) goes, then q; x stays (a, b)
    with pytest.raises(AuglabError, match="the rounds dropped"):
        build_sequences(InteractionLog(users, items, np.arange(12.0)), user_core=6, item_core=0)


def test_movielens_100k_is_embedded():
    dm = build_data("movielens_100k", user_core=0, item_core=0)
    dm.setup()
    assert dm.split_sizes["users"] == 943 and dm.split_sizes["items"] == 1682
    assert dm.split_sizes["train"] == 100_000 - 3 * 943  # every prefix of every user's training part


def test_synthetic_sessions_are_seeded_and_structured():
    a, b = generate(num_users=500, seed=3), generate(num_users=500, seed=3)
    assert np.array_equal(a.items, b.items) and not np.array_equal(a.items, generate(num_users=500, seed=4).items)
    assert a.lengths.min() >= 5 and 1 <= a.items.min() and a.items.max() <= 1000
    with pytest.raises(AuglabError, match="data.p_repeat=1.5: must be from 0.0 to 1.0"):
        generate(p_repeat=1.5)
    with pytest.raises(AuglabError, match="data.p_switch \\+ data.p_copurchase \\+ data.p_repeat = 1.5 exceeds 1"):
        generate(p_switch=0.6, p_copurchase=0.6, p_repeat=0.3)


def test_ranking_metrics_by_hand():
    scores = torch.tensor([[-math.inf, 0.9, 0.5, 0.1, 0.5],   # target 2: item 1 above, item 4 tied: rank 2
                           [-math.inf, 0.1, 0.2, 0.3, 0.4],   # target 4: rank 0
                           [-math.inf, 0.4, 0.3, 0.2, 0.1]])  # target 4: rank 3 (column 0 is padding)
    targets = torch.tensor([2, 4, 4])
    ranks = target_ranks(scores, targets)
    assert ranks.tolist() == [2, 0, 3]
    metric = RankingMetrics(ks=(1, 3, 10), prefix="test/")
    metric.update(ranks)
    out = {k: float(v) for k, v in metric.compute().items()}
    assert out["test/acc"] == pytest.approx(1 / 3)
    assert out["test/recall@3"] == pytest.approx(2 / 3)
    assert out["test/ndcg@3"] == pytest.approx((1 / math.log2(4) + 1) / 3)
    assert out["test/mrr@3"] == pytest.approx((1 / 3 + 1) / 3)
    assert out["test/precision@3"] == pytest.approx(2 / 3 / 3)
    assert out["test/f1@3"] == pytest.approx(2 / 3 * (2 * (1 / 3) * 1 / (1 / 3 + 1)))
    assert out["test/recall@10"] == 1.0  # K beyond the 4 items: every target is a hit
    assert out["test/ndcg@10"] == pytest.approx((1 / math.log2(4) + 1 + 1 / math.log2(5)) / 3)
    constant = RankingMetrics(ks=(1,))
    constant.update(target_ranks(torch.zeros(2, 5), torch.tensor([1, 2])))
    assert float(constant.compute()["acc"]) == 0.0  # a model that scores everything alike gets nothing


def test_ranking_metric_names_match_what_is_computed():
    metric = RankingMetrics(ks=(2, 7), prefix="val/")
    metric.update(torch.tensor([0, 3]))
    assert sorted(metric.names()) == sorted(metric.compute())
