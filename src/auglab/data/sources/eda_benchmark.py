"""The EDA paper's sentence-classification splits (Wei & Zou 2019, arXiv 1901.11196): sst2, cr, subj, trec,
pc (and sst1) at 500, 2,000, 5,000 or all training sentences, each with its test set, as ``label<TAB>sentence``
lines. The authors published them in their repository's ``sized_datasets_f1/`` and removed them later; the
download reads that folder at a pinned commit. ``scripts/get_data.sh`` puts them in ``data/eda_benchmark``
(from a local copy where there is one, else by this download).

    python -m auglab.data.sources.eda_benchmark --download data/eda_benchmark
"""

from __future__ import annotations

import argparse
import urllib.request
from pathlib import Path

from auglab.data.sources.text_table import TextTable, read_eda_split
from auglab.errors import AuglabError

SIZES = {"500": "1_tiny", "2000": "2_small", "5000": "3_standard", "full": "4_full"}
NAMES = ("sst2", "cr", "subj", "trec", "pc", "sst1")
COMMIT = "4c4ef42fc0d8ca9bfd4a0c36cfb36412ce103b35"  # jasonwei20/eda_nlp, still holding sized_datasets_f1/
BASE_URL = f"https://raw.githubusercontent.com/jasonwei20/eda_nlp/{COMMIT}/sized_datasets_f1"
HOW_TO_GET = ("run bash scripts/get_data.sh, or python -m auglab.data.sources.eda_benchmark --download DIR and set "
              "data.path=DIR")


def files() -> list[str]:
    """Every file of the benchmark, relative to its folder."""
    return [f"{folder}/{name}/train_orig.txt" for folder in SIZES.values() for name in NAMES] + \
        [f"test/{name}/test.txt" for name in NAMES]


def load(folder: Path, name: str, size: str) -> tuple[TextTable, TextTable, Path]:
    """(train, test, the train file) of data set ``name`` at training size ``size``."""
    if not folder.is_dir():
        raise AuglabError(f"data.path={folder}: the EDA benchmark is not there; {HOW_TO_GET}")
    train_file = folder / SIZES[size] / name / "train_orig.txt"
    return read_eda_split(train_file), read_eda_split(folder / "test" / name / "test.txt"), train_file


def download(folder: Path, base_url: str = BASE_URL) -> Path:
    """Fetch every file into ``folder`` (a file already there is kept); ``base_url`` may be a ``file://`` copy."""
    for relative in files():
        target = folder / relative
        if target.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(f"{base_url}/{relative}", timeout=60) as response:  # noqa: S310
            data = response.read()
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    return folder


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Download the EDA paper's benchmark splits (pinned commit).")
    parser.add_argument("--download", type=Path, required=True, metavar="DIR")
    print(f"written: {download(parser.parse_args().download)}")
