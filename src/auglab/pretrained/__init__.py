"""Pretrained weights and tokenizers: where a checkpoint comes from (local folder, a Python package that ships
it offline, the Hugging Face Hub) and one-line errors when it cannot be had."""
