"""``backend: unsloth``: LoRA fine-tuning of LLM-TTS models with unsloth on an NVIDIA GPU.

unsloth loads the base LM through ``FastLanguageModel.from_pretrained`` (optionally in 4 bits,
QLoRA) and adds LoRA factors with ``FastLanguageModel.get_peft_model`` and its own gradient
checkpointing; the result is a peft model, so training, the adapter files and inference are
the same as with ``backend: torch``. unsloth is imported here only, lazily: it refuses to
import without a GPU, so on a machine without one the fine-tune stops at once with one line.

UNTESTED ON A GPU: this project's CI and development machines have none. The CPU path (the
refusal) is tested; the GPU path follows unsloth's documented API and has never run.
"""
from __future__ import annotations

import torch

from vall_e.errors import ConfigError
from vall_e.finetune.base import BaseModel, load_base
from vall_e.finetune.config import DEFAULT_TARGETS, FinetuneConfig


def require_unsloth(config: FinetuneConfig) -> None:
    """Fail fast (before any data or model is loaded) where unsloth cannot run."""
    if not torch.cuda.is_available():
        raise ConfigError("backend unsloth needs an NVIDIA GPU and none is available; "
                          "use backend: torch on this machine")
    if config.train.accelerator not in ("auto", "gpu", "cuda"):
        raise ConfigError(f"backend unsloth trains on the GPU; train.accelerator is "
                          f"{config.train.accelerator!r}: set it to auto or gpu")
    if config.train.devices not in (1, "1", "auto") or config.train.strategy != "auto":
        raise ConfigError("backend unsloth trains on one GPU: set train.devices: 1 and "
                          "train.strategy: auto (or use backend: torch for ddp / fsdp)")
    if isinstance(config.lora.target_modules, str):
        raise ConfigError("backend unsloth takes lora.target_modules as a list of names, "
                          "not a regular expression")
    if config.lora.train_embeddings:
        raise ConfigError("lora.train_embeddings is not supported with backend unsloth; "
                          "use backend: torch to train the audio embeddings")
    _import_unsloth()


def _import_unsloth():
    try:
        import unsloth  # noqa: F401  (patches transformers/peft on import: import it first)
        from unsloth import FastLanguageModel
    except ImportError:
        raise ConfigError("backend unsloth needs the unsloth package: pip install -e '.[gpu]' "
                          "(NVIDIA GPU only)") from None
    except Exception as exc:  # unsloth raises NotImplementedError/RuntimeError without a GPU
        reason = " ".join(str(exc).split())[:160]
        raise ConfigError(f"unsloth does not load on this machine ({reason}); use backend: torch") from None
    return FastLanguageModel


def load_with_unsloth(config: FinetuneConfig) -> tuple[BaseModel, torch.nn.Module]:
    """The base (its LM loaded by unsloth) and the model to train (the LM LoRA-wrapped)."""
    fast = _import_unsloth()
    settings = config.unsloth

    def lm_loader(directory, dtype):
        model, _tokenizer = fast.from_pretrained(
            model_name=str(directory), max_seq_length=settings.max_seq_length, dtype=dtype,
            load_in_4bit=settings.load_in_4bit)
        return model

    base = load_base(config.base, lm_loader=lm_loader)
    if not base.ops.unsloth:
        raise ConfigError(f"backend unsloth fine-tunes LLM-TTS models; {config.base} is "
                          f"'{base.family}': use backend: torch")
    lora = config.lora
    base.model.lm = fast.get_peft_model(
        base.model.lm, r=lora.rank, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
        target_modules=lora.target_modules or DEFAULT_TARGETS["llm"], bias="none",
        use_gradient_checkpointing="unsloth", random_state=config.train.seed)
    return base, base.model
