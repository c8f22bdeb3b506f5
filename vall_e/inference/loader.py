"""The engine factory: open any checkpoint with the engine of its family.

The family is read from the checkpoint (``vall_e.checkpoint``), never from a flag; this is the
one place that picks an engine class for it. Callers (CLI, Interface, server) get an object
with the ``vall_e.inference.protocol.Engine`` surface and never ask which family it is.
"""
from __future__ import annotations

from pathlib import Path

from vall_e.checkpoint import checkpoint_family


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
