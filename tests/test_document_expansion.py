"""The corpus stage (issue 31): document expansion and title enrichment change what a ranker indexes and never
what a user sees, see the documents only (no query reaches a prompt), resume after a crash with the texts an
uninterrupted run writes, filter what they write (every reason, Doc2Query--'s relevance share), and fail in
one line on a bad option. Generation runs on a tiny real causal model built here (tests/tiny_language_models.py)."""

from __future__ import annotations

import json

import pytest

from auglab.augment import AugmentationStrategy, RunContext
from auglab.augment.corpus import DocumentExpansion, TitleEnrichment, document_writer
from auglab.augment.text.prompt_examples import copied_words, demonstration_words
from auglab.errors import AuglabError, OptionError
from auglab.models.bm25 import BM25Index
from tests import tiny_language_models as tiny
from tests.conftest import build_data, compose_cfg, run_cli
from tests.test_cli import assert_one_line_error
from tests.test_search_data import write_collection
from tests.test_search_runs import small


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    return tiny.causal(tmp_path_factory.mktemp("tiny_lm") / "causal", chat=False)


def _strategy(tmp_path, name: str = "doc_expansion", **options) -> AugmentationStrategy:
    spec = compose_cfg(["data=search_files", f"augment={name}"], tmp_path).augment
    transform = next(iter(spec.corpus))
    spec.corpus[transform].update(device="cpu", backend="transformers", **options)  # what the spies replace
    return AugmentationStrategy.from_config(spec)


def _expansion(lm, **options) -> DocumentExpansion:
    return DocumentExpansion(**{"checkpoint": str(lm), "n": 2, "max_new_tokens": 5, "chunk_size": 8,
                                "device": "cpu", "max_words": 50, **options})


def test_expansion_changes_what_bm25_ranks_and_never_what_the_user_sees(tmp_path, monkeypatch):
    """A planted expansion holds the only word of a query: BM25 over the expanded corpus finds its document first,
    over the titles it finds nothing; the datamodule's titles are the collection's texts, in the same order."""
    folder = write_collection(tmp_path / "c")
    plain = build_data("search_files", path=str(folder), val_queries=8, test_fraction=0.25)
    plain.setup()
    planted = 7

    def fake_generate(lm, prompts, options, *, seed, desc=""):
        return [["zorblax phone"] if i == planted else ["handset"] for i in range(len(prompts))]

    monkeypatch.setattr(document_writer, "generate", fake_generate)
    dm = build_data("search_files", path=str(folder), val_queries=8, test_fraction=0.25,
                    augment=_strategy(tmp_path, checkpoint=str(tiny.causal(tmp_path / "lm", chat=False)),
                                      chunk_size=1000),
                    context=RunContext(cache_dir=tmp_path / "cache"))
    dm.setup()
    assert dm.titles == plain.documents == plain.titles  # what a user sees: unchanged
    assert dm.documents[planted] == f"{dm.titles[planted]} zorblax phone"
    assert BM25Index(dm.documents).top(["zorblax"], 1) == [[planted]]
    assert not BM25Index(dm.titles).scores("zorblax").any()
    assert dm.data_hash == plain.data_hash and dm.split_sizes == plain.split_sizes  # the same queries and splits
    assert [q for q in dm.test_set.queries] == [q for q in plain.test_set.queries]


def test_no_query_reaches_a_prompt_and_the_stage_sees_documents_only(tmp_path, monkeypatch, lm):
    """Every query of the collection (train, validation, test) carries a word no document has: no prompt holds it,
    and each prompt is the template around one title."""
    folder = write_collection(tmp_path / "c")
    queries = [json.loads(line) for line in (folder / "queries.jsonl").read_text().splitlines()]
    (folder / "queries.jsonl").write_text("".join(json.dumps({**q, "text": f"qmarker {q['text']}"}) + "\n"
                                                  for q in queries))
    seen = {}
    real_setup = DocumentExpansion.setup

    def spy_setup(self, context):
        seen["context"] = context
        real_setup(self, context)

    def spy_generate(lm, prompts, options, *, seed, desc=""):
        seen.setdefault("prompts", []).extend(prompts)
        return [["written"] * options.n for _ in prompts]

    monkeypatch.setattr(DocumentExpansion, "setup", spy_setup)
    monkeypatch.setattr(document_writer, "generate", spy_generate)
    dm = build_data("search_files", path=str(folder), val_queries=8, test_fraction=0.25,
                    augment=_strategy(tmp_path, checkpoint=str(lm)), context=RunContext(cache_dir=tmp_path / "cache"))
    dm.setup()
    context = seen["context"]
    assert context.held_out is None and context.train is None and context.relevant is None
    assert context.class_names is None and list(context.corpus) == dm.titles
    template = dm.augment.corpus["expansion"].template.template
    assert seen["prompts"] == [template.format(text=title) for title in dm.titles]  # the template and a title, only
    assert all(q.startswith("qmarker ") for q in dm.val_set.queries + dm.test_set.queries + dm.train_names)
    assert not any("qmarker" in prompt for prompt in seen["prompts"])


def test_resume_after_a_crash_and_a_cache_hit_write_what_an_uninterrupted_run_writes(tmp_path, monkeypatch, lm):
    documents = build_data("search_files", path=str(write_collection(tmp_path / "c", products=10)),
                           val_queries=2, test_fraction=0.25)
    documents.setup()
    titles = documents.titles[:30]
    whole = _expansion(lm)
    whole.setup(RunContext(cache_dir=tmp_path / "a"))
    expected = whole(titles)
    assert expected != titles and whole.report()["chunks_computed"] == 4

    real, calls = document_writer.generate, []

    def crash_at_third_chunk(lm, prompts, options, *, seed, desc=""):
        calls.append(seed)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as a kill between chunks: two chunks are on disk
        return real(lm, prompts, options, seed=seed, desc=desc)

    monkeypatch.setattr(document_writer, "generate", crash_at_third_chunk)
    first = _expansion(lm)
    first.setup(RunContext(cache_dir=tmp_path / "b"))
    with pytest.raises(KeyboardInterrupt):
        first(titles)
    resumed = _expansion(lm)
    resumed.setup(RunContext(cache_dir=tmp_path / "b"))
    assert resumed(titles) == expected
    assert resumed.report()["chunks_loaded"] == 2 and resumed.report()["chunks_computed"] == 2
    again = _expansion(lm)
    again.setup(RunContext(cache_dir=tmp_path / "b"))
    assert again(titles) == expected and again.report()["chunks_loaded"] == 4
    assert again.report()["records"] == whole.report()["records"]
    other_seed = _expansion(lm, seed=1)
    other_seed.setup(RunContext(cache_dir=tmp_path / "b"))
    assert other_seed(titles) != expected  # the seed is part of the key


def test_every_filter_reason_and_the_relevance_share(lm):
    documents = ["samsung galaxy s21 128gb black", "apple iphone 12 64gb white", "nokia 3310 blue"]
    written = [["", "samsung galaxy s21 128gb black", "samsung galaxy s21 128gb", "samsung galaxy s21 128gb"],
               ["acme iphone", "iphone 12 " + "word " * 20, "iphone 12 white"],
               ["nokia 3310", "phone"]]
    stage = _expansion(lm, relevance="bm25", drop_fraction=0.5, max_words=10)
    result = stage._filter(documents, written)
    reasons = [r["reason"] for r in result["records"]]
    # four texts pass the other filters; half of them go, the least relevant to their document first: "phone"
    # shares no word with its document, "nokia 3310" two of its three words against four and three of five
    assert reasons == ["empty", "copies_document", None, "duplicate", "copies_prompt_example", "too_long", None,
                       "low_relevance", "low_relevance"]
    assert result["summary"]["generated"] == 9 and result["summary"]["kept"] == 2
    assert stage.combine(documents[0], result["kept"][0]) == f"{documents[0]} samsung galaxy s21 128gb"
    assert TitleEnrichment(checkpoint=str(lm), mode="replace").combine("t", ["full"]) == "full"
    assert TitleEnrichment(checkpoint=str(lm), mode="replace").combine("t", []) == "t"
    with pytest.raises(AuglabError, match="every one of the 2 written texts was filtered out"):
        stage._filter(["a b"], [["", "a b"]])
    with pytest.raises(AuglabError, match="2 as too_long\\); raise max_words$"):
        stage._filter(["a b"], [["word " * 11, "a " * 12]])


def test_prompt_example_words_are_the_demonstrations_not_the_instruction_or_field_names():
    template = "Write the query for the product.\nProduct: acme tx500 tv\nQuery: acme tv\nProduct: {text}\nQuery:"
    assert demonstration_words(template) == {"acme", "tx500", "tv"}
    assert copied_words("acme galaxy tv", "samsung galaxy tv", {"acme", "tx500", "tv"}) == {"acme"}


def test_example_words_all_also_drops_the_common_words_of_invented_demonstrations(lm):
    documents = ["lg oled55 tv", "sony bravia tv", "samsung qled55 black"]  # "tv", "black": common here
    written = [["acme tv"], ["sony 60cm"], ["samsung qled55 tv", "samsung 55 qled"]]
    rare = [r["reason"] for r in _expansion(lm)._filter(documents, written)["records"]]
    every = [r["reason"] for r in _expansion(lm, example_words="all")._filter(documents, written)["records"]]
    assert rare == ["copies_prompt_example", "copies_prompt_example", None, None]  # "acme"; "60cm": 0 of 3 use it
    assert every == ["copies_prompt_example", "copies_prompt_example", "copies_prompt_example", None]  # + "tv"


@pytest.mark.parametrize(("options", "message"), [
    ({"example_words": "common"}, "example_words='common' is invalid: it must be one of rare, all"),
    ({"n": 0}, "n=0 is invalid: it must be an integer >= 1"),
    ({"drop_fraction": 1.0, "relevance": "bm25"}, "drop_fraction=1.0 is invalid: it must be a number in [0, 1)"),
    ({"drop_fraction": -0.1, "relevance": "bm25"}, "drop_fraction=-0.1 is invalid"),
    ({"drop_fraction": 0.3}, "relevance=None is invalid: it must be one of bm25, bi_encoder when drop_fraction > 0"),
    ({"relevance": "cross_encoder"}, "relevance='cross_encoder' is invalid: it must be one of bm25, bi_encoder"),
    ({"prompt": "Write a query."}, "a template with {text} in it"),
    ({"chunk_size": 0}, "chunk_size=0 is invalid"),
])
def test_bad_expansion_options_fail_in_one_line(options, message, tmp_path):
    with pytest.raises(OptionError) as err:
        _strategy(tmp_path, **options)
    assert message in str(err.value) and str(err.value).startswith("augment.corpus.expansion.")
    with pytest.raises(OptionError, match="mode='both' is invalid"):
        _strategy(tmp_path, "title_enrichment", mode="both")


def test_a_corpus_strategy_on_data_without_documents_fails_in_one_line(tmp_path):
    proc = run_cli(["train", "data=pricerunner", "model=bert", "augment=doc_expansion",
                    f"paths.cache_dir={tmp_path / 'cache'}"], tmp_path)
    assert_one_line_error(proc, "augment=doc_expansion rewrites the documents of a search corpus, and text data has "
                                "none; use it with data=pricerunner_search or data=search_files")
    assert not (tmp_path / "cache" / "corpus").exists()


def test_a_bm25_run_with_expanded_documents_reports_them_and_a_warm_cache_changes_nothing(tmp_path, lm):
    """The cold and the warm run give the same metrics; the run folder keeps what was written and why."""
    args = ["train", *small(tmp_path), "model=bm25", "augment=doc_expansion", f"paths.cache_dir={tmp_path / 'cache'}",
            f"augment.corpus.expansion.checkpoint={lm}", "augment.corpus.expansion.max_new_tokens=5",
            "augment.corpus.expansion.max_words=50", "augment.corpus.expansion.chunk_size=40"]
    metrics = []
    for name in ("cold", "warm"):
        proc = run_cli([*args, f"hydra.run.dir={tmp_path / name}"], tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        metrics.append(json.loads((tmp_path / name / "metrics.json").read_text()))
    assert metrics[0] == metrics[1]
    report = json.loads((tmp_path / "warm" / "augmentation.json").read_text())["corpus.expansion"]
    assert report["chunks_loaded"] == report["chunks"] > 1 and report["generated"] == 3 * report["documents"]
    assert report["kept"] + sum(report["dropped"].values()) == report["generated"]
    lines = (tmp_path / "cold" / "generated_text.jsonl").read_text().splitlines()
    assert len(lines) == report["generated"] and json.loads(lines[0])["transform"] == "corpus.expansion"
    assert (tmp_path / "cold" / "generated_text.png").stat().st_size > 0
