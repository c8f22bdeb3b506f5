"""Speaker embedding offsets: one learned vector per speaker, added to the conditioning.

The smallest fine-tune there is: every base weight stays frozen and a single vector of the
model's width (4 x d_model bytes: 4 KB at d_model 1024) learns to pull the conditioning
towards the new speaker. AR+NAR models add it to every position of the prefix (mode token,
text, prompt frames, SEP); LLM-TTS models to the embedding of every prompt id (reference and
text). The vector is zero at the start, so training begins exactly at the base model.

A speaker offset is one safetensors file holding the vector and, as metadata, the base's
family and fingerprint and the speaker's name; ``--speaker-offset FILE`` /
``InterfaceConfig(speaker_offset=...)`` selects one at inference.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from vall_e.errors import CheckpointError
from vall_e.finetune.base import BaseModel, base_record, require_same_base

OFFSET_FORMAT = "vall_e.speaker_offset"
OFFSET_VERSION = 1
TENSOR = "speaker_offset"


def add_offset(base: BaseModel) -> nn.Module:
    """Freeze ``base.model`` and give it a trainable zero speaker offset; returns the model."""
    for param in base.model.parameters():
        param.requires_grad_(False)
    base.model.speaker_offset = nn.Parameter(torch.zeros(base.width))
    return base.model


def save_offset(path: str | Path, model: nn.Module, base: BaseModel, speaker: str,
                record: dict) -> Path:
    """Write the offset (a few KB) with its base's fingerprint; atomic."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    vector = model.speaker_offset.detach().float().cpu().contiguous()
    metadata = {"format": OFFSET_FORMAT, "version": str(OFFSET_VERSION), "speaker": speaker,
                "base": json.dumps(base_record(base)), "record": json.dumps(record)}
    staging = path.with_name(f".{path.name}.tmp")
    save_file({TENSOR: vector}, str(staging), metadata=metadata)
    staging.replace(path)
    return path


def read_offset(path: str | Path) -> tuple[torch.Tensor, dict]:
    """(the vector, its metadata with ``base`` and ``record`` decoded), checked."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        what = "is a directory, not" if path.is_dir() else "does not exist; give"
        raise CheckpointError(f"speaker offset not found: {path} {what} a "
                              "<speaker>.offset.safetensors file from python -m vall_e.finetune")
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = dict(handle.metadata() or {})
            vector = handle.get_tensor(TENSOR)
    except Exception as exc:  # safetensors raises its own error types for foreign files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{path} is not a speaker offset file ({reason})") from None
    if meta.get("format") != OFFSET_FORMAT or meta.get("version") != str(OFFSET_VERSION):
        raise CheckpointError(f"{path} is not a vall_e speaker offset (version {OFFSET_VERSION})")
    try:
        meta["base"] = json.loads(meta.get("base", "{}"))
        meta["record"] = json.loads(meta.get("record", "{}"))
    except json.JSONDecodeError:
        raise CheckpointError(f"{path}: its metadata is corrupt") from None
    if vector.dim() != 1:
        raise CheckpointError(f"{path}: the offset must be a vector, got shape {list(vector.shape)}")
    return vector, meta


def apply_offset(model: nn.Module, family: str, base_dir: str | Path,
                 path: str | Path) -> tuple[nn.Module, dict]:
    """Give ``model`` (the base loaded from ``base_dir``) the speaker offset in ``path``."""
    vector, meta = read_offset(path)
    require_same_base(meta["base"], family, base_dir, f"speaker offset {path}")
    reference = next(model.parameters())
    model.speaker_offset = nn.Parameter(vector.to(reference.device, reference.dtype),
                                        requires_grad=False)
    return model, meta
