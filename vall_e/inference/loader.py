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
                dtype=None, allow_download: bool = False, compile: bool = False,
                lora: str | Path | None = None, speaker_offset: str | Path | None = None):
    """An ``ARNAREngine`` or ``LLMEngine`` for ``source``, by the family its checkpoint records.

    ``dtype`` casts the model's float weights; ``compile`` compiles its decode step
    (``vall_e.compile``). A quantized checkpoint (``vall_e.quantize``) loads the same way.
    ``lora`` (an adapter directory) or ``speaker_offset`` (a speaker offset file) from
    ``vall_e.finetune`` is applied to the model, before compiling; made on another base, it
    is refused."""
    adapted = lora is not None or speaker_offset is not None
    if checkpoint_family(source, allow_download) == "llm":
        from vall_e.inference.llm_engine import LLMEngine

        engine = LLMEngine.from_checkpoint(source, device, codec_path, dtype, allow_download,
                                           compile=compile and not adapted)
    else:
        from vall_e.inference.engine import ARNAREngine

        engine = ARNAREngine.from_checkpoint(source, device, codec_path, dtype,
                                             compile=compile and not adapted)
    if adapted:
        from vall_e.finetune.apply import adapt_engine

        adapt_engine(engine, lora, speaker_offset)
        if compile:
            engine.compile()
    return engine
