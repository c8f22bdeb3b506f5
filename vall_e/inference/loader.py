"""Open any checkpoint with the engine of its family (read from the checkpoint, not a flag)."""
from __future__ import annotations

import json
from pathlib import Path

from vall_e.errors import CheckpointError


def checkpoint_family(source: str | Path, allow_download: bool = False) -> str:
    """'ar_nar' or 'llm' for a checkpoint directory (a hub id, when allowed, is an LLM)."""
    from vall_e.models.llm_checkpoint import META_FILE, is_hf_directory

    directory = Path(source).expanduser()
    if not directory.is_dir():
        if allow_download:
            return "llm"
        raise CheckpointError(f"checkpoint not found: {source} is not a directory")
    if (directory / META_FILE).is_file():
        return "llm"
    if is_hf_directory(directory):
        return "llm"  # a plain Hugging Face causal LM: read as Orpheus
    config = directory / "config.json"
    if not config.is_file():
        raise CheckpointError(f"{directory} is not a vall_e checkpoint: config.json is missing")
    try:
        family = json.loads(config.read_text()).get("family")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        raise CheckpointError(f"{config} is corrupt (not a JSON object)") from None
    if family == "ar_nar":
        return family
    if family == "llm":  # our LLM checkpoints keep their metadata in vall_e.json instead
        raise CheckpointError(f"{config} says family 'llm' but {directory} has no {META_FILE}: "
                              "the checkpoint is incomplete or was edited; export it again")
    raise CheckpointError(f"{directory} names an unknown model family {family!r}")


def load_engine(source: str | Path, device: str = "auto", codec_path: str | None = None,
                dtype=None, allow_download: bool = False):
    """An ``ARNAREngine`` or ``LLMEngine`` for ``source``, by the family its checkpoint records."""
    if checkpoint_family(source, allow_download) == "llm":
        from vall_e.inference.llm_engine import LLMEngine

        return LLMEngine.from_checkpoint(source, device, codec_path, dtype, allow_download)
    from vall_e.inference.engine import ARNAREngine

    if dtype is not None:
        raise CheckpointError("a dtype for AR+NAR models is not supported yet; leave it unset")
    return ARNAREngine.from_checkpoint(source, device, codec_path)
