"""Random-weight checkpoints of either family, for tests and benchmarks (they speak noise).

``save_random_checkpoint("ar_nar" | "llm", DIR, codec_dir, ...)`` writes a directory that the
loader, the CLI and the Interface open like a trained one, in well under a second for the
tiny sizes the tests use. The phoneme vocabulary covers ``text`` (and an English pangram).
"""
from __future__ import annotations

from pathlib import Path

import torch

from vall_e.checkpoint_format import Checkpoint
from vall_e.codecs.base import CodecInfo
from vall_e.config import CodecConfig, Config, InferenceConfig, ModelConfig
from vall_e.families import family_of
from vall_e.text import phonemize
from vall_e.text.tokenizer import PhonemeTokenizer

PANGRAM = "The quick brown fox jumps over the lazy dog near the river bank."


def save_random_checkpoint(family: str, directory: str | Path, codec_dir: str | Path,
                           d_model: int = 32, n_layers: int = 2, n_heads: int = 2,
                           n_levels: int = 2, ffn_mult: float = 2.0, max_ar_steps: int = 40,
                           text: str = PANGRAM, seed: int = 0, fan_in_init: bool = False,
                           alignment: str = "none", shared_prefix: bool = False) -> Path:
    """Write a random-weight ``family`` checkpoint over an EnCodec with ``n_levels`` levels.

    ``fan_in_init`` redraws every matrix with std 1/sqrt(fan-in) and embeddings with std 1:
    the models' own small init (std 0.02) makes a random network's greedy output one token
    repeated whatever the context, which says nothing about how decoding changes under
    quantization; at this scale the logits depend on the context, as a trained model's do.
    """
    entry = family_of(family)
    model_config = ModelConfig(family=family, d_model=d_model, n_layers=n_layers,
                               n_heads=n_heads, ffn_mult=ffn_mult, dropout=0.0,
                               tasks=list(entry.tasks), layout=entry.fresh_layout,
                               max_positions=4096, alignment=alignment,
                               shared_prefix=shared_prefix)
    config = Config(model=model_config,
                    codec=CodecConfig(name="encodec", path=str(codec_dir), n_levels=n_levels),
                    inference=InferenceConfig(max_ar_steps=max_ar_steps, input_prompt_length=1.0))
    config.validate()
    info = CodecInfo("encodec", 24000, 75.0, n_levels, 1024)
    vocab = PhonemeTokenizer.from_phoneme_lists([phonemize(t, "en-us") for t in {text, PANGRAM}])
    torch.manual_seed(seed)
    model = entry.build(config, vocab, info)
    if fan_in_init:
        _fan_in(model)
    # the vocabulary rides in the record: the AR+NAR writer stores it (an LLM-TTS layout
    # carries its own and its writer ignores the field)
    return entry.save(Checkpoint(family, model, config, info, Path(directory), tokenizer=vocab),
                      directory)


@torch.no_grad()
def _fan_in(model: torch.nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            module.weight.normal_(0.0, module.in_features ** -0.5)
        elif isinstance(module, torch.nn.Embedding):
            module.weight.normal_(0.0, 1.0)
