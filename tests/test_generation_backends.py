"""``backend=ctranslate2`` (issue 31): on a tiny real Llama built here, CTranslate2 at float32 writes the reference
path's greedy texts; its sampling is seeded; the converted checkpoint is made once, cold or warm the run is the
same and the global random stream untouched; a corpus strategy on it resumes after a crash with the texts of
an uninterrupted run; bad options and a missing package fail in one line."""

from __future__ import annotations

import builtins
import json

import pytest
import torch

from auglab.augment import RunContext
from auglab.augment.corpus import DocumentExpansion
from auglab.augment.text import ctranslate2_generation
from auglab.augment.text.ctranslate2_generation import CTranslate2Writer, converted
from auglab.augment.text.generation import GenerationOptions, generate
from auglab.errors import AuglabError, OptionError
from auglab.pretrained.language_models import load_language_model
from tests import tiny_language_models as tiny
from tests.conftest import run_cli

pytest.importorskip("ctranslate2", reason="backend=ctranslate2 needs the package ctranslate2 (pip install ctranslate2)")

TITLES = ["apple iphone 64gb silver", "bosch fridge freezer white", "sony tv 4k 55 inch", "canon digital camera",
          "samsung galaxy 128gb black", "lg washing machine", "intel core cpu", "nikon camera with the lens"]
PROMPT = "Product: samsung galaxy 64gb\nQuery: samsung galaxy\nProduct: {text}\nQuery:"


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    folder = tiny.causal(tmp_path_factory.mktemp("tiny_lm") / "causal", chat=False)
    return load_language_model(str(folder))


def test_float32_greedy_texts_equal_the_reference_paths(lm, tmp_path):
    prompts = [PROMPT.format(text=t) for t in TITLES]
    greedy = GenerationOptions(n=2, max_new_tokens=6, do_sample=False, batch_size=3)
    reference = generate(lm, prompts, greedy, seed=0)
    written = CTranslate2Writer(lm, cache_dir=tmp_path, compute_type="float32", device="cpu")(prompts, greedy, seed=0)
    assert written == reference and all(len(t[0].split()) > 0 for t in written)
    int8 = CTranslate2Writer(lm, cache_dir=tmp_path, compute_type="int8", device="cpu")(prompts, greedy, seed=0)
    assert [len(t) for t in int8] == [2] * len(TITLES)  # int8 may write other words: the benchmark measures how often


def test_sampling_is_seeded(lm, tmp_path):
    prompts = [PROMPT.format(text=t) for t in TITLES]
    sampled = GenerationOptions(n=3, max_new_tokens=6, do_sample=True, temperature=1.0, batch_size=3)
    writer = CTranslate2Writer(lm, cache_dir=tmp_path, compute_type="int8", device="cpu")
    first = writer(prompts, sampled, seed=1)
    assert writer(prompts, sampled, seed=1) == first
    fresh = CTranslate2Writer(lm, cache_dir=tmp_path, compute_type="int8", device="cpu")
    assert fresh(prompts, sampled, seed=1) == first
    assert writer(prompts, sampled, seed=2) != first
    assert any(len(set(texts)) > 1 for texts in first)  # three draws per prompt, not one text three times


def test_conversion_is_cached_and_leaves_the_random_stream(lm, tmp_path, monkeypatch):
    torch.manual_seed(3)
    state = torch.random.get_rng_state()
    folder = converted(lm, cache_dir=tmp_path, compute_type="int8")
    assert torch.equal(torch.random.get_rng_state(), state)  # a cold cache draws nothing from the run's stream
    assert (folder / "model.bin").is_file() and folder.parent == tmp_path / "ctranslate2"
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no partial folder left

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr("ctranslate2.converters.TransformersConverter.convert", no_conversion)
    assert converted(lm, cache_dir=tmp_path, compute_type="int8") == folder


def test_a_crash_resumes_with_the_texts_of_an_uninterrupted_run(lm, tmp_path, monkeypatch):
    def expansion() -> DocumentExpansion:
        stage = DocumentExpansion(checkpoint=lm.source, n=2, max_new_tokens=5, chunk_size=3, device="cpu",
                                  max_words=50, backend="ctranslate2", compute_type="int8")
        stage.setup(RunContext(cache_dir=tmp_path / "cache"))
        return stage

    whole = DocumentExpansion(checkpoint=lm.source, n=2, max_new_tokens=5, chunk_size=3, device="cpu", max_words=50,
                              backend="ctranslate2", compute_type="int8")
    whole.setup(RunContext(cache_dir=tmp_path / "other"))
    expected = whole(TITLES)
    assert whole.report()["backend"] == "ctranslate2" and whole.report()["chunks_computed"] == 3
    real, calls = CTranslate2Writer.__call__, []

    def crash_at_second_chunk(self, prompts, options, *, seed, desc=""):
        calls.append(seed)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, prompts, options, seed=seed, desc=desc)

    monkeypatch.setattr(CTranslate2Writer, "__call__", crash_at_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        expansion()(TITLES)
    monkeypatch.setattr(CTranslate2Writer, "__call__", real)
    resumed = expansion()
    assert resumed(TITLES) == expected and resumed.report()["chunks_loaded"] == 1
    transformers = DocumentExpansion(checkpoint=lm.source, n=2, max_new_tokens=5, chunk_size=3, device="cpu",
                                     max_words=50)
    transformers.setup(RunContext(cache_dir=tmp_path / "cache"))
    transformers(TITLES)
    assert transformers.report()["chunks_loaded"] == 0  # the backend is part of the cache key


@pytest.mark.parametrize(("options", "message"), [
    ({"backend": "vllm"}, "backend='vllm' is invalid: it must be one of transformers, ctranslate2"),
    ({"compute_type": "int4"}, "compute_type='int4' is invalid: it must be one of int8,"),
])
def test_bad_backend_options_fail_in_one_line(options, message, lm):
    with pytest.raises(OptionError, match=message.replace("(", r"\(")):
        DocumentExpansion(checkpoint=lm.source, **options)


def test_a_missing_package_an_unsupported_or_seq2seq_checkpoint_fail_in_one_line(lm, tmp_path, monkeypatch):
    seq2seq = load_language_model(str(tiny.seq2seq(tmp_path / "bart")))
    with pytest.raises(AuglabError, match="sequence-to-sequence; set backend=transformers"):
        converted(seq2seq, cache_dir=tmp_path, compute_type="int8")

    def unsupported(self, output_dir, **kwargs):
        raise NotImplementedError("Model type 'toy' is not supported")

    with monkeypatch.context() as patch:
        patch.setattr("ctranslate2.converters.TransformersConverter.convert", unsupported)
        with pytest.raises(AuglabError, match="CTranslate2 cannot convert it .Model type 'toy' is not supported.; set "
                                              "backend=transformers"):
            converted(lm, cache_dir=tmp_path / "fresh", compute_type="int8")
    assert not list((tmp_path / "fresh" / "ctranslate2").iterdir())  # nothing half-written
    real_import = builtins.__import__

    def without_ctranslate2(name, *args, **kwargs):
        if name == "ctranslate2":
            raise ImportError("No module named 'ctranslate2'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_ctranslate2)
    with pytest.raises(AuglabError, match="backend=ctranslate2 needs the package ctranslate2: pip install"):
        ctranslate2_generation.converted(lm, cache_dir=tmp_path, compute_type="int8")
    stage = DocumentExpansion(checkpoint=lm.source, backend="ctranslate2", device="cpu", chunk_size=4)
    stage.setup(RunContext(cache_dir=tmp_path / "cache"))
    with pytest.raises(AuglabError, match="pip install ctranslate2"):
        stage(TITLES)
    assert not list((tmp_path / "cache" / "corpus").glob("*/chunk-*"))  # nothing half-written


@pytest.mark.slow  # two runs, one of them in two processes (~2 min on 2 cores); CI runs it
def test_ddp_ranks_share_the_generation_and_write_what_one_process_writes(tmp_path):
    from tests.test_search_runs import small

    checkpoint = tiny.causal(tmp_path / "lm", chat=False)
    args = [*small(tmp_path), "model=bm25", "augment=doc_expansion",
            f"augment.corpus.expansion.checkpoint={checkpoint}", "augment.corpus.expansion.max_new_tokens=5",
            "augment.corpus.expansion.max_words=50",
            "augment.corpus.expansion.chunk_size=10"]
    metrics, reports = {}, {}
    for name, trainer in (("one", "trainer=cpu"), ("two", "trainer=ddp_cpu")):
        proc = run_cli(["train", *args, trainer, f"paths.cache_dir={tmp_path / name / 'cache'}",
                        f"hydra.run.dir={tmp_path / name / 'run'}"], tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        metrics[name] = json.loads((tmp_path / name / "run" / "metrics.json").read_text())
        reports[name] = json.loads((tmp_path / name / "run" / "augmentation.json").read_text())["corpus.expansion"]
    chunks = reports["one"]["chunks"]
    assert chunks > 2 and reports["one"]["chunks_computed"] == chunks
    assert reports["two"]["ranks"] == 2 and reports["two"]["chunks_computed"] == (chunks + 1) // 2  # rank 0's share
    written = [(tmp_path / name / "run" / "generated_text.jsonl").read_text() for name in ("one", "two")]
    assert written[0] == written[1] and written[0].count("\n") == reports["one"]["generated"]
    assert metrics["two"] == pytest.approx(metrics["one"], rel=1e-6)


def test_a_rank_shares_the_chunks_and_computes_one_its_owner_never_wrote(tmp_path, monkeypatch):
    """Rank 1 of 2 computes the odd chunks; of the even ones, rank 0 writes one (loaded) and never writes the other,
    which rank 1 computes itself after the patience; the result is the one-process result."""
    from auglab.storage import chunked_cache

    items = list(range(10))
    alone, _ = chunked_cache.chunked(tmp_path / "alone", items, lambda i, c: [x * 10 + i for x in c], chunk_size=3,
                                     what="t")
    shared = tmp_path / "shared"
    shared.mkdir()
    torch.save([0, 10, 20], shared / "chunk-000000.pt")  # rank 0's first chunk; its second (index 2) never comes
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(chunked_cache, "PATIENCE_S", 0.5)
    computed = []
    result, counts = chunked_cache.chunked(shared, items, lambda i, c: computed.append(i) or [x * 10 + i for x in c],
                                           chunk_size=3, what="t")
    assert result == alone and computed == [1, 3, 2]
    assert counts == {"chunks": 4, "chunks_loaded": 1, "chunks_computed": 3, "ranks": 2}
