"""Request bodies: OpenAI's ``/v1/audio/speech`` fields plus our sampler fields by their
``SamplerConfig`` names (generated from that dataclass, so a new sampler field is accepted
the day it is added). Unknown fields are refused, never parsed and ignored.
"""
from __future__ import annotations

import typing
from dataclasses import fields
from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from vall_e.config import REPEAT_MODES, VOICE_MATCH_LEVELS
from vall_e.interface import SamplerConfig

_OPENAI_ONLY = {"speed"}  # an OpenAI field that SamplerConfig may also grow: declared below


class VoiceRef(BaseModel):
    """OpenAI's newer object form of ``voice``: ``{"id": "..."}``."""
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=200)


class SpeechBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Optional[str] = None
    input: str
    voice: Union[str, VoiceRef]
    response_format: Optional[str] = None  # None: OpenAI's default (mp3) when it encodes here
    speed: float = Field(1.0, ge=0.25, le=4.0)
    stream: bool = False
    stream_format: Literal["audio"] = "audio"  # "sse" (base64 events) is not offered
    instructions: Optional[str] = None  # refused when non-empty: no model here takes prompts
    # decoding toward the reference's own frames (AR+NAR over mel_rvq; vall_e.codecs.mel.
    # voice_match): None keeps the model's inference.voice_match / voice_match_levels
    voice_match: Optional[float] = Field(None, ge=0.0, le=1.0)
    voice_match_levels: Optional[Literal[VOICE_MATCH_LEVELS]] = None
    # AR+NAR: which passes read a short reference repeated up to the prompt length
    # (vall_e.inference.prompt_fill); None keeps the model's inference.repeat_short_prompt
    repeat_short_prompt: Optional[Literal[REPEAT_MODES]] = None

    def voice_id(self) -> str:
        return self.voice.id if isinstance(self.voice, VoiceRef) else self.voice


def _sampler_fields() -> dict:
    hints = typing.get_type_hints(SamplerConfig)
    return {f.name: (Optional[hints[f.name]], None) for f in fields(SamplerConfig)
            if f.name not in _OPENAI_ONLY}


SpeechRequest = create_model("SpeechRequest", __base__=SpeechBase, **_sampler_fields())
SAMPLER_FIELDS = tuple(_sampler_fields())


def sampler_overrides(request: BaseModel) -> dict:
    """The sampler fields this request set (left-out ones keep the model's defaults)."""
    return {name: getattr(request, name) for name in SAMPLER_FIELDS
            if getattr(request, name) is not None}
