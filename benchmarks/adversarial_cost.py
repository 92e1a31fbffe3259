"""Training cost of adversarial examples: seconds per epoch and peak memory with each adversarial strategy
vs ``none``, same model, data and machine (one child process per configuration, run in alternating rounds).

    .venv/bin/python benchmarks/adversarial_cost.py --rounds 2

The floor for FGSM is about 2x (a forward and a backward more for the adversarial loss); ``fgsm`` as the
studies ran it takes its step from a pass of its own (a forward and an input-gradient backward more),
``fgsm-clean`` (``from_clean_pass=true``) from the clean pass's own backward. PGD with k steps: about k + 2
times with its own first pass, k + 1 with ``pgd-3-clean`` (no random start, first step from the clean pass).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

KINDS = {  # a model and data per kind, sized for a 2-core CPU
    "image": ["data.train_per_class=200", "data.val_per_class=10", "model=image_cnn", "trainer.max_epochs=3"],
    "items": ["data=movielens_100k", "model=gru4rec", "data.train_user_fraction=0.25", "data.max_len=20",
              "data.batch_size=256", "trainer.max_epochs=3"],
    "text": ["data=fine_food_reviews", "model=text_cnn", "data.train_per_class=200", "data.val_per_class=10",
             "data.max_length=64", "trainer.max_epochs=3"],
}
STRATEGIES = {"none": ["augment=none"], "fgsm": ["augment.model.adversarial.method=fgsm"],
              "fgsm-clean": ["augment.model.adversarial.method=fgsm", "augment.model.adversarial.from_clean_pass=true"],
              "pgd-3": ["augment.model.adversarial.method=pgd", "augment.model.adversarial.steps=3"],
              "pgd-3-clean": ["augment.model.adversarial.method=pgd", "augment.model.adversarial.steps=3",
                              "augment.model.adversarial.random_start=false",
                              "augment.model.adversarial.from_clean_pass=true"]}
ADVERSARIAL = {"image": "adversarial_image", "items": "adversarial_items", "text": "adversarial_text"}


def child(overrides: list[str]) -> None:
    """Train with the real builders; print the epoch times (after the first) and this process's peak RSS."""
    import lightning as L
    from hydra import compose, initialize_config_module
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    import auglab.config  # noqa: F401  (resolvers, schema)
    from auglab.run.build import build_datamodule, build_model, run_context

    class EpochTimer(L.Callback):
        times: list[float] = []

        def on_train_epoch_start(self, trainer, module) -> None:
            self.start = time.perf_counter()

        def on_train_epoch_end(self, trainer, module) -> None:
            self.times.append(time.perf_counter() - self.start)

    out = Path("benchmarks/.scratch/adversarial").resolve()
    with initialize_config_module(config_module="auglab.conf", version_base="1.3"):
        cfg = compose(config_name="train", overrides=["trainer=cpu", *overrides], return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(out)
    HydraConfig().set_config(cfg)  # the strategies' names come from Hydra's choices
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
        del cfg.hydra
    L.seed_everything(0)
    context = run_context(cfg)
    datamodule = build_datamodule(cfg, context)
    model = build_model(cfg, datamodule, context)
    timer = EpochTimer()
    trainer = L.Trainer(accelerator="cpu", devices=1, max_epochs=cfg.trainer.max_epochs, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        limit_val_batches=0, callbacks=[timer])
    trainer.fit(model, datamodule=datamodule)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"epoch_s": timer.times[1:], "peak_mib": peak_mib}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES),
                        help="none is always run: the ratios are to it")
    parser.add_argument("--child", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.child is not None:
        return child(args.child)
    for kind in args.kinds:
        chosen = ["none", *(name for name in args.strategies if name != "none")]
        results: dict[str, list] = {name: [] for name in chosen}
        for _ in range(args.rounds):
            for name in chosen:
                extra = STRATEGIES[name]
                strategy = [] if name == "none" else [f"augment={ADVERSARIAL[kind]}"]
                command = [sys.executable, __file__, "--child", *KINDS[kind], *strategy, *extra]
                line = subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip().splitlines()
                results[name].append(json.loads(line[-1]))
        base = statistics.median(t for r in results["none"] for t in r["epoch_s"])
        for name, runs in results.items():
            median = statistics.median(t for r in runs for t in r["epoch_s"])
            peak = max(r["peak_mib"] for r in runs)
            print(f"{kind:6s} {name:11s} {median:6.2f} s/epoch  {median / base:4.2f}x none  peak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
