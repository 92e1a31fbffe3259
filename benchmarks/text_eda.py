"""EDA throughput: auglab's offline EDA stage vs nlpaug (SynonymAug on WordNet + RandomWordAug swap and
delete) and vs the paper's reference ``eda.py`` (jasonwei20/eda_nlp), on the same sentences and the
same WordNet files, in one run.

    .venv/bin/python benchmarks/text_eda.py [--sentences 2000] [--eda-py PATH] [--smoke]

The sentences are SST-2's from the EDA benchmark (2,000-sentence split), read as ``data=eda_benchmark`` reads
them: its loader (``data/sources/eda_benchmark.py``) on its ``data.path`` (``data/eda_benchmark``, which
``scripts/get_data.sh`` installs). The peers are installed into a scratch folder (``benchmarks/.scratch/``),
never into the project: nlpaug (and gdown, which it imports) with ``pip install --no-deps --target``;
``eda.py`` downloaded from the paper's repository at a pinned commit, or taken from ``--eda-py``
(e.g. ``git -C <clone> show 04ab29c:code/eda.py > eda.py``). A peer that cannot be had is skipped with a
line saying how to get it; auglab's side still runs. ``--smoke``: 20 sentences, and only peers already there
(no download, no install).

Same work on each side: three augmented sentences per input, one by synonym replacement, one by random
swap, one by random deletion, each at 10% of the words (nlpaug has no WordNet insertion, so EDA's is
switched off on both EDA sides). nlpaug's SynonymAug part-of-speech-tags every sentence with NLTK's
perceptron tagger, whose model NLTK downloads at run time and no package ships; here it is replaced by
a constant tagger (every word a noun), which only removes work from nlpaug's side.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import ModuleType

import torch

from auglab.augment.text.eda import EDAOffline
from auglab.augment.text.wordnet import prepare_dir
from auglab.data.sources import eda_benchmark
from auglab.errors import AuglabError

SCRATCH = Path(__file__).resolve().parent / ".scratch"
EDA_URL = "https://raw.githubusercontent.com/jasonwei20/eda_nlp/04ab29c/code/eda.py"
NLPAUG = ["nlpaug==1.1.11", "gdown==5.2.0", "beautifulsoup4", "soupsieve"]  # nlpaug imports gdown, and it bs4
NLPAUG_INSTALL = f"{sys.executable} -m pip install --no-deps --target {SCRATCH / 'site'} {' '.join(NLPAUG)}"


def sst2_sentences(count: int) -> list[str]:
    """SST-2's 2,000 training sentences, from where ``data=eda_benchmark`` reads them (its ``data.path``)."""
    from hydra import compose, initialize_config_module

    import auglab.config  # noqa: F401  (resolvers, schema)

    with initialize_config_module(config_module="auglab.conf", version_base="1.3"):
        cfg = compose(config_name="train", overrides=["data=eda_benchmark"])
    try:
        train, _, _ = eda_benchmark.load(Path(cfg.data.path), "sst2", "2000")
    except AuglabError as err:
        raise SystemExit(f"text_eda: {err}") from None
    return [sentence.strip() for sentence in train[0][:count]]


def nltk_wordnet_for_peers() -> None:
    """``nltk.corpus.wordnet`` (used by both peers) reading the same Debian WordNet files as auglab."""
    import nltk

    corpus = SCRATCH / "nltk_data" / "corpora" / "wordnet"
    if not (corpus / "lexnames").is_file():
        shutil.copytree(prepare_dir(), corpus, dirs_exist_ok=True)
    nltk.data.path.insert(0, str(SCRATCH / "nltk_data"))


def nlpaug_peer(smoke: bool) -> bool:
    """nlpaug on the path (installed into the scratch folder once, never in smoke mode); False: skipped."""
    target = SCRATCH / "site"
    if importlib.util.find_spec("nlpaug") is None and not (target / "gdown").is_dir():
        if smoke:
            print(f"nlpaug skipped: not installed; to get it: {NLPAUG_INSTALL}")
            return False
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--retries", "1", "--no-deps",
                               "--target", str(target), *NLPAUG], capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"nlpaug skipped: pip could not install it (offline?); where there is internet: {NLPAUG_INSTALL}")
            return False
    sys.path.insert(0, str(target))
    return True


def paper_peer(eda_py: str | None, smoke: bool) -> Path | None:
    """The paper's ``eda.py``: ``--eda-py``, else the scratch copy, else downloaded there (not in smoke mode)."""
    path = Path(eda_py) if eda_py else SCRATCH / "eda.py"
    how = "pass --eda-py PATH (git -C <eda_nlp clone> show 04ab29c:code/eda.py > eda.py)"
    if not path.is_file() and eda_py:
        raise SystemExit(f"text_eda: --eda-py {eda_py} is not a file")
    if not path.is_file():
        if smoke:
            print(f"paper's eda.py skipped: not in {SCRATCH}; {how}")
            return None
        try:
            SCRATCH.mkdir(exist_ok=True)
            urllib.request.urlretrieve(EDA_URL, path.with_suffix(".part"))  # noqa: S310 (a fixed https URL)
            path.with_suffix(".part").replace(path)
        except OSError as err:
            print(f"paper's eda.py skipped: cannot fetch {EDA_URL} ({err}); {how}")
            return None
    return path


def import_file(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rate(label: str, augment, sentences: list[str]) -> float:
    start = time.perf_counter()
    out = augment(sentences)
    seconds = time.perf_counter() - start
    assert len(out) == 3 * len(sentences), (label, len(out))
    print(f"| {label} | {len(sentences) / seconds:,.0f} | {seconds:.2f} |")
    return len(sentences) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--eda-py", default=None, help="a local copy of the paper's code/eda.py")
    parser.add_argument("--smoke", action="store_true", help="20 sentences; peers only if already there")
    args = parser.parse_args()
    if args.smoke:
        args.sentences = 20
    sentences = sst2_sentences(args.sentences)
    has_nlpaug, eda_py = nlpaug_peer(args.smoke), paper_peer(args.eda_py, args.smoke)
    if has_nlpaug or eda_py:
        nltk_wordnet_for_peers()
    reference = import_file(eda_py) if eda_py else None
    print(f"{len(sentences)} SST-2 sentences (EDA benchmark, 2_small), 3 augmented sentences each")

    ours = EDAOffline(alpha_sr=0.1, alpha_ri=0.0, alpha_rs=0.1, alpha_rd=0.1, n_aug=3, seed=0)
    EDAOffline(alpha_sr=0.1, alpha_ri=0.0, alpha_rs=0.1, alpha_rd=0.1, n_aug=3)((["warm up"], torch.zeros(1)))
    if has_nlpaug:
        import nlpaug.augmenter.word as naw
        from nlpaug.model.word_dict.wordnet import WordNet

        WordNet.pos_tag = classmethod(lambda cls, tokens: [(t, "NN") for t in tokens])  # see the docstring
        peers = [naw.SynonymAug(aug_src="wordnet", aug_p=0.1), naw.RandomWordAug(action="swap", aug_p=0.1),
                 naw.RandomWordAug(action="delete", aug_p=0.1)]
    if has_nlpaug or reference:
        from nltk.corpus import wordnet

        wordnet.synsets("warm")  # the peers' reader loads its files on first use, as auglab's did above
    random.seed(0)

    print("| implementation | input sentences / s | seconds |\n|---|---:|---:|")
    auglab = rate("auglab EDAOffline (cold synonym cache)", lambda s: ours((s, torch.zeros(len(s))))[0][len(s):],
                  sentences)
    ratios = []
    if has_nlpaug:
        nlpaug_rate = rate("nlpaug SynonymAug + RandomWordAug swap, delete",
                           lambda s: [out for p in peers for out in p.augment(s)], sentences)
        ratios.append(f"auglab / nlpaug: {auglab / nlpaug_rate:.1f}x")
    if reference:
        paper = rate("paper's eda.py (eda(..., alpha_ri=0, num_aug=3))",
                     lambda s: [o for x in s for o in reference.eda(x, alpha_sr=0.1, alpha_ri=0.0, alpha_rs=0.1,
                                                                      p_rd=0.1, num_aug=3)[:3]], sentences)
        ratios.append(f"auglab / eda.py: {auglab / paper:.1f}x")
    print("; ".join(ratios) or "no peer ran: auglab's side only")


if __name__ == "__main__":
    main()
