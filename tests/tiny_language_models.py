"""Tiny but real text-generation checkpoints for tests: a causal Llama and a seq2seq BART, built with
``from_config`` and a BPE tokenizer trained here with ``tokenizers`` (with a chat template for the causal
one), saved as ordinary checkpoint folders that auglab loads like any other."""

from __future__ import annotations

from pathlib import Path

WORDS = ("apple iphone samsung galaxy 64gb 128gb silver black white fridge freezer washing machine tv 4k 55 inch "
         "digital camera nikon canon dishwasher bosch microwave intel core cpu lg sony the a with and for new").split()
CHAT = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def tokenizer(chat: bool):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>", "<unk>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.Whitespace()
    corpus = [" ".join(WORDS[i:] + WORDS[:i]) for i in range(len(WORDS))]
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=200, special_tokens=specials))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
                                  unk_token="<unk>")
    if chat:
        tok.chat_template = CHAT
    return tok


def causal(folder: Path, *, chat: bool = True) -> Path:
    """A 2-layer Llama with hidden size 32."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = tokenizer(chat)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def seq2seq(folder: Path, seed: int = 0) -> Path:
    """A 1+1-layer BART with d_model 32 (a stand-in for a Marian translation pair)."""
    import torch
    from transformers import BartConfig, BartForConditionalGeneration

    tok = tokenizer(chat=False)
    config = BartConfig(vocab_size=len(tok), d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=128,
                        pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                        decoder_start_token_id=tok.eos_token_id, forced_eos_token_id=tok.eos_token_id)
    torch.manual_seed(seed)
    model = BartForConditionalGeneration(config)
    model.final_logits_bias[0, tok.all_special_ids] = -1e4  # untrained, it would write nothing but special tokens
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
