"""Checkpoint directories: ``vall_e.json`` + ``model.safetensors`` + ``vocab.json``.

The AR+NAR family's reader and writer; users load through ``vall_e.checkpoint.load_checkpoint``.
Checkpoints written before both families shared ``vall_e.json`` keep their metadata in
``config.json`` and still load (``checkpoint_format.metadata_file``); new ones never write it.
A checkpoint is written into a temporary sibling directory and renamed into place
(``vall_e.atomic``), so a crash mid-write never leaves a half checkpoint under the final name.
Loading never unpickles: weights come from safetensors, metadata from JSON. A directory made
for another model family, another format version (``vall_e.checkpoint_format.check_format``),
or weights that do not fit the stored config is refused with a one-line ``CheckpointError``.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from vall_e.atomic import read_json, staged_directory
from vall_e.checkpoint_format import (
    FORMAT,
    META_FILE,
    VERSION,
    Checkpoint,
    check_format,
    metadata_file,
)
from vall_e.codecs.base import CodecInfo
from vall_e.config import Config
from vall_e.errors import CheckpointError, VallEError
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.integrity import checksum_metadata, read_weights, verify_state
from vall_e.text.tokenizer import PhonemeTokenizer

WEIGHTS_FILE, VOCAB_FILE = "model.safetensors", "vocab.json"


LoadedCheckpoint = Checkpoint  # the name the AR+NAR engine and older callers use


def build_model(config: Config, tokenizer: PhonemeTokenizer, codec_info: CodecInfo) -> ARNARModel:
    return ARNARModel(config.model, len(tokenizer), codec_info.n_levels, codec_info.codebook_size)


def save_checkpoint(
    directory: str | Path,
    model: torch.nn.Module,
    config: Config,
    tokenizer: PhonemeTokenizer,
    codec_info: CodecInfo,
    step: int = 0,
) -> Path:
    """Write a checkpoint directory atomically (replacing an existing one)."""
    with staged_directory(directory) as staging:
        state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(staging / WEIGHTS_FILE),
                  metadata=checksum_metadata(state, {"format": FORMAT}))
        tokenizer.save(staging / VOCAB_FILE)
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "family": config.model.family,
            "step": step,
            "n_text_tokens": len(tokenizer),
            "codec": codec_info.to_dict(),
            "config": config.to_dict(),
        }
        (staging / META_FILE).write_text(json.dumps(meta, indent=2))
    return Path(directory)


def read_metadata(directory: str | Path) -> dict:
    """The checked metadata record of the AR+NAR checkpoint ``directory`` (either layout)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint not found: {directory} is not a directory")
    path = metadata_file(directory)
    if path is None:
        raise CheckpointError(f"{directory} is not a vall_e checkpoint: {META_FILE} is missing")
    return check_format(read_json(path), path, "ar_nar")


def load_ar_nar_checkpoint(directory: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """The AR+NAR checkpoint in ``directory`` (float or quantized), in eval mode on ``device``.
    Users call ``vall_e.checkpoint.load_checkpoint``, which picks the family first."""
    directory = Path(directory)
    meta = read_metadata(directory)
    meta_path = metadata_file(directory)
    try:
        config = Config.from_dict(meta["config"], source=str(meta_path))
        codec_info = CodecInfo.from_dict(meta["codec"])
    except (KeyError, VallEError) as exc:
        raise CheckpointError(f"{meta_path} is invalid: {exc}") from None
    tokenizer = PhonemeTokenizer.load(directory / VOCAB_FILE)
    weights = directory / WEIGHTS_FILE
    from vall_e.quantize.runtime import is_quantized, load_quantized_weights

    if is_quantized(directory):  # a quantize rewrite: quantized modules + their manifest
        model = load_quantized_weights(build_model(config, tokenizer, codec_info), directory)
        model.to(device).eval()
        return _record(model, config, tokenizer, codec_info, meta, directory)
    state, metadata = read_weights(weights)
    verify_state(state, metadata, weights)  # a flipped bit: one line here, not NaN logits later
    model = build_model(config, tokenizer, codec_info)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError:
        raise CheckpointError(
            f"{weights} does not match the model described in {meta_path.name} "
            "(weights from another model or config?)"
        ) from None
    model.to(device).eval()
    return _record(model, config, tokenizer, codec_info, meta, directory)


def _record(model, config, tokenizer, codec_info, meta: dict, directory: Path) -> Checkpoint:
    return Checkpoint("ar_nar", model, config, codec_info, directory, int(meta.get("step", 0)),
                      tokenizer=tokenizer)


load_checkpoint = load_ar_nar_checkpoint  # the family reader's old name (engine.py, tests)
