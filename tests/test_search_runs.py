"""Search runs as a user starts them, in subprocesses: BM25 and the bi-encoder (zero-shot and fine-tuned)
on real PriceRunner phones in BEIR's layout, exact evaluation in one and two processes, the query strategies,
``llm_queries`` on a tiny real language model, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auglab.augment import AugmentationStrategy, RunContext
from auglab.errors import OptionError
from auglab.metrics import per_example
from auglab.report.outcomes import metric_function
from tests import tiny_language_models as tiny
from tests.conftest import assert_eval_reproduces, build_data, compose_cfg, run_cli
from tests.test_cli import assert_one_line_error
from tests.test_search_data import write_collection

RANKING = {f"test/{m}@{k}" for m in ("recall", "precision", "f1", "ndcg", "mrr") for k in (5, 10, 20)}


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def small(tmp_path: Path) -> list[str]:
    return ["data=search_files", f"data.path={write_collection(tmp_path / 'phones')}", "data.max_length=24",
            "data.batch_size=8", "data.val_queries=8", "data.test_fraction=0.25", "trainer=cpu",
            "trainer.max_epochs=2", "callbacks.progress.refresh_rate=0"]


def test_bm25_ranks_the_whole_corpus_without_training_and_the_report_recomputes_its_metrics(tmp_path):
    run = tmp_path / "run"
    proc = run_cli(["train", *small(tmp_path), "model=bm25", f"hydra.run.dir={run}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics, prov = _json(run / "metrics.json"), _json(run / "provenance.json")
    assert RANKING | {"test/acc", "test/loss", "val/ndcg@10_best"} <= metrics.keys()
    assert prov["training"]["optimizer_steps"] == 0 and prov["tested_checkpoint"] == "nothing trained"
    assert metrics["test/ndcg@10"] > 0.5  # a product's name shares its words with its offers' titles
    outcomes = per_example.load(run / "predictions.npz")
    assert outcomes["ranks"].ndim == 2 and len(outcomes["ranks"]) == prov["split_sizes"]["test"] == 10
    for name in ("test/ndcg@10", "test/recall@5", "test/mrr@20", "test/acc"):
        assert metric_function(name, outcomes)(outcomes) == pytest.approx(metrics[name], abs=1e-6), name


@pytest.mark.slow  # end to end, several subprocess runs: CI runs it
def test_the_zero_shot_encoder_ranks_far_above_chance(tmp_path):
    run = tmp_path / "run"
    proc = run_cli(["train", *small(tmp_path), "model=bi_encoder", "model.zero_shot=true", f"hydra.run.dir={run}"],
                   tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = _json(run / "metrics.json")
    assert _json(run / "provenance.json")["training"]["optimizer_steps"] == 0
    assert metrics["test/recall@20"] > 0.5  # chance: 20 of ~100 offers


@pytest.mark.slow  # two trainings and four evaluations of MiniLM, ~2 min on 2 cores; CI runs it
def test_the_bi_encoder_fine_tunes_reproduces_and_evaluates_exactly_in_one_and_two_processes(tmp_path):
    args = [*small(tmp_path), "model=bi_encoder", "data.hard_negatives=1"]
    for name in ("a", "b"):
        proc = run_cli(["train", *args, f"hydra.run.dir={tmp_path / name}"], tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = _json(tmp_path / "a" / "metrics.json")
    assert metrics == _json(tmp_path / "b" / "metrics.json")  # same seed, same numbers
    expected = {k: v for k, v in metrics.items() if k.startswith("test/")}
    assert _json(tmp_path / "a" / "provenance.json")["training"]["optimizer_steps"] == 2 * 3  # 22 queries, 8 a batch
    assert_eval_reproduces(tmp_path / "a" / "checkpoints" / "best.ckpt", expected, tmp_path)


@pytest.mark.slow  # two-process runs, ~1 min each on 2 cores; CI runs it
def test_bm25_and_the_bi_encoder_run_under_ddp(tmp_path):
    runs = {}
    for name, args in {"bm25": ["model=bm25"], "bm25_ddp": ["model=bm25", "trainer=ddp_cpu"],
                       "encoder_ddp": ["model=bi_encoder", "trainer=ddp_cpu", "trainer.max_epochs=1"]}.items():
        proc = run_cli(["train", *small(tmp_path), *args, f"hydra.run.dir={tmp_path / name}"], tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs[name] = _json(tmp_path / name / "metrics.json")
    # two processes rank their own queries; the metrics are sums over every query, so they are the same
    assert runs["bm25"] == pytest.approx(runs["bm25_ddp"], rel=1e-6)
    assert _json(tmp_path / "encoder_ddp" / "provenance.json")["world_size"] == 2
    assert RANKING <= runs["encoder_ddp"].keys()


@pytest.mark.parametrize("strategy", ["typo", *(pytest.param(name, marks=pytest.mark.slow)  # ~40 s each; CI runs them
                                                for name in ("eda", "token_dropout", "llm_paraphrase"))])
@pytest.mark.slow  # end to end, several subprocess runs: CI runs it
def test_each_query_strategy_trains_a_bi_encoder(strategy, tmp_path):
    run = tmp_path / "run"
    extra = [f"augment.offline.paraphrase.checkpoint={tiny.causal(tmp_path / 'lm')}",
             "augment.offline.paraphrase.max_new_tokens=6"] if strategy == "llm_paraphrase" else []
    proc = run_cli(["train", *small(tmp_path), "model=bi_encoder", "trainer.max_epochs=1", f"augment={strategy}",
                    *extra, f"hydra.run.dir={run}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sizes = _json(run / "provenance.json")["split_sizes"]
    if strategy == "llm_paraphrase":  # 2 rewrites of each of the 22 queries, less what the filter dropped
        assert 22 < sizes["train"] <= 22 * 3
    else:
        assert sizes["train"] == 22 * (5 if strategy == "eda" else 1)  # eda: 4 copies each
    assert RANKING <= _json(run / "metrics.json").keys()


def test_llm_queries_writes_round_trip_checked_queries_for_training_products_only(tmp_path):
    spec = compose_cfg(["data=search_files", "augment=llm_queries"], tmp_path).augment
    spec.offline.queries.update(checkpoint=str(tiny.causal(tmp_path / "lm", chat=False)), seed=0, n=3,
                                max_new_tokens=6, round_trip_k=5, device="cpu")
    dm = build_data("search_files", path=str(write_collection(tmp_path / "c")), val_queries=8, test_fraction=0.25,
                    augment=AugmentationStrategy.from_config(spec), context=RunContext(cache_dir=tmp_path / "cache"))
    dm.setup()
    report = dm.augment.offline_report["queries"]
    assert report["prompts"] == 22 and report["generated"] == 66
    assert report["kept"] + sum(report["dropped"].values()) == 66 and report["dropped"]["fails_round_trip"] > 0
    train = dm.train_set
    assert len(train) == 22 + report["kept"] and train.labels[22:].max() < 22  # new queries of training products
    held_out = {q.lower() for q in dm.val_set.queries + dm.test_set.queries}
    assert not {q.lower() for q in train.queries[22:]} & held_out
    for record in report["records"]:
        assert record["label"] in dm.train_names  # each written for a training product, from one of its offers
        assert record["original"] in {dm.documents[d] for d in dm.train_relevant[dm.train_names.index(record["label"])]}



def test_llm_queries_shows_real_training_queries_and_drops_words_copied_from_them(tmp_path, monkeypatch):
    """Every query carries a marker word; the demonstrations are training queries (never validation or test),
    the same in every prompt; a written query holding a demonstration's rare word that its offer lacks is dropped
    as copies_prompt_example."""
    from auglab.augment.text import query_generation

    folder = write_collection(tmp_path / "c")
    queries = [json.loads(line) for line in (folder / "queries.jsonl").read_text().splitlines()]
    (folder / "queries.jsonl").write_text("".join(json.dumps({**q, "text": f"{q['text']} qm{i}"}) + "\n"
                                                  for i, q in enumerate(queries)))
    seen = {}

    def spy(lm, prompts, options, *, seed, cache_dir, what):
        seen["prompts"] = prompts
        shown = prompts[0].split("\n")[2].split()[-1]  # the first demonstration's query's marker word
        return [[f"{shown} phone {i}", f"handset {i}"] for i in range(len(prompts))], {"prompts": len(prompts)}

    monkeypatch.setattr(query_generation, "cached_generate", spy)
    spec = compose_cfg(["data=search_files", "augment=llm_queries"], tmp_path).augment
    spec.offline.queries.update(checkpoint=str(tiny.causal(tmp_path / "lm", chat=False)), round_trip_k=None,
                                device="cpu")
    dm = build_data("search_files", path=str(folder), val_queries=8, test_fraction=0.25,
                    augment=AugmentationStrategy.from_config(spec), context=RunContext(cache_dir=tmp_path / "cache"))
    dm.setup()
    prompts = seen["prompts"]
    shared = prompts[0][:prompts[0].rindex("Product: ")]
    assert all(p.startswith(shared) for p in prompts)  # the same demonstrations in every prompt
    markers = {w for q in dm.train_names for w in q.split() if w.startswith("qm")}
    held = {w for q in dm.val_set.queries + dm.test_set.queries for w in q.split() if w.startswith("qm")}
    shown = {w for w in shared.split() if w.startswith("qm")}
    assert len(shown) == 2 and shown <= markers and not shown & held
    report = dm.augment.offline_report["queries"]
    # the marker is in one product's name only: copied into another product's query, it is a prompt example
    copied = [r for r in report["records"] if r["generated"].startswith("qm")]
    assert len(copied) == len(prompts) and {r["reason"] for r in copied} == {"copies_prompt_example"}
    assert report["dropped"]["copies_prompt_example"] == len(prompts) and report["kept"] == len(prompts)


@pytest.mark.parametrize(("options", "message"), [
    ({"examples": -1}, "examples=-1 is invalid: it must be an integer >= 0"),
    ({"prompt": "Product: {text}\nQuery:"}, "a template with {examples} in it when examples > 0"),
    ({"examples": 0}, "examples=0 is invalid: it must be at least 1 when the prompt has {examples}"),
    ({"drop_prompt_examples": "yes"}, "drop_prompt_examples='yes' is invalid: it must be true or false"),
])
def test_bad_llm_queries_options_fail_in_one_line(options, message, tmp_path):
    spec = compose_cfg(["data=search_files", "augment=llm_queries"], tmp_path).augment
    spec.offline.queries.update(**options)
    with pytest.raises(OptionError) as err:
        AugmentationStrategy.from_config(spec)
    assert message in str(err.value) and str(err.value).startswith("augment.offline.queries.")

SLOW = pytest.mark.slow  # checked once the whole PriceRunner corpus is loaded (about 30 s each); CI runs them


@pytest.mark.parametrize(("args", "fragments"), [
    (["model=bm25"], ["model BM25Retriever is for search data but data is image; choose model= one of: cdcgan"]),
    (["data=pricerunner", "model=bi_encoder"], ["model BiEncoder is for search data but data is text"]),
    (["data=pricerunner_search", "model=bert"], ["model BertClassifier is for text data but data is search"]),
    (["data=pricerunner_search", "model=bm25", "augment=mixup"],
     ["augment=mixup is for image data but data is search; choose one of: doc_expansion, doc_expansion_filtered, "
      "eda"]),
    (["data=pricerunner", "model=bert", "augment=llm_queries"], ["augment=llm_queries is for search data but data "
                                                                 "is text"]),
    (["data=pricerunner_search", "model=bm25", "data.categories=[Phones]"], ["data.categories: no category 'Phones'"]),
    (["data=pricerunner_search", "model=bm25", "data.train_queries=0"], ["data.train_queries", "an integer >= 1"]),
    (["data=pricerunner_search", "model=bm25", "data.test_fraction=1.5"], ["data.test_fraction=1.5", "(0, 1)"]),
    pytest.param(["data=pricerunner_search", "model=bm25", "model.b=2"], ["model.b", "a number in [0, 1]"], marks=SLOW),
    pytest.param(["data=pricerunner_search", "model=bm25", "augment=eda"],
                 ["augment=eda changes training data", "trains nothing"], marks=SLOW),
    (["data=pricerunner_search", "model=bm25", "model.index=hnsw"], ["model.index: model=bm25 has no such option",
                                                                     "model=bi_encoder"]),
    pytest.param(["data=pricerunner_search", "model=bm25", "model.chunk_size=0"], ["model.chunk_size=0 is invalid"],
                 marks=SLOW),
    pytest.param(["data=pricerunner_search", "model=bi_encoder", "model.index=ivf", "model.index_probes=0"],
                 ["model.index_probes=0 is invalid"], marks=SLOW),
    pytest.param(["data=pricerunner_search", "model=bm25", "model.method=okapi"], ["model.method", "lucene, robertson"],
                 marks=SLOW),
    (["data=search_files", "model=bm25"], ["data.path is not set; point it at a folder with corpus.jsonl"]),
    (["data=search_files", "model=bm25", "data.path=/nowhere"], ["data.path=/nowhere is not a folder"]),
])
def test_bad_search_input_fails_in_one_line(args, fragments, tmp_path):
    assert_one_line_error(run_cli(["train", *args, f"hydra.run.dir={tmp_path / 'run'}"], tmp_path), *fragments)


def test_every_evaluation_batch_is_as_wide_as_the_largest_relevant_set(tmp_path):
    """Per-query outcomes of all batches and DDP ranks stack into one array."""
    dm = build_data("search_files", path=str(write_collection(tmp_path / "c")), eval_batch_size=3)
    dm.setup()
    assert {relevant.shape[1] for _, relevant in dm.test_dataloader()} == {dm.max_relevant}
    assert dm.max_relevant >= max(len(r) for r in dm.test_set.relevant + dm.val_set.relevant) > 1
