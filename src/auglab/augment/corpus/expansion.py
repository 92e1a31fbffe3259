"""Corpus-stage strategies (``augment/corpus/document_writer.py`` says what they share):

- ``DocumentExpansion`` (doc2query: Nogueira et al. 2019, arXiv 1904.08375; docTTTTTquery, Nogueira & Lin
  2019): ``n`` queries a shopper might type to find each offer, appended to what the index holds; with
  ``relevance`` and ``drop_fraction``, Doc2Query--'s filter;
- ``TitleEnrichment``: each offer title rewritten as a fuller description (brand, product type, attributes
  spelled out), appended to the title or replacing it.

What a user sees as the document stays the original title (``SearchDataModule.titles``)."""

from __future__ import annotations

from auglab.augment.corpus.document_writer import DocumentWriter
from auglab.augment.text.generation import GenerationOptions
from auglab.errors import check_choice
from auglab.pretrained.language_models import DEFAULT

# Invented demonstrations (acme is no brand of the data); words the model copies from them are filtered
# (copies_prompt_example).
EXPANSION_PROMPT = ("Write the search query a shopper types to find the product.\n"
                    "Product: acme tx500 50 inch 4k ultra hd smart tv black\nQuery: acme 50 inch 4k tv\n"
                    "Product: acme dw45 freestanding dishwasher 60cm white a++\nQuery: acme dishwasher 60cm\n"
                    "Product: {text}\nQuery:")
ENRICHMENT_PROMPT = ("Rewrite the product title as a full product description: brand, product type and "
                     "attributes spelled out.\n"
                     "Title: acme tx500 50 4k\nDescription: Acme TX500 50-inch 4K Ultra HD smart television\n"
                     "Title: acme dw45 ff wh\nDescription: Acme DW45 freestanding dishwasher, 60 cm, white\n"
                     "Title: {text}\nDescription:")


class DocumentExpansion(DocumentWriter):
    """``n`` written queries per document, appended to it in the index."""

    what = "doc_expansion"

    def __init__(self, *, checkpoint: str = DEFAULT, n: int = 3, prompt: str = EXPANSION_PROMPT,
                 chat: bool | str = False, system: str | None = None, max_new_tokens: int = 16, do_sample: bool = True,
                 temperature: float = 0.7, top_p: float = 0.9, batch_size: int = 32, chunk_size: int = 512,
                 device: str = "auto", seed: int = 0, max_words: int = 16, relevance: str | None = None,
                 drop_fraction: float = 0.0, backend: str = "transformers", compute_type: str = "int8",
                 example_words: str = "rare") -> None:
        options = GenerationOptions(n=n, max_new_tokens=max_new_tokens, do_sample=do_sample, temperature=temperature,
                                    top_p=top_p, batch_size=batch_size)
        super().__init__(checkpoint=checkpoint, prompt=prompt, chat=chat, system=system, options=options,
                         chunk_size=chunk_size, device=device, seed=seed, max_words=max_words, relevance=relevance,
                         drop_fraction=drop_fraction, backend=backend, compute_type=compute_type,
                         example_words=example_words)

    def combine(self, document: str, kept: list[str]) -> str:
        return " ".join([document, *kept])


class TitleEnrichment(DocumentWriter):
    """One fuller description per title (greedy by default), ``append``-ed to the title or ``replace``-ing it
    (a document whose description was dropped keeps its title)."""

    what = "title_enrichment"

    def __init__(self, *, checkpoint: str = DEFAULT, mode: str = "append", prompt: str = ENRICHMENT_PROMPT,
                 chat: bool | str = False, system: str | None = None, max_new_tokens: int = 32,
                 do_sample: bool = False, temperature: float = 0.7, top_p: float = 0.9, batch_size: int = 32,
                 chunk_size: int = 512, device: str = "auto", seed: int = 0, max_words: int = 40,
                 relevance: str | None = None, drop_fraction: float = 0.0, backend: str = "transformers",
                 compute_type: str = "int8", example_words: str = "rare") -> None:
        self.mode = check_choice("mode", mode, ("append", "replace"))
        options = GenerationOptions(n=1, max_new_tokens=max_new_tokens, do_sample=do_sample, temperature=temperature,
                                    top_p=top_p, batch_size=batch_size)
        super().__init__(checkpoint=checkpoint, prompt=prompt, chat=chat, system=system, options=options,
                         chunk_size=chunk_size, device=device, seed=seed, max_words=max_words, relevance=relevance,
                         drop_fraction=drop_fraction, backend=backend, compute_type=compute_type,
                         example_words=example_words)

    def combine(self, document: str, kept: list[str]) -> str:
        if not kept:
            return document
        return kept[0] if self.mode == "replace" else f"{document} {kept[0]}"
