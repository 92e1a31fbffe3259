"""Job identity and random-generator states: the units behind extendable sweeps and exact resume."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from auglab.callbacks.random_state import collect_states, rank_seed, restore_states
from auglab.errors import AuglabError
from auglab.run.provenance import save_config
from auglab.sweep.decision import FRESH, decide
from auglab.sweep.identity import JOB_RECORD, digest, folder_name, identity
from tests.conftest import compose_cfg


def _key(overrides, tmp_path, name="a"):
    return digest(identity(compose_cfg(overrides, tmp_path / name)))


def test_defaults_count_and_volatile_keys_do_not(tmp_path):
    base = _key(["augment=none"], tmp_path)
    assert _key(["augment=none", "seed=0"], tmp_path) == base  # the default spelled out is the same job
    assert _key(["augment=none", "callbacks.progress.refresh_rate=0", "logger=tensorboard"], tmp_path) == base
    assert _key(["augment=none"], tmp_path, name="elsewhere") == base  # the output folder is not identity
    assert _key(["augment=none", "seed=1"], tmp_path) != base
    assert _key(["augment=cutmix"], tmp_path) != base
    assert _key(["augment=none", "data.train_per_class=10"], tmp_path) != base


def test_options_added_later_count_only_away_from_their_default(tmp_path):
    search = ["data=pricerunner_search", "model=bi_encoder"]
    for first, key, added, other in ((["augment=none"], "data.on_device", "auto", "false"),
                                     (["augment=adversarial_image"], "augment.model.adversarial.from_clean_pass",
                                      "false", "true"),
                                     (["augment=none", *search], "model.index_probes", "16", "64")):
        base = _key([*first, f"{key}={added}"], tmp_path)
        assert _key([*first, f"~{key}"], tmp_path) == base  # a job made before the key existed
        assert _key([*first, f"{key}={other}"], tmp_path) != base


def test_a_changed_default_is_a_new_job(tmp_path):
    """FGSM's step now comes from the clean pass by default (``auto``): jobs run before, with a pass of their
    own, are not that job, and ``from_clean_pass=false`` names them again."""
    key = "augment.model.adversarial.from_clean_pass"
    before = _key(["augment=adversarial_image", f"~{key}"], tmp_path)
    assert _key(["augment=adversarial_image"], tmp_path) != before
    assert _key(["augment=adversarial_image", f"{key}=false"], tmp_path) == before


def test_the_search_kind_added_to_strategies_counts_only_for_search_data(tmp_path):
    """Issue 21 added ``search`` to ``none``, ``typo``, ...: on other data their jobs keep their identity (checked
    by hand against the job.json of eda_curve and fashion_curve jobs made before it)."""
    text = identity(compose_cfg(["data=pricerunner", "model=bert", "augment=typo"], tmp_path))
    assert text["augment"]["kinds"] == ["text"]
    image = identity(compose_cfg(["augment=none"], tmp_path))
    assert image["augment"]["kinds"] == ["image", "text", "sequence"]
    search = identity(compose_cfg(["data=pricerunner_search", "model=bm25", "augment=typo"], tmp_path))
    assert search["augment"]["kinds"] == ["text", "search"]


def test_a_saved_config_has_the_identity_of_the_job_that_wrote_it(tmp_path):
    cfg = compose_cfg(["augment=flip_crop", "seed=3"], tmp_path / "job")
    save_config(cfg, tmp_path / "job" / "config.yaml")  # resolved: checkpoint dirpath etc. hold real paths
    saved = OmegaConf.load(tmp_path / "job" / "config.yaml")
    assert digest(identity(saved, tmp_path / "job")) == digest(identity(cfg))
    assert folder_name(cfg).startswith("flip_crop-s3-") and folder_name(cfg).endswith(digest(identity(cfg))[:10])


def test_ranks_get_their_own_streams():
    seeds = {rank_seed(0, r) for r in range(4)} | {rank_seed(1, r) for r in range(4)}
    assert len(seeds) == 8  # rank 1 of seed 0 is not rank 0 of seed 1


def test_generator_states_round_trip():
    state = collect_states()
    first = (random.random(), np.random.rand(), torch.rand(3))
    restore_states(state)
    again = (random.random(), np.random.rand(), torch.rand(3))
    assert first[0] == again[0] and first[1] == again[1] and torch.equal(first[2], again[2])
    restore_states(torch.load(_saved(state), weights_only=True))  # as Lightning loads checkpoints
    assert random.random() == first[0] and np.random.rand() == first[1] and torch.equal(torch.rand(3), first[2])


def _saved(state):
    import io

    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return buffer


def test_a_job_run_by_a_live_process_is_refused_and_one_left_by_a_killed_process_is_not(tmp_path):
    cfg = compose_cfg(["augment=none"], tmp_path / "job")
    key = digest(identity(cfg))
    (tmp_path / JOB_RECORD).write_text(json.dumps({"identity_sha256": key, "identity": identity(cfg)}))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        record = {"status": "running", "pid": other.pid, "host": socket.gethostname()}
        (tmp_path / "run.json").write_text(json.dumps(record))
        with pytest.raises(AuglabError, match=f"being run by process {other.pid}"):
            decide(cfg, tmp_path, key)
    finally:
        other.kill()
        other.wait()
    assert decide(cfg, tmp_path, key) == FRESH  # killed, no last.ckpt: start again
