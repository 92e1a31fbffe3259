"""Fashion-MNIST (Xiao et al., 2017, arXiv 1708.07747): 70,000 28x28 Zalando article images, 10 classes.

Looked up, in order, under ``root`` and under Debian's ``dataset-fashion-mnist`` install folder.
``python -m auglab.data.sources.fashion_mnist --download ROOT`` fetches the original files.
"""

from __future__ import annotations

import argparse
import gzip
import urllib.request
from pathlib import Path

import numpy as np
import torch

from auglab.errors import AuglabError

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot")
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
HOW_TO_GET = (
    "run `bash scripts/setup.sh` (installs Debian's dataset-fashion-mnist), or "
    "`apt-get install dataset-fashion-mnist`, or with internet "
    "`python -m auglab.data.sources.fashion_mnist --download {root}`"
)


def find_dir(root: str | Path | None) -> Path:
    """The first folder holding all four files, or a one-line error that says how to get them."""
    candidates = [Path(root)] if root else []
    candidates.append(DEBIAN_DIR)
    for folder in candidates:
        if all((folder / name).is_file() for name in FILES.values()):
            return folder
    looked = ", ".join(str(c) for c in candidates)
    raise AuglabError(f"Fashion-MNIST files not found in {looked}; {HOW_TO_GET.format(root=root or 'data/')}")


def read_idx(path: Path) -> np.ndarray:
    """Parse one gzipped IDX file (big-endian header: magic, then one uint32 per dimension)."""
    try:
        raw = gzip.open(path, "rb").read()
    except (OSError, EOFError) as err:
        raise AuglabError(f"cannot read {path}: {err}; delete it and re-install the data") from err
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise AuglabError(f"{path} is truncated ({data.size} of {int(np.prod(dims))} values)")
    return data.reshape(tuple(int(d) for d in dims))


def load(root: str | Path | None) -> dict[str, torch.Tensor]:
    """Images as uint8 ``[N, 1, 28, 28]`` and labels as int64 ``[N]`` for the train and test splits."""
    folder = find_dir(root)
    arrays = {key: read_idx(folder / name) for key, name in FILES.items()}
    out = {}
    for split in ("train", "test"):
        out[f"{split}_images"] = torch.from_numpy(arrays[f"{split}_images"].copy()).unsqueeze(1)
        out[f"{split}_labels"] = torch.from_numpy(arrays[f"{split}_labels"].astype(np.int64))
    return out


def download(root: str | Path) -> Path:
    """Fetch the four original files into ``root`` (needs internet)."""
    folder = Path(root)
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES.values():
        target = folder / name
        if not target.exists():
            print(f"downloading {DOWNLOAD_URL}{name}")
            urllib.request.urlretrieve(DOWNLOAD_URL + name, target)
    return folder


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--download", metavar="ROOT", required=True, help="folder to download into")
    print(f"Fashion-MNIST in {download(parser.parse_args().download)}")
