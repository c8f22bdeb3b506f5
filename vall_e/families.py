"""What differs between the model families, in one table: ``FAMILIES[name]`` -> ``Family``.

Code that must act by family (the checkpoint loader and writer, training, the random-checkpoint
fixture) looks the family up here instead of branching on its name. Each entry holds the facts
about the family and the functions that build, load, save and train it. The functions import
their family's modules only when called, so importing the table loads only the record and error
types; ``scripts/check_import_cycles.py`` counts those lazy imports all the same, and none of
the modules they reach imports the table back.

Reading *which* family a directory holds stays in ``vall_e.checkpoint.checkpoint_family``;
fine-tuning's own per-family operations are ``finetune.family``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vall_e.checkpoint_format import Checkpoint
from vall_e.errors import ConfigError


@dataclass(frozen=True)
class Family:
    """One model family: its facts and its builder, reader, writer and training setup."""

    name: str  # "ar_nar" or "llm", as written in model.family and in checkpoints
    tasks: tuple  # what a fresh model of the family can be trained for
    fresh_layout: str | None  # the token layout a freshly built model uses (LLM-TTS only)
    # some parameters get no gradient on some steps (AR+NAR: the NAR scores one level per item,
    # STT runs on a share of steps), which plain DDP refuses unless told to look for them
    unused_parameters_under_ddp: bool
    # (config, text vocabulary, codec info) -> a fresh, randomly initialised model
    build: Callable
    # (source, device, dtype, allow_download, lm_loader) -> Checkpoint, on device, eval mode
    load: Callable
    # (checkpoint: Checkpoint, directory) -> directory, written atomically
    save: Callable
    # (config, output_dir, utterances, codec_info, resume) -> training.setup.TrainingSetup
    setup: Callable


def family_of(name: str) -> Family:
    """The table entry of ``name``; an unknown family is one ``ConfigError`` line."""
    try:
        return FAMILIES[name]
    except (KeyError, TypeError):
        raise ConfigError(f"model family {name!r} is not supported; use one of "
                          f"{list(FAMILIES)}") from None


# ----- AR+NAR (models/ar_nar.py, models/checkpoint.py) -----------------------------------------

def _build_ar_nar(config, vocab, codec_info):
    from vall_e.models.checkpoint import build_model

    return build_model(config, vocab, codec_info)


def _load_ar_nar(source, device="cpu", dtype=None, allow_download=False, lm_loader=None):
    from vall_e.models.checkpoint import load_ar_nar_checkpoint

    # our own module: it has no separate LM loader and is built on the CPU, then moved
    loaded = load_ar_nar_checkpoint(source, "cpu" if device is None else device)
    if dtype is not None:
        loaded.model.to(dtype)
    return loaded


def _save_ar_nar(checkpoint: Checkpoint, directory: str | Path) -> Path:
    from vall_e.models.checkpoint import save_checkpoint

    return save_checkpoint(directory, checkpoint.model, checkpoint.config, checkpoint.tokenizer,
                           checkpoint.codec_info, checkpoint.step)


def _setup_ar_nar(config, output_dir, utterances, codec_info, resume):
    from vall_e.training.setup import setup_ar_nar

    return setup_ar_nar(config, output_dir, utterances, codec_info, resume)


# ----- LLM-TTS (models/llm_tts.py, models/llm_checkpoint.py) -----------------------------------

def _build_llm(config, vocab, codec_info):
    from vall_e.models.llm_tts import fresh_flat_model

    return fresh_flat_model(config.model, vocab, codec_info)


def _load_llm(source, device="cpu", dtype=None, allow_download=False, lm_loader=None):
    from vall_e.models.llm_checkpoint import load_llm_checkpoint

    return load_llm_checkpoint(source, device, dtype, allow_download, lm_loader)


def _save_llm(checkpoint: Checkpoint, directory: str | Path) -> Path:
    from vall_e.models.llm_checkpoint import save_llm_checkpoint

    return save_llm_checkpoint(directory, checkpoint.model, checkpoint.config,
                               checkpoint.codec_info, checkpoint.step, checkpoint.voices)


def _setup_llm(config, output_dir, utterances, codec_info, resume):
    from vall_e.training.setup import setup_llm

    return setup_llm(config, output_dir, utterances, codec_info, resume)


FAMILIES: dict[str, Family] = {
    "ar_nar": Family("ar_nar", tasks=("tts", "stt"), fresh_layout=None,
                     unused_parameters_under_ddp=True, build=_build_ar_nar, load=_load_ar_nar,
                     save=_save_ar_nar, setup=_setup_ar_nar),
    "llm": Family("llm", tasks=("tts",), fresh_layout="flat", unused_parameters_under_ddp=False,
                  build=_build_llm, load=_load_llm, save=_save_llm, setup=_setup_llm),
}

