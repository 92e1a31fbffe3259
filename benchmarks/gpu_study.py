"""The fashion_lowdata study (11 strategies x 5 seeds) on one machine's GPU, timed: how many jobs share a GPU
is chosen by a short calibration, then the study runs once with that choice.

    .venv/bin/python benchmarks/gpu_study.py                              # on a GPU machine
    .venv/bin/python benchmarks/gpu_study.py --seeds 1 --strategies none,mixup --calibrate 1 \\
        --extra trainer.max_epochs=1 data.train_per_class=10              # a short run on a CPU
    .venv/bin/python benchmarks/gpu_study.py --smoke      # one job per sweep, 1 epoch, 10 per class, on the CPU

Prints the study's wall time, the per-job fixed cost (a job stopped after one batch of each split) and
the sum of the jobs' own durations less that fixed cost (their epochs). Goal on one H200: <= 2 minutes.
Every sweep goes to a fresh folder under ``--out``; nothing is reused between runs of this script.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STRATEGIES = ("none,flip_crop,randaugment,trivialaugment,augmix,autoaugment,random_erasing,mixup,cutmix,"
              "device_flip_crop,device_erase_jitter")
ONE_BATCH = ["trainer.max_epochs=1", "+trainer.limit_train_batches=1", "+trainer.limit_val_batches=1",
             "+trainer.limit_test_batches=1"]


def sweep(folder: Path, overrides: list[str]) -> tuple[float, list[float]]:
    """Run ``auglab-train -m`` into ``folder``; return its wall time and each job's duration (run.json)."""
    command = [sys.executable, "-m", "auglab.train", "-m", "experiment=fashion_lowdata", "hydra/launcher=local_gpus",
               f"hydra.sweep.dir={folder}", *overrides]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    runs = [json.loads(p.read_text()) for p in folder.glob("*/run.json")]
    failed = [r["augment"] for r in runs if r["status"] != "ok"]
    if failed:
        raise SystemExit(f"gpu_study: jobs failed ({', '.join(failed)}); see {folder}")
    return wall, [r["duration_s"] for r in runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--strategies", default=STRATEGIES)
    parser.add_argument("--calibrate", type=int, nargs="+", default=[1, 2, 4, 8],
                        help="jobs_per_gpu values to try on a 3-epoch sweep of two jobs per slot")
    parser.add_argument("--extra", nargs="*", default=[], help="more overrides for every job")
    parser.add_argument("--out", type=Path, default=None, help="where the sweeps go (default: a temporary folder)")
    parser.add_argument("--smoke", action="store_true", help="the fewest jobs: strategy none, one seed, calibration "
                        "of jobs_per_gpu=1 on one job, 1 epoch, 10 per class, 1 test batch (the study's trainer=cpu)")
    args = parser.parse_args()
    if args.smoke:
        args.seeds, args.strategies, args.calibrate = 1, "none", [1]
        args.extra = ["trainer.max_epochs=1", "data.train_per_class=10", "data.val_per_class=2",
                      "++trainer.limit_test_batches=1", *args.extra]
    out = args.out or Path(tempfile.mkdtemp(prefix="gpu_study_"))
    strategies = args.strategies.split(",")

    fixed_wall, fixed = sweep(out / "fixed_cost", [*ONE_BATCH, "augment=none", "seed=0", *args.extra])
    print(f"per-job fixed cost: {fixed[0]:.1f} s inside the job, {fixed_wall:.1f} s with start-up and imports")

    rates = {}
    for per_gpu in args.calibrate:
        count = (1 if args.smoke else 2) * per_gpu
        seeds = ",".join(str(s) for s in range(-(-count // len(strategies))))
        wall, durations = sweep(out / f"calibrate_{per_gpu}", [
            "trainer.max_epochs=3", f"augment={','.join(strategies)}", f"seed={seeds}",
            f"hydra.launcher.jobs_per_gpu={per_gpu}", f"hydra.launcher.cpu_jobs={per_gpu}", *args.extra])
        rates[per_gpu] = len(durations) / wall
        print(f"jobs_per_gpu={per_gpu}: {len(durations)} jobs in {wall:.1f} s ({rates[per_gpu]:.2f} jobs/s)")
    best = max(rates, key=rates.get)

    seeds = ",".join(str(s) for s in range(args.seeds))
    wall, durations = sweep(out / "study", [f"augment={args.strategies}", f"seed={seeds}",
                                            f"hydra.launcher.jobs_per_gpu={best}", f"hydra.launcher.cpu_jobs={best}",
                                            *args.extra])
    epochs = sum(durations) - len(durations) * fixed[0]
    print(f"study: {len(durations)} jobs, jobs_per_gpu={best}, wall {wall / 60:.2f} min; sum of job durations "
          f"{sum(durations):.0f} s, of which fixed cost {len(durations) * fixed[0]:.0f} s and epochs ~{epochs:.0f} s")
    if args.smoke and not args.out:
        shutil.rmtree(out)
    else:
        print(f"sweeps kept in {out}")


if __name__ == "__main__":
    main()
