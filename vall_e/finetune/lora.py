"""LoRA adapters through peft, for both families.

Training wraps the network with ``peft.get_peft_model``: the AR+NAR model itself (its decoding
code reaches the wrapped model's methods through peft's attribute forwarding), or the Hugging
Face LM inside an LLM-TTS model. Only the low-rank factors train, plus, with
``lora.train_embeddings``, the audio embeddings and heads (AR+NAR: peft's ``modules_to_save``
copies of each level's code embedding and head; LLM-TTS: peft's trainable token rows for the
audio ids of the tied embedding, so the adapter stores only those rows).

An adapter directory is what peft writes (``adapter_config.json``, ``adapter_model.safetensors``)
plus ``vall_e_adapter.json``: the base's family and fingerprint (another base is refused), the
speaker, and the fine-tune's config and held-out losses. ``apply_lora`` loads an adapter onto
a base and merges it into the weights, so inference runs at the base's speed.
"""
from __future__ import annotations

import json
from pathlib import Path

from torch import nn

from vall_e.errors import CheckpointError, ConfigError
from vall_e.finetune.base import BaseModel, base_record, require_same_base
from vall_e.finetune.config import DEFAULT_TARGETS, LoraSettings
from vall_e.finetune.family import finetune_family
from vall_e.atomic import read_json, staged_directory

ADAPTER_META = "vall_e_adapter.json"
ADAPTER_FORMAT = "vall_e.adapter"
ADAPTER_VERSION = 1
ADAPTER_WEIGHTS = "adapter_model.safetensors"  # what peft writes; a .bin is refused


def peft_config(settings: LoraSettings, base: BaseModel):
    """The ``peft.LoraConfig`` for ``settings`` on ``base``'s family."""
    from peft import LoraConfig

    extra = base.ops.embedding_lora(base.model) if settings.train_embeddings else {}
    targets = settings.target_modules or DEFAULT_TARGETS[base.family]
    return LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                      target_modules=targets, bias="none", **extra)


def add_lora(base: BaseModel, settings: LoraSettings) -> nn.Module:
    """Wrap ``base.model`` with fresh LoRA factors (the base weights frozen); returns the model
    training should use (AR+NAR: the peft wrapper; LLM-TTS: the model, its LM wrapped)."""
    from peft import get_peft_model

    config = peft_config(settings, base)
    target = base.ops.peft_target(base.model)
    try:
        wrapped = get_peft_model(target, config)
    except ValueError as exc:
        if "not found" not in str(exc) and "match" not in str(exc):
            raise
        raise ConfigError(f"lora.target_modules {settings.target_modules!r} matches no layer of "
                          f"the {base.family} model; its linear layers are named "
                          f"{_linear_names(target)}") from None
    return base.ops.with_peft(base.model, wrapped)


def peft_module(trained: nn.Module, family: str) -> nn.Module:
    """The ``PeftModel`` inside what ``add_lora`` returned."""
    return finetune_family(family).peft_module(trained)


def save_adapter(directory: str | Path, trained: nn.Module, base: BaseModel, record: dict) -> Path:
    """Write the adapter directory atomically; ``record`` adds the speaker, config, losses."""
    with staged_directory(directory) as staging:
        peft_module(trained, base.family).save_pretrained(str(staging))
        (staging / "README.md").unlink(missing_ok=True)  # peft's model-card template
        meta = {"format": ADAPTER_FORMAT, "version": ADAPTER_VERSION, "method": "lora",
                "base": base_record(base), "codec": base.codec_info.to_dict(), **record}
        (staging / ADAPTER_META).write_text(json.dumps(meta, indent=2))
    return Path(directory)


def read_adapter(directory: str | Path) -> dict:
    """The ``vall_e_adapter.json`` of an adapter directory, checked."""
    directory = Path(directory)
    meta_path = directory / ADAPTER_META
    if not directory.is_dir():
        raise CheckpointError(f"LoRA adapter not found: {directory} is not a directory")
    if not meta_path.is_file() or not (directory / "adapter_config.json").is_file():
        raise CheckpointError(f"{directory} is not a vall_e LoRA adapter ({ADAPTER_META} or "
                              "adapter_config.json is missing); make one with python -m vall_e.finetune")
    meta = read_json(meta_path)
    if not isinstance(meta, dict) or meta.get("format") != ADAPTER_FORMAT:
        raise CheckpointError(f"{meta_path} does not describe a vall_e adapter")
    if meta.get("version") != ADAPTER_VERSION or meta.get("method") != "lora":
        raise CheckpointError(f"{directory} is a '{meta.get('method')}' adapter version "
                              f"{meta.get('version')}; this vall_e reads LoRA version {ADAPTER_VERSION}")
    return meta


def apply_lora(model: nn.Module, family: str, base_dir: str | Path,
               adapter_dir: str | Path) -> tuple[nn.Module, dict]:
    """Load the adapter onto ``model`` (the base loaded from ``base_dir``), merge it into the
    weights and return (the merged model, the adapter's metadata). Refuses another base."""
    from peft import PeftModel

    from vall_e.quantize.dequantize import dequantize_model

    meta = read_adapter(adapter_dir)
    require_same_base(meta.get("base", {}), family, base_dir, f"LoRA adapter {adapter_dir}")
    # On a quantized base the adapter was trained against the dequantized weights
    # (``load_base``): merge into those. The result stays float, since quantizing it again
    # would round away a low-rank update smaller than one int8 step of its row.
    dequantize_model(model)
    ops = finetune_family(family)
    target = ops.peft_target(model)
    if not (Path(adapter_dir) / ADAPTER_WEIGHTS).is_file():
        # peft would fall back to a pickled adapter_model.bin, which can run code when loaded
        raise CheckpointError(f"LoRA adapter {adapter_dir} has no {ADAPTER_WEIGHTS}; vall_e "
                              "loads safetensors weights only, never a pickled .bin")
    try:
        merged = PeftModel.from_pretrained(target, str(adapter_dir)).merge_and_unload()
    except (ValueError, KeyError, RuntimeError, OSError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise CheckpointError(f"LoRA adapter {adapter_dir} does not load: {reason}") from None
    return ops.with_peft(model, merged).eval(), meta


def _linear_names(model: nn.Module) -> list[str]:
    return sorted({name.rsplit(".", 1)[-1] for name, m in model.named_modules()
                   if isinstance(m, nn.Linear)})
