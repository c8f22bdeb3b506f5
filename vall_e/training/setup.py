"""What differs between the families when training: the module, the datasets, the export.

``setup_ar_nar`` / ``setup_llm`` (reached through the family table, ``vall_e.families``:
``family_of(config.model.family).setup(...)``) return a ``TrainingSetup``; ``train.py`` runs
either with the same Lightning trainer, callbacks and loggers.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import lightning as L
from torch.utils.data import Dataset

from vall_e.codecs.base import CodecInfo
from vall_e.config import Config
from vall_e.data.shards import Utterance
from vall_e.errors import CodecMismatchError, ConfigError
from vall_e.text.front_end import training_units
from vall_e.text.tokenizer import PhonemeTokenizer
from vall_e.training.dataset import TTSDataset, collate, split_train_val

log = logging.getLogger(__name__)


@dataclass
class TrainingSetup:
    module: L.LightningModule
    train_set: Dataset
    val_set: Dataset
    collate: Callable
    export: Callable[[Path, L.LightningModule, int], None]  # (directory, module, step)


def _vocab(output_dir: Path, unit_lists, resume: bool) -> PhonemeTokenizer:
    """The run's text vocabulary: built at the first start, reused on resume."""
    vocab_path = output_dir / "vocab.json"
    if resume and vocab_path.is_file():
        return PhonemeTokenizer.load(vocab_path)
    tokenizer = PhonemeTokenizer.from_phoneme_lists(unit_lists)
    tokenizer.save(vocab_path)
    return tokenizer


def _split(config: Config, utterances: list[Utterance], codec_info: CodecInfo):
    """(training utterances, held-out utterances, prompt frames): the same for both families."""
    train_utts, val_utts = split_train_val(utterances, config.data.val_fraction)
    return train_utts, val_utts, _frames(config.data.prompt_seconds, codec_info)


def _frames(seconds: float | None, codec_info: CodecInfo) -> int | None:
    """Codec frames (at least 1) in ``seconds``; None stays None (a setting left unset)."""
    return None if seconds is None else max(1, round(seconds * codec_info.frame_rate))


def _voice_warper(config: Config):
    """The training set's voice changer (``data.voice_warp_probability``,
    ``data.voice_eq_probability``), or None."""
    data = config.data
    if data.voice_warp_probability <= 0 and data.voice_eq_probability <= 0:
        return None
    from vall_e.codecs.mel.codec import MelCodec
    from vall_e.training.voice_warp import VoiceWarper

    mel_model = MelCodec.from_config(config.codec).model  # Config.validate: mel_rvq only
    return VoiceWarper(mel_model, data.voice_warp_factors, data.voice_warp_probability,
                       eq_probability=data.voice_eq_probability, eq_db=data.voice_eq_db,
                       eq_count=data.voice_eq_curves, seed=config.train.seed)


def _start_voice_conditioning(config: Config, model) -> None:
    """``model.voice_dim``: a run started from a checkpoint that has a voice encoder
    (``train.init_from``) keeps it and its trained projection; otherwise the frozen encoder
    and the codec's codebooks are copied in from ``model.voice_encoder`` and ``codec.path``."""
    from vall_e.models.voice_conditioning import fill_voice_conditioning

    if bool(model.voice.codebooks.abs().sum() > 0):
        log.info("model.voice_dim: the voice encoder and projection of train.init_from are kept")
        return
    if not config.model.voice_encoder:
        raise ConfigError("model.voice_dim needs a trained voice encoder: set model.voice_encoder "
                          "to a directory from scripts/train_voice_encoder.py (or train.init_from a "
                          "checkpoint that has one)")
    fill_voice_conditioning(model.voice, config.model.voice_encoder, config.codec.path)


def setup_ar_nar(config: Config, output_dir: Path, utterances: list[Utterance],
                 codec_info: CodecInfo, resume: bool) -> TrainingSetup:
    from vall_e.models.checkpoint import build_model, save_checkpoint
    from vall_e.training.module import ARNARLightning

    train_utts, val_utts, prompt_frames = _split(config, utterances, codec_info)
    init = config.train.init_from
    if init and not resume:  # on resume the run's own weights and vocab win
        from vall_e.training.init_from import initial_model

        model, tokenizer = initial_model(init, config, codec_info, output_dir)
    else:
        tokenizer = _vocab(output_dir, (u.phonemes for u in utterances), resume)
        model = build_model(config, tokenizer, codec_info)
    if model.voice is not None and not resume:
        _start_voice_conditioning(config, model)
    module = ARNARLightning(model, config)

    def export(directory: Path, module: L.LightningModule, step: int) -> None:
        save_checkpoint(directory, module.model, config, tokenizer, codec_info, step)

    return TrainingSetup(
        module,
        TTSDataset(train_utts, tokenizer, prompt_frames, seed=config.train.seed,
                   concat_probability=config.data.concat_probability,
                   max_frames=round(config.data.max_seconds * codec_info.frame_rate),
                   warper=_voice_warper(config),
                   min_prompt_frames=_frames(config.data.min_prompt_seconds, codec_info)),
        TTSDataset(val_utts, tokenizer, prompt_frames, seed=1, deterministic=True),
        collate, export)


def setup_llm(config: Config, output_dir: Path, utterances: list[Utterance],
              codec_info: CodecInfo, resume: bool) -> TrainingSetup:
    from vall_e.models.llm_checkpoint import save_llm_checkpoint
    from vall_e.training.llm_dataset import LLMTTSDataset, SequenceCollator
    from vall_e.training.llm_module import LLMTTSLightning

    train_utts, val_utts, prompt_frames = _split(config, utterances, codec_info)
    model = _llm_model(config, output_dir, utterances, codec_info, resume)
    layout = model.layout
    layout.check_codec(codec_info)

    def fits(utts: list[Utterance]) -> list[Utterance]:
        return fitting(utts, layout, prompt_frames, config.model.max_positions)

    voices = sorted({u.speaker for u in utterances}) if layout.name == "orpheus" else []

    def export(directory: Path, module: L.LightningModule, step: int) -> None:
        save_llm_checkpoint(directory, module.model, config, codec_info, step, voices)

    return TrainingSetup(
        LLMTTSLightning(model, config),
        LLMTTSDataset(fits(train_utts), layout, prompt_frames, seed=config.train.seed),
        LLMTTSDataset(fits(val_utts), layout, prompt_frames, seed=1, deterministic=True),
        SequenceCollator(layout.pad_id), export)


def fitting(utts: list[Utterance], layout, prompt_frames: int, limit: int) -> list[Utterance]:
    """The utterances whose LLM-TTS sequence fits in ``limit`` positions (others logged)."""
    from vall_e.training.llm_dataset import sequence_length

    kept = [u for u in utts if sequence_length(u, layout, prompt_frames) <= limit]
    if len(kept) < len(utts):
        log.warning("%d utterances are longer than model.max_positions (%d) and are skipped",
                    len(utts) - len(kept), limit)
    if not kept:
        raise ConfigError(f"no utterance fits in model.max_positions ({limit}) tokens; "
                          "raise it or lower data.max_seconds / data.prompt_seconds")
    return kept


def _llm_model(config: Config, output_dir: Path, utterances, codec_info, resume):
    """A fresh flat-layout Llama, or the model of ``model.base_model`` to continue from."""
    from vall_e.models.llm_layouts import OrpheusLayout, load_hf_tokenizer
    from vall_e.models.llm_tts import LLMTTSModel, fresh_flat_model

    m = config.model
    if m.layout == "orpheus":
        from vall_e.models.llm_checkpoint import load_lm

        if codec_info.name != "snac":
            raise CodecMismatchError(f"model.layout orpheus trains on SNAC codes, but the data was "
                                     f"prepared with {codec_info.describe()}")
        return LLMTTSModel(load_lm(m.base_model), OrpheusLayout(load_hf_tokenizer(m.base_model)))
    if m.base_model:
        from vall_e.models.llm_checkpoint import load_llm_checkpoint

        loaded = load_llm_checkpoint(m.base_model)
        loaded.model.layout.save(output_dir)
        return loaded.model
    units = (training_units(u.text, u.phonemes, m.text_units) for u in utterances)
    return fresh_flat_model(m, _vocab(output_dir, units, resume), codec_info)
