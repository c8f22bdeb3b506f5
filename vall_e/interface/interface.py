"""``Interface``: one Python API for both model families (the checkpoint says which).

    from vall_e import Interface, InterfaceConfig, GenerationConfig, GenerationType, SamplerConfig

    interface = Interface(InterfaceConfig(model_path="runs/tiny_llm/latest"))
    speaker = interface.create_speaker("reference.wav")          # or transcript="..."
    interface.save_speaker(speaker, "speaker.json")
    output = interface.generate(GenerationConfig(
        text="Hello there. How are you?", speaker=speaker,
        generation_type=GenerationType.CHUNKED, sampler_config=SamplerConfig(temperature=0.7)))
    output.save("out.wav")

    for chunk in interface.stream(GenerationConfig(text="...", speaker=speaker)):
        play(chunk.audio)                                         # while the model still runs

Generation types: REGULAR (each text one utterance), CHUNKED (sentences, one by one, joined
with short cross-fades), BATCH (the same sentences decoded together, each stopping on its own),
STREAM (audio chunks while the model generates; LLM-TTS streams inside a sentence, AR+NAR
sentence by sentence because its NAR reads a whole sentence at once).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import torch

from vall_e.errors import ConfigError, VallEError
from vall_e.inference.common import PromptSettings, resolve_device
from vall_e.inference.loader import load_engine
from vall_e.inference.protocol import Engine
from vall_e.inference.speaker import SpeakerProfile, load_speaker, save_speaker
from vall_e.interface.config import GenerationConfig, GenerationType, InterfaceConfig
from vall_e.interface.output import AudioChunk, ModelOutput, Stopwatch, crossfade_join
from vall_e.sampling import SamplingParams
from vall_e.text import split_sentences


class Interface:
    def __init__(self, config: InterfaceConfig | None = None):
        config = config or InterfaceConfig()
        if not config.model_path:  # the embedded default model (a clear error when absent)
            from dataclasses import replace

            from vall_e.default_model import default_model_dir

            config = replace(config, model_path=str(default_model_dir()))
        try:
            resolve_device(config.device)
        except ValueError as exc:
            if isinstance(exc, VallEError):
                raise
            raise ConfigError(str(exc)) from None
        self.config = config
        self.engine: Engine = load_engine(config.model_path, config.device, config.codec_path,
                                  config.torch_dtype(), config.allow_download,
                                  compile=config.compile, lora=config.lora,
                                  speaker_offset=config.speaker_offset)

    # ----- what the model is --------------------------------------------------------------
    @property
    def family(self) -> str:
        return self.engine.family

    @property
    def sample_rate(self) -> int:
        return self.engine.codec.sample_rate

    @property
    def voices(self) -> tuple:
        """Names usable as ``named_speaker(name)``: the model's trained voices (Orpheus) or, for
        AR+NAR models, the shipped reference recordings."""
        return tuple(self.engine.voices)

    # ----- speakers -----------------------------------------------------------------------
    def create_speaker(self, audio_path: str | Path, transcript: str | None = None) -> SpeakerProfile:
        """Encode a reference recording (its first seconds; all of it with a transcript)."""
        return self.engine.create_speaker(audio_path, transcript, self._settings(None))

    def named_speaker(self, voice: str) -> SpeakerProfile:
        """A profile for one of ``voices``: a voice the model was trained with (Orpheus), or for
        AR+NAR models a shipped reference recording (``data/voices``)."""
        return self.engine.named_speaker(voice)

    def save_speaker(self, speaker: SpeakerProfile, path: str | Path) -> Path:
        if not isinstance(speaker, SpeakerProfile):
            raise ConfigError("save_speaker expects a SpeakerProfile (from create_speaker)")
        return save_speaker(speaker, path)

    def load_speaker(self, path: str | Path) -> SpeakerProfile:
        """Load a profile and check that this model can use it (same codec, known voice)."""
        speaker = load_speaker(path)
        if speaker.voice is not None:
            self.named_speaker(speaker.voice)
        else:
            speaker.require_codec(self.engine.codec.info, self.config.model_path)
        return speaker

    def decode_speaker(self, speaker: SpeakerProfile) -> torch.Tensor:
        """The audio a profile's codes stand for (to hear what the model is conditioned on)."""
        if speaker.codes is None:
            raise ConfigError("a named-voice profile has no audio to decode")
        speaker.require_codec(self.engine.codec.info, self.config.model_path)
        return self.engine.codec.decode(speaker.codes[None].to(self.engine.codec.device))[0].cpu()

    # ----- generation ---------------------------------------------------------------------
    def generate(self, config: GenerationConfig) -> ModelOutput:
        config.validate()
        clock = Stopwatch()
        if config.generation_type == GenerationType.STREAM:
            chunks = list(self.stream(config))
            audio = crossfade_join(_per_text(chunks), self._overlap(config))
            return ModelOutput(audio, self.sample_rate, [c.audio for c in chunks], [], clock(),
                               chunks[0].elapsed if chunks else None)
        params, settings = config.sampling_params(), self._settings(config)
        if config.generation_type == GenerationType.REGULAR:
            pieces = config.texts()
        else:
            pieces = self._chunks(config)
        if config.generation_type == GenerationType.BATCH:
            size = config.max_batch_size
            results = [r for i in range(0, len(pieces), size)
                       for r in self._synthesize(pieces[i:i + size], config, params, settings)]
        else:
            results = [r for piece in pieces
                       for r in self._synthesize([piece], config, params, settings)]
        audio = [r.audio for r in results]
        return ModelOutput(crossfade_join(audio, self._overlap(config)), self.sample_rate, audio,
                           results, clock())

    def stream(self, config: GenerationConfig) -> Iterator[AudioChunk]:
        """Audio chunks in order, each as soon as it is decoded."""
        config.validate()
        clock = Stopwatch()
        params, settings = config.sampling_params(), self._settings(config)
        index = 0
        for text_index, piece in enumerate(self._chunks(config)):
            audio_chunks = self.engine.stream(
                piece, config.speaker, params, settings, config.stream_chunk_seconds,
                config.max_length, config.constrain_layout)
            for audio in audio_chunks:
                yield AudioChunk(audio, self.sample_rate, index, text_index, clock())
                index += 1

    def sentences(self, config: GenerationConfig) -> Iterator[AudioChunk]:
        """One chunk per sentence (the pieces ``CHUNKED`` makes), each synthesized in one pass
        and yielded when it is done: ``generate``'s whole-sentence quality, with a chance to
        stop between sentences (the server's non-streaming answers)."""
        config.validate()
        clock = Stopwatch()
        params, settings = config.sampling_params(), self._settings(config)
        for index, piece in enumerate(self._chunks(config)):
            (result,) = self._synthesize([piece], config, params, settings)
            yield AudioChunk(result.audio, self.sample_rate, index, index, clock())

    # ----- helpers ------------------------------------------------------------------------
    def _settings(self, config: GenerationConfig | None) -> PromptSettings:
        language = (config.language if config else None) or self.config.language
        settings = self.engine.defaults
        if config is not None and config.voice_match is not None:
            settings = replace(settings, voice_match=config.voice_match)
        if config is not None and config.voice_match_levels is not None:
            settings = replace(settings, voice_match_levels=config.voice_match_levels)
        if config is not None and config.repeat_short_prompt is not None:
            settings = replace(settings, repeat_short_prompt=config.repeat_short_prompt)
        return replace(settings, language=language) if language else settings

    def _chunks(self, config: GenerationConfig) -> list[str]:
        return [c for text in config.texts() for c in split_sentences(text, config.max_chunk_chars)]

    def _overlap(self, config: GenerationConfig) -> int:
        return int(round(config.crossfade_seconds * self.sample_rate))

    def _synthesize(self, texts: list[str], config: GenerationConfig, params: SamplingParams,
                    settings: PromptSettings) -> list:
        return self.engine.synthesize(texts, config.speaker, params, settings,
                                      config.max_length, config.constrain_layout)


def _per_text(chunks: list[AudioChunk]) -> list[torch.Tensor]:
    """Stream chunks of one text are contiguous audio; only joins between texts cross-fade."""
    joined: dict[int, list[torch.Tensor]] = {}
    for chunk in chunks:
        joined.setdefault(chunk.text_index, []).append(chunk.audio)
    return [torch.cat(parts) for _, parts in sorted(joined.items())]
