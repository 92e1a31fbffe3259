"""Corpus-stage transforms: what a search index holds for each document, written once per corpus."""

from auglab.augment.corpus.expansion import DocumentExpansion, TitleEnrichment

__all__ = ["DocumentExpansion", "TitleEnrichment"]
