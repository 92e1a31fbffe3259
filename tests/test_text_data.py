"""Text sources and datamodules: the embedded fine-food reviews, the EDA splits, a user's files, the
tokenising collate, and every bad input a user meets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from auglab.data.sources import fine_foods
from auglab.data.text import TextFileDataModule
from auglab.errors import AuglabError
from auglab.pretrained import hf_checkpoint
from tests.conftest import build_data

ROOT = Path(__file__).resolve().parents[1]
EDA_DIR = ROOT / "data" / "eda_benchmark"  # scripts/get_data.sh: from ../shared/data/eda, else downloaded
needs_eda = pytest.mark.skipif(not (EDA_DIR / "test" / "trec" / "test.txt").is_file(),
                               reason=f"the EDA benchmark is not in {EDA_DIR}: run bash scripts/get_data.sh")
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
ROWS = [("great coffee, would buy again", "pos"), ("stale and bitter", "neg"), ("  ", "pos"),
        ("the box arrived crushed", "neg"), ("lovely tea", "pos"), ("never again", "neg")] * 5


def write_csv(path: Path, rows=ROWS, header=("review", "stars")) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def text_file(path: Path, **kw) -> TextFileDataModule:
    dm = build_data("text_file", path=str(path), tokenizer=MINILM, text_field="review", label_field="stars",
                            batch_size=4, **kw)
    dm.prepare_data()
    dm.setup()
    return dm


def test_fine_food_reviews_come_from_debian_modeldata_with_their_split():
    data = fine_foods.load()
    assert data["classes"] == ["great", "other"]
    texts, labels = data["train"]
    assert len(texts) == 4000 and len(data["test"][0]) == 1000
    assert labels.count("great") == 2600 and all(isinstance(t, str) and t.strip() for t in texts)
    dm = build_data("fine_food_reviews", tokenizer=MINILM, train_per_class=10, val_per_class=5, batch_size=8)
    dm.setup()
    assert dm.split_sizes == {"train": 20, "val": 10, "test": 1000}


@needs_eda
def test_eda_splits_have_the_papers_sizes_and_classes():
    dm = build_data("eda_benchmark", path=str(EDA_DIR), name="trec", size=500, tokenizer=MINILM)
    dm.setup()
    assert dm.num_classes == 6 and dm.classes == ["0", "1", "2", "3", "4", "5"]
    assert dm.split_sizes["train"] + dm.split_sizes["val"] == 500 and dm.split_sizes["test"] == 500


def test_the_collate_tokenises_a_batch_once_and_one_hots_train_labels(tmp_path):
    dm = text_file(write_csv(tmp_path / "r.csv"), max_length=6)
    x, y = next(iter(dm.train_dataloader()))
    assert set(x) == {"input_ids", "attention_mask", "special_tokens_mask"}
    assert x["input_ids"].shape == x["attention_mask"].shape == x["special_tokens_mask"].shape
    assert x["input_ids"].shape[0] == 4 and x["input_ids"].shape[1] <= 6  # truncated at max_length
    assert y.shape == (4, 2) and torch.allclose(y.sum(1), torch.ones(4))
    _, y_eval = next(iter(dm.val_dataloader()))
    assert y_eval.dtype == torch.long and y_eval.ndim == 1


def test_empty_texts_are_skipped_and_a_csv_gets_a_held_out_test_split(tmp_path, caplog):
    dm = text_file(write_csv(tmp_path / "r.csv"))
    assert "5 of 30 texts are empty or whitespace" in caplog.text
    assert sum(dm.split_sizes.values()) == 25 and dm.classes == ["neg", "pos"]


def test_jsonl_tsv_and_a_train_test_folder_read_alike(tmp_path):
    rows = [r for r in ROWS if r[0].strip()]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps({"review": t, "stars": s}) + "\n" for t, s in rows))
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "train.tsv").write_text("review\tstars\n" + "".join(f"{t}\t{s}\n" for t, s in rows))
    write_csv(folder / "test.csv", rows[:6])
    assert text_file(tmp_path / "r.jsonl").classes == ["neg", "pos"]
    dm = text_file(folder)
    assert dm.split_sizes["test"] == 6 and dm.split_sizes["train"] + dm.split_sizes["val"] == len(rows)


@pytest.mark.parametrize(("make", "fragment"), [
    (lambda p: p / "nope.csv", "does not exist"),
    (lambda p: write_csv(p / "r.csv", header=("text", "stars")),
     "no column data.text_field=review; columns found: text"),
    (lambda p: write_csv(p / "r.csv", [("a", "x"), ("b", "x")]), "has one class ('x')"),
    (lambda p: write_csv(p / "r.csv", [(" ", "x"), ("", "y")]), "every text is empty or whitespace"),
    (lambda p: (p / "r.xlsx").write_bytes(b"x") and p / "r.xlsx", "unknown file type '.xlsx'"),
])
def test_bad_text_files_fail_in_one_line(make, fragment, tmp_path):
    path = make(tmp_path)
    with pytest.raises(AuglabError) as err:
        text_file(path)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_bytes_that_are_not_utf8_name_the_file_and_line(tmp_path):
    path = write_csv(tmp_path / "r.csv")
    path.write_bytes(path.read_bytes() + b"caf\xe9 au lait,pos\n")
    with pytest.raises(AuglabError, match=r"r\.csv, line 32: bytes that are not UTF-8"):
        text_file(path)


def test_max_length_beyond_the_checkpoints_positions_is_refused(tmp_path):
    with pytest.raises(AuglabError, match=r"data.max_length=1000 is larger than .* \(512 positions\)"):
        text_file(write_csv(tmp_path / "r.csv"), max_length=1000)


@pytest.mark.parametrize(("kwargs", "fragment"), [({"name": "imdb"}, "data.name=imdb is not an EDA benchmark"),
                                                  ({"size": 1000}, "data.size=1000 is not an EDA benchmark size")])
def test_bad_eda_options_fail_in_one_line(kwargs, fragment):
    with pytest.raises(AuglabError, match=fragment):
        build_data("eda_benchmark", path=str(EDA_DIR), tokenizer=MINILM, **kwargs)


@pytest.mark.parametrize("offline", ["1", ""])
def test_the_embedded_minilm_resolves_offline_and_an_unknown_hub_name_says_how_to_fix_it(offline, monkeypatch):
    assert (Path(hf_checkpoint.resolve(MINILM)) / "model.safetensors").is_file()
    monkeypatch.setenv("HF_HUB_OFFLINE", offline)
    if not offline and hf_checkpoint.hub_reachable():
        pytest.skip("this machine reaches the Hugging Face Hub")
    with pytest.raises(AuglabError, match=r"model.checkpoint=acme/no-such-bert: not a local folder, .* \(offline\)\. "
                                          r"Download it .* --local-dir DIR\) and set model.checkpoint=DIR"):
        hf_checkpoint.load_tokenizer("acme/no-such-bert")


def test_eda_benchmark_downloads_every_file_from_a_pinned_commit_and_says_how_when_missing(tmp_path):
    from auglab.data.sources import eda_benchmark

    assert eda_benchmark.BASE_URL.endswith(f"{eda_benchmark.COMMIT}/sized_datasets_f1")
    mirror = tmp_path / "mirror"  # a file:// copy stands in for GitHub: the same urllib code path
    for relative in eda_benchmark.files():
        (mirror / relative).parent.mkdir(parents=True, exist_ok=True)
        (mirror / relative).write_text("0\tan example sentence\n1\tanother one\n")
    folder = eda_benchmark.download(tmp_path / "eda", base_url=mirror.as_uri())
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*.txt")) == sorted(eda_benchmark.files())
    assert len(eda_benchmark.files()) == 30
    dm = build_data("eda_benchmark", path=str(tmp_path / "nowhere"), tokenizer=MINILM)
    with pytest.raises(AuglabError, match="the EDA benchmark is not there; run bash scripts/get_data.sh"):
        dm.setup()


def test_pricerunner_holds_out_whole_products_and_counts_products_in_low_data_regimes():
    from auglab.data.sources import pricerunner

    offers = pricerunner.load()
    assert len(offers) == 35311 and offers["Cluster ID"].nunique() == 13233
    dm = build_data("pricerunner", tokenizer=MINILM, train_per_class=10, val_per_class=3)
    dm.setup()
    assert dm.num_classes == 10 and dm.split_sizes["train"] == 100 and dm.split_sizes["val"] == 30
    splits = {name: set(groups.tolist()) for name, groups in dm.split_groups.items()}
    assert not splits["train"] & splits["test"] and not splits["val"] & splits["test"]
    assert not splits["train"] & splits["val"]
    assert len(splits["train"]) == 100  # ten products per category, one offer each
    assert 3000 < dm.split_sizes["test"] < 4000  # a tenth of each category's products, all their offers
    again = build_data("pricerunner", tokenizer=MINILM, train_per_class=10, val_per_class=3)
    again.setup()
    assert again.train_set.texts == dm.train_set.texts and again.data_hash == dm.data_hash
    other_seed = build_data("pricerunner", tokenizer=MINILM, train_per_class=10, val_per_class=3, split_seed=1)
    other_seed.setup()
    assert other_seed.train_set.texts != dm.train_set.texts
    with pytest.raises(AuglabError, match="data.train_per_class=5000 but class .* has only"):
        build_data("pricerunner", tokenizer=MINILM, train_per_class=5000).setup()
