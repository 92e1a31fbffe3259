"""Text written by language models and by Apertium, as offline augmentation: real loading, batching and
caching on tiny checkpoints built here (tests/tiny_language_models.py), the filters (a generated text equal
to a held-out text is always dropped), the strategies' counts, their reports, and every bad option."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import torch

from auglab.augment import AugmentationStrategy, RunContext
from auglab.augment.text.back_translation import BackTranslation
from auglab.augment.text.generated_filter import Candidate, GeneratedTextFilter
from auglab.augment.text.generation import GenerationOptions, PromptTemplate, cached_generate, generate
from auglab.augment.text.language_model import LLMGenerate, LLMParaphrase
from auglab.errors import AuglabError
from auglab.pretrained.language_models import load_language_model
from tests import tiny_language_models as tiny

TITLES = ["apple iphone 8 plus 64gb silver", "samsung galaxy s9 128gb black", "bosch dishwasher white",
          "lg 55 inch 4k tv", "nikon digital camera black", "intel core cpu"]
LABELS = torch.tensor([0, 0, 1, 2, 3, 4])
CLASSES = ["Mobile Phones", "Dishwashers", "TVs", "Digital Cameras", "CPUs"]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny_lms")
    return {"causal": tiny.causal(root / "causal"), "plain": tiny.causal(root / "plain", chat=False),
            "forward": tiny.seq2seq(root / "forward", seed=1), "backward": tiny.seq2seq(root / "backward", seed=2)}


def _context(tmp_path: Path, held_out=()) -> RunContext:
    return RunContext(cache_dir=tmp_path, held_out=list(held_out), class_names=CLASSES)


# --- loading and batched generation ----------------------------------------------------------------------------
def test_models_load_with_their_kind_and_left_padding(models):
    causal = load_language_model(str(models["causal"]))
    assert not causal.seq2seq and causal.tokenizer.padding_side == "left" and causal.has_chat_template
    assert load_language_model(str(models["forward"])).seq2seq
    assert load_language_model(str(models["plain"])).has_chat_template is False


def test_batched_greedy_generation_equals_one_prompt_at_a_time(models):
    lm = load_language_model(str(models["causal"]))
    prompts = [PromptTemplate("Rewrite: {text}").render(lm, text=t) for t in TITLES]
    greedy = dict(n=1, max_new_tokens=6, do_sample=False)
    batched = generate(lm, prompts, GenerationOptions(**greedy, batch_size=4), seed=0)
    single = generate(lm, prompts, GenerationOptions(**greedy, batch_size=1), seed=0)
    assert batched == single  # left padding and length sorting change nothing
    assert len(batched) == len(TITLES) and all(len(outs) == 1 for outs in batched)
    reference = []  # each full prompt through Hugging Face's generate, no batching, no shared-prefix cache
    for prompt in prompts:
        enc = lm.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        ids = lm.model.generate(**enc, max_new_tokens=6, do_sample=False, pad_token_id=lm.tokenizer.pad_token_id)
        reference.append([lm.tokenizer.decode(ids[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()])
    assert [[t.strip() for t in outs] for outs in batched] == [[t.splitlines()[0] if t else t for t in r]
                                                                for r in reference]


def test_sampling_is_seeded_and_cached_by_everything_it_depends_on(models, tmp_path):
    lm = load_language_model(str(models["causal"]))
    options = GenerationOptions(n=3, max_new_tokens=5, batch_size=4)
    first, cost = cached_generate(lm, TITLES, options, seed=7, cache_dir=tmp_path, what="t")
    assert cost["from_cache"] is False and all(len(outs) == 3 for outs in first)
    again, cost = cached_generate(lm, TITLES, options, seed=7, cache_dir=tmp_path, what="t")
    assert again == first and cost["from_cache"] is True  # the second call generates nothing
    other, cost = cached_generate(lm, TITLES, options, seed=8, cache_dir=tmp_path, what="t")
    assert cost["from_cache"] is False and other != first
    assert len(list((tmp_path / "generated_text").glob("t-*.pt"))) == 2


# --- filters ---------------------------------------------------------------------------------------------------
def test_every_filter_reason():
    cands = [Candidate(t, 0, "src") for t in
             ["", "one", "way too many words in this one here", "Apple  iPhone 8 Plus 64GB silver", "held OUT text",
              "fresh new title", "fresh new title", "acme new title"]] + [Candidate("acme own title", 0, "acme src")]
    result = GeneratedTextFilter(min_words=2, max_words=6).apply(
        cands, train_texts=TITLES, held_out=["held out text"], class_names=["a"], prompt_words={"acme"})
    assert [r["reason"] for r in result.records] == ["empty", "too_short", "too_long", "copies_train",
                                                      "leaks_held_out", None, "duplicate", "copies_prompt_example",
                                                      None]  # the last one's source holds "acme" itself
    assert result.summary()["kept"] == 2 and result.summary()["dropped"]["copies_prompt_example"] == 1


def test_a_paraphrase_that_copies_the_prompts_invented_brand_is_dropped(models, tmp_path):
    """The default prompt's demonstrations invent the brand acme: a rewrite holding it (when its title does not)
    is dropped as copies_prompt_example; with drop_prompt_examples=false it is kept."""
    from auglab.augment.text import language_model

    def writes_acme(lm, prompts, options, *, seed, cache_dir, what):
        return [[f"acme rewrite {i}"] for i in range(len(prompts))], {"prompts": len(prompts)}

    for drop, kept in ((True, 0), (False, 6)):
        stage = LLMParaphrase(checkpoint=str(models["causal"]), n=1, device="cpu", drop_prompt_examples=drop)
        stage.setup(_context(tmp_path))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(language_model, "cached_generate", writes_acme)
            if drop:
                with pytest.raises(AuglabError, match="6 as copies_prompt_example"):
                    stage((TITLES, LABELS))
                continue
            stage((TITLES, LABELS))
        assert stage.report()["kept"] == kept


# --- the strategies --------------------------------------------------------------------------------------------
def test_paraphrase_adds_filtered_rewrites_and_never_a_held_out_text(models, tmp_path):
    stage = LLMParaphrase(checkpoint=str(models["causal"]), n=2, max_new_tokens=6, batch_size=4, seed=1,
                          max_words=100)
    stage.setup(_context(tmp_path))
    texts, labels = stage((TITLES, LABELS))
    report = stage.report()
    assert texts[:6] == TITLES and report["generated"] == 12 and len(texts) == 6 + report["kept"] > 6
    assert labels[6:].tolist() == [r for r, rec in zip(LABELS.repeat_interleave(2).tolist(), report["records"],
                                                      strict=True) if rec["kept"]]
    leaked = texts[6]
    again = LLMParaphrase(checkpoint=str(models["causal"]), n=2, max_new_tokens=6, batch_size=4, seed=1,
                          max_words=100)
    again.setup(_context(tmp_path, held_out=[leaked.upper()]))
    texts2, _ = again((TITLES, LABELS))
    assert again.report()["from_cache"] is True and leaked not in texts2
    assert again.report()["dropped"]["leaks_held_out"] >= 1


def test_generate_writes_ratio_per_real_text_by_class(models, tmp_path):
    stage = LLMGenerate(checkpoint=str(models["causal"]), k=2, ratio=2.0, n=3, max_new_tokens=6, max_words=100)
    stage.setup(_context(tmp_path))
    _, labels = stage((TITLES, LABELS))
    written = [rec for rec in stage.report()["records"]]
    assert len(written) == 12  # ratio 2 x 6 real texts
    assert sorted(CLASSES.index(rec["label"]) for rec in written) == sorted(LABELS.repeat(2).tolist())
    balanced = LLMGenerate(checkpoint=str(models["causal"]), k=2, ratio=0.5, class_balance=True, max_new_tokens=6,
                           max_words=100)
    balanced.setup(_context(tmp_path))
    balanced((TITLES, LABELS))
    per_class = sorted(CLASSES.index(rec["label"]) for rec in balanced.report()["records"])
    assert per_class == [1, 2, 3]  # class 0 already has two texts: the smallest classes are topped up first


def test_back_translation_with_two_seq2seq_checkpoints(models, tmp_path):
    stage = BackTranslation(engine="hf", forward=str(models["forward"]), backward=str(models["backward"]),
                            max_new_tokens=6, max_words=100)
    stage.setup(_context(tmp_path))
    texts, _ = stage((TITLES, LABELS))
    assert stage.report()["generated"] == 6 and len(texts) == 6 + stage.report()["kept"]
    assert stage.report()["forward"]["texts"] == 6 and stage.report()["backward"]["texts"] == 6


@pytest.mark.skipif(shutil.which("apertium") is None, reason="Debian's apertium is not installed")
def test_apertium_round_trip_is_batched_and_keeps_the_order(tmp_path):
    stage = BackTranslation(engine="apertium")
    stage.setup(_context(tmp_path))
    texts, labels = stage((["Wireless noise cancelling headphones for kids", "apple iphone 8 plus 64gb silver",
                             "samsung galaxy"], torch.tensor([0, 1, 2])))
    records = stage.report()["records"]
    assert records[0]["generated"] == "The wireless noise that annuls headphones for boys"
    assert [r["original"] for r in records] == ["Wireless noise cancelling headphones for kids",
                                                "apple iphone 8 plus 64gb silver", "samsung galaxy"]
    with pytest.raises(AuglabError, match="apertium-eng-xyz"):
        BackTranslation(pivot="xyz").write(["a text"], torch.tensor([0]))


def test_the_offline_stage_keeps_the_reports_with_its_cache(models, tmp_path):
    cfg = {"name": "llm_paraphrase", "kinds": ["text"], "offline": {"paraphrase": {
        "_target_": "auglab.augment.text.LLMParaphrase", "checkpoint": str(models["causal"]), "n": 1,
        "max_new_tokens": 5, "max_words": 100}}}
    first = AugmentationStrategy.from_config(cfg)
    out = first.apply_offline((TITLES, LABELS), _context(tmp_path))
    again = AugmentationStrategy.from_config(cfg)
    assert again.apply_offline((TITLES, LABELS), _context(tmp_path))[0] == out[0]
    assert again.offline_report["paraphrase"]["generated"] == 6  # the report came back with the cached output


# --- bad options ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("options", "message"), [
    ({"prompt": "Rewrite this"},
     "augment.offline.x.prompt='Rewrite this' is invalid: it must be a template with {text}"),
    ({"n": 0}, "augment.offline.x.n=0 is invalid: it must be an integer >= 1"),
    ({"min_confidence": 1.5}, "augment.offline.x.min_confidence=1.5 is invalid: it must be a number in (0, 1)"),
    ({"chat": "maybe"}, "augment.offline.x.chat='maybe' is invalid: it must be one of auto, true, false"),
    ({"device": "tpu"}, "augment.offline.x.device='tpu' is invalid: it must be one of auto, cpu, cuda"),
])
def test_bad_paraphrase_options_fail_in_one_line(options, message):
    cfg = {"name": "t", "kinds": ["text"], "offline": {"x": {"_target_": "auglab.augment.text.LLMParaphrase",
                                                              **options}}}
    with pytest.raises(AuglabError, match=re.escape(message)):
        AugmentationStrategy.from_config(cfg)


@pytest.mark.parametrize(("options", "message"), [({"k": 0}, "k=0 is invalid"), ({"ratio": 0}, "ratio=0 is invalid"),
                                                  ({"prompt": "{text}"}, "a template with {examples}")])
def test_bad_generate_options_fail_in_one_line(options, message):
    with pytest.raises(AuglabError, match=re.escape(message)):
        LLMGenerate(**options)


def test_chat_true_without_a_chat_template_and_everything_filtered_fail_in_one_line(models, tmp_path):
    stage = LLMParaphrase(checkpoint=str(models["plain"]), chat="true")
    stage.setup(_context(tmp_path))
    with pytest.raises(AuglabError, match="chat='true' is invalid: it must be false or auto: .* has no chat template"):
        stage((TITLES, LABELS))
    picky = LLMParaphrase(checkpoint=str(models["causal"]), max_new_tokens=4, min_words=50, max_words=60)
    picky.setup(_context(tmp_path))
    with pytest.raises(AuglabError, match=r"every one of the 12 generated texts was filtered out \(12 as too_short\)"):
        picky((TITLES, LABELS))
    with pytest.raises(AuglabError, match="engine=hf needs forward and backward"):
        BackTranslation(engine="hf")


def test_an_unknown_checkpoint_offline_fails_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    stage = LLMParaphrase(checkpoint="acme/no-such-llm")
    stage.setup(_context(tmp_path))
    with pytest.raises(AuglabError, match="checkpoint=acme/no-such-llm: not a local folder.*offline"):
        stage((TITLES, LABELS))


@pytest.mark.slow  # converts the 98 MB GGUF file once (about half a minute) and runs the real 135M model
def test_smollm2_rewrites_real_titles(tmp_path):
    """Also: a cold cache (the GGUF converted in this call) and a warm one leave the global random stream as
    they found it and write the same texts, so a run cannot depend on whether the cache existed."""
    before = torch.get_rng_state()
    stage = LLMParaphrase(n=1, max_new_tokens=24, batch_size=4, max_words=40)
    stage.setup(_context(tmp_path))
    texts, _ = stage((TITLES[:4], LABELS[:4]))
    assert list((tmp_path / "pretrained").glob("SmolLM2-135M-Instruct*/model.safetensors"))
    assert stage.report()["generated"] == 4 and any(len(r["generated"].split()) >= 2 for r in stage.report()["records"])
    assert torch.equal(torch.get_rng_state(), before)
    warm = LLMParaphrase(n=1, max_new_tokens=24, batch_size=4, max_words=40)
    warm.setup(_context(tmp_path))
    assert warm((TITLES[:4], LABELS[:4]))[0] == texts
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.slow  # end to end, several subprocess runs: CI runs it
def test_a_run_keeps_what_its_strategy_generated(models, tmp_path):
    import json

    from tests.conftest import run_cli

    run = tmp_path / "run"
    proc = run_cli(["train", "data=pricerunner", "model=text_cnn", "trainer=cpu", "trainer.max_epochs=1",
                    "data.train_per_class=2", "data.val_per_class=1", "augment=llm_paraphrase",
                    f"augment.offline.paraphrase.checkpoint={models['causal']}", "augment.offline.paraphrase.n=2",
                    "augment.offline.paraphrase.max_new_tokens=6", "augment.offline.paraphrase.max_words=100",
                    f"hydra.run.dir={run}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((run / "augmentation.json").read_text())["paraphrase"]
    records = [json.loads(line) for line in (run / "generated_text.jsonl").read_text().splitlines()]
    assert summary["generated"] == len(records) == 40 and summary["kept"] == sum(r["kept"] for r in records)
    assert json.loads((run / "provenance.json").read_text())["offline_stage"]["paraphrase"] == summary
    assert json.loads((run / "provenance.json").read_text())["split_sizes"]["train"] == 20 + summary["kept"]
    assert (run / "generated_text.png").is_file() and (run / "augmented_preview.png").is_file()
