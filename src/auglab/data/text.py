"""Product-text datamodules: Amazon fine-food reviews (embedded default), the EDA paper's benchmark
splits, and a user's CSV / TSV / JSON-lines file.

Where text becomes tokens: text stays a Python string through the ``offline`` stage (EDA copies,
typos, synonym swaps work on words) and the ``sample`` stage (a fresh edit per example per epoch, in
the loader's workers). The loader's collate function then tokenises the whole batch in one call of the
model checkpoint's fast (Rust) tokenizer, pads to the batch's longest text and truncates at
``max_length``; the ``batch`` and ``device`` stages see token ids ``[B, L]`` and the attention mask.
Tokenising per batch costs little next to a transformer step and keeps every string augmentation
possible; no Python loop over tokens runs in the training loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import Dataset

from auglab.augment import AugmentationStrategy, RunContext
from auglab.data.classification import ClassificationDataModule, Examples
from auglab.data.sources import eda_benchmark, fine_foods, pricerunner
from auglab.data.sources.text_table import check_classes, read_table
from auglab.errors import AuglabError, check_count
from auglab.pretrained import hf_checkpoint

if TYPE_CHECKING:
    from matplotlib.figure import Figure



class TextDataset(Dataset):
    """Texts and int labels; the sample stage (``transform``) edits one text at a time."""

    def __init__(self, texts: list[str], labels: torch.Tensor, transform: Callable | None = None) -> None:
        self.texts, self.labels, self.transform = texts, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[str, torch.Tensor]:
        text = self.texts[i]
        return (self.transform(text) if self.transform is not None else text), self.labels[i]


class TokenizeCollate:
    """Tokenise a batch of texts; for training, one-hot labels ``[B, K]`` and the batch stage."""

    def __init__(self, tokenizer: Any, max_length: int, num_classes: int,
                 strategy: AugmentationStrategy | None = None) -> None:
        self.tokenizer, self.max_length, self.num_classes, self.strategy = tokenizer, max_length, num_classes, strategy

    def __call__(self, items: list[tuple[str, torch.Tensor]]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        texts, labels = zip(*items, strict=True)
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                             return_special_tokens_mask=True, return_tensors="pt")
        # [B, L] each; the special-tokens mask tells device-stage edits which tokens to leave alone
        x = {key: enc[key] for key in ("input_ids", "attention_mask", "special_tokens_mask")}
        y = torch.stack(labels)
        if self.strategy is None:
            return x, y
        return self.strategy.apply_batch(x, torch.nn.functional.one_hot(y, self.num_classes).float())


class TextDataModule(ClassificationDataModule):
    """Labelled texts; ``tokenizer`` names the checkpoint whose tokenizer the model needs (the configs
    pass ``model.checkpoint``); ``max_length`` truncates, in tokens."""

    kind = "text"

    def __init__(self, *, tokenizer: str | None = None, max_length: int = 128, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if tokenizer is None:
            raise AuglabError("text data needs a text model's checkpoint for its tokenizer; choose model=bert, "
                              "text_cnn or text_bilstm")
        check_count("data.max_length", max_length, minimum=2)
        self.tokenizer_name, self.max_length = tokenizer, max_length
        self.tokenizer: Any = None

    def prepare_data(self) -> None:
        """Load the tokenizer and check ``max_length`` against what the checkpoint's positions allow."""
        if self.tokenizer is not None:
            return
        limit = getattr(hf_checkpoint.load_config(self.tokenizer_name), "max_position_embeddings", None)
        if limit is not None and self.max_length > limit:
            raise AuglabError(f"data.max_length={self.max_length} is larger than {self.tokenizer_name} allows "
                              f"({limit} positions); set data.max_length<={limit}")
        self.tokenizer = hf_checkpoint.load_tokenizer(self.tokenizer_name)

    def transform_context(self, train: Any) -> RunContext:
        """With the tokenizer and its checkpoint: token dropout needs [UNK]'s id, substitution the embeddings."""
        self.prepare_data()
        return replace(super().transform_context(train), tokenizer=self.tokenizer, checkpoint=self.tokenizer_name)

    def labelled(self, texts: list[str], labels: list[str], classes: list[str]) -> Examples:
        index = {name: i for i, name in enumerate(classes)}
        return texts, torch.tensor([index[name] for name in labels], dtype=torch.long)

    def make_dataset(self, examples: Examples, transform: Callable | None) -> Dataset:
        return TextDataset(*examples, transform=transform)

    def collate(self, *, train: bool) -> Callable:
        self.prepare_data()
        return TokenizeCollate(self.tokenizer, self.max_length, self.num_classes, self.augment if train else None)

    def data_facts(self) -> dict[str, Any]:
        return {**super().data_facts(), "vocab_size": len(self.tokenizer),
                "pad_token_id": self.tokenizer.pad_token_id}

    def preview_figure(self, batch: Any, count: int = 8) -> Figure:
        """The first texts of a train batch as the model sees them: decoded from its token ids."""
        from auglab.figures.batch_previews import text_table

        x, y = batch
        # special tokens stay visible ([UNK] from token dropout); padding does not
        texts = [self.tokenizer.decode(ids[mask.bool()]) for ids, mask in
                 zip(x["input_ids"][:count], x["attention_mask"][:count], strict=True)]
        return text_table(texts, y[:count], self.classes, self.augment.name)

    def split_from_tables(self, train: tuple[list[str], list[str]], test: tuple[list[str], list[str]] | None,
                          where: str, label_field: str = "label") -> dict[str, Any]:
        """The ``load_source`` result for tables of (texts, label names)."""
        classes = check_classes(train[1] + (test[1] if test else []), where, label_field)
        source: dict[str, Any] = {"classes": classes, "train": self.labelled(*train, classes)}
        if test is not None:
            source["test"] = self.labelled(*test, classes)
        return source


class FineFoodReviewsDataModule(TextDataModule):
    """Amazon fine-food reviews, great (5 stars) vs other: 4,000 train (val held out), 1,000 test."""

    def __init__(self, *, root: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = root

    def load_source(self) -> dict[str, Any]:
        data = fine_foods.load(self.root)
        return {"classes": data["classes"], "train": self.labelled(*data["train"], data["classes"]),
                "test": self.labelled(*data["test"], data["classes"])}


class EDABenchmarkDataModule(TextDataModule):
    """One of the EDA paper's data sets (``name``) at one training size (``size``), its own test split."""

    def __init__(self, *, path: str, name: str = "sst2", size: str | int = 500, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        size = str(size)
        if name not in eda_benchmark.NAMES:
            raise AuglabError(f"data.name={name} is not an EDA benchmark data set; choose one of "
                              f"{', '.join(eda_benchmark.NAMES)}")
        if size not in eda_benchmark.SIZES:
            raise AuglabError(f"data.size={size} is not an EDA benchmark size; choose one of "
                              f"{', '.join(eda_benchmark.SIZES)}")
        self.path, self.name, self.size = Path(path).expanduser(), name, size

    def load_source(self) -> dict[str, Any]:
        train, test, train_file = eda_benchmark.load(self.path, self.name, self.size)
        return self.split_from_tables(train, test, str(train_file))


class TextFileDataModule(TextDataModule):
    """A user's labelled texts: one CSV / TSV / JSON-lines file (test split held out, seeded and
    stratified) or a folder with ``train.*`` and ``test.*`` of the same kind."""

    def __init__(self, *, path: str | None = None, text_field: str = "text", label_field: str = "label",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not path:
            raise AuglabError("data.path is not set; point it at a .csv, .tsv or .jsonl file, or a folder with "
                              "train.* and test.*")
        self.path, self.text_field, self.label_field = Path(path).expanduser(), text_field, label_field

    def _file(self, stem: str) -> Path:
        found = sorted(p for p in self.path.glob(f"{stem}.*") if p.suffix.lower() in (".csv", ".tsv", ".jsonl"))
        if not found:
            raise AuglabError(f"data.path {self.path} is a folder without {stem}.csv, {stem}.tsv or {stem}.jsonl")
        return found[0]

    def load_source(self) -> dict[str, Any]:
        fields = {"text_field": self.text_field, "label_field": self.label_field}
        if self.path.is_dir():
            train_file, test_file = self._file("train"), self._file("test")
            return self.split_from_tables(read_table(train_file, **fields), read_table(test_file, **fields),
                                          str(train_file), self.label_field)
        return self.split_from_tables(read_table(self.path, **fields), None, str(self.path), self.label_field)


class PriceRunnerDataModule(TextDataModule):
    """PriceRunner offer titles -> their category (10 classes; ``data/sources/pricerunner.py``). The offers of
    one product never straddle two splits (held out by product); ``train_per_class`` / ``val_per_class``
    count products, one offer each."""

    def __init__(self, *, root: str | None = None, test_fraction: float = 0.1, **kwargs: Any) -> None:
        super().__init__(test_fraction=test_fraction, **kwargs)  # a tenth of the products: ~3,500 offers
        self.root = root

    def load_source(self) -> dict[str, Any]:
        offers = pricerunner.load(self.root)
        titles, categories = offers["Product Title"].tolist(), offers["Category Label"].tolist()
        source = self.split_from_tables((titles, categories), None, "pricerunner", "Category Label")
        return {**source, "groups": offers["Cluster ID"].astype(int).to_numpy()}
