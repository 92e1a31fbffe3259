"""Sequence augmentation throughput: auglab's batched device transforms vs RecBole's own transforms.

    .venv/bin/python benchmarks/sequence_augment.py [--batch 2048] [--len 50] [--repeats 5] [--smoke]

Both sides get the same batch: 2,048 ml-100k training histories of up to 50 items (RecBole's layout:
left-aligned, 0-padded, with lengths). RecBole (``recbole/data/transform.py``: ``CropItemSequence``,
``MaskItemSequence``, ``ReorderItemSequence``) runs in a subprocess with a scratch folder on its
path, which this script fills once with ``pip install --target`` (RecBole and the packages its
import chain needs, never torch or numpy); it never becomes a dependency of auglab. Note that
RecBole's mask also draws a negative item per masked position (it serves BERT4Rec-style training),
so it does somewhat more work than ``SeqMask``. Sequences per second, median of ``--repeats`` (for auglab,
each repeat times 20 calls). ``--smoke``: 32 sequences of up to 20 items, one repeat, RecBole only if the
scratch folder already has it (no install).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from auglab.augment import RunContext
from auglab.augment.context import setup_transforms
from auglab.augment.sequence import SeqCrop, SeqMask, SeqReorder
from auglab.config.composition import data_defaults
from auglab.data.sequences import MovieLens100kDataModule
from auglab.data.user_sequences import UserSequences

SCRATCH = Path(__file__).resolve().parent / ".scratch" / "recbole"
RECBOLE_PACKAGES = ["recbole==1.2.1", "pandas", "cloudpickle", "colorlog==4.7.2", "colorama==0.4.4", "texttable",
                    "tabulate", "thop", "plotly", "narwhals", "psutil", "scikit-learn", "joblib", "threadpoolctl"]

# one of auglab's calls takes about a millisecond: a repeat times several, so timer and scheduler
# noise do not decide the median
CALLS_PER_REPEAT = 20

RECBOLE_SIDE = r"""
import json, statistics, sys, time, torch
from recbole.data.interaction import Interaction
from recbole.data.transform import CropItemSequence, MaskItemSequence, ReorderItemSequence
x, num_items, repeats = torch.load(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
lengths = (x > 0).sum(1)
class Dataset:  # what the transforms ask of a RecBole dataset
    def num(self, field): return num_items + 1
config = {"ITEM_ID_FIELD": "item_id", "LIST_SUFFIX": "_list", "ITEM_LIST_LENGTH_FIELD": "item_length",
          "MAX_ITEM_LIST_LENGTH": x.shape[1], "eta": 0.6, "beta": 0.3, "mask_ratio": 0.3}
out = {}
for name, cls in (("crop", CropItemSequence), ("mask", MaskItemSequence), ("reorder", ReorderItemSequence)):
    transform, times = cls(dict(config)), []
    for _ in range(repeats):
        batch = Interaction({"item_id_list": x.clone(), "item_length": lengths.clone()})
        start = time.perf_counter(); transform(Dataset(), batch); times.append(time.perf_counter() - start)
    out[name] = len(x) / statistics.median(times)
print(json.dumps(out))
"""


def recbole_installed() -> bool:
    return (SCRATCH / "recbole" / "data" / "transform.py").is_file()


def ensure_recbole() -> None:
    if recbole_installed():
        return
    print(f"installing RecBole and its import chain into {SCRATCH} (once)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(SCRATCH),
                    *RECBOLE_PACKAGES], check=True)


def auglab_rates(x: torch.Tensor, num_items: int, repeats: int, device: torch.device) -> dict[str, float]:
    transforms = {"crop": SeqCrop(eta=0.6), "mask": SeqMask(gamma=0.3), "reorder": SeqReorder(beta=0.3)}
    # what a run hands them once (the mask item is num_items + 1)
    setup_transforms(list(transforms.values()), RunContext(train=UserSequences.from_list([], num_items)))
    x, y = x.to(device), torch.zeros(len(x), dtype=torch.int64, device=device)
    out = {}
    for name, transform in transforms.items():
        transform(x, y)  # warm-up
        times = []
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(CALLS_PER_REPEAT):
                transform(x, y)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append((time.perf_counter() - start) / CALLS_PER_REPEAT)
        out[name] = len(x) / statistics.median(times)
    return out


def recbole_rates(x: torch.Tensor, num_items: int, repeats: int) -> dict[str, float]:
    """RecBole's transforms on the same batch, in a subprocess with the scratch folder on its path."""
    with tempfile.TemporaryDirectory() as tmp:
        batch_file = Path(tmp) / "batch.pt"
        torch.save(x, batch_file)
        proc = subprocess.run([sys.executable, "-c", RECBOLE_SIDE, str(batch_file), str(num_items), str(repeats)],
                              env={**os.environ, "PYTHONPATH": str(SCRATCH)}, capture_output=True, text=True,
                              check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=2048)
    parser.add_argument("--len", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="32 sequences, one repeat; RecBole only if installed")
    args = parser.parse_args()
    if args.smoke:
        args.batch, args.len, args.repeats = 32, 20, 1
    dm = MovieLens100kDataModule(**data_defaults("movielens_100k", max_len=args.len))
    dm.setup()
    generator = torch.Generator().manual_seed(0)
    idx = torch.randperm(len(dm.train_set), generator=generator)[: args.batch].tolist()
    x, _ = dm.train_set.__getitems__(idx)  # [B, L]
    recbole = None
    if args.smoke and not recbole_installed():
        print(f"RecBole skipped: not in {SCRATCH} (a run without --smoke installs it there)")
    else:
        ensure_recbole()
        recbole = recbole_rates(x, dm.num_items, args.repeats)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"{len(x)} sequences of up to {x.shape[1]} items (mean length {float((x > 0).sum(1).float().mean()):.1f})")
    print("| op | RecBole seq/s (CPU) | " + " | ".join(f"auglab seq/s ({d.type})" for d in devices)
          + " | " + " | ".join(f"ratio ({d.type})" for d in devices) + " |")
    print("|---|---:|" + "---:|" * (2 * len(devices)))
    rates = {d.type: auglab_rates(x, dm.num_items, args.repeats, d) for d in devices}
    for op in ("crop", "mask", "reorder"):
        ours = [rates[d.type][op] for d in devices]
        theirs = recbole[op] if recbole else None
        print(f"| {op} | {f'{theirs:,.0f}' if theirs else '-'} | " + " | ".join(f"{r:,.0f}" for r in ours) + " | "
              + " | ".join(f"{r / theirs:.0f}x" if theirs else "-" for r in ours) + " |")


if __name__ == "__main__":
    main()
