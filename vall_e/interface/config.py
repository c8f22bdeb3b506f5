"""The Interface's configuration records: which model, what to say, how to sample.

Names follow OuteTTS's interface (``GenerationConfig``, ``SamplerConfig``, ``GenerationType``)
so its users feel at home, except OuteTTS's ``ModelConfig``: here it is ``InterfaceConfig``
(*which model to load*), since ``vall_e.config.ModelConfig`` (the YAML ``model`` section) is
a network's shape and one name for both made ``from vall_e import ModelConfig`` ambiguous.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from typing import Optional, Union

import torch

from vall_e.config import REPEAT_MODES, VOICE_MATCH_LEVELS
from vall_e.errors import ConfigError, TextError
from vall_e.inference.speaker import SpeakerProfile
from vall_e.sampling import SamplingParams

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class GenerationType(str, enum.Enum):
    REGULAR = "regular"  # each text is one utterance
    CHUNKED = "chunked"  # texts split into sentences, one utterance each, joined with cross-fades
    BATCH = "batch"  # the same chunks, decoded together in padded batches
    STREAM = "stream"  # audio chunks yielded while the model still generates


@dataclass
class InterfaceConfig:
    """Which model the Interface loads, and where it runs."""

    model_path: Optional[str] = None  # checkpoint directory (AR+NAR or LLM-TTS), or a hub id
    device: str = "auto"
    dtype: Optional[str] = None  # model weights: float32, bfloat16 or float16 (None: as saved)
    codec_path: Optional[str] = None  # codec weights, overriding the checkpoint's (Orpheus: SNAC)
    allow_download: bool = False  # let model_path be a hub id (needs internet)
    language: Optional[str] = None  # espeak language of the texts (None: the checkpoint's)
    compile: bool = False  # torch.compile the decode step / frame passes (warmed up at load)
    lora: Optional[str] = None  # LoRA adapter directory (vall_e.finetune), merged at load
    speaker_offset: Optional[str] = None  # speaker offset file (vall_e.finetune, method offset)

    def torch_dtype(self) -> torch.dtype | None:
        if self.dtype is None:
            return None
        if self.dtype not in _DTYPES:
            raise ConfigError(f"dtype must be one of {sorted(_DTYPES)}, got {self.dtype!r}")
        return _DTYPES[self.dtype]


@dataclass(frozen=True)
class SamplerConfig:
    """Common sampling choices by OuteTTS's names; ``to_params`` maps them to SamplingParams.

    Every other flag (layer-skip, refine-on-stop, ...) is reached by passing a
    ``vall_e.sampling.SamplingParams`` as ``GenerationConfig.sampler_config`` instead.
    """

    temperature: float = 1.0
    min_temperature: float = -1.0  # >= 0 turns on dynamic temperature in [min, temperature)
    nar_temperature: float = 0.0  # AR+NAR only: the NAR levels
    top_k: int = 0
    top_p: float = 1.0
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    repetition_penalty_decay: float = 0.0
    length_penalty: float = 0.0
    beam_width: int = 0
    mirostat: bool = False
    mirostat_tau: float = 5.0
    mirostat_eta: float = 0.1
    dry_multiplier: float = 0.0
    dry_base: float = 1.75
    dry_allowed_length: int = 2
    seed: Optional[int] = None
    speed: float = 1.0  # pace of a phoneme-aligned model (2 = twice as fast); others refuse != 1

    def to_params(self) -> SamplingParams:
        same = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name in SamplingParams.field_names()}
        same.pop("mirostat_tau")
        return SamplingParams(
            ar_temp=self.temperature, min_ar_temp=self.min_temperature,
            nar_temp=self.nar_temperature,
            mirostat_tau=self.mirostat_tau if self.mirostat else 0.0, **same,
        ).validate()


@dataclass
class GenerationConfig:
    text: Union[str, list]
    speaker: Optional[SpeakerProfile] = None
    generation_type: GenerationType = GenerationType.REGULAR
    # None: the model's own sampler settings (its inference.sampling; the default model's are
    # measured, see notebook 01); a SamplerConfig or SamplingParams replaces them whole
    sampler_config: Union[SamplerConfig, SamplingParams, None] = None
    # LLM-TTS: most tokens of prompt + speech (as Hugging Face ``max_length``);
    # AR+NAR: most level-0 frames. None: the model's limit and the checkpoint's step budget
    max_length: Optional[int] = None
    language: Optional[str] = None
    max_chunk_chars: int = 300  # CHUNKED / BATCH / STREAM: longest sentence chunk
    max_batch_size: int = 8  # BATCH: chunks decoded together
    crossfade_seconds: float = 0.04  # joins between chunks
    stream_chunk_seconds: float = 0.5  # STREAM: audio per yielded chunk (LLM-TTS)
    constrain_layout: bool = True  # LLM-TTS: only ids that fit the next frame slot are drawn
    # AR+NAR over mel_rvq: share (0..1) of the way each frame moves toward the reference's
    # nearest frames (vall_e.codecs.mel.voice_match); None: the model's inference.voice_match
    voice_match: Optional[float] = None
    # what voice_match moves: "fine" (the code levels above 0) or "all" (whole log-mel
    # frames); None: the model's inference.voice_match_levels
    voice_match_levels: Optional[str] = None
    # AR+NAR: which passes read a reference shorter than the prompt length repeated up to it
    # (none, nar, all: vall_e.inference.prompt_fill); None: the model's inference.repeat_short_prompt
    repeat_short_prompt: Optional[str] = None

    MAX_TOTAL_CHARS = 100_000

    def texts(self) -> list[str]:
        texts = [self.text] if isinstance(self.text, str) else self.text
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise TextError("GenerationConfig.text must be a string or a list of strings")
        if not texts or not any(t.strip() for t in texts):
            raise TextError("text is empty: give something to say")
        total = sum(len(t) for t in texts)
        if total > self.MAX_TOTAL_CHARS:
            raise TextError(f"text is {total} characters; one generate call takes at most "
                            f"{self.MAX_TOTAL_CHARS} (split it across calls)")
        return texts

    def sampling_params(self) -> SamplingParams | None:
        """The record to decode with; None leaves the choice to the engine (the model's own)."""
        config = self.sampler_config
        if config is None:
            return None
        if isinstance(config, SamplerConfig):
            return config.to_params()
        if isinstance(config, SamplingParams):
            return config.validate()
        raise ConfigError("sampler_config must be a SamplerConfig or a SamplingParams")

    def validate(self) -> "GenerationConfig":
        try:
            self.generation_type = GenerationType(self.generation_type)
        except ValueError:
            raise ConfigError(f"generation_type must be one of "
                              f"{[t.name for t in GenerationType]}, got {self.generation_type!r}") from None
        if self.max_length is not None and self.max_length < 1:
            raise ConfigError(f"max_length must be positive, got {self.max_length}")
        for name in ("max_chunk_chars", "max_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.crossfade_seconds < 0 or self.stream_chunk_seconds <= 0:
            raise ConfigError("crossfade_seconds must be >= 0 and stream_chunk_seconds > 0")
        if self.voice_match is not None and not 0.0 <= self.voice_match <= 1.0:
            raise ConfigError(f"voice_match must be between 0 and 1 (0: off), got {self.voice_match}")
        if self.voice_match_levels is not None and self.voice_match_levels not in VOICE_MATCH_LEVELS:
            raise ConfigError(f"voice_match_levels must be one of {list(VOICE_MATCH_LEVELS)}, got "
                              f"{self.voice_match_levels!r}")
        if self.repeat_short_prompt is not None and self.repeat_short_prompt not in REPEAT_MODES:
            raise ConfigError(f"repeat_short_prompt must be one of {list(REPEAT_MODES)}, got "
                              f"{self.repeat_short_prompt!r}")
        if self.speaker is not None and not isinstance(self.speaker, SpeakerProfile):
            raise ConfigError("speaker must be a SpeakerProfile (create_speaker / load_speaker)")
        self.texts()
        return self
