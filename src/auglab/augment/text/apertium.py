"""Rule-based machine translation with Apertium (Debian's ``apertium`` and a language pair such as
``apertium-eng-spa``), one process per batch of texts, never one per sentence.

Texts go to the process as paragraphs (separated by a blank line), the unit Apertium translates on its
own: with one text per line it reorders words across lines ("... for kids\\napple ..." becomes "... for
apple\\nof kids ..."). ``-u`` leaves unknown words unmarked.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from auglab.errors import AuglabError

SEPARATOR = "\n\n"
HOW_TO_INSTALL = "apt-get install apertium apertium-eng-spa (scripts/setup.sh does)"


def installed_pairs() -> list[str]:
    if shutil.which("apertium") is None:
        raise AuglabError(f"apertium is not installed: {HOW_TO_INSTALL}")
    listed = subprocess.run(["apertium", "-l"], capture_output=True, text=True, check=False).stdout
    return [line.strip() for line in listed.splitlines() if line.strip()]


def check_pair(pair: str) -> None:
    pairs = installed_pairs()
    if pair not in pairs:
        package = "apertium-" + "-".join(sorted(pair.split("-")[:2], key=lambda lang: lang != "eng"))
        raise AuglabError(f"the Apertium language pair {pair} is not installed (installed: "
                          f"{', '.join(pairs) or 'none'}); apt-get install {package}")


def _single_line(text: str) -> str:
    return " ".join(text.split())  # a paragraph break inside a text would split it in two


def translate(texts: Sequence[str], pair: str, *, batch_size: int = 2000) -> list[str]:
    """Each text translated along ``pair`` (e.g. ``eng-spa``), in order."""
    check_pair(pair)
    out: list[str] = []
    for start in range(0, len(texts), batch_size):
        batch = [_single_line(t) or "." for t in texts[start:start + batch_size]]  # empty paragraphs vanish
        proc = subprocess.run(["apertium", "-u", pair], input=SEPARATOR.join(batch) + "\n", capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            raise AuglabError(f"apertium {pair} failed (exit {proc.returncode}): "
                              f"{(proc.stderr.strip().splitlines() or ['no message'])[0]}")
        translated = [p.strip() for p in proc.stdout.strip("\n").split(SEPARATOR)]
        if len(translated) != len(batch):
            raise AuglabError(f"apertium {pair} returned {len(translated)} texts for {len(batch)}; report the texts "
                              f"{start}..{start + len(batch) - 1} as an issue")
        out += translated
    return out


def round_trip(texts: Sequence[str], *, source: str = "eng", pivot: str = "spa") -> list[str]:
    """Back-translation: ``source`` -> ``pivot`` -> ``source``."""
    return translate(translate(texts, f"{source}-{pivot}"), f"{pivot}-{source}")
