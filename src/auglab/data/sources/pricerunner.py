"""PriceRunner product offers (Akritidis et al. 2020; UCI dataset 837, CC BY 4.0): 35,311 merchant offer
titles, lower-cased (``apple iphone 8 plus 64gb silver``), each an offer of one of 13,233 canonical products
("clusters") in one of 10 categories.

The package carries the file as published by UCI, header restored, compressed with xz (470 KB; licence and
attribution in ``PRICERUNNER_LICENSE.md`` beside it), so it works offline. ``root`` reads a user's copy of
``pricerunner_aggregate.csv`` instead; ``python -m auglab.data.sources.pricerunner --download DIR`` fetches
it from UCI.
"""

from __future__ import annotations

import argparse
import io
import lzma
import urllib.request
import zipfile
from pathlib import Path

import pandas as pd

from auglab.data.sources.search_files import SearchCollection
from auglab.errors import AuglabError

EMBEDDED = Path(__file__).with_name("pricerunner_aggregate.csv.xz")
FILE = "pricerunner_aggregate.csv"
UCI_URL = "https://archive.ics.uci.edu/static/public/837/product+classification+and+clustering.zip"
COLUMNS = ["Product ID", "Product Title", "Merchant ID", "Cluster ID", "Cluster Label", "Category ID",
           "Category Label"]


def _read(handle: io.IOBase | Path, where: str) -> pd.DataFrame:
    frame = pd.read_csv(handle, dtype=str, keep_default_na=False, header=None)
    if [str(c).strip() for c in frame.iloc[0]] == COLUMNS:  # UCI's own copy has no header row
        frame = frame.iloc[1:]
    if frame.shape[1] != len(COLUMNS):
        raise AuglabError(f"{where}: expected the {len(COLUMNS)} columns of {FILE} ({', '.join(COLUMNS)}), "
                          f"found {frame.shape[1]}")
    frame.columns = COLUMNS
    return frame.reset_index(drop=True)


def load(root: str | None = None) -> pd.DataFrame:
    """Every offer: ``Product Title``, ``Cluster ID`` / ``Cluster Label`` (the product), ``Category Label``."""
    if root is not None:
        path = Path(root).expanduser()
        path = path / FILE if path.is_dir() else path
        if not path.is_file():
            raise AuglabError(f"data.root={root}: no {FILE} there; leave data.root=null for the copy auglab carries, "
                              f"or run python -m auglab.data.sources.pricerunner --download DIR")
        return _read(path, str(path))
    if not EMBEDDED.is_file():
        raise AuglabError(f"{EMBEDDED} is missing from this installation; reinstall auglab, or set data.root to a "
                          f"copy of {FILE} (python -m auglab.data.sources.pricerunner --download DIR)")
    with lzma.open(EMBEDDED, "rt", encoding="utf-8") as f:
        return _read(f, str(EMBEDDED))


def search_collection(offers: pd.DataFrame, categories: list[str] | None = None) -> SearchCollection:
    """Price-comparison search: each product's canonical name (``Cluster Label``) is a query, every offer title a
    document, the product's offers its relevant documents. Products sharing a name (384 names) are one query
    with all their offers. ``categories``: only those categories' offers and products."""
    offers = select_categories(offers, categories)
    by_name = offers.groupby("Cluster Label", sort=True).indices  # name -> offer rows
    return SearchCollection(list(by_name), offers["Product Title"].tolist(),
                            [sorted(map(int, rows)) for rows in by_name.values()],
                            document_ids=offers["Product ID"].tolist(), query_ids=list(by_name))


def select_categories(offers: pd.DataFrame, categories: list[str] | None) -> pd.DataFrame:
    """Only the offers of ``categories`` (all with None); an unknown category fails naming the known ones."""
    if not categories:
        return offers
    unknown = sorted(set(categories) - set(offers["Category Label"]))
    if unknown:
        known = ", ".join(sorted(set(offers["Category Label"])))
        raise AuglabError(f"data.categories: no category {unknown[0]!r} in PriceRunner; choose from {known}")
    return offers[offers["Category Label"].isin(categories)].reset_index(drop=True)


def download(folder: Path, url: str = UCI_URL) -> Path:
    """Fetch UCI's archive and keep ``pricerunner_aggregate.csv`` from it in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (a fixed https URL)
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    name = next((n for n in archive.namelist() if n.endswith(FILE)), None)
    if name is None:
        raise AuglabError(f"{url} has no {FILE}; download it by hand from https://archive.ics.uci.edu/dataset/837")
    target = folder / FILE
    target.write_bytes(archive.read(name))
    return target


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Download PriceRunner's offers from UCI (dataset 837).")
    parser.add_argument("--download", type=Path, required=True, metavar="DIR")
    print(f"written: {download(parser.parse_args().download)}")
