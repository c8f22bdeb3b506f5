"""The base checkpoint a fine-tune starts from, of either family, and its fingerprint.

An adapter or speaker offset only means something on top of the exact weights it was trained
against, so each one records the base's *fingerprint*: a SHA-256 over the base's weight files
(names and bytes). Applying it to any other model is refused with one line, instead of
producing plausible-looking noise. Hashing reads every weight byte once (about 1-2 GB/s).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from pathlib import Path

import torch
from torch import nn

from vall_e.checkpoint import Checkpoint, load_checkpoint
from vall_e.checkpoint_format import FAMILY_NAMES as _FAMILY_NAMES
from vall_e.errors import CheckpointError
from vall_e.finetune.family import FinetuneFamily, finetune_family

_WEIGHT_PATTERNS = ("*.safetensors", "*.bin")
_NOT_BASE_WEIGHTS = {"adapter_model.safetensors"}


@dataclass
class BaseModel(Checkpoint):
    """A loaded ``Checkpoint`` (``vall_e.checkpoint``) plus the fingerprint of its weights."""

    fingerprint: str = ""

    @property
    def ops(self) -> FinetuneFamily:
        """What fine-tuning needs to know about this base's family (``finetune.family``)."""
        return finetune_family(self.family)

    @property
    def width(self) -> int:
        """Size of the embedding space (what a speaker offset adds to)."""
        return self.ops.width(self.model)


def weight_files(directory: str | Path) -> list[Path]:
    directory = Path(directory)
    for pattern in _WEIGHT_PATTERNS:
        files = sorted(p for p in directory.glob(pattern) if p.name not in _NOT_BASE_WEIGHTS)
        if files:
            return files
    raise CheckpointError(f"{directory} holds no model weights (*.safetensors or *.bin)")


def fingerprint(directory: str | Path) -> str:
    """SHA-256 (hex) over the names and bytes of a checkpoint's weight files."""
    digest = hashlib.sha256()
    for path in weight_files(directory):
        digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as handle:
            while block := handle.read(1 << 23):
                digest.update(block)
    return digest.hexdigest()


def load_base(directory: str | Path, lm_loader=None) -> BaseModel:
    """Load a base checkpoint on the CPU, in training mode, by the family it records.

    ``lm_loader`` (LLM-TTS only) replaces the Hugging Face loader (the unsloth backend)."""
    directory = Path(directory)
    loaded = load_checkpoint(directory, None if lm_loader is not None else "cpu",
                             lm_loader=lm_loader)
    record = {f.name: getattr(loaded, f.name) for f in fields(Checkpoint)}
    base = BaseModel(**{**record, "path": directory}, fingerprint=fingerprint(directory))
    # A quantized base (the shipped default is int8) trains as its exact dequantized float
    # weights: peft wraps only float layers and int8 buffers take no gradient. The fingerprint
    # stays the quantized directory's, which is what an adapter is applied to later.
    from vall_e.quantize.dequantize import dequantize_model

    dequantize_model(base.model)
    base.model.train()
    return base


def require_same_base(recorded: dict, family: str, directory: str | Path, what: str) -> None:
    """Refuse ``what`` (an adapter or offset) unless ``directory`` is the base it was made on.

    ``recorded`` is the ``{"family", "path", "fingerprint"}`` the artifact stores."""
    if recorded.get("family") != family:
        made_on = _FAMILY_NAMES.get(recorded.get("family"), repr(recorded.get("family")))
        raise CheckpointError(f"{what} was trained on an {made_on} model; {directory} is an "
                              f"{_FAMILY_NAMES[family]} model: use it with the base it was trained on")
    actual = fingerprint(directory)
    if recorded.get("fingerprint") != actual:
        raise CheckpointError(
            f"{what} was trained on another base model ({recorded.get('path')}, fingerprint "
            f"{str(recorded.get('fingerprint'))[:12]}); {directory} has fingerprint "
            f"{actual[:12]}: load it with the base it was trained on (a quantized or "
            "dtype-converted copy is another model: merge into the float base first)")


def base_record(base: BaseModel) -> dict:
    return {"family": base.family, "path": str(base.path), "fingerprint": base.fingerprint,
            "step": base.step}


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device
