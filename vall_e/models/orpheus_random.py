"""A tiny random-weight Orpheus-shaped checkpoint, for tests and demos on offline machines.

It is laid out like a real Orpheus download (a ``save_pretrained`` Llama whose vocabulary
covers the Orpheus ids, plus a Hugging Face tokenizer, no ``vall_e.json``), so it exercises
the same loading path as ``canopylabs/orpheus-3b-0.1-ft``. The tokenizer is byte-level with no
merges (one id per UTF-8 byte) and a ``<|begin_of_text|>`` prefix, like Llama 3's at a glance.
It speaks noise.
"""
from __future__ import annotations

from pathlib import Path

import torch

from vall_e.hf_progress import quiet_hf_progress
from vall_e.models.llm_layouts import OrpheusLayout


def byte_level_tokenizer():
    """A ``PreTrainedTokenizerFast`` with one id per byte and a begin-of-text id (256)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    bos = "<|begin_of_text|>"
    vocab[bos] = len(vocab)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", special_tokens=[(bos, vocab[bos])])
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=bos)


def save_random_orpheus(directory: str | Path, seed: int = 0, hidden_size: int = 16,
                        n_layers: int = 2, n_heads: int = 2) -> Path:
    """Write the checkpoint to ``directory`` and return it."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=OrpheusLayout(None).vocab_size, hidden_size=hidden_size,
        intermediate_size=2 * hidden_size, num_hidden_layers=n_layers,
        num_attention_heads=n_heads, num_key_value_heads=n_heads, max_position_embeddings=2048,
        tie_word_embeddings=True, bos_token_id=256, eos_token_id=OrpheusLayout.END_OF_SPEECH,
        pad_token_id=OrpheusLayout.PAD)
    with torch.random.fork_rng(devices=[]):  # seeded init without disturbing the caller's RNG
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    directory = Path(directory)
    with quiet_hf_progress():
        model.save_pretrained(str(directory))
    byte_level_tokenizer().save_pretrained(str(directory))
    return directory
