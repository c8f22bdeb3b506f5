"""Checkpoint directories: ``config.json`` + ``model.safetensors`` + ``vocab.json``.

A checkpoint is written into a temporary sibling directory and renamed into place, so a
crash mid-write never leaves a half checkpoint under the final name. Loading never unpickles:
weights come from safetensors, metadata from JSON. A directory made for another model family,
another format version, or weights that do not fit the stored config is refused with a
one-line ``CheckpointError``.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from vall_e.codecs.base import CodecInfo
from vall_e.config import Config
from vall_e.errors import CheckpointError, VallEError
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.integrity import checksum_metadata, verify_state
from vall_e.text.tokenizer import PhonemeTokenizer

FORMAT = "vall_e.checkpoint"
VERSION = 1
CONFIG_FILE, WEIGHTS_FILE, VOCAB_FILE = "config.json", "model.safetensors", "vocab.json"


@dataclass
class LoadedCheckpoint:
    model: ARNARModel
    config: Config
    tokenizer: PhonemeTokenizer
    codec_info: CodecInfo
    step: int
    path: Path


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
        (staging / CONFIG_FILE).write_text(json.dumps(meta, indent=2))
    return Path(directory)


@contextlib.contextmanager
def staged_directory(directory: str | Path) -> Iterator[Path]:
    """Yield an empty sibling directory to fill; on success it replaces ``directory`` at once,
    on any error it is removed, so a crash never leaves half a checkpoint under the name."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.parent / f".{directory.name}.tmp-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        yield staging
        swap_into_place(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def swap_into_place(staging: Path, directory: Path) -> None:
    # os.replace cannot overwrite a non-empty directory: move the old one aside first
    old = None
    if directory.exists():
        old = directory.parent / f".{directory.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(directory, old)
    os.replace(staging, directory)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_json(path: str | Path):
    """The parsed JSON of a checkpoint's metadata file; corrupt JSON is one ``CheckpointError``."""
    try:
        return json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"{path} is corrupt (not valid JSON)") from None


def read_metadata(directory: str | Path) -> dict:
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint not found: {directory} is not a directory")
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{directory} is not a vall_e checkpoint: {CONFIG_FILE} is missing")
    meta = read_json(path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{directory} is not a vall_e checkpoint (format field missing)")
    if meta.get("version") != VERSION:
        raise CheckpointError(
            f"{directory} has checkpoint version {meta.get('version')}; this vall_e reads {VERSION}"
        )
    return meta


def load_checkpoint(directory: str | Path, device: str | torch.device = "cpu") -> LoadedCheckpoint:
    directory = Path(directory)
    meta = read_metadata(directory)
    if meta.get("family") != "ar_nar":
        raise CheckpointError(
            f"{directory} holds a '{meta.get('family')}' model, not an AR+NAR model"
        )
    try:
        config = Config.from_dict(meta["config"], source=str(directory / CONFIG_FILE))
        codec_info = CodecInfo.from_dict(meta["codec"])
    except (KeyError, VallEError) as exc:
        raise CheckpointError(f"{directory}/{CONFIG_FILE} is invalid: {exc}") from None
    tokenizer = PhonemeTokenizer.load(directory / VOCAB_FILE)
    weights = directory / WEIGHTS_FILE
    from vall_e.quantize.checkpoint import is_quantized, load_quantized_weights

    if is_quantized(directory):  # a quantize rewrite: quantized modules + their manifest
        model = load_quantized_weights(build_model(config, tokenizer, codec_info), directory)
        model.to(device).eval()
        return LoadedCheckpoint(model, config, tokenizer, codec_info, int(meta.get("step", 0)),
                                directory)
    if not weights.is_file():
        raise CheckpointError(f"{directory} is incomplete: {WEIGHTS_FILE} is missing")
    try:
        with safe_open(str(weights), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            state = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{weights} is corrupt: {str(exc).splitlines()[0]}") from None
    verify_state(state, metadata, weights)  # a flipped bit: one line here, not NaN logits later
    model = build_model(config, tokenizer, codec_info)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError:
        raise CheckpointError(
            f"{weights} does not match the model described in {CONFIG_FILE} "
            "(weights from another model or config?)"
        ) from None
    model.to(device).eval()
    return LoadedCheckpoint(model, config, tokenizer, codec_info, int(meta.get("step", 0)), directory)
