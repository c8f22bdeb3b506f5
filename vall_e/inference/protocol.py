"""The one engine contract both model families implement (``ARNAREngine``, ``LLMEngine``).

Callers (the CLI, the ``Interface``, the server) hold an ``Engine`` from
``vall_e.inference.loader.load_engine`` and call it the same way whatever the family: the family
was chosen once, where the checkpoint was loaded. What the shared arguments mean:

- ``speaker``: a ``SpeakerProfile`` from ``create_speaker`` (a recording, optionally with its
  transcript) or ``named_speaker`` (one of ``voices``);
- ``voices``: names ``named_speaker`` accepts. Either family answers the same question, "which
  voices can I ask for by name": an LLM-TTS model's are the speakers it was trained on, an
  AR+NAR model's are the shipped reference recordings it clones (``data/voices``);
- ``max_length``: the generation budget. LLM-TTS: prompt + generated tokens (as in Hugging Face
  ``generate``); AR+NAR: level-0 frames. None: the checkpoint's ``max_ar_steps``;
- ``constrain``: LLM-TTS applies its layout's slot mask; AR+NAR has no layout (no effect);
- a sampler flag the family cannot honour is refused with one ``SamplingError`` line, never
  silently ignored.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch

from vall_e.checkpoint_format import Checkpoint
from vall_e.codecs import AudioCodec
from vall_e.inference.common import PromptSettings, SynthesisResult
from vall_e.inference.speaker import SpeakerProfile
from vall_e.sampling import SamplingParams


@runtime_checkable
class Engine(Protocol):
    family: str  # "ar_nar" or "llm": for reports and logs; callers never branch on it
    checkpoint: Checkpoint
    codec: AudioCodec
    defaults: PromptSettings  # the checkpoint's own inference settings
    default_sampling: SamplingParams

    @property
    def voices(self) -> tuple: ...

    def create_speaker(self, reference: str | Path, transcript: str | None = None,
                       settings: PromptSettings | None = None) -> SpeakerProfile:
        """Encode a recording (its first ``input_prompt_length`` s; all of it with a transcript)."""

    def named_speaker(self, voice: str) -> SpeakerProfile:
        """A profile for one of ``voices``; an unknown name is one ``TextError`` listing them."""

    def tts(self, text: str, reference: str | Path, params: SamplingParams | None = None,
            settings: PromptSettings | None = None, prompt_text: str | None = None,
            max_length: int | None = None) -> SynthesisResult:
        """Speak ``text`` as ``reference`` (a recording or a name in ``voices``)."""

    def synthesize(self, texts: list[str], speaker: SpeakerProfile | None,
                   params: SamplingParams | None = None, settings: PromptSettings | None = None,
                   max_length: int | None = None, constrain: bool = True
                   ) -> list[SynthesisResult]:
        """One result per text, decoded together as one batch (beam search: one at a time)."""

    def stream(self, text: str, speaker: SpeakerProfile | None,
               params: SamplingParams | None = None, settings: PromptSettings | None = None,
               chunk_seconds: float = 0.5, max_length: int | None = None,
               constrain: bool = True) -> Iterator[torch.Tensor]:
        """Audio chunks [S] of ``text`` in order, each as soon as it is decoded."""

    def max_speech_seconds(self, settings: PromptSettings) -> float:
        """Seconds of speech the step budget allows."""
