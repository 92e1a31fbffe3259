"""A user's own images, one sub-folder per class (``path/<class>/*.jpg``), any size, grey or colour.

When ``path`` holds ``train/`` and ``test/`` folders, each with the same class folders, they are
the train and test splits; otherwise the test split is held out from ``path`` by the datamodule.
Every image is decoded once, fitted to ``image_size`` x ``image_size`` and kept in memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm import tqdm

from auglab.errors import AuglabError

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
FIX = "point data.path at a folder with one sub-folder of images per class"


def _class_dirs(folder: Path) -> list[Path]:
    return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


def _image_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.rglob("*") if f.is_file() and f.suffix.lower() in EXTENSIONS)


def _decode(path: Path, image_size: int, channels: int) -> np.ndarray:
    """One image as uint8 ``[C, S, S]``: centre-cropped to a square, then resized."""
    try:
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB")
            img = ImageOps.fit(img, (image_size, image_size), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.uint8)
    except Exception as err:  # PIL raises many types for broken files
        if isinstance(err, UnidentifiedImageError):
            reason = "unknown or corrupt image format"
        else:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise AuglabError(f"cannot read image {path}: {reason}; remove or replace the file") from err
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def _load_split(folder: Path, classes: list[str], image_size: int, channels: int, desc: str):
    files, labels = [], []
    for label, name in enumerate(classes):
        found = _image_files(folder / name) if (folder / name).is_dir() else []
        if not found:
            raise AuglabError(f"class folder {folder / name} has no images ({', '.join(sorted(EXTENSIONS))})")
        files += found
        labels += [label] * len(found)
    with tqdm(files, desc=f"decoding {desc}", leave=False) as bar:  # closed before an error prints
        images = np.stack([_decode(f, image_size, channels) for f in bar])
    return torch.from_numpy(images), torch.tensor(labels, dtype=torch.int64)


def load(path: str | Path | None, *, image_size: int, channels: int) -> dict:
    """Decode the folder; returns ``train_images`` ``[N, C, S, S]`` uint8, labels, ``classes`` and,
    when the folder has a ``test/`` split, ``test_images`` and ``test_labels``."""
    if channels not in (1, 3):
        raise AuglabError(f"data.channels must be 1 (grey) or 3 (colour), got {channels}")
    if path in (None, "", "???"):
        raise AuglabError(f"data.path is not set; {FIX}, e.g. data.path=/data/products")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise AuglabError(f"data.path={root} does not exist or is not a folder; {FIX}")
    has_splits = (root / "train").is_dir() and (root / "test").is_dir()
    train_dir = root / "train" if has_splits else root
    classes = [d.name for d in _class_dirs(train_dir)]
    if len(classes) < 2:
        raise AuglabError(f"data.path={train_dir} has {len(classes)} class folder(s), need at least 2; {FIX}")
    out: dict = {"classes": classes}
    out["train_images"], out["train_labels"] = _load_split(train_dir, classes, image_size, channels, "train")
    if has_splits:
        out["test_images"], out["test_labels"] = _load_split(root / "test", classes, image_size, channels, "test")
    return out
