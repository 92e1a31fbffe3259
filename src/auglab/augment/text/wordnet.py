"""WordNet 3.0 through NLTK, read from Debian's files (wordnet-base, wordnet-sense-index), never downloaded,
for EDA's synonym operations (Wei & Zou 2019, arXiv 1901.11196).

NLTK's reader wants one folder with the database files and a ``lexnames`` file, which Debian does not ship.
NLTK 3.10's path sandbox refuses hard links and symbolic links that leave the folder, so the folder
(``~/.cache/auglab/wordnet`` by default) holds copies, refreshed when a source changes, and ``lexnames``.
"""

from __future__ import annotations

import filecmp
import functools
import hashlib
import os
import pickle
import shutil
import warnings
from pathlib import Path

import nltk
from nltk.corpus.reader.wordnet import WordNetCorpusReader

from auglab.errors import AuglabError
from auglab.storage.atomic import write_atomic

WORDNET_DIR = "/usr/share/wordnet"  # Debian's; AUGLAB_WORDNET_DIR overrides it
DEFAULT_CACHE_DIR = "~/.cache/auglab/wordnet"
DATA_FILES = ("index.sense", "cntlist.rev", "index.noun", "index.verb", "index.adj", "index.adv", "data.noun",
              "data.verb", "data.adj", "data.adv", "noun.exc", "verb.exc", "adj.exc", "adv.exc")
# WordNet 3.0's 45 lexicographer files by number (lexnames(5WN)), the field after the offset in data.* lines
_NOUNS = ("Tops act animal artifact attribute body cognition communication event feeling food group location motive "
          "object person phenomenon plant possession process quantity relation shape state substance time")
_VERBS = ("body change cognition communication competition consumption contact creation emotion motion perception "
          "possession social stative weather")
LEXNAMES = ("adj.all", "adj.pert", "adv.all", *(f"noun.{name}" for name in _NOUNS.split()),
            *(f"verb.{name}" for name in _VERBS.split()), "adj.ppl")
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}  # lexnames' third field, the syntactic category


def wordnet_dir() -> Path:
    """Where the WordNet database files are read from: ``AUGLAB_WORDNET_DIR``, else Debian's folder."""
    return Path(os.environ.get("AUGLAB_WORDNET_DIR") or WORDNET_DIR)


def lexnames_text() -> str:
    """The ``lexnames`` file: ``NN<TAB>name<TAB>category`` per lexicographer file."""
    return "".join(f"{i:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}\n" for i, name in enumerate(LEXNAMES))


def prepare_dir(cache_dir: str | Path | None = None) -> Path:
    """Fill ``cache_dir`` with the WordNet files and ``lexnames``; return it."""
    source, folder = wordnet_dir(), Path(cache_dir or DEFAULT_CACHE_DIR).expanduser().resolve()
    missing = [name for name in DATA_FILES if not (source / name).is_file()]
    if missing:
        raise AuglabError(f"WordNet files missing in {source}: {', '.join(missing)}; run `apt-get install wordnet-base "
                          "wordnet-sense-index` or set AUGLAB_WORDNET_DIR to a WordNet 3.0 dict folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in DATA_FILES:
            src, dst = source / name, folder / name
            if not dst.exists() or not filecmp.cmp(src, dst):  # same size and mtime (copy2 keeps it), or bytes
                write_atomic(dst, lambda tmp, src=src: shutil.copy2(src, tmp))
        lexnames = folder / "lexnames"
        if not lexnames.exists() or lexnames.read_text() != lexnames_text():
            write_atomic(lexnames, lambda tmp: tmp.write_text(lexnames_text()))
    except OSError as err:
        raise AuglabError(f"cannot write the WordNet cache {folder}: {err.strerror}; pass another cache_dir") from err
    return folder


class _Reader(WordNetCorpusReader):
    # No map to WordNet 3.0: these files are 3.0. NLTK would load its own downloaded 'wordnet' corpus to
    # build that map, which only its multilingual (OMW) functions use.
    def map_wn(self, version: str = "wordnet") -> None:
        return None


def wordnet_reader(cache_dir: str | Path | None = None) -> WordNetCorpusReader:
    """A WordNet 3.0 reader over the Debian files (copied to ``cache_dir``)."""
    folder = prepare_dir(cache_dir)
    if str(folder) not in nltk.data.path:  # NLTK 3.10 reads corpora only below its data paths
        nltk.data.path.append(str(folder))
    with warnings.catch_warnings():  # "multilingual functions are not available": no OMW wanted
        warnings.simplefilter("ignore", UserWarning)
        return _Reader(str(folder), omw_reader=None)


@functools.cache
def default_reader() -> WordNetCorpusReader:
    """The process's reader, built on first use (about a second)."""
    return wordnet_reader()


# A forked child (a DataLoader worker) would share the parent's open data files and their read offsets;
# it builds its own reader instead.
os.register_at_fork(after_in_child=default_reader.cache_clear)


@functools.cache
def lemma_names() -> dict[tuple[str, int], tuple[str, ...]]:
    """Every synset's lemma names by (data file, offset), built from all 117,659 synsets once (~7 s) and
    then loaded from a pickle beside the copied files (~0.1 s). Reading a synset through NLTK parses its
    data-file line on every lookup, which made cold EDA runs slow; the table gives the same answers."""
    folder = prepare_dir()
    stamp = hashlib.sha256(repr([(n, (folder / n).stat().st_size) for n in DATA_FILES]).encode()).hexdigest()[:12]
    path = folder / f"lemma_names-{stamp}.pkl"
    if path.is_file():
        with path.open("rb") as f:
            return pickle.load(f)
    table = {("a" if synset.pos() == "s" else synset.pos(), synset.offset()): tuple(lemma.name() for lemma in
                                                                                  synset.lemmas())
             for synset in default_reader().all_synsets()}
    write_atomic(path, lambda tmp: tmp.write_bytes(pickle.dumps(table, protocol=pickle.HIGHEST_PROTOCOL)))
    return table


@functools.lru_cache(maxsize=1 << 16)
def _synonyms(word: str) -> tuple[str, ...]:
    # NLTK's synsets(word), without parsing each synset: the same base forms (morphy) and offsets
    reader, table = default_reader(), lemma_names()
    index = reader._lemma_pos_offset_map
    names = (name.lower().replace("_", " ") for pos in "nvar" for form in reader._morphy(word, pos)
             for offset in index[form].get(pos, []) for name in table[pos, offset])
    return tuple(name for name in dict.fromkeys(names) if name != word)  # first-seen order: deterministic


def synonyms(word: str) -> list[str]:
    """WordNet synonyms of ``word`` (any part of speech), lower-case, without ``word`` itself."""
    return list(_synonyms(word.lower()))
