"""The one home of the checkpoint format: which family a directory holds, and its loader.

Every user (the inference engines' factory, fine-tuning, quantization, export) calls
``load_checkpoint(dir)`` and gets one ``Checkpoint`` record (family, model, config, codec info,
path, step, text front end, voices); nobody else parses a checkpoint's metadata or asks which
family a directory is. The family is read from the checkpoint, never from a flag:

- ``vall_e.json`` (both families' metadata record) names it: ``"ar_nar"`` (``models.checkpoint``)
  or ``"llm"`` (``models.llm_checkpoint``; beside it the Hugging Face model's ``config.json``);
- a plain Hugging Face directory (no ``vall_e.json``) is an LLM, read as Orpheus;
- an AR+NAR checkpoint written before vall_e.json has its record in ``config.json`` instead;
- a hub id (not a directory) is an LLM, fetched only when ``allow_download``.

Each family's reader and writer are its entry in ``vall_e.families``.

A quantized directory (``quantization.json``) loads the same way (``quantize.runtime``).
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import torch

from vall_e.checkpoint_format import FAMILY_NAMES, LEGACY_META_FILE, META_FILE, Checkpoint
from vall_e.errors import CheckpointError
from vall_e.families import family_of

__all__ = ["FAMILY_NAMES", "Checkpoint", "checkpoint_family", "load_checkpoint", "save_like",
           "weights_module"]


def checkpoint_family(source: str | Path, allow_download: bool = False) -> str:
    """'ar_nar' or 'llm' for a checkpoint directory (a hub id, when allowed, is an LLM)."""
    from vall_e.models.llm_checkpoint import is_hf_directory

    directory = Path(source).expanduser()
    if not directory.is_dir():
        if allow_download:
            return "llm"
        raise CheckpointError(f"checkpoint not found: {source} is not a directory")
    if (directory / META_FILE).is_file():
        family = _recorded_family(directory / META_FILE)
        if family == "llm" and not is_hf_directory(directory):
            raise CheckpointError(f"{directory / META_FILE} says family 'llm' but {directory} has "
                                  "no Hugging Face config.json: the checkpoint is incomplete or "
                                  "was edited; export it again")
        return family
    if is_hf_directory(directory):
        return "llm"  # a plain Hugging Face causal LM: read as Orpheus
    legacy = directory / LEGACY_META_FILE  # an AR+NAR checkpoint written before vall_e.json
    if not legacy.is_file():
        raise CheckpointError(f"{directory} is not a vall_e checkpoint: {META_FILE} is missing")
    family = _recorded_family(legacy)
    if family == "llm":  # LLM checkpoints always kept their metadata in vall_e.json
        raise CheckpointError(f"{legacy} says family 'llm' but {directory} has no {META_FILE}: "
                              "the checkpoint is incomplete or was edited; export it again")
    return family


def _recorded_family(path: Path) -> str:
    """The known family a metadata file names (format and version are the reader's to check)."""
    try:
        family = json.loads(path.read_text()).get("family")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        raise CheckpointError(f"{path} is corrupt (not a JSON object)") from None
    if not isinstance(family, str) or family not in FAMILY_NAMES:
        raise CheckpointError(f"{path.parent} names an unknown model family {family!r}")
    return family


def load_checkpoint(source: str | Path, device: str | torch.device | None = "cpu",
                    dtype: torch.dtype | None = None, allow_download: bool = False,
                    lm_loader=None) -> Checkpoint:
    """The checkpoint ``source`` of whichever family it records, in eval mode on ``device``.

    ``dtype`` casts the model's float weights. ``lm_loader(directory, dtype)`` (LLM-TTS only)
    builds the causal LM instead of transformers (the unsloth backend; ``device=None`` then
    leaves the weights where it put them). A bad directory is one ``CheckpointError`` line."""
    family = family_of(checkpoint_family(source, allow_download))
    return family.load(source, device, dtype, allow_download, lm_loader)


def weights_module(checkpoint: Checkpoint) -> torch.nn.Module:
    """The module whose state dict is the checkpoint's weight file (an LLM-TTS model's
    Hugging Face LM; an AR+NAR model itself)."""
    return getattr(checkpoint.model, "lm", checkpoint.model)


def save_like(checkpoint: Checkpoint, directory: str | Path, model: torch.nn.Module | None = None,
              config=None, step: int | None = None) -> Path:
    """Write ``model`` (default: the checkpoint's own) as a checkpoint of ``checkpoint``'s family,
    with its codec, text front end and voices; ``config`` / ``step`` replace the stored ones."""
    changes = {name: value for name, value in
               (("model", model), ("config", config), ("step", step)) if value is not None}
    return family_of(checkpoint.family).save(replace(checkpoint, **changes), directory)
