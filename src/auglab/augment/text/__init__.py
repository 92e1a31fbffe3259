"""Text strategies' transforms: string edits (EDA, typos) offline or per sample, texts written by language
models and by back-translation (offline), token and embedding edits on the device, sentence MixUp. Configs
name them as ``auglab.augment.text.<Class>``."""

from auglab.augment.text.back_translation import BackTranslation
from auglab.augment.text.device import EmbeddingNoise, EmbeddingSubstitution, TokenDropout
from auglab.augment.text.eda import EDAOffline, EDASample
from auglab.augment.text.language_model import LLMGenerate, LLMParaphrase
from auglab.augment.text.query_generation import LLMQueries
from auglab.augment.text.sentence_mixup import SentenceMixUp
from auglab.augment.text.typo import Typo, TypoOffline

__all__ = ["BackTranslation", "EDAOffline", "EDASample", "EmbeddingNoise", "EmbeddingSubstitution", "LLMGenerate",
           "LLMParaphrase", "LLMQueries", "SentenceMixUp", "TokenDropout", "Typo", "TypoOffline"]
