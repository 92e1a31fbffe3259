"""The jobs of one or more sweep folders, each with its strategy, seed, metrics and group.

A job's *group* is the value of every option that differs between the jobs being reported, other
than the strategy and the seed: ``data.train_per_class`` in a data-size sweep, ``model`` when a
GRU4Rec and a SASRec sweep are reported together. Options are read from what the user asked for
(Hydra's per-job ``overrides.yaml``), so values derived from the seed never split a group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from auglab.metrics import per_example
from auglab.storage.atomic import read_json
from auglab.sweep.identity import ADDED_DEFAULTS, CHANGED_DEFAULTS, VOLATILE, digest, identity, read_record
from auglab.sweep.job_record import process_alive

AXES = ("augment", "seed")  # the table's own axes: never a group
NOT_OPTIONS = ("experiment", "debug", "callbacks", "hydra/")  # shape a run without being what it compares


@dataclass
class Job:
    folder: Path
    strategy: str
    status: str  # ok, failed, interrupted, running, missing (no record) or unverified (see load_job)
    seed: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    identity_sha256: str | None = None
    options: dict[str, str] = field(default_factory=dict)  # what its overrides set, plus config-group choices
    config: DictConfig | None = None
    group: tuple[str, ...] = ()  # "key=value" for each option that varies between the reported jobs
    training: dict[str, int] = field(default_factory=dict)  # optimizer steps and examples seen (provenance.json)
    duration_s: float | None = None  # wall time of its last run (run.json)
    slot: str | None = None  # the launcher's slot it ran in (hydra/launcher=local_gpus), None: one at a time

    def outcomes(self) -> dict | None:
        """The run's per-example test outcomes (``predictions.npz``), None when it wrote none."""
        return per_example.load(self.folder / per_example.FILENAME)


def _is_option(key: str) -> bool:
    return not key.startswith((*VOLATILE, *AXES, *NOT_OPTIONS))


def strategy_label(name: str, overrides: dict[str, str]) -> str:
    """A strategy with its overridden options, e.g. ``adversarial_image[epsilon=0.05]``: two settings of one
    strategy are two rows of one group, each paired with that group's ``none``."""
    params = [f"{key.rsplit('.', 1)[-1]}={value}" for key, value in sorted(overrides.items())
              if key.startswith("augment.")]
    return f"{name}[{', '.join(params)}]" if params else name


def _spelled(value: object) -> str:
    """An option's value as a label: booleans lower-case, however they were written (a sweep writes them back
    as Python spells them, a single run as they were typed)."""
    text = str(value)
    return text.lower() if text.lower() in ("true", "false") else text


def _options(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The job's overrides (``key -> value``) and Hydra's config-group choices, from ``.hydra/``."""
    overrides, choices = {}, {}
    try:
        for item in OmegaConf.load(folder / ".hydra" / "overrides.yaml"):
            key, _, value = str(item).lstrip("+~").partition("=")
            if _is_option(key) or key.startswith("augment."):  # a strategy's own options label its rows
                overrides[key] = _spelled(value)
        runtime = OmegaConf.load(folder / ".hydra" / "hydra.yaml").hydra.runtime.choices
        choices = {str(k): str(v) for k, v in runtime.items()}
    except (OSError, ValueError, AttributeError):
        pass  # a job made by hand or before Hydra wrote its records: no options to group by
    return overrides, choices


def load_job(folder: Path) -> Job | None:
    """One job, its strategy and seed read from the config it ran with; None for a non-job folder.

    Counted only when that config, ``job.json`` and ``run.json`` name the same job identity
    (docs/architecture.md, "Job identity"); otherwise the job is ``unverified`` and left out of tables.
    """
    job_record, status_record = read_record(folder), read_json(folder / "run.json")
    if job_record is None:
        if status_record or (folder / ".hydra").is_dir():
            return Job(folder, "?", "unverified")  # made before auglab recorded job identities
        return None
    key = job_record.get("identity_sha256")
    saved = folder / "config.yaml"
    if saved.exists():
        cfg = OmegaConf.load(saved)
        if digest(identity(cfg, folder)) != key:
            return Job(folder, str(OmegaConf.select(cfg, "augment.name")), "unverified", cfg.get("seed"))
    else:  # failed before training started: the runner's record of the job names it
        cfg = OmegaConf.create(job_record.get("identity", {}))
    overrides, choices = _options(folder)
    for option in CHANGED_DEFAULTS:  # made before the option existed: it ran the value the option was added with
        parent, leaf = option.rsplit(".", 1)
        node = OmegaConf.select(cfg, parent)
        if isinstance(node, DictConfig) and leaf not in node:
            overrides.setdefault(option, _spelled(ADDED_DEFAULTS[option]))
    name = strategy_label(str(OmegaConf.select(cfg, "augment.name")), overrides)
    options = {k: v for k, v in {**choices, **overrides}.items() if not k.startswith("augment.")}
    job = Job(folder, name, "missing", cfg.get("seed"), {}, key, options, cfg)
    if status_record.get("identity_sha256") != key:
        job.status = "missing" if not status_record else "unverified"
        return job
    job.status = "interrupted" if process_alive(status_record) is False else status_record.get("status", "missing")
    job.duration_s, job.slot = status_record.get("duration_s"), status_record.get("slot")
    if job.status == "ok":
        job.metrics = read_json(folder / "metrics.json")
        job.status = "ok" if job.metrics else "missing"
        job.training = read_json(folder / "provenance.json").get("training", {})
    return job


def _value(job: Job, key: str) -> str:
    """An option's value for a job that may not have overridden it: its choice or its config value."""
    if key in job.options:
        return job.options[key]
    found: Any = OmegaConf.select(job.config, key, default=None) if job.config is not None else None
    return "default" if found is None else str(found)


def assign_groups(jobs: list[Job]) -> list[str]:
    """Set each job's group; return the keys that vary (sorted), the table's leading columns."""
    candidates = sorted({k for j in jobs for k in j.options if _is_option(k)})
    varying = [k for k in candidates if len({_value(j, k) for j in jobs if j.config is not None}) > 1]
    for job in jobs:
        job.group = tuple(f"{k}={_value(job, k)}" for k in varying)
    return varying


def load_jobs(sweeps: list[Path]) -> list[Job]:
    """Every job folder of the sweeps, finished or not, with its group set."""
    jobs = [load_job(p) for sweep in sweeps for p in sorted(p for p in sweep.iterdir() if p.is_dir())]
    jobs = [job for job in jobs if job is not None]
    assign_groups([j for j in jobs if j.status != "unverified"])
    return jobs
