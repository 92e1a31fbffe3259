"""Where a short job's fixed cost goes: Python start-up and imports, then each phase of ``train(cfg)``.

    .venv/bin/python benchmarks/job_fixed_cost.py [--rounds 3] [--profile] [--smoke]

The job is ``experiment=fashion_lowdata`` stopped after one batch of each split (one epoch of one train
batch, one validation and one test batch), so what is left is what every job pays whatever its length:
loading and splitting the data, building the model and trainer, checkpoints, figures, records. Imports are
timed in fresh processes (``import lightning``; ``auglab.train``, which a mistyped option now stops in,
before Lightning). ``--profile`` adds cProfile's top functions of one in-process job. ``--smoke``: one round,
no warm-up job (its phases include the first job's lazy imports).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ONE_BATCH = ["experiment=fashion_lowdata", "trainer.max_epochs=1", "+trainer.limit_train_batches=1",
             "+trainer.limit_val_batches=1", "+trainer.limit_test_batches=1", "callbacks.progress.refresh_rate=0"]


def import_seconds(statement: str) -> float:
    """Wall time of a fresh interpreter running ``statement`` (start-up included)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, capture_output=True)
    return time.perf_counter() - start


def timed_job(out: Path) -> dict[str, float]:
    """Run one job in this process with each phase of ``train`` timed (the phases are patched in place)."""
    import lightning as L

    from auglab.run import build, provenance, results
    from auglab.train import train
    from tests.conftest import compose_cfg

    phases: dict[str, float] = defaultdict(float)

    def timing(name: str, function: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                phases[name] += time.perf_counter() - start
        return wrapper

    patches = [(build, "build_datamodule", "data"), (build, "build_model", "model"),
               (build, "build_trainer", "trainer"), (provenance, "save_config", "config"),
               (results, "save_offline_report", "records"), (results, "save_results", "records"),
               (L.Trainer, "fit", "fit (1 train + 1 val batch, checkpoints)"),
               (L.Trainer, "test", "test (1 batch)")]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for owner, name, phase in patches:
        setattr(owner, name, timing(phase, getattr(owner, name)))
    try:
        start = time.perf_counter()
        train(compose_cfg(ONE_BATCH, out))
        phases["total"] = time.perf_counter() - start
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)
    return dict(phases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also print cProfile's top 25 (cumulative)")
    parser.add_argument("--smoke", action="store_true", help="one round, no warm-up job")
    args = parser.parse_args()
    if args.smoke:
        args.rounds = 1
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.conftest composes the real configs
    imports = {
        "python -c pass": [import_seconds("pass") for _ in range(args.rounds)],
        "import auglab.train (what a bad option pays)": [import_seconds("import auglab.train")
                                                         for _ in range(args.rounds)],
        "import lightning": [import_seconds("import lightning") for _ in range(args.rounds)],
        "import auglab.run.build (what a job pays)": [import_seconds("import auglab.run.build")
                                                      for _ in range(args.rounds)],
    }
    print("| fresh process | seconds (median) |\n|---|---:|")
    for name, times in imports.items():
        print(f"| {name} | {statistics.median(times):.2f} |")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.smoke:
            timed_job(Path(tmp) / "warm-up")  # first job in the process: lazy imports, data decoded, caches
        runs = [timed_job(Path(tmp) / f"run{i}") for i in range(args.rounds)]
        print("\n| phase of train(cfg), one-batch job | seconds (median) |\n|---|---:|")
        for phase in runs[0]:
            print(f"| {phase} | {statistics.median(r[phase] for r in runs):.2f} |")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(timed_job, Path(tmp) / "profiled")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
