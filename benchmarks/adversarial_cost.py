"""Training cost of adversarial examples: seconds per epoch and peak memory with each adversarial strategy
vs ``none``, same model, data and machine.

    .venv/bin/python benchmarks/adversarial_cost.py --rounds 5
    .venv/bin/python benchmarks/adversarial_cost.py --smoke    # none and fgsm, tiny data, one round, 1 epoch

The floor for FGSM is about 2x (a forward and a backward more for the adversarial loss). ``fgsm`` (the
default, ``from_clean_pass=auto``) takes its step from the clean pass's own backward; ``fgsm-own-pass``
(``from_clean_pass=false``, as the published study rows ran) from a pass of its own (a forward and an
input-gradient backward more). PGD with k steps: about k + 2 with its random start (``pgd-3``), k + 1 without
(``pgd-3-clean``: ``random_start=false``, the first step from the clean pass).

Time: one process per data kind builds every configuration, then trains them one epoch each in turn, round
after round (the first round warms up and is dropped); a ratio is a strategy's epoch over the ``none`` epoch
of its own round, minutes apart at most, so this machine's drifting speed (whole separate runs of each
configuration put one FGSM ratio anywhere from 2.1x to 3.0x) mostly cancels. Memory: one process per
configuration, peak RSS after two epochs (one in smoke mode).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KINDS = {  # a model and data per kind, sized for a 2-core CPU
    "image": ["data.train_per_class=600", "data.val_per_class=10", "model=image_cnn"],
    "items": ["data=movielens_100k", "model=gru4rec", "data.train_user_fraction=0.25", "data.max_len=20",
              "data.batch_size=256"],
    "text": ["data=fine_food_reviews", "model=text_cnn", "data.train_per_class=1000", "data.val_per_class=10",
             "data.max_length=64"],
}
STRATEGIES = {"none": ["augment=none"], "fgsm": ["augment.model.adversarial.method=fgsm"],
              "fgsm-own-pass": ["augment.model.adversarial.method=fgsm",
                                "augment.model.adversarial.from_clean_pass=false"],
              "pgd-3": ["augment.model.adversarial.method=pgd", "augment.model.adversarial.steps=3"],
              "pgd-3-clean": ["augment.model.adversarial.method=pgd", "augment.model.adversarial.steps=3",
                              "augment.model.adversarial.random_start=false"]}
ADVERSARIAL = {"image": "adversarial_image", "items": "adversarial_items", "text": "adversarial_text"}
SMOKE = {"image": ["data.train_per_class=10", "data.val_per_class=2"],  # appended to KINDS' overrides
         "items": ["data.train_user_fraction=0.01", "data.max_len=5"],
         "text": ["data.train_per_class=10", "data.val_per_class=2", "data.max_length=32"]}


def _build(overrides: list[str], out: Path) -> tuple:
    """The datamodule and model the real builders make for one configuration (run folder ``out``)."""
    from hydra import compose, initialize_config_module
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    import auglab.config  # noqa: F401  (resolvers, schema)
    from auglab.run.build import build_datamodule, build_model, run_context

    with initialize_config_module(config_module="auglab.conf", version_base="1.3"):
        cfg = compose(config_name="train", overrides=["trainer=cpu", *overrides], return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(out)
    HydraConfig().set_config(cfg)  # the strategies' names come from Hydra's choices
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
        del cfg.hydra
    context = run_context(cfg)
    datamodule = build_datamodule(cfg, context)
    return datamodule, build_model(cfg, datamodule, context)


def _train(datamodule, model, epochs: int) -> list[float]:
    """Seconds per training epoch (no validation, no logger, no checkpoint)."""
    import lightning as L

    times: list[float] = []

    class EpochTimer(L.Callback):
        def on_train_epoch_start(self, trainer, module) -> None:
            self.start = time.perf_counter()

        def on_train_epoch_end(self, trainer, module) -> None:
            times.append(time.perf_counter() - self.start)

    trainer = L.Trainer(accelerator="cpu", devices=1, max_epochs=epochs, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                        callbacks=[EpochTimer()])
    trainer.fit(model, datamodule=datamodule)
    return times


def _overrides(kind: str, name: str, smoke: bool) -> list[str]:
    strategy = [] if name == "none" else [f"augment={ADVERSARIAL[kind]}"]
    return [*KINDS[kind], *(SMOKE[kind] if smoke else []), *strategy, *STRATEGIES[name]]


def time_child(kind: str, names: list[str], rounds: int, smoke: bool, out: Path) -> None:
    """Every configuration one epoch in turn, ``rounds`` times after a warm-up round; prints the epoch times."""
    import lightning as L

    L.seed_everything(0)
    built = {name: _build(_overrides(kind, name, smoke), out) for name in names}
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds + 1):
        for name, (datamodule, model) in built.items():
            epoch = _train(datamodule, model, 1)[0]
            if round_ > 0:
                times[name].append(epoch)
    print(json.dumps(times))


def memory_child(kind: str, name: str, smoke: bool, out: Path) -> None:
    """This process's peak RSS after two epochs of one configuration (one in smoke mode)."""
    import lightning as L

    L.seed_everything(0)
    _train(*_build(_overrides(kind, name, smoke), out), 1 if smoke else 2)
    print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def _last_line(command: list[str]) -> object:
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES),
                        help="none is always run: the ratios are to it")
    parser.add_argument("--time-child", nargs=2, metavar=("KIND", "NAMES"), help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", nargs=2, metavar=("KIND", "NAME"), help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true", help="none and fgsm on tiny data, one round, 1-epoch memory; "
                        "run folder in a temporary directory")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/.scratch/adversarial"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time_child:
        return time_child(args.time_child[0], args.time_child[1].split(","), args.rounds, args.smoke,
                          args.out.resolve())
    if args.memory_child:
        return memory_child(*args.memory_child, args.smoke, args.out.resolve())
    if not args.smoke:
        return compare(args)
    args.rounds, args.strategies = 1, ["none", "fgsm"]
    with tempfile.TemporaryDirectory() as out:
        args.out = Path(out)
        compare(args)


def compare(args: argparse.Namespace) -> None:
    """Each kind's epoch-time ratios and peak memory, from child processes."""
    smoke = ["--smoke", "--out", str(args.out)] if args.smoke else []
    for kind in args.kinds:
        names = ["none", *(name for name in args.strategies if name != "none")]
        times = _last_line([sys.executable, __file__, "--rounds", str(args.rounds), *smoke,
                            "--time-child", kind, ",".join(names)])
        peaks = {name: _last_line([sys.executable, __file__, *smoke, "--memory-child", kind, name]) for name in names}
        for name in names:
            ratios = [t / base for t, base in zip(times[name], times["none"], strict=True)]
            print(f"{kind:6s} {name:13s} {statistics.median(times[name]):6.2f} s/epoch  "
                  f"{statistics.median(ratios):4.2f}x none (rounds {min(ratios):4.2f}-{max(ratios):4.2f})  "
                  f"peak RSS {peaks[name]:,.0f} MiB ({peaks[name] / peaks['none']:4.2f}x none)", flush=True)


if __name__ == "__main__":
    main()
