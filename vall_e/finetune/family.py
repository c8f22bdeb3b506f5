"""What fine-tuning needs to know about each model family, in one place.

Fine-tuning code asks the base's ``FinetuneFamily`` (``finetune_family(base.family)``, or
``BaseModel.ops``) instead of branching on the family name: which module peft wraps, where the
transformer blocks and embeddings are, how wide the embedding space is, the datasets and the
loss the family trains with, and its Lightning module. The AR+NAR network
(``models/ar_nar.py``) and the LLM-TTS one (``models/llm_tts.py``) differ in these on purpose:
one is our own module, the other a Hugging Face causal LM inside a thin wrapper.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

from torch import nn

from vall_e.errors import ConfigError


class FinetuneFamily(ABC):
    """The family-specific half of a fine-tune (see the module docstring)."""

    name: str
    unsloth = False  # whether backend: unsloth can train it

    @abstractmethod
    def width(self, model: nn.Module) -> int:
        """Size of the embedding space (what a speaker offset adds to)."""

    @abstractmethod
    def blocks(self, model: nn.Module) -> nn.ModuleList:
        """The transformer blocks, first to last (what ``full.freeze_layers`` counts)."""

    @abstractmethod
    def embeddings(self, model: nn.Module) -> list[nn.Module]:
        """The input embeddings ``full.freeze_embeddings`` freezes."""

    def peft_target(self, model: nn.Module) -> nn.Module:
        """The module peft wraps (and an adapter is loaded onto)."""
        return model

    def with_peft(self, model: nn.Module, wrapped: nn.Module) -> nn.Module:
        """The model to train / run once ``peft_target(model)`` is replaced by ``wrapped``."""
        return wrapped

    def peft_module(self, trained: nn.Module) -> nn.Module:
        """The ``PeftModel`` inside what ``with_peft`` returned."""
        return trained

    @abstractmethod
    def embedding_lora(self, model: nn.Module) -> dict:
        """``LoraConfig`` arguments that train the audio embeddings (``lora.train_embeddings``)."""

    def trained_voices(self, voices: list, model: nn.Module, speaker: str) -> list:
        """The voice names the fine-tuned model answers to."""
        return voices

    @abstractmethod
    def datasets(self, base, config, train_utts, val_utts, prompt_frames: int):
        """(training set, held-out set, collate function)."""

    @abstractmethod
    def batch_tokens(self, batch: dict) -> int:
        """Positions one batch feeds the network."""

    @abstractmethod
    def batch_loss(self, model: nn.Module, batch: dict):
        """(training loss of ``batch``, its number of examples)."""

    @abstractmethod
    def lightning_module(self, model: nn.Module, config):
        """The LightningModule that fine-tunes ``model`` with ``config``."""


class ARNARFinetune(FinetuneFamily):
    """Our AR+NAR network: peft wraps the whole model."""

    name = "ar_nar"

    def width(self, model):
        return model.config.d_model

    def blocks(self, model):
        return model.blocks

    def embeddings(self, model):
        return [model.text_embedding, model.code_embeddings, model.special_embedding]

    def embedding_lora(self, model):
        levels = range(model.n_levels)
        return {"modules_to_save": ([f"code_embeddings.{k}" for k in levels]
                                    + [f"heads.{k}" for k in levels])}

    def datasets(self, base, config, train_utts, val_utts, prompt_frames):
        from vall_e.training.dataset import TTSDataset, collate

        seed = config.train.seed
        return (TTSDataset(train_utts, base.tokenizer, prompt_frames, seed=seed),
                TTSDataset(val_utts, base.tokenizer, prompt_frames, seed=1, deterministic=True),
                collate)

    def batch_tokens(self, batch):
        # phonemes + prompt frames + target frames of each example
        return sum(int(t.numel() + p.shape[-1] + c.shape[-1])
                   for t, p, c in zip(batch["text"], batch["prompt"], batch["codes"]))

    def batch_loss(self, model, batch):
        size = len(batch["text"])
        durations = batch.get("durations")
        loss, _ = model.ar_loss(batch["text"], batch["prompt"], batch["codes"],
                                durations=durations)
        if model.n_levels > 1:  # the validation levels of ARNARLightning
            levels = [1 + i % (model.n_levels - 1) for i in range(size)]
            loss = loss + model.nar_loss(batch["text"], batch["prompt"], batch["codes"],
                                         levels, durations=durations)[0]
        return loss, size

    def lightning_module(self, model, config):
        from vall_e.training.module import ARNARLightning

        return ARNARLightning(model, config)


class LLMFinetune(FinetuneFamily):
    """LLM-TTS: a Hugging Face causal LM (``model.lm``) behind a token layout; peft wraps the LM."""

    name = "llm"
    unsloth = True

    def width(self, model):
        return model.lm.get_input_embeddings().embedding_dim

    def blocks(self, model):
        return model.lm.get_decoder().layers

    def embeddings(self, model):
        # LLM-TTS embeddings are tied to the output layer: freezing one freezes both
        return [model.lm.get_input_embeddings()]

    def peft_target(self, model):
        return model.lm

    def with_peft(self, model, wrapped):
        model.lm = wrapped
        return model

    def peft_module(self, trained):
        return trained.lm

    def embedding_lora(self, model):
        layout, lm = model.layout, model.lm
        return {"trainable_token_indices": {
            _module_name(lm, lm.get_input_embeddings()):
                list(range(layout.audio_offset, layout.audio_end))}}

    def trained_voices(self, voices, model, speaker):
        if model.layout.names_voices:  # trained as "{speaker}: {text}"
            return sorted(set(voices) | {speaker})
        return voices

    def datasets(self, base, config, train_utts, val_utts, prompt_frames):
        from vall_e.training.llm_dataset import LLMTTSDataset, SequenceCollator
        from vall_e.training.setup import fitting

        layout = base.model.layout
        limit, seed = config.model.max_positions, config.train.seed
        return (LLMTTSDataset(fitting(train_utts, layout, prompt_frames, limit), layout,
                              prompt_frames, seed=seed),
                LLMTTSDataset(fitting(val_utts, layout, prompt_frames, limit), layout,
                              prompt_frames, seed=1, deterministic=True),
                SequenceCollator(layout.pad_id))

    def batch_tokens(self, batch):
        return int(batch["attention_mask"].sum())  # the non-padding ids

    def batch_loss(self, model, batch):
        loss, _ = model.loss(batch["input_ids"], batch["attention_mask"], batch["speech_mask"])
        return loss, batch["input_ids"].shape[0]

    def lightning_module(self, model, config):
        from vall_e.training.llm_module import LLMTTSLightning

        return LLMTTSLightning(model, config)


FAMILIES = {f.name: f for f in (ARNARFinetune(), LLMFinetune())}


def finetune_family(family: str) -> FinetuneFamily:
    """The fine-tuning half of ``family`` ("ar_nar" or "llm")."""
    try:
        return FAMILIES[family]
    except KeyError:
        raise ConfigError(f"no fine-tuning for model family {family!r}; expected one of "
                          f"{sorted(FAMILIES)}") from None


def _module_name(root: nn.Module, module: nn.Module) -> str:
    return next(name for name, m in root.named_modules() if m is module).rsplit(".", 1)[-1]
