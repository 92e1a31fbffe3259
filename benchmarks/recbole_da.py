"""auglab's contrastive strategies vs RecBole-DA's CL4SRec and DuoRec on MovieLens-100k, one protocol, side by side.

    .venv/bin/python benchmarks/recbole_da.py --epochs 1 --seeds 0
    .venv/bin/python benchmarks/recbole_da.py --smoke   # 1 epoch, seed 0, a few users, histories of 20

auglab: ``model=sasrec augment=cl4srec`` / ``augment=duorec``, run as ``benchmarks/recbole_models.py`` runs
it. RecBole-DA (RUCAIBox/RecBole-DA, a fork of RecBole 0.2.1) is exported at a pinned commit into
``benchmarks/.scratch/recbole_da`` (from a local bare mirror when there is one, else from GitHub), its
import chain's missing packages installed beside it with ``pip install --target``; it runs in a subprocess
and never becomes a dependency of auglab. Protocol as in recbole_models.py: ml-100k.inter (the same file
in both wheels), 5-core, chronological leave-one-out, full ranking, CE over all items, max_len 50, hidden
64, RecBole's SASRec defaults (2 layers, 2 heads, inner 256, dropout 0.5), batch 2048, Adam lr 0.001, the
same epochs, the epoch with the best validation NDCG@10 tested; lambda 0.1 (DuoRec: 0.1 and 0.1),
temperature 1, dot product on both sides. What cannot match: RecBole-DA's CL4SRec picks two different
operations of crop (eta 0.6), mask (gamma 0.3) and reorder (beta 0.6) per history and leaves histories
of one item alone, auglab draws each view's operation independently with reorder beta 0.3 (its YAML);
RecBole-DA's mask and reorder edit the history in place (``seq[:]`` is a view of the batch, itself a view of
its training data), so its next-item loss sees edited histories, the edits persist into later epochs, and a
history that draws mask and reorder gets two identical views; DuoRec's ``contrast: us_x`` (RecBole-DA's
default) contrasts one dropout view with the same-target history (3 encoder passes a batch), without
masking same-target negatives, auglab's duorec adds the paper's two losses and masks them (5 passes). Prints
NDCG@10 / Recall@10 per method and seed, seconds per epoch (auglab: wall of the whole command / epochs,
an upper bound; RecBole-DA: its ``fit`` / epochs, and the wall of its whole subprocess / epochs) and the
ratios auglab / RecBole-DA. ``--smoke``: ``debug=fast_sequence`` on auglab's side (50 training users,
histories of 20), the first 10 users of ml-100k with histories of 20 on RecBole-DA's, RecBole-DA only if
the scratch folder has it (nothing installed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from recbole_models import run_auglab, run_peer
from sequence_augment import SCRATCH

DA = SCRATCH.parent / "recbole_da"
DA_COMMIT = "f7f83b42afe09a6c6db8437855022c8cb4db9c1e"
DA_MIRROR = Path("/work/.mirror/RUCAIBox+RecBole-DA/repo")  # a bare mirror, when this machine has one
DA_URL = "https://github.com/RUCAIBox/RecBole-DA.git"
# What its import chain needs and auglab's environment lacks (sklearn: recbole/evaluator/metrics.py).
DA_PACKAGES = ["scikit-learn", "joblib", "threadpoolctl", "colorama==0.4.4", "colorlog==4.7.2"]
# The one edit to its files: NumPy >= 1.24 refuses a ragged np.array of DuoRec's same-target index lists.
DA_PATCH = ("recbole/data/dataset/sequential_dataset.py", "same_target_index = np.array(same_target_index)",
            "same_target_index = np.array(same_target_index, dtype=object)  # auglab benchmark: ragged")
METHODS = {"cl4srec": "CL4SRec", "duorec": "DuoRec"}

DA_SIDE = r"""
import json, logging, sys, time
import numpy as np
np.float = float  # recbole/evaluator/metrics.py still says np.float, which NumPy 2 removed; nothing else
import functools, torch
torch.load = functools.partial(torch.load, weights_only=False)  # its own checkpoints, written by torch.save
from recbole.config import Config
from recbole.data import create_dataset, data_preparation
from recbole.utils import get_model, get_trainer, init_seed
model_name, (epochs, seed, max_len) = sys.argv[1], map(int, sys.argv[2:5])
data_path, out_dir, dataset_yaml = sys.argv[5:]
# Its Config reads ml-100k from its own folder whatever data_path says, so the copy here has another name;
# the fields and separators come from its ml-100k.yaml.
config = Config(model=model_name, dataset="ml100k", config_file_list=[dataset_yaml], config_dict={
    "data_path": data_path, "checkpoint_dir": out_dir, "log_dir": out_dir, "seed": seed, "use_gpu": False,
    "show_progress": False, "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
    "min_user_inter_num": 5, "min_item_inter_num": 5, "eval_setting": "TO_LS,full", "leave_one_num": 2,
    "training_neg_sample_num": 0, "loss_type": "CE", "MAX_ITEM_LIST_LENGTH": max_len, "hidden_size": 64,
    "epochs": epochs, "stopping_step": epochs, "eval_step": 1, "train_batch_size": 2048, "learning_rate": 0.001,
    "metrics": ["Recall", "NDCG"], "topk": [10], "valid_metric": "NDCG@10",
    "lmd": 0.1, "lmd_sem": 0.1, "tau": 1.0, "sim": "dot", "contrast": "us_x"})
logging.disable(logging.INFO)
init_seed(seed, True)
train, valid, test = data_preparation(config, create_dataset(config))
init_seed(seed, True)
model = get_model(model_name)(config, train)
trainer = get_trainer(config["MODEL_TYPE"], model_name)(config, model)
start = time.perf_counter()
trainer.fit(train, valid, verbose=False, saved=True, show_progress=False)
seconds = time.perf_counter() - start
result = trainer.evaluate(test, load_best_model=True, show_progress=False)
print(json.dumps({"ndcg@10": float(result["ndcg@10"]), "recall@10": float(result["recall@10"]),
                  "s_per_epoch": seconds / epochs}))
"""


def da_installed() -> bool:
    return (DA / "src" / "recbole" / "model" / "sequential_recommender" / "duorec.py").is_file() and (
        DA / "deps" / "sklearn").is_dir()


def ensure_recbole_da() -> None:
    """Export RecBole-DA's ``recbole`` package at DA_COMMIT into DA/src, patch it, install DA_PACKAGES."""
    if da_installed():
        return
    print(f"exporting RecBole-DA {DA_COMMIT[:7]} into {DA} (once)", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        git_dir = DA_MIRROR
        if not git_dir.is_dir():
            git_dir = Path(tmp) / "repo"
            subprocess.run(["git", "clone", "--quiet", "--bare", DA_URL, str(git_dir)], check=True)
        (DA / "src").mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", f"--git-dir={git_dir}", "archive", DA_COMMIT, "recbole"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(DA / "src")], input=archive, check=True)
    path, old, new = DA_PATCH
    source = (DA / "src" / path).read_text()
    if old not in source:
        raise SystemExit(f"RecBole-DA patch no longer applies: {old!r} not in {path}")
    (DA / "src" / path).write_text(source.replace(old, new))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(DA / "deps"),
                    *DA_PACKAGES], check=True)


def run_recbole_da(method: str, epochs: int, seed: int, max_len: int, users: int | None) -> dict[str, float]:
    """One RecBole-DA run in a subprocess, on a private copy of ml-100k.inter (DuoRec caches its same-target
    index beside the data, keyed by nothing); ``users``: only the first N users' rows (smoke)."""
    with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as out:
        rows = (DA / "src" / "recbole" / "dataset_example" / "ml-100k" / "ml-100k.inter").read_text().splitlines()
        if users is not None:
            keep = set(list(dict.fromkeys(row.split("\t")[0] for row in rows[1:]))[:users])
            rows = rows[:1] + [row for row in rows[1:] if row.split("\t")[0] in keep]
        (Path(data) / "ml100k").mkdir()
        (Path(data) / "ml100k" / "ml100k.inter").write_text("\n".join(rows) + "\n")
        dataset_yaml = DA / "src" / "recbole" / "properties" / "dataset" / "ml-100k.yaml"
        start = time.perf_counter()
        result = run_peer(f"RecBole-DA {METHODS[method]}", DA_SIDE,
                          [METHODS[method], str(epochs), str(seed), str(max_len), data, out, str(dataset_yaml)],
                          f"{DA / 'src'}{os.pathsep}{DA / 'deps'}", out)
        wall = time.perf_counter() - start
    return {**result, "wall_per_epoch": wall / epochs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", choices=list(METHODS), nargs="+", default=list(METHODS))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--smoke", action="store_true", help="1 epoch, seed 0, a few users; RecBole-DA only if "
                        "already exported")
    args = parser.parse_args()
    extra, max_len, users = (), 50, None
    if args.smoke:  # debug=fast_sequence: histories of up to 20 items
        args.epochs, args.seeds, extra, max_len, users = 1, [0], ("debug=fast_sequence",), 20, 10
    with_da = not (args.smoke and not da_installed())
    if with_da:
        ensure_recbole_da()
    else:
        print(f"RecBole-DA skipped: not in {DA} (a run without --smoke exports it there)")
    rows = {(method, side): [] for method in args.methods for side in (("RecBole-DA", "auglab") if with_da
                                                                       else ("auglab",))}
    for seed in args.seeds:
        for method in args.methods:
            if with_da:
                rows[method, "RecBole-DA"].append(run_recbole_da(method, args.epochs, seed, max_len, users))
            rows[method, "auglab"].append(run_auglab("sasrec", args.epochs, seed, (f"augment={method}", *extra)))
            print(f"seed {seed} {method}: " + "  ".join(f"{side} {results[-1]}" for (m, side), results
                                                        in rows.items() if m == method), flush=True)
    print(f"\nSASRec, ml-100k, {args.epochs} epochs, seeds {args.seeds}, CPU")
    print("| method | side | NDCG@10 | Recall@10 | s/epoch | wall s/epoch |\n|---|---|---:|---:|---:|---:|")
    mean = {key: {k: statistics.mean(r[k] for r in results) for k in results[0]} for key, results in rows.items()}
    for (method, side), m in mean.items():
        print(f"| {method} | {side} | {m['ndcg@10']:.4f} | {m['recall@10']:.4f} | {m['s_per_epoch']:.1f} | "
              f"{m.get('wall_per_epoch', m['s_per_epoch']):.1f} |")
    for method in args.methods if with_da else ():
        ours, theirs = mean[method, "auglab"], mean[method, "RecBole-DA"]
        print(f"{method}: time per epoch, auglab / RecBole-DA: {ours['s_per_epoch'] / theirs['s_per_epoch']:.2f} "
              f"(auglab's wall vs RecBole-DA's fit), {ours['s_per_epoch'] / theirs['wall_per_epoch']:.2f} "
              "(wall vs wall)")


if __name__ == "__main__":
    main()
