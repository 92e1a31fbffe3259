"""Behaviour simulated by a trained model (offline stage, ``augment=asrep``): ASReP (Liu et al., SIGIR 2021,
arXiv 2105.00522) trains a transformer on the *reversed* training sequences, so it learns which item came
before a history, then writes ``pseudo_items`` pseudo-prior items in front of every history shorter than
``short_history``; the recommender trains on the extended histories.

The simulator sees what the offline stage gets, the train split's sequences, so no validation or test target
reaches it. It is a ``model=`` option (SASRec by default, as in the paper) trained here in a random state of its
own (the recommender's stream is the same with or without this stage), on the batches' device, and cached by
sequences + model config + training options + seed. Generation is greedy and batched: each step scores every
item for all short histories at once; items the user already has (or was just given) are never generated,
since a MovieLens user rates a film once.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf
from tqdm import tqdm

from auglab.augment.context import RunContext
from auglab.augment.random_isolation import isolated_random_state
from auglab.augment.sequence.prefixes import prefix_bounds, windows
from auglab.errors import AuglabError, check_count
from auglab.storage.artefact_cache import load_or_compute
from auglab.storage.fingerprint import fingerprint

log = logging.getLogger(__name__)
DEFAULT_SHORT = 20  # K when neither the strategy nor data.short_history sets it
PREVIEW = 200  # records kept for generated_text.jsonl and the preview


def reversed_examples(sequences: list[np.ndarray], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The simulator's training examples: every prefix of every *reversed* sequence, ``x [N, max_len]`` (the
    later items, most recent last) and ``y [N]`` the item that came just before them."""
    flipped = [np.asarray(s, dtype=np.int64)[::-1] for s in sequences if len(s) >= 2]
    if not flipped:
        raise AuglabError("augment=asrep: no training sequence has two items to learn from; use more users")
    lengths = np.array([len(s) for s in flipped])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    items = torch.as_tensor(np.concatenate(flipped))
    starts, ends = (torch.as_tensor(a) for a in prefix_bounds(offsets))
    return windows(items, starts, ends, max_len), items[ends]


def extend_backwards(net: Any, histories: list[np.ndarray], *, count: int, max_len: int,
                     device: torch.device, chunk: int = 1024) -> list[np.ndarray]:
    """``count`` items before each history (chronological order), greedily from the reverse model ``net``: a
    history's items and the items already generated for it are never generated again."""
    out = []
    for first in range(0, len(histories), chunk):
        part = [np.asarray(h, dtype=np.int64)[::-1] for h in histories[first:first + chunk]]
        length = torch.tensor([len(h) for h in part], device=device)  # [n]
        rows = torch.zeros(len(part), int(length.max()) + count, dtype=torch.int64, device=device)  # [n, T + M]
        for i, h in enumerate(part):
            rows[i, :len(h)] = torch.as_tensor(h.copy())
        columns = torch.arange(max_len, device=device)[None, :]
        everyone = torch.arange(len(part), device=device)
        for _ in range(count):
            start = (length - max_len).clamp_min(0)[:, None]  # the last max_len items of each reversed history
            window = rows.gather(1, (start + columns).clamp(max=rows.shape[1] - 1))  # [n, max_len]
            x = torch.where(columns < length.clamp(max=max_len)[:, None], window, 0)
            scores = net(x)  # [n, num_items + 2], padding and mask at -inf
            scores.scatter_(1, rows, float("-inf"))  # what the user has, or was just given
            rows[everyone, length] = scores.argmax(1)
            length += 1
        for i, h in enumerate(part):
            out.append(rows[i, len(h):len(h) + count].flip(0).cpu().numpy())
    return out


def later_interaction_rate(report: dict[str, Any], held_out: list[np.ndarray]) -> None:
    """Add to ``report`` how often a pseudo-prior item is one its user really interacts with later (the
    validation or test item, which the simulator never saw), and the rate a uniformly random item would have."""
    hits = total = 0
    for record in report.get("all_prepended", []):
        items, later = record["prepended"], held_out[record["label"]]
        hits += int(np.isin(items, later).sum())
        total += len(items)
    report["later_interaction_rate"] = hits / total if total else 0.0
    report["later_interaction_rate_by_chance"] = (2 / report["catalogue"]) if report.get("catalogue") else 0.0
    report.pop("all_prepended", None)


class PseudoPriorItems:
    """``pseudo_items`` simulated items before each training history shorter than ``short_history`` items (None:
    20), from a ``simulator`` model trained ``epochs`` epochs on the reversed training sequences (windows of
    ``max_len``); ``model`` overrides the simulator's model options."""

    def __init__(self, *, simulator: str = "sasrec", epochs: int = 20, batch_size: int = 256, max_len: int = 50,
                 short_history: int | None = None, pseudo_items: int = 15, model: dict[str, Any] | None = None,
                 seed: int = 0) -> None:
        self.simulator = simulator
        self.epochs, self.batch_size = check_count("epochs", epochs), check_count("batch_size", batch_size)
        self.max_len = check_count("max_len", max_len)
        self.short_history = check_count("short_history", DEFAULT_SHORT if short_history is None else short_history)
        self.pseudo_items = check_count("pseudo_items", pseudo_items)
        self.model_overrides, self.seed = dict(model or {}), seed
        self.context = RunContext()
        self._report: dict[str, Any] = {}

    def setup(self, context: RunContext) -> None:
        self.context = context  # the cache folder, and how to compose the simulator's model option

    def __call__(self, sequences: list[np.ndarray]) -> list[np.ndarray]:
        num_items = int(max((s.max() for s in sequences if len(s)), default=0))
        short = [i for i, s in enumerate(sequences) if 1 <= len(s) < self.short_history]
        device = _device()
        net, trained_here = self._simulator(sequences, num_items, device)
        with torch.no_grad(), isolated_random_state():
            prepended = extend_backwards(net, [sequences[i] for i in short], count=self.pseudo_items,
                                         max_len=self.max_len, device=device)
        out = list(sequences)
        for i, items in zip(short, prepended, strict=True):
            out[i] = np.concatenate([items, sequences[i]])
        records = [{"label": i, "prepended": items.tolist()} for i, items in zip(short, prepended, strict=True)]
        step = max(1, len(records) // PREVIEW)
        self._report = {
            "simulator": self.simulator, "trained_here": trained_here, "users": len(sequences),
            "users_extended": len(short), "short_history": self.short_history,
            "pseudo_items": len(short) * self.pseudo_items, "catalogue": num_items, "all_prepended": records,
            "records": [{"original": " ".join(map(str, sequences[r["label"]][:12])),
                         "generated": " ".join(map(str, r["prepended"])), "label": r["label"], "kept": True,
                         "reason": ""} for r in records[::step]],
        }
        log.info("asrep: %d pseudo-prior items for %d of %d users (histories under %d items)",
                 len(short) * self.pseudo_items, len(short), len(sequences), self.short_history)
        return out

    def report(self) -> dict[str, Any]:
        return self._report

    def _simulator(self, sequences: list[np.ndarray], num_items: int, device: torch.device) -> tuple[Any, bool]:
        """The reverse model, trained here or loaded from the cache; in eval mode on ``device``."""
        from hydra.utils import instantiate

        if self.context.model_config is None:
            raise AuglabError("augment=asrep trains its simulator from a model= option; run through auglab-train")
        model_cfg = OmegaConf.merge(self.context.model_config(self.simulator), self.model_overrides)
        recipe = json.dumps({"model": OmegaConf.to_container(model_cfg), "epochs": self.epochs,
                             "batch_size": self.batch_size, "max_len": self.max_len, "seed": self.seed},
                            sort_keys=True)
        x, y = reversed_examples(sequences, self.max_len)
        cache_dir = self.context.cache_dir
        key = fingerprint(recipe, x, y)[:20]
        path = Path(cache_dir) / "simulators" / f"{self.simulator}-{key}.pt" if cache_dir else None

        def build() -> Any:
            return instantiate(model_cfg, num_items=num_items, max_len=self.max_len)

        def train() -> dict[str, torch.Tensor]:
            with isolated_random_state():
                torch.manual_seed(self.seed)
                net = build().to(device).train()
                _fit(net, x.to(device), y.to(device), epochs=self.epochs, batch_size=self.batch_size, seed=self.seed)
            return {k: v.cpu() for k, v in net.state_dict().items()}

        state, loaded = load_or_compute(path, train, what=f"asrep simulator {self.simulator}")
        with isolated_random_state():
            net = build()
        net.load_state_dict(state)
        return net.to(device).eval(), not loaded


def _fit(net: Any, x: torch.Tensor, y: torch.Tensor, *, epochs: int, batch_size: int, seed: int) -> None:
    """Plain next-item training of ``net`` on ``(x [N, L], y [N])`` with its configured optimiser."""
    optimizer = net.configure_optimizers()
    optimizer = optimizer["optimizer"] if isinstance(optimizer, dict) else optimizer
    order = torch.Generator().manual_seed(seed)
    with tqdm(range(epochs), desc="asrep simulator", unit="epoch", leave=False) as bar:
        for epoch in bar:
            total = 0.0
            for batch in torch.randperm(len(y), generator=order).split(batch_size):
                batch = batch.to(y.device)
                loss = net.next_item_loss(x[batch], y[batch])
                if not torch.isfinite(loss):
                    raise AuglabError(f"augment=asrep: the simulator's loss is {loss.item()} at epoch {epoch}; lower "
                                      "augment.offline.simulated.model.optimizer.lr")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
            bar.set_postfix(loss=f"{total / len(y):.3f}")


def _device() -> torch.device:
    """This process's accelerator (its own GPU under DDP), else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
