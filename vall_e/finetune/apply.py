"""Put a fine-tune's result on a loaded inference engine: a LoRA adapter (merged into the
weights) or a speaker offset. ``vall_e.inference.loader.load_engine(lora=..., speaker_offset=...)``
calls this; the CLI's ``--lora`` / ``--speaker-offset`` and the Interface's ``InterfaceConfig``
reach it through there."""
from __future__ import annotations

from pathlib import Path

from vall_e.errors import ConfigError


def adapt_engine(engine, lora: str | Path | None = None,
                 speaker_offset: str | Path | None = None) -> None:
    """Apply ``lora`` or ``speaker_offset`` (one of them) to ``engine``'s model in place."""
    if lora is not None and speaker_offset is not None:
        raise ConfigError("a LoRA adapter and a speaker offset were each trained on the bare "
                          "base model: use one of them at a time")
    family = engine.family
    base_dir = engine.checkpoint.path
    if lora is not None:
        from vall_e.finetune.lora import apply_lora

        model, meta = apply_lora(engine.model, family, base_dir, lora)
        engine.model = engine.checkpoint.model = model
        if meta.get("voices"):  # an Orpheus-layout adapter may add the speaker's name as a voice
            voices = sorted(set(engine.voices) | set(meta["voices"]))
            engine.voices, engine.checkpoint.voices = tuple(voices), voices
    else:
        from vall_e.finetune.offset import apply_offset

        apply_offset(engine.model, family, base_dir, speaker_offset)
