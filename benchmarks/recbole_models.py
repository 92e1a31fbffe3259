"""auglab's SASRec / GRU4Rec vs RecBole's, on MovieLens-100k with one protocol, side by side.

    .venv/bin/python benchmarks/recbole_models.py --model sasrec --epochs 4 --seeds 0 1 2
    .venv/bin/python benchmarks/recbole_models.py --smoke   # 1 epoch, seed 0, auglab on 50 users (debug=fast_sequence)

Same data (ml-100k.inter from RecBole's wheel, 5-core filtering), chronological leave-one-out,
full ranking, cross-entropy over all items, max_len 50, embedding 64, RecBole's default
hyperparameters, batch 2048, Adam lr 0.001, the same number of epochs, the epoch with the best
validation NDCG@10 tested. RecBole runs in a subprocess from the scratch folder that
``benchmarks/sequence_augment.py`` fills (never a dependency of auglab). Prints NDCG@10 and
Recall@10 per seed and seconds per epoch (training + validation, wall) for both, and the ratios. In smoke
mode RecBole runs only if that folder already has it (nothing is installed).
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

from sequence_augment import SCRATCH, ensure_recbole, recbole_installed

RECBOLE_SIDE = r"""
import json, logging, sys, time
import numpy as np
# RecBole 1.2.1 aliases names NumPy 2 removed (np.float = np.float_); give it them back, nothing else.
np.float_, np.complex_, np.unicode_ = np.float64, np.complex128, np.str_
import functools, torch
torch.load = functools.partial(torch.load, weights_only=False)  # its own checkpoints, written by torch.save
from recbole.config import Config
from recbole.data import create_dataset, data_preparation
from recbole.model.sequential_recommender import GRU4Rec, SASRec
from recbole.trainer import Trainer
from recbole.utils import init_seed
model_name, epochs, seed, data_path, out_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
model_cls = {"sasrec": SASRec, "gru4rec": GRU4Rec}[model_name]
config = Config(model=model_cls, dataset="ml-100k", config_dict={
    "data_path": data_path, "checkpoint_dir": out_dir, "seed": seed, "use_gpu": False, "show_progress": False,
    "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
    "user_inter_num_interval": "[5,inf)", "item_inter_num_interval": "[5,inf)",
    "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "group_by": "user", "mode": "full"},
    "train_neg_sample_args": None, "loss_type": "CE", "MAX_ITEM_LIST_LENGTH": 50,
    "epochs": epochs, "stopping_step": epochs, "eval_step": 1, "train_batch_size": 2048,
    "metrics": ["Recall", "NDCG"], "topk": [10], "valid_metric": "NDCG@10"})
logging.disable(logging.INFO)
init_seed(seed, True)
train, valid, test = data_preparation(config, create_dataset(config))
init_seed(seed, True)
model = model_cls(config, train.dataset)
trainer = Trainer(config, model)
start = time.perf_counter()
trainer.fit(train, valid, saved=True, show_progress=False)
seconds = time.perf_counter() - start
result = trainer.evaluate(test, load_best_model=True, show_progress=False)
print(json.dumps({"ndcg@10": float(result["ndcg@10"]), "recall@10": float(result["recall@10"]),
                  "s_per_epoch": seconds / epochs}))
"""


def run_peer(name: str, script: str, argv: list[str], pythonpath: str, cwd: str) -> dict[str, float]:
    """A peer's side ``script`` in a subprocess with its scratch folder(s) on the path; its last line is JSON."""
    proc = subprocess.run([sys.executable, "-c", script, *argv], env={**os.environ, "PYTHONPATH": pythonpath},
                          capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_recbole(model: str, epochs: int, seed: int) -> dict[str, float]:
    data_path = SCRATCH / "recbole" / "dataset_example"
    with tempfile.TemporaryDirectory() as out:
        return run_peer("RecBole", RECBOLE_SIDE, [model, str(epochs), str(seed), str(data_path), out], str(SCRATCH),
                        out)


def run_auglab(model: str, epochs: int, seed: int, extra: tuple[str, ...] = ()) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        args = ["data=movielens_100k", f"model={model}", "trainer=cpu", *extra, f"trainer.max_epochs={epochs}",
                f"seed={seed}", "callbacks.progress.refresh_rate=0", f"hydra.run.dir={out}"]
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "auglab.train", *args], check=True, capture_output=True)
        wall = time.perf_counter() - start
        metrics = json.loads((Path(out) / "metrics.json").read_text())
    # Wall time of the whole command (start-up, data, test included): an upper bound per epoch.
    return {"ndcg@10": metrics["test/ndcg@10"], "recall@10": metrics["test/recall@10"], "s_per_epoch": wall / epochs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["sasrec", "gru4rec"], default="sasrec")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--smoke", action="store_true", help="1 epoch, seed 0, auglab on debug=fast_sequence; "
                        "RecBole only if installed")
    args = parser.parse_args()
    extra = ()
    if args.smoke:
        args.epochs, args.seeds, extra = 1, [0], ("debug=fast_sequence",)
    rows = {"RecBole": [], "auglab": []}
    if args.smoke and not recbole_installed():
        del rows["RecBole"]
        print(f"RecBole skipped: not in {SCRATCH} (a run without --smoke installs it there)")
    else:
        ensure_recbole()
    for seed in args.seeds:
        if "RecBole" in rows:
            rows["RecBole"].append(run_recbole(args.model, args.epochs, seed))
        rows["auglab"].append(run_auglab(args.model, args.epochs, seed, extra))
        print(f"seed {seed}: " + "  ".join(f"{name} {results[-1]}" for name, results in rows.items()), flush=True)
    print(f"\n{args.model}, ml-100k, {args.epochs} epochs, seeds {args.seeds}, CPU")
    print("| | NDCG@10 | Recall@10 | s/epoch |\n|---|---:|---:|---:|")
    for name, results in rows.items():
        cells = [statistics.mean(r[k] for r in results) for k in ("ndcg@10", "recall@10", "s_per_epoch")]
        print(f"| {name} | {cells[0]:.4f} | {cells[1]:.4f} | {cells[2]:.1f} |")
    if "RecBole" in rows:
        ratio = statistics.mean(r["s_per_epoch"] for r in rows["auglab"]) / statistics.mean(
            r["s_per_epoch"] for r in rows["RecBole"])
        print(f"time per epoch, auglab / RecBole: {ratio:.2f}")


if __name__ == "__main__":
    main()
