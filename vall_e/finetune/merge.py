"""``merge_lora``: fold a LoRA adapter into its base and write a standalone checkpoint.

The merged checkpoint is an ordinary checkpoint of the base's family (``--model DIR``) whose
outputs equal the base with the adapter on (up to float rounding), and which runs at the base's
speed without peft. ``python -m vall_e.export --merge-lora ADAPTER_DIR`` calls this.
"""
from __future__ import annotations

from pathlib import Path

from vall_e.errors import ConfigError


def merge_lora(model_dir: str | Path, adapter_dir: str | Path, out_dir: str | Path) -> Path:
    """Write ``model_dir`` + ``adapter_dir`` merged into ``out_dir`` (atomically); returns it.

    Refuses an adapter trained on another base (``CheckpointError``) and an ``out_dir`` that
    is the base itself (``ConfigError``)."""
    from vall_e.export.safetensors_export import copy_extras
    from vall_e.finetune.base import load_base
    from vall_e.finetune.full import save_full
    from vall_e.finetune.lora import apply_lora
    from vall_e.quantize.runtime import MANIFEST_FILE

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if out_dir.resolve() == model_dir.resolve():
        raise ConfigError(f"the merged checkpoint would overwrite its base {model_dir}; "
                          "choose another output directory")
    base = load_base(model_dir)
    merged, meta = apply_lora(base.model, base.family, model_dir, adapter_dir)
    base.voices = sorted(set(base.voices) | set(meta.get("voices") or []))
    written = save_full(out_dir, merged, base, base.config, base.step + int(meta.get("step", 0)))
    # what the saver does not write comes from the base, its codec folder above all: the
    # shipped default names it by a relative codec.path that must exist beside the weights
    copy_extras(model_dir, Path(written), skip={MANIFEST_FILE})
    return written
