"""The LLM-TTS inference engine: a causal LM over a token layout, plus its codec.

Same surface as ``ARNAREngine`` (``tts``, ``synthesize``, ``stream``, ``create_speaker``), so
the CLI and the Interface drive both families alike. Differences that matter to users:

- a speaker is a reference recording (flat layout: its codes; orpheus: its codes *and*
  transcript) or a voice name the model was trained with (orpheus: ``"tara: ..."``);
- ``max_length`` caps prompt + generated tokens (as in Hugging Face ``generate``); the step
  budget ``max_ar_steps`` counts generated tokens;
- ``stream`` yields audio while the LM is still generating (``StreamingDecoder``).
Sampling flags that need an AR+NAR model (layer-skip, refine-on-stop, input-prompt prefix)
are refused with one line rather than ignored.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import torch

from vall_e.codecs import AudioCodec, get_codec
from vall_e.errors import ConfigError, GenerationError, SamplingError, TextError
from vall_e.inference.common import (
    PromptSettings,
    SynthesisResult,
    checkpoint_codec_path,
    resolve_device,
    speaker_from_recording,
)
from vall_e.inference.llm_decode import generate_speech_tokens, iter_speech_tokens
from vall_e.inference.speaker import SpeakerProfile
from vall_e.inference.streaming import StreamingDecoder
from vall_e.checkpoint_format import Checkpoint
from vall_e.models.llm_checkpoint import load_llm_checkpoint
from vall_e.models.llm_layouts import FrameAssembler
from vall_e.sampling import SamplingParams, TokenSampler, make_generator
from vall_e.text.front_end import prepare_text, text_units

_AR_NAR_ONLY = ("layer_skip", "refine_on_stop", "input_prompt_prefix")


class LLMEngine:
    family = "llm"

    def __init__(self, loaded: Checkpoint, codec: AudioCodec, device: torch.device):
        loaded.codec_info.require_match(codec.info, context=f"model {loaded.path}")
        loaded.model.layout.check_codec(codec.info)
        self.stepper = None  # vall_e.compile.LLMStepper once compile() is called
        self.checkpoint = loaded  # the same attribute as ARNAREngine's
        self.model = loaded.model
        self.layout = loaded.model.layout
        self.codec = codec
        self.device = device
        self.voices = tuple(loaded.voices)
        inference = loaded.config.inference
        self.defaults = PromptSettings(inference.language, inference.max_ar_steps,
                                       inference.input_prompt_length, inference.max_text_chars)
        # the sampler settings used when a call passes none (CLI flags override them one by one)
        self.default_sampling = SamplingParams.from_mapping(inference.sampling, "inference.sampling")

    @classmethod
    def from_checkpoint(cls, source: str | Path, device: str = "auto", codec_path: str | None = None,
                        dtype: torch.dtype | None = None, allow_download: bool = False,
                        compile: bool = False) -> "LLMEngine":
        resolved = resolve_device(device)
        loaded = load_llm_checkpoint(source, resolved, dtype, allow_download)
        path = codec_path or checkpoint_codec_path(loaded.config, loaded.path)
        if loaded.model.layout.name == "orpheus" and path is None:
            raise ConfigError(f"{loaded.path} needs SNAC 24 kHz weights to turn its codes into "
                              "audio: pass --codec-path DIR (or InterfaceConfig(codec_path=...))")
        codec_config = replace(loaded.config.codec, path=path, allow_download=allow_download)
        engine = cls(loaded, get_codec(codec_config, device=str(resolved)), resolved)
        if compile:
            engine.compile()
        return engine

    def compile(self, backend: str | None = None) -> None:
        """Compile the decode step (``vall_e.compile``) and warm it up for batch 1 at the
        default budget, with a reference prompt of the default length."""
        from vall_e.compile import DEFAULT_BACKEND, LLMStepper

        self.stepper = LLMStepper(self.model, backend=backend or DEFAULT_BACKEND)
        frames = self.codec.seconds_to_frames(self.defaults.input_prompt_length)
        self.stepper.warm_up(frames * self.layout.tokens_per_frame + 64, self.defaults.max_ar_steps)

    @property
    def info(self):
        return self.codec.info

    @property
    def max_positions(self) -> int:
        return self.model.max_positions

    # ----- inputs -----------------------------------------------------------------------
    def create_speaker(self, reference: str | Path, transcript: str | None = None,
                       settings: PromptSettings | None = None) -> SpeakerProfile:
        settings = settings or self.defaults
        return speaker_from_recording(self.codec, reference, settings.input_prompt_length,
                                      transcript, settings.language)

    def named_speaker(self, voice: str) -> SpeakerProfile:
        if voice not in self.voices:
            known = ", ".join(self.voices) if self.voices else "none (clone from a recording)"
            raise TextError(f"unknown voice '{voice}' for model {self.checkpoint.path}; its voices: {known}")
        return SpeakerProfile(voice=voice)

    def prompt_ids(self, text: str, speaker: SpeakerProfile | None,
                   settings: PromptSettings) -> list[int]:
        """The LM's prompt ids: the text front end turns ``text`` into the units the layout
        was trained on; the layout lays them out with the speaker's name or reference."""
        layout = self.layout
        units = text_units(prepare_text(text, settings), settings.language, layout.text_units)
        if speaker is None:
            return layout.prompt_ids(units)
        if speaker.voice is not None:
            self.named_speaker(speaker.voice)  # validates the name
            return layout.prompt_ids(units, voice=speaker.voice)
        speaker.require_codec(self.codec.info, str(self.checkpoint.path))
        codes = speaker.codes
        if speaker.transcript is None:  # an acoustic prompt: at most input_prompt_length
            codes = codes[:, :self.codec.seconds_to_frames(settings.input_prompt_length)]
        reference = None  # the transcript as it was given (not normalized), where it is read
        if layout.reads_reference_transcript and speaker.transcript:
            reference = text_units(speaker.transcript, settings.language, layout.text_units)
        return layout.prompt_ids(units, reference_codes=codes, reference_units=reference)

    def budgets(self, prompts: list[list[int]], settings: PromptSettings,
                max_length: int | None) -> list[int]:
        """New tokens each prompt may generate: within ``max_length`` and ``max_ar_steps``."""
        limit = self.max_positions if max_length is None else max_length
        if limit > self.max_positions:
            raise ConfigError(f"max_length {limit} exceeds the model's {self.max_positions} "
                              "positions; use a smaller max_length")
        budgets = []
        for prompt in prompts:
            room = limit - len(prompt)
            if room < self.layout.tokens_per_frame:
                raise TextError(
                    f"the prompt (text + speaker reference) is {len(prompt)} tokens, leaving "
                    f"{max(room, 0)} of max_length {limit} for speech: shorten the text or the "
                    "reference, or raise max_length")
            budgets.append(min(room, settings.max_ar_steps))
        return budgets

    def check_params(self, params: SamplingParams) -> SamplingParams:
        params = params.validate()
        for name in _AR_NAR_ONLY:
            if getattr(params, name):
                flag = "--" + name.replace("_", "-")
                raise SamplingError(f"{flag} works with AR+NAR models only; {self.checkpoint.path} "
                                    "is an LLM-TTS model")
        if params.speed != 1.0:
            raise SamplingError(f"--speed needs a phoneme-aligned AR+NAR model; {self.checkpoint.path} "
                                "is an LLM-TTS model, so leave --speed at 1")
        if self.stepper is not None and params.beam_width > 1:
            raise SamplingError("--beam-width runs eagerly, not on the compiled decode step: "
                                "drop --compile or --beam-width")
        return params

    # ----- tasks ------------------------------------------------------------------------
    def tts(self, text: str, reference: str | Path, params: SamplingParams | None = None,
            settings: PromptSettings | None = None, prompt_text: str | None = None,
            max_length: int | None = None) -> SynthesisResult:
        """Speak ``text`` as ``reference``: a recording (with ``prompt_text``, its transcript,
        where the layout needs it) or one of the model's voice names."""
        settings = settings or self.defaults
        params = params or self.default_sampling
        self.check_params(params)
        start = time.perf_counter()
        speaker = self.speaker_for(reference, params, settings, prompt_text)
        encode = time.perf_counter() - start
        (result,) = self.synthesize([text], speaker, params, settings, max_length)
        result.seconds["prepare"] = result.seconds.get("prepare", 0.0) + encode
        return result

    def max_speech_seconds(self, settings: PromptSettings) -> float:
        """Seconds of speech the step cap allows (``max_ar_steps`` tokens, several a frame)."""
        return settings.max_ar_steps / self.layout.tokens_per_frame / self.codec.frame_rate

    def speaker_for(self, reference: str | Path, params: SamplingParams, settings: PromptSettings,
                    prompt_text: str | None = None) -> SpeakerProfile:
        """The speaker ``tts`` uses: one of the model's voices by name, or a recording."""
        if not Path(reference).is_file() and str(reference) in self.voices:
            return self.named_speaker(str(reference))
        return self.create_speaker(reference, prompt_text, settings)

    def synthesize(self, texts: list[str], speaker: SpeakerProfile | None,
                   params: SamplingParams | None = None, settings: PromptSettings | None = None,
                   max_length: int | None = None, constrain: bool = True) -> list[SynthesisResult]:
        """Speak each of ``texts``; all are decoded together as one padded batch."""
        settings = settings or self.defaults
        params = params or self.default_sampling
        _refuse_levels(settings)
        params = self.check_params(params)
        if params.beam_width > 1 and len(texts) > 1:
            return [r for t in texts
                    for r in self.synthesize([t], speaker, params, settings, max_length, constrain)]
        start = time.perf_counter()
        prompts = [self.prompt_ids(t, speaker, settings) for t in texts]
        budgets = self.budgets(prompts, settings, max_length)
        timings = {"prepare": time.perf_counter() - start}
        start = time.perf_counter()
        sampler = TokenSampler(params, "ar", make_generator(params.seed, self.device),
                               stop_token=self.layout.stop_id)
        tokens, stopped = generate_speech_tokens(self.model, prompts, sampler, budgets, constrain,
                                                 self.stepper)
        timings["ar"] = time.perf_counter() - start
        start = time.perf_counter()
        decoded = [self.layout.tokens_to_codes(t) for t in tokens]
        if any(d.codes.shape[1] == 0 for d in decoded):
            raise GenerationError("the model produced no whole audio frame; try another seed or "
                               "sampler settings")
        audio = [self.codec.decode(d.codes[None].to(self.codec.device))[0].float().cpu()
                 for d in decoded]
        timings["decode"] = time.perf_counter() - start
        return [SynthesisResult(a, self.codec.sample_rate, d.codes, s, len(t), dict(timings),
                                dropped_tokens=d.dropped)
                for a, d, s, t in zip(audio, decoded, stopped, tokens)]

    def stream(self, text: str, speaker: SpeakerProfile | None,
               params: SamplingParams | None = None, settings: PromptSettings | None = None,
               chunk_seconds: float = 0.5, max_length: int | None = None, constrain: bool = True,
               context_frames: int | None = 32) -> Iterator[torch.Tensor]:
        """Audio chunks [S] of ``text``, each decoded as soon as ``chunk_seconds`` of frames
        exist, while the LM goes on generating. Concatenated they are the one-pass audio
        (exactly for a causal codec such as EnCodec; see ``StreamingDecoder``)."""
        settings = settings or self.defaults
        params = params or self.default_sampling
        _refuse_levels(settings)
        params = self.check_params(params)
        if params.beam_width > 1:
            raise SamplingError("--beam-width cannot stream: a beam's tokens are final only when "
                                "the search ends; use REGULAR generation")
        if chunk_seconds <= 0:
            raise ConfigError(f"chunk_seconds must be positive, got {chunk_seconds}")
        prompt = self.prompt_ids(text, speaker, settings)
        budget = self.budgets([prompt], settings, max_length)[0]
        sampler = TokenSampler(params, "ar", make_generator(params.seed, self.device),
                               stop_token=self.layout.stop_id)
        chunk_frames = max(1, round(chunk_seconds * self.codec.frame_rate))
        decoder = StreamingDecoder(self.codec, chunk_frames, context_frames)
        assembler = FrameAssembler(self.layout)
        for out in iter_speech_tokens(self.model, [prompt], sampler, [budget], constrain,
                                      self.stepper):
            token = int(out.tokens[0])
            if not bool(out.active[0]) or token in self.layout.stop_ids:
                continue
            frame = assembler.feed(token)
            if frame is not None:
                chunk = decoder.push(frame[:, None].to(self.codec.device))
                if chunk is not None:
                    yield chunk
        rest = decoder.flush()
        if rest is None and decoder.emitted == 0:
            raise GenerationError("the model produced no whole audio frame; try another seed or "
                               "sampler settings")
        if rest is not None:
            yield rest


def _refuse_levels(settings: PromptSettings) -> None:
    """The AR+NAR-only settings, refused instead of ignored."""
    if settings.levels is not None:
        raise ConfigError("--levels is for AR+NAR models (the NAR fills levels one by one); an "
                          "LLM-TTS model generates every level of a frame together")
    if settings.voice_match:
        raise ConfigError("--voice-match is for AR+NAR models over mel_rvq; leave it at 0 for an "
                          "LLM-TTS model")
    if settings.repeat_short_prompt != "none":
        raise ConfigError("--repeat-short-prompt is for AR+NAR models; an LLM-TTS model reads "
                          "its reference as it is: leave the flag out")
