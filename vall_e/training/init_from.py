"""``train.init_from``: a fresh AR+NAR run that starts from an exported checkpoint's weights.

Unlike ``--resume`` (same run, same config, optimiser and step restored) this starts a new run
(fresh optimiser, step 0) under a config that may differ: other positions, dropout, losses,
fewer codec levels. Every tensor whose name and shape still match is copied; the rest keep
their fresh initialisation and are logged, so a change of architecture is visible, not silent.
The checkpoint's text vocabulary becomes the run's: its embedding rows mean those phonemes.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch

from vall_e.codecs.base import CodecInfo
from vall_e.config import Config
from vall_e.errors import CheckpointError
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.checkpoint import build_model, load_checkpoint
from vall_e.quantize.dequantize import dequantize_model
from vall_e.text.tokenizer import PhonemeTokenizer

log = logging.getLogger(__name__)


def copy_matching_weights(target: torch.nn.Module, source: torch.nn.Module) -> tuple[list, list]:
    """Copy every tensor of ``source`` whose name and shape exist in ``target``.

    Returns (copied names, names of ``target`` left as initialised).
    """
    own = target.state_dict()
    theirs = source.state_dict()
    copied = [name for name, value in theirs.items()
              if name in own and own[name].shape == value.shape]
    target.load_state_dict({name: theirs[name] for name in copied}, strict=False)
    return copied, [name for name in own if name not in set(copied)]


def initial_model(directory: str | Path, config: Config, codec_info: CodecInfo,
                  output_dir: Path) -> tuple[ARNARModel, PhonemeTokenizer]:
    """The run's model and vocabulary, started from the checkpoint at ``directory``."""
    loaded = load_checkpoint(directory)
    # a quantized checkpoint (the shipped default) starts the run from its dequantized
    # weights; its int8 buffers would otherwise match no float tensor and start fresh
    dequantize_model(loaded.model)
    if loaded.codec_info.name != codec_info.name:
        raise CheckpointError(
            f"train.init_from {directory} was trained on {loaded.codec_info.name} codes but this "
            f"run's data is {codec_info.name}: its code embeddings would mean other sounds")
    tokenizer = loaded.tokenizer
    output_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save(output_dir / "vocab.json")
    model = build_model(config, tokenizer, codec_info)
    copied, fresh = copy_matching_weights(model, loaded.model)
    if not copied:
        raise CheckpointError(
            f"train.init_from {directory} has no tensor of this model's shapes (d_model "
            f"{loaded.config.model.d_model} vs {config.model.d_model}?): nothing to start from")
    log.warning("train.init_from %s (step %d): %d tensors copied, %d start fresh%s",
                directory, loaded.step, len(copied), len(fresh),
                f" ({', '.join(fresh[:8])}{', ...' if len(fresh) > 8 else ''})" if fresh else "")
    return model, tokenizer
