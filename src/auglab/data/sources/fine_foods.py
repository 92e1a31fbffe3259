"""Amazon fine-food reviews, the embedded default text data: 5,000 reviews (4,000 train, 1,000 test)
labelled ``great`` (5 stars) or ``other``, as R's modeldata package ships them (``small_fine_foods``;
McAuley & Leskovec 2013, via Kuhn's modeldata). Debian's ``r-cran-modeldata`` installs the package.

R keeps a package's data in a lazy-load database: ``Rdata.rdx`` (an index, one serialised R list) and
``Rdata.rdb`` (the objects, each a 4-byte big-endian length, a 1-byte compression tag and the
compressed serialisation). The ``rdata`` package parses the R serialisations; only the framing and
decompression (R's ``compress = 3``: raw LZMA2, tag ``Z``; ``2``: bzip2; ``1``: zlib) are done here.
"""

from __future__ import annotations

import bz2
import lzma
import os
import warnings
import zlib
from pathlib import Path
from typing import Any

from auglab.errors import AuglabError

DEBIAN_DIR = Path("/usr/lib/R/site-library/modeldata/data")
INSTALL = "apt-get install r-cran-modeldata (Debian/Ubuntu), or set data.root to a modeldata/data folder"


def _parse(raw: bytes) -> Any:
    import rdata

    with warnings.catch_warnings():  # rdata warns that a bare serialisation has no file header
        warnings.simplefilter("ignore")
        return rdata.conversion.convert(rdata.parser.parse_data(raw))


def _decompress(chunk: bytes) -> bytes:
    tag, body = chunk[4:5], chunk[5:]
    if tag == b"Z":
        return lzma.decompress(body, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2}])
    if tag == b"2":
        return bz2.decompress(body)
    return zlib.decompress(chunk[4:])  # compress = 1 has no tag byte


def read_lazyload(folder: Path, names: tuple[str, ...]) -> dict[str, Any]:
    """The named objects of an R lazy-load database ``folder/Rdata.{rdx,rdb}`` (data frames as pandas)."""
    index_file, data_file = folder / "Rdata.rdx", folder / "Rdata.rdb"
    if not index_file.is_file() or not data_file.is_file():
        raise AuglabError(f"fine-food reviews not found ({index_file} missing); {INSTALL}")
    index = _parse(zlib.decompress(index_file.read_bytes(), wbits=31))  # the index is a gzip stream
    found = {str(k): v for k, v in index["variables"].items()}
    objects = {}
    with data_file.open("rb") as f:
        for name in names:
            if name not in found:
                raise AuglabError(f"{folder}: the modeldata package has no {name!r}; it needs modeldata >= 0.1.1 "
                                  f"({INSTALL})")
            offset, length = (int(v) for v in found[name])
            f.seek(offset)
            objects[name] = _parse(_decompress(f.read(length)))
    return objects


def load(root: str | os.PathLike | None = None) -> dict[str, Any]:
    """``train`` and ``test`` as (texts, labels); ``classes`` = ["great", "other"]."""
    folder = Path(root) if root else DEBIAN_DIR
    frames = read_lazyload(folder, ("training_data", "testing_data"))
    out: dict[str, Any] = {"classes": [str(c) for c in frames["training_data"]["score"].cat.categories]}
    for split, name in (("train", "training_data"), ("test", "testing_data")):
        frame = frames[name]
        out[split] = ([str(t) for t in frame["review"]], [str(s) for s in frame["score"]])
    return out
