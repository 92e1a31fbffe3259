"""BEIR's public collections (Thakur et al., NeurIPS 2021 Datasets and Benchmarks), fetched into a folder that
``data=search_files`` reads with the collection's own splits:

    python -m auglab.data.sources.beir --download scifact data/beir
    auglab-train data=search_files data.path=data/beir/scifact model=bm25

The collections are not carried by auglab (each has its own licence; see BEIR's README); offline the command
fails in one line. Published numbers to set auglab's beside (nDCG@10 on test, BM25 as run by Anserini in the
BEIR paper's Table 2): SciFact 0.665, NFCorpus 0.325, ArguAna 0.315 (docs/data.md, "A reproduction").
"""

from __future__ import annotations

import argparse
import io
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from auglab.errors import AuglabError

URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/{name}.zip"
SMALL = ("scifact", "nfcorpus", "arguana", "fiqa", "scidocs", "trec-covid")


def download(name: str, folder: Path, *, timeout: float = 60) -> Path:
    """``folder/<name>`` with ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/``; kept when already there."""
    target = folder / name
    if (target / "corpus.jsonl").is_file():
        return target
    try:
        with urllib.request.urlopen(URL.format(name=name), timeout=timeout) as response:  # noqa: S310 (fixed https)
            archive = zipfile.ZipFile(io.BytesIO(response.read()))
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        raise AuglabError(f"BEIR {name}: cannot fetch {URL.format(name=name)} ({err}); without internet, copy the "
                          f"unzipped folder to {target}") from err
    folder.mkdir(parents=True, exist_ok=True)
    archive.extractall(folder)
    if not (target / "corpus.jsonl").is_file():
        raise AuglabError(f"BEIR {name}: the archive holds no {name}/corpus.jsonl")
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m auglab.data.sources.beir", description=__doc__.splitlines()[0])
    parser.add_argument("--download", nargs=2, metavar=("NAME", "DIR"), required=True,
                        help=f"a BEIR collection ({', '.join(SMALL)}, ...) and the folder to put it in")
    args = parser.parse_args(argv)
    try:
        print(download(args.download[0], Path(args.download[1])))
    except AuglabError as err:
        raise SystemExit(f"error: {err}") from err


if __name__ == "__main__":
    main()
