"""Wall time of one sweep of short jobs: one at a time (``sequential``) vs several at once (``local_gpus``).

    .venv/bin/python benchmarks/parallel_sweep.py [--jobs 8] [--at-once 2] [--smoke] [-- extra overrides]

Both sweeps run the same jobs (Fashion-MNIST, small CNN, ``seed=0..jobs-1``) into fresh folders, one
after the other in this process's machine; on a GPU machine ``local_gpus`` pins one job per GPU slot.
``--smoke``: two jobs of one epoch on 10 images per class, one test batch.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

JOB = ["trainer.max_epochs=3", "data.train_per_class=200", "data.val_per_class=20", "logger=csv"]
SMOKE = ["trainer.max_epochs=1", "data.train_per_class=10", "data.val_per_class=2", "+trainer.limit_test_batches=1"]


def sweep(folder: Path, jobs: int, launcher: list[str], extra: list[str]) -> float:
    seeds = ",".join(str(i) for i in range(jobs))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "auglab.train", "-m", *JOB, f"seed={seeds}", *launcher, *extra,
                           f"hydra.sweep.dir={folder}"], capture_output=True, text=True)
    wall = time.perf_counter() - start
    statuses = [json.loads(p.read_text())["status"] for p in folder.glob("*/run.json")]
    if proc.returncode != 0 or statuses.count("ok") != jobs:
        sys.exit(f"sweep in {folder} failed: {statuses}\n{proc.stderr[-2000:]}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--at-once", type=int, default=2, help="cpu_jobs (CPU) or jobs_per_gpu (GPU)")
    parser.add_argument("--smoke", action="store_true", help="2 jobs, 1 epoch, 10 images per class, 1 test batch")
    parser.add_argument("extra", nargs="*", help="overrides for every job, after --")
    args = parser.parse_args()
    if args.smoke:
        args.jobs, args.at_once, args.extra = 2, 2, [*SMOKE, *args.extra]
    import torch

    slots = ([f"hydra.launcher.jobs_per_gpu={args.at_once}"] if torch.cuda.is_available()
             else [f"hydra.launcher.cpu_jobs={args.at_once}"])
    with tempfile.TemporaryDirectory() as tmp:
        one = sweep(Path(tmp) / "sequential", args.jobs, [], args.extra)
        many = sweep(Path(tmp) / "local_gpus", args.jobs, ["hydra/launcher=local_gpus", *slots], args.extra)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU only"
    print(f"{args.jobs} jobs ({' '.join(JOB + args.extra)}), {device}")
    print("| launcher | wall s |\n|---|---:|")
    print(f"| sequential (one at a time) | {one:.1f} |\n| local_gpus ({' '.join(slots)}) | {many:.1f} |")
    print(f"speed-up: {one / many:.2f}x")


if __name__ == "__main__":
    main()
