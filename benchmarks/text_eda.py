"""EDA throughput: auglab's offline EDA stage vs nlpaug (SynonymAug on WordNet + RandomWordAug swap and
delete) and vs the paper's reference ``eda.py`` (jasonwei20/eda_nlp), on the same sentences and the
same WordNet files, in one run.

    .venv/bin/python benchmarks/text_eda.py [--sentences 2000] [--eda-py PATH]

The peers are installed into a scratch folder (``benchmarks/.scratch/``), never into the project:
nlpaug (and gdown, which it imports) with ``pip install --no-deps --target``; ``eda.py`` downloaded
from the paper's repository at a pinned commit, or taken from ``--eda-py``
(e.g. ``git -C <clone> show 04ab29c:code/eda.py > eda.py``).

Same work on each side: three augmented sentences per input, one by synonym replacement, one by random
swap, one by random deletion, each at 10% of the words (nlpaug has no WordNet insertion, so EDA's is
switched off on both EDA sides). nlpaug's SynonymAug part-of-speech-tags every sentence with NLTK's
perceptron tagger, whose model NLTK downloads at run time and no package ships; here it is replaced by
a constant tagger (every word a noun), which only removes work from nlpaug's side.
"""

from __future__ import annotations

import argparse
import importlib
import random
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import torch

from auglab.augment.text.eda import EDAOffline
from auglab.augment.text.wordnet import prepare_dir

SCRATCH = Path(__file__).resolve().parent / ".scratch"
EDA_URL = "https://raw.githubusercontent.com/jasonwei20/eda_nlp/04ab29c/code/eda.py"
SST2 = Path(__file__).resolve().parents[2] / "shared" / "data" / "eda" / "2_small" / "sst2" / "train_orig.txt"


def nltk_wordnet_for_peers() -> None:
    """``nltk.corpus.wordnet`` (used by both peers) reading the same Debian WordNet files as auglab."""
    import nltk

    corpus = SCRATCH / "nltk_data" / "corpora" / "wordnet"
    if not (corpus / "lexnames").is_file():
        shutil.copytree(prepare_dir(), corpus, dirs_exist_ok=True)
    nltk.data.path.insert(0, str(SCRATCH / "nltk_data"))


def install_peers(eda_py: str | None) -> None:
    target = SCRATCH / "site"
    if not (target / "gdown").is_dir():  # nlpaug imports gdown (and it bs4) at import time
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                        "nlpaug==1.1.11", "gdown==5.2.0", "beautifulsoup4", "soupsieve"], check=True)
    if eda_py:
        shutil.copy(eda_py, SCRATCH / "eda.py")
    elif not (SCRATCH / "eda.py").is_file():
        urllib.request.urlretrieve(EDA_URL, SCRATCH / "eda.py")
    sys.path[:0] = [str(target), str(SCRATCH)]


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
    args = parser.parse_args()
    SCRATCH.mkdir(exist_ok=True)
    install_peers(args.eda_py)
    nltk_wordnet_for_peers()
    sentences = [line.split("\t", 1)[1].strip() for line in SST2.read_text().splitlines()][: args.sentences]
    print(f"{len(sentences)} SST-2 sentences (EDA benchmark, 2_small), 3 augmented sentences each")

    ours = EDAOffline(alpha_sr=0.1, alpha_ri=0.0, alpha_rs=0.1, alpha_rd=0.1, n_aug=3, seed=0)
    EDAOffline(alpha_sr=0.1, alpha_ri=0.0, alpha_rs=0.1, alpha_rd=0.1, n_aug=3)((["warm up"], torch.zeros(1)))

    import nlpaug.augmenter.word as naw
    from nlpaug.model.word_dict.wordnet import WordNet

    WordNet.pos_tag = classmethod(lambda cls, tokens: [(t, "NN") for t in tokens])  # see the docstring
    peers = [naw.SynonymAug(aug_src="wordnet", aug_p=0.1), naw.RandomWordAug(action="swap", aug_p=0.1),
             naw.RandomWordAug(action="delete", aug_p=0.1)]
    reference = importlib.import_module("eda")
    from nltk.corpus import wordnet

    wordnet.synsets("warm")  # the peers' reader loads its files on first use, as auglab's did above
    random.seed(0)

    print("| implementation | input sentences / s | seconds |\n|---|---:|---:|")
    auglab = rate("auglab EDAOffline (cold synonym cache)", lambda s: ours((s, torch.zeros(len(s))))[0][len(s):],
                  sentences)
    nlpaug_rate = rate("nlpaug SynonymAug + RandomWordAug swap, delete",
                       lambda s: [out for p in peers for out in p.augment(s)], sentences)
    paper = rate("paper's eda.py (eda(..., alpha_ri=0, num_aug=3))",
                 lambda s: [o for x in s for o in reference.eda(x, alpha_sr=0.1, alpha_ri=0.0, alpha_rs=0.1,
                                                                  p_rd=0.1, num_aug=3)[:3]], sentences)
    print(f"auglab / nlpaug: {auglab / nlpaug_rate:.1f}x; auglab / eda.py: {auglab / paper:.1f}x")


if __name__ == "__main__":
    main()
