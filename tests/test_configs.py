"""Every option of every config group composes, and what it names exists and builds."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml
from hydra.utils import get_class, get_method, instantiate

from auglab.augment.stages import AugmentationStrategy
from auglab.config.catalogue import groups, options, strategies_for
from auglab.config.overrides import check_composes, check_overrides, uses_own_configs
from auglab.errors import AuglabError
from tests.conftest import ROOT, compose_cfg

ALL_OPTIONS = [(g, o) for g in groups() for o in options(g)]
IMAGE_STRATEGIES = ["none", "flip_crop", "randaugment", "trivialaugment", "augmix", "autoaugment",
                    "random_erasing", "mixup", "cutmix", "device_flip_crop", "device_erase_jitter", "cgan_samples",
                    "cvae_samples", "cgan_mixup", "adversarial_image"]
GENERATIVE_STRATEGIES = ["cgan_samples", "cvae_samples", "cgan_mixup"]


def test_groups_are_the_documented_ones():
    assert set(groups()) >= {"data", "model", "augment", "trainer", "logger", "callbacks", "paths",
                             "experiment", "debug"}


@pytest.mark.parametrize(("group", "option"), ALL_OPTIONS, ids=[f"{g}={o}" for g, o in ALL_OPTIONS])
def test_every_option_composes(group, option, tmp_path):
    extra = ["data.path=/tmp/x"] if option in ("image_folder", "interactions", "text_file", "search_files") else []
    cfg = compose_cfg([f"{group}={option}", *extra], tmp_path)
    node = cfg if group in ("experiment", "debug", "hparams_search") else cfg[group]
    assert node is not None
    targets = [v["_target_"] for v in _walk(cfg)]
    assert targets, "a composed train config names classes to build"
    for target in targets:
        try:
            get_class(target)
        except Exception:
            get_method(target)  # functions such as auglab.models.backbones.resnet


def _walk(node):
    if hasattr(node, "items"):
        if "_target_" in node:
            yield node
        for _, v in node.items():
            yield from _walk(v)


def test_image_strategies_are_all_there_and_build(tmp_path):
    assert strategies_for("image") == sorted(IMAGE_STRATEGIES)
    for name in IMAGE_STRATEGIES:
        strategy = AugmentationStrategy.from_config(compose_cfg([f"augment={name}"], tmp_path).augment)
        assert strategy.name == name
        n_transforms = sum(len(getattr(strategy, s)) for s in ("offline", "sample", "batch", "device", "model"))
        assert (n_transforms == 0) == (name == "none")


SEQUENCE_STRATEGIES = ["none", "seq_crop", "seq_mask", "seq_reorder", "seq_crop_mask_reorder", "seq_insert",
                       "seq_noise", "seq_substitute", "subset_split", "sliding_window", "adversarial_items",
                       "cl4srec", "duorec", "coserec", "asrep"]


def test_sequence_strategies_are_all_there_and_build(tmp_path):
    assert strategies_for("sequence") == sorted(SEQUENCE_STRATEGIES)
    for name in SEQUENCE_STRATEGIES:
        strategy = AugmentationStrategy.from_config(compose_cfg([f"augment={name}"], tmp_path).augment)
        assert strategy.kinds == ("sequence",) or name == "none"
        assert not strategy.sample and not strategy.batch  # sequences augment offline or on the device
    cfg = compose_cfg(["augment=seq_crop_mask_reorder", "augment.device.one_of.transforms.mask.gamma=0.5"], tmp_path)
    assert AugmentationStrategy.from_config(cfg.augment).device["one_of"].transforms[1].gamma == 0.5


TEXT_STRATEGIES = ["none", "eda", "eda_sr", "eda_ri", "eda_rs", "eda_rd", "eda_sample", "typo", "token_dropout",
                   "embedding_noise", "embedding_substitution", "text_mixup", "eda_n500", "llm_paraphrase",
                   "llm_generate", "back_translation", "adversarial_text"]


def test_text_strategies_are_all_there_and_build(tmp_path):
    assert strategies_for("text") == sorted(TEXT_STRATEGIES)
    for name in TEXT_STRATEGIES[1:]:
        strategy = AugmentationStrategy.from_config(compose_cfg([f"augment={name}"], tmp_path).augment)
        assert strategy.kinds in (("text",), ("text", "search")) and strategy.name == name
    single = AugmentationStrategy.from_config(compose_cfg(["augment=eda_ri", "augment.offline.eda.n_aug=16"],
                                                          tmp_path).augment).offline["eda"]
    assert single.n_aug == 16 and single.alphas == {"alpha_sr": 0, "alpha_ri": 0.1, "alpha_rs": 0, "alpha_rd": 0}


SEARCH_STRATEGIES = ["none", "eda", "typo", "token_dropout", "llm_paraphrase", "llm_queries", "doc_expansion",
                     "doc_expansion_filtered", "title_enrichment"]


def test_search_strategies_are_the_query_ones_and_the_study_sweeps_them(tmp_path):
    assert strategies_for("search") == sorted(SEARCH_STRATEGIES)
    assert AugmentationStrategy.from_config(compose_cfg(["augment=llm_queries"], tmp_path).augment).kinds == ("search",)
    study = yaml.safe_load((ROOT / "conf" / "experiment" / "pricerunner_search.yaml").read_text())
    assert set(study["hydra"]["sweeper"]["params"]["augment"].split(",")) == {"none", "typo", "eda", "llm_queries"}
    cfg = compose_cfg(["experiment=pricerunner_search"], tmp_path)
    assert cfg.data.categories == ["Mobile Phones"] and cfg.model._target_.endswith("BiEncoder")


def test_strategy_parameters_override_from_the_command_line(tmp_path):
    cfg = compose_cfg(["augment=randaugment", "augment.sample.randaugment.magnitude=5"], tmp_path)
    strategy = AugmentationStrategy.from_config(cfg.augment)
    assert strategy.sample["randaugment"].magnitude == 5
    cfg = compose_cfg(["augment=flip_crop", "augment.sample.flip=null"], tmp_path)
    assert list(AugmentationStrategy.from_config(cfg.augment).sample) == ["crop"]


def test_loggers_share_the_output_folder(tmp_path):
    cfg = compose_cfg(["logger=many"], tmp_path)
    assert set(cfg.logger) == {"csv", "tensorboard", "wandb"}
    assert cfg.logger.wandb.tags == ["none", "train"]
    csv = instantiate(cfg.logger.csv)
    assert csv.log_dir.startswith(str(tmp_path))


def test_experiment_declares_its_sweep_over_image_strategies(tmp_path):
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="auglab.conf", version_base="1.3"):
        cfg = compose("train", overrides=["experiment=fashion_lowdata"], return_hydra_config=True)
        generative = compose("train", overrides=["experiment=fashion_generative"], return_hydra_config=True)
    swept = cfg.hydra.sweeper.params.augment.split(",")
    assert sorted(swept) == sorted(set(IMAGE_STRATEGIES) - set(GENERATIVE_STRATEGIES))  # every classical one
    assert cfg.data.train_per_class == 100
    assert set(generative.hydra.sweeper.params.augment.split(",")) == {"none", "mixup", *GENERATIVE_STRATEGIES}


@pytest.mark.parametrize("bad", ["augment=rand_augment", "data=cifar", "trainer=tpu", "augment=none,flipcrop"])
def test_unknown_group_options_list_the_valid_choices(bad):
    group = bad.split("=")[0]
    with pytest.raises(AuglabError, match=f"unknown {group}=.*choose one of: .*{options(group)[0]}"):
        check_overrides([bad])


def test_valid_and_uncheckable_overrides_pass():
    check_overrides(["augment=glob(*)", "augment=none,flip_crop", "seed=0,1,2", "experiment=null", "-m"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["data.batchsize=8"], "data.batchsize: no data option has this key; did you mean data.batch_size?"),
        (["-m", "seed=0,1", "+seed=2"], "Could not append to config. An item is already at 'seed'"),
    ],
)
def test_unknown_keys_fail_in_one_line(args, message):
    with pytest.raises(AuglabError, match=re.escape(message)) as err:
        check_composes(args, "train")
    assert "\n" not in str(err.value)


def test_first_job_of_a_sweep_composes_and_own_config_dirs_are_not_second_guessed():
    check_composes(["-m", "augment=glob(*)", "seed=range(3)", "data.batch_size=32,64", "--cfg", "job"], "train")
    check_composes(["ckpt_path=/x.ckpt", "trainer=ddp_cpu"], "eval")
    assert uses_own_configs(["--config-dir", "my_conf", "experiment=mine"])
    assert not uses_own_configs(["experiment=fashion_lowdata"])


CONTRASTIVE_STRATEGIES = ["cl4srec", "duorec", "coserec"]  # a loss beside the data, for a study of their own
SIMULATED_STRATEGIES = ["asrep"]  # behaviour written by a trained model: in that study too


def test_sequence_study_sweeps_every_sequence_strategy_that_edits_the_data():
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="auglab.conf", version_base="1.3"):
        cfg = compose("train", overrides=["experiment=ml100k_seqaug", "model=sasrec"], return_hydra_config=True)
    direct = set(SEQUENCE_STRATEGIES) - set(CONTRASTIVE_STRATEGIES) - set(SIMULATED_STRATEGIES)
    assert sorted(cfg.hydra.sweeper.params.augment.split(",")) == sorted(direct)
    assert cfg.model._target_.endswith("SASRec") and cfg.data._target_.endswith("MovieLens100kDataModule")
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="auglab.conf", version_base="1.3"):
        cfg = compose("train", overrides=["experiment=ml100k_contrastive"], return_hydra_config=True)
    swept = cfg.hydra.sweeper.params.augment.split(",")
    assert set(CONTRASTIVE_STRATEGIES + SIMULATED_STRATEGIES) | {"none"} < set(swept) and len(swept) == 6


def test_every_package_is_listed_for_installation():
    """pyproject lists packages by hand (conf/ maps to auglab.conf); a forgotten one would miss a wheel."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT / "src").parts) for p in (ROOT / "src").rglob("__init__.py")}
    assert listed == found | {"auglab.conf"}


def test_own_config_dir_adds_an_experiment(tmp_path):
    """``--config-dir`` puts a user's folder beside the packaged configs: their experiment, our groups."""
    own = tmp_path / "my_conf" / "experiment"
    own.mkdir(parents=True)
    (own / "mine.yaml").write_text("# @package _global_\ndefaults:\n  - override /augment: flip_crop\nseed: 7\n")
    out = subprocess.run([sys.executable, "-m", "auglab.train", "--config-dir", str(tmp_path / "my_conf"),
                          "experiment=mine", "--cfg", "job", "--resolve"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    job = yaml.safe_load(out.stdout)
    assert job["seed"] == 7 and job["augment"]["name"] == "flip_crop"


@pytest.mark.slow  # end to end, several subprocess runs: CI runs it
def test_every_resolved_config_is_unchanged_by_restructuring_conf():
    """Experiments, their swept strategies and every group option compose to the configs recorded before
    conf/ was regrouped into bases (tests/config_snapshots.py): no option's value, hence no job identity,
    moved. Key order may change (a base's keys come first); values may not. An option added since, at its
    as-before default, is no change (it is left out of every identity, sweep/identity.py ADDED_DEFAULTS)."""
    import json

    import yaml

    from tests.config_snapshots import SNAPSHOTS, cases, resolved, without_added_defaults

    recorded = json.loads(SNAPSHOTS.read_text())
    now = resolved([c for c in cases() if (" ".join(c) or "(defaults)") in recorded])
    changed = [key for key, text in now.items()
               if without_added_defaults(yaml.safe_load(text)) != without_added_defaults(yaml.safe_load(recorded[key]))]
    assert not changed, f"configs whose values changed: {changed}"
    assert len(now) == len(recorded), sorted(set(recorded) - set(now))
