"""Words a language model copies from its prompt's demonstrations instead of its source text: a small model
shown "acme tx500 ... -> acme tx500 4k tv" writes "acme" into a third of its queries. A generated text that
holds a word of the demonstrations that its source does not hold is dropped as ``copies_prompt_example``."""

from __future__ import annotations

import re

WORD = re.compile(r"[a-z0-9][a-z0-9+&'.-]*")
FIELD = re.compile(r"^\s*[A-Za-z][\w ]{0,20}:\s*")  # "Product: ", "Query: ": a demonstration's field names


def words(text: str) -> set[str]:
    """Lower-cased words; trailing punctuation stripped (``4k.`` is ``4k``)."""
    return {w.rstrip(".'-") for w in WORD.findall(str(text).lower())} - {""}


def demonstration_words(template: str) -> set[str]:
    """The words of a prompt template's demonstrations: every line after the first (the instruction) that holds
    no placeholder, without its field name (``Product:``)."""
    lines = template.splitlines()[1:]
    return set().union(*(words(FIELD.sub("", line)) for line in lines if "{" not in line))


def copied_words(generated: str, source: str, shown: set[str]) -> set[str]:
    """The words of ``generated`` that come from the demonstrations ``shown`` and not from ``source``."""
    return (words(generated) & shown) - words(source)


def common_words(texts: list[str] | tuple[str, ...], *, fraction: float = 0.01) -> set[str]:
    """The words in at least ``fraction`` of ``texts``: a demonstration word this common in the data ("tv",
    "white", "4k") is the data's own vocabulary, not a copy."""
    from collections import Counter

    counts = Counter(w for text in texts for w in words(text))
    floor = max(1.0, fraction * len(texts))
    return {w for w, c in counts.items() if c >= floor}


def distinctive_demonstration_words(template: str, texts: list[str] | tuple[str, ...]) -> set[str]:
    """``demonstration_words`` of ``template`` that the data rarely or never uses (``acme``, ``tx500``)."""
    return demonstration_words(template) - common_words(texts)
