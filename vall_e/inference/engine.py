"""The AR+NAR inference engine: load a checkpoint and its codec once, then synthesize.

``ARNAREngine.from_checkpoint(dir)`` loads the model, its phoneme vocabulary and the codec named
in the checkpoint (the codec's identity is checked against the one the model was trained on).
``tts()`` turns text + a reference wav into audio; ``stt()`` turns audio into IPA phonemes.
The engine knows nothing about argv; the CLI builds its arguments.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import torch

from vall_e.align.critic import CRITIC_DIR, load_critic
from vall_e.audio import load_audio
from vall_e.codecs import AudioCodec, get_codec
from vall_e.config import REPEAT_MODES
from vall_e.errors import ConfigError, GenerationError, SamplingError, TextError
from vall_e.inference.ar_nar_decode import DecodeStats, generate_ar, generate_nar, generate_stt
from vall_e.inference.parallel_decode import generate_level0, predict_durations
from vall_e.inference.parallel_decode import unsupported as parallel_unsupported
from vall_e.inference.parallel_stream import stream_codes
from vall_e.inference.pointer_decode import generate_pointer_ar
from vall_e.inference.pointer_decode import unsupported as pointer_unsupported
from vall_e.inference.pointer_stream import stream_sentence
from vall_e.inference.prompt_fill import PAUSE_SECONDS, repeat_short_prompt
from vall_e.inference import shared_prefix_decode
from vall_e.inference.shared_prefix_stream import stream_sentence_audio
from vall_e.inference.common import (
    PromptSettings,
    SynthesisResult,
    cap_steps,
    checkpoint_codec_path,
    resolve_device,
    speaker_from_recording,
)
from vall_e.inference.speaker import SpeakerProfile
from vall_e.models.checkpoint import LoadedCheckpoint, load_checkpoint
from vall_e.sampling import SamplingParams, TokenSampler, make_generator
from vall_e.text import phonemes_to_string, split_sentences
from vall_e.text.front_end import load_text_units, phoneme_ids
from vall_e.voices import find_voice, shipped_voices

__all__ = ["ARNAREngine", "PromptSettings", "SynthesisResult", "resolve_device"]


def _check_repeat_mode(mode: str) -> None:
    if mode not in REPEAT_MODES:
        raise ConfigError(f"--repeat-short-prompt must be one of {', '.join(REPEAT_MODES)}, got {mode!r}")


class ARNAREngine:
    def __init__(self, checkpoint: LoadedCheckpoint, codec: AudioCodec, device: torch.device):
        checkpoint.codec_info.require_match(codec.info, context=f"model {checkpoint.path}")
        self.stepper = None  # vall_e.compile.ARNARStepper once compile() is called
        self.frame_passer = None  # vall_e.compile.FramePasser: compile() of a shared-prefix model
        self.checkpoint = checkpoint
        self.model = checkpoint.model
        self.tokenizer = checkpoint.tokenizer
        self.codec = codec
        self.device = device
        inference = checkpoint.config.inference
        self.defaults = PromptSettings(
            inference.language, inference.max_ar_steps, inference.input_prompt_length,
            inference.max_text_chars, inference.levels, inference.stream_first_steps,
            inference.stream_levels, inference.stream_lookahead, inference.candidates,
            inference.repeat_short_prompt, inference.voice_match, inference.voice_match_levels,
        )
        self._pause_codes = None  # codes of PAUSE_SECONDS of silence, made on first use
        self.critic = self._load_critic()
        # the sampler settings used when a call passes none (CLI flags override them one by one)
        self.default_sampling = SamplingParams.from_mapping(inference.sampling, "inference.sampling")
        self.pace = inference.pace  # what --speed 1 means for an aligned model (config.py)
        load_text_units(self.defaults.language)  # espeak-ng's start-up is loading, not synthesis

    def _load_critic(self):
        """The phoneme critic shipped beside the weights (``MODEL/critic``), or None."""
        directory = Path(self.checkpoint.path) / CRITIC_DIR
        if not directory.is_dir():
            return None
        return load_critic(directory, self.tokenizer.vocab).to(self.device)

    def _check_candidates(self, settings: PromptSettings) -> None:
        if settings.candidates == 1:
            return
        if settings.candidates < 1:
            raise ConfigError(f"--candidates must be >= 1, got {settings.candidates}")
        if not self.model.config.shared_prefix:
            raise ConfigError(f"--candidates needs a shared-prefix durations model "
                              f"(model.shared_prefix: true); {self.checkpoint.path} is not one")
        if self.critic is None:
            raise ConfigError(f"--candidates {settings.candidates} needs a phoneme critic in "
                              f"{Path(self.checkpoint.path) / CRITIC_DIR} (train one with python -m "
                              "vall_e.align critic); or leave --candidates at 1")

    @classmethod
    def from_checkpoint(
        cls, directory: str | Path, device: str = "auto", codec_path: str | None = None,
        dtype: torch.dtype | None = None, compile: bool = False,
    ) -> "ARNAREngine":
        """``dtype`` casts the model's float weights (the codec stays as it is); ``compile``
        compiles the AR decode step (``vall_e.compile``), warmed up here."""
        resolved = resolve_device(device)
        checkpoint = load_checkpoint(directory, resolved)
        if dtype is not None:
            checkpoint.model.to(dtype)
        codec_config = replace(checkpoint.config.codec, path=codec_path or checkpoint_codec_path(checkpoint.config, checkpoint.path))
        engine = cls(checkpoint, get_codec(codec_config, device=str(resolved)), resolved)
        if compile:
            engine.compile()
        return engine

    def compile(self, backend: str | None = None) -> None:
        """Compile the AR decode step and warm it up for batch 1 at the default budget; for a
        shared-prefix model (no AR loop) its passes over frames instead."""
        from vall_e.compile import DEFAULT_BACKEND, ARNARStepper, FramePasser

        prompt = self.codec.seconds_to_frames(self.defaults.input_prompt_length)
        if self.model.config.shared_prefix:
            self.frame_passer = FramePasser(self.model, backend=backend or DEFAULT_BACKEND)
            self.frame_passer.warm_up(prompt + 64, 37)  # a sentence's prefix, a first window
            return
        self.stepper = ARNARStepper(self.model, backend=backend or DEFAULT_BACKEND)
        self.stepper.warm_up(prompt + 64, self.defaults.max_ar_steps)

    family = "ar_nar"

    @property
    def voices(self) -> tuple:
        """Names of the shipped reference recordings (``data/voices``), usable as references."""
        return tuple(shipped_voices())

    def named_speaker(self, voice: str, settings: PromptSettings | None = None) -> SpeakerProfile:
        """A profile cloned from the shipped recording ``voice`` (with its transcript)."""
        shipped = shipped_voices().get(voice)
        if shipped is None:
            known = ", ".join(self.voices) or "none are installed"
            raise TextError(f"unknown voice '{voice}'; shipped voices: {known}")
        return self.create_speaker(shipped.wav, shipped.transcript, settings)

    @property
    def info(self):
        return self.codec.info

    # ----- inputs -----------------------------------------------------------------------
    def text_ids(self, text: str, settings: PromptSettings) -> torch.Tensor:
        ids = phoneme_ids(text, settings, self.tokenizer)  # the text front end
        return torch.tensor(ids, dtype=torch.long, device=self.device)

    def create_speaker(self, reference: str | Path, transcript: str | None = None,
                       settings: PromptSettings | None = None) -> SpeakerProfile:
        settings = settings or self.defaults
        return speaker_from_recording(self.codec, reference, settings.input_prompt_length,
                                      transcript, settings.language)

    def _stream_levels(self, settings: PromptSettings) -> int:
        """Levels of a shared-prefix stream's windows: the model's ``inference.stream_levels``
        unless the caller chose its own ``levels`` (``--levels``), which then wins."""
        own = settings.levels != self.defaults.levels or settings.stream_levels is None
        return self._levels(settings if own else replace(settings, levels=settings.stream_levels))

    def _levels(self, settings: PromptSettings) -> int:
        """Codec levels to generate and decode (``--levels``), checked against model and codec."""
        if settings.levels is None:
            return self.model.n_levels
        if not 1 <= settings.levels <= self.model.n_levels:
            raise ConfigError(f"--levels must be between 1 and {self.model.n_levels} (the model's "
                              f"codec levels), got {settings.levels}")
        if settings.levels < self.codec.n_levels and not self.codec.residual:
            raise ConfigError(f"--levels {settings.levels}: {self.codec.name} codes are not residual "
                              "levels, so a prefix of them cannot be decoded; leave --levels out")
        return settings.levels

    def speaking_rate(self, speaker: SpeakerProfile | None) -> float | None:
        """Frames per text token of the speaker's reference (aligned positions), measured from
        its transcript; None (the model's corpus average) without one."""
        if speaker is None or speaker.codes is None or not speaker.phonemes:
            return None
        n_text_ids = len(self.tokenizer.encode(speaker.phonemes))  # with bos and eos
        return self.model.speaking_rate(n_text_ids, speaker.codes.shape[1])

    def _reference_codes(self, speaker: SpeakerProfile | None) -> torch.Tensor:
        """The speaker's reference codes [K, T], checked: a recording's, made by this codec."""
        if speaker is None or speaker.codes is None:
            raise TextError("AR+NAR models clone a voice from a reference recording: make the "
                            "speaker with create_speaker(wav), not a voice name")
        speaker.require_codec(self.codec.info, str(self.checkpoint.path))
        return speaker.codes

    def _prompt(self, speaker: SpeakerProfile | None, settings: PromptSettings) -> torch.Tensor:
        frames = self.codec.seconds_to_frames(settings.input_prompt_length)
        codes = self._reference_codes(speaker)[:, :frames].to(self.device)
        if settings.repeat_short_prompt == "all":
            codes = repeat_short_prompt(codes, frames, self._pause().to(self.device))
        return codes

    def _nar_prompt(self, prompt: torch.Tensor, settings: PromptSettings) -> torch.Tensor | None:
        """The NAR's own voice prompt when it differs from level 0's ``prompt`` (``nar``: a
        short reference repeated up to the prompt length), else None."""
        _check_repeat_mode(settings.repeat_short_prompt)
        if settings.repeat_short_prompt != "nar":
            return None
        frames = self.codec.seconds_to_frames(settings.input_prompt_length)
        filled = repeat_short_prompt(prompt, frames, self._pause().to(self.device))
        return None if filled is prompt else filled

    def _output_codec(self, speaker: SpeakerProfile | None, settings: PromptSettings):
        """The codec that decodes this speaker's audio: with ``voice_match`` > 0 one whose
        frames move toward the reference's own (``AudioCodec.with_voice``)."""
        if not settings.voice_match:
            return self.codec
        return self.codec.with_voice(self._reference_codes(speaker), settings.voice_match,
                                     settings.voice_match_levels)

    def _pause(self) -> torch.Tensor:
        """Codes [K, P] of ``PAUSE_SECONDS`` of silence (what separates a repeated prompt)."""
        if self._pause_codes is None:
            silence = torch.zeros(round(self.codec.sample_rate * PAUSE_SECONDS))
            self._pause_codes = self.codec.encode(silence.to(self.codec.device))[0]
        return self._pause_codes

    # ----- tasks ------------------------------------------------------------------------
    def tts(
        self,
        text: str,
        reference: str | Path,
        params: SamplingParams | None = None,
        settings: PromptSettings | None = None,
        prompt_text: str | None = None,
        max_length: int | None = None,
    ) -> SynthesisResult:
        """Speak ``text`` in the voice of the recording ``reference`` (see ``synthesize``)."""
        settings = cap_steps(settings or self.defaults, max_length)
        params = params or self.default_sampling
        params = params.validate()
        self._check_layer_skip(params)
        if params.input_prompt_prefix and not (prompt_text and prompt_text.strip()):
            raise TextError("--input-prompt-prefix needs the reference's transcript: "
                            "add --prompt-text \"what the reference says\"")
        start = time.perf_counter()
        speaker = self.speaker_for(reference, params, settings, prompt_text)
        encode = time.perf_counter() - start
        (result,) = self.synthesize([text], speaker, params, settings)
        result.seconds["prepare"] = result.seconds.get("prepare", 0.0) + encode
        return result

    def max_speech_seconds(self, settings: PromptSettings) -> float:
        """Seconds of speech the step cap allows (``max_ar_steps`` level-0 frames)."""
        return settings.max_ar_steps / self.codec.frame_rate

    def speaker_for(self, reference: str | Path, params: SamplingParams, settings: PromptSettings,
                    prompt_text: str | None = None) -> SpeakerProfile:
        """The speaker ``tts`` clones: a recording, or a shipped voice's name (with its
        transcript); the transcript is kept where the model or ``params`` use it."""
        voice = find_voice(str(reference))
        if voice is not None:  # a shipped voice's name in place of a recording
            reference, prompt_text = voice.wav, prompt_text or voice.transcript
        # aligned positions read at the reference's own pace when its transcript is known
        wants_transcript = params.input_prompt_prefix or self.model.aligned_positions
        return self.create_speaker(reference, prompt_text if wants_transcript else None, settings)

    def synthesize(
        self,
        texts: list[str],
        speaker: SpeakerProfile | None,
        params: SamplingParams | None = None,
        settings: PromptSettings | None = None,
        max_length: int | None = None,
        constrain: bool = True,
    ) -> list[SynthesisResult]:
        """Speak each of ``texts`` in the voice of ``speaker``, decoded together as one batch.

        ``max_length`` caps the level-0 frames (``settings.max_ar_steps``); ``constrain`` is the
        ``Engine`` protocol's (an AR+NAR model has no token layout to constrain).

        With ``params.input_prompt_prefix`` the speaker's own codes start each response and its
        transcript is spoken before the text; the audio of that part is cut from the result.
        Beam search decodes one item at a time.
        """
        settings = cap_steps(settings or self.defaults, max_length)
        params = params or self.default_sampling
        params = params.validate()
        self._check_layer_skip(params)
        levels = self._levels(settings)  # checked before the AR runs, not after
        if params.beam_width > 1 and len(texts) > 1:
            return [r for t in texts for r in self.synthesize([t], speaker, params, settings)]
        codes, stopped, stats, timings = self.synthesize_codes(texts, speaker, params, settings)
        start = time.perf_counter()
        codec = self._output_codec(speaker, settings)
        audio = [codec.decode_first(c[None], levels)[0].float().cpu() for c in codes]
        timings["decode"] = time.perf_counter() - start
        return [SynthesisResult(a, self.codec.sample_rate, c.cpu(), s, int(c.shape[1]),
                                dict(timings), stats)
                for a, c, s in zip(audio, codes, stopped)]

    def synthesize_codes(self, texts: list[str], speaker: SpeakerProfile | None,
                         params: SamplingParams, settings: PromptSettings):
        """The codes [levels, T] of each of ``texts`` before the codec decodes them, with whether
        each item ended by itself, the AR's ``DecodeStats`` and the stage timings (s)."""
        levels = self._levels(settings)
        self._check_candidates(settings)
        timings = {}
        start = time.perf_counter()
        prompt = self._prompt(speaker, settings)
        nar_prompt = self._nar_prompt(prompt, settings)
        forced = None
        if params.input_prompt_prefix:
            if not speaker.transcript:
                raise TextError("--input-prompt-prefix needs the reference's transcript: "
                                "create the speaker with a transcript (--prompt-text)")
            if not self.model.config.shared_prefix:  # shared prefix: continues the frames below
                texts = [f"{speaker.transcript.strip()} {t.strip()}" for t in texts]
                forced = speaker.codes[0].to(self.device)[None].expand(len(texts), -1)
        text_ids = [self.text_ids(t, settings) for t in texts]
        prompts = [prompt] * len(texts)
        timings["prepare"] = time.perf_counter() - start
        generator = make_generator(params.seed, self.device)
        start = time.perf_counter()
        ar_sampler = TokenSampler(params, "ar", generator, stop_token=self.model.stop_token)
        rate = self.speaking_rate(speaker) if self.model.aligned_positions else None
        durations = None
        if self.model.config.shared_prefix:  # prefix encoded once, every pass over frames only
            nar_sampler, speed = TokenSampler(params, "nar", generator), self.effective_speed(params)
            if params.input_prompt_prefix:  # the reference's own frames as known left context
                reference_ids = self.text_ids(speaker.transcript, settings)[:-1]  # without EOS
                codes, _ = shared_prefix_decode.generate_continuation(
                    self.model, reference_ids, speaker.codes.to(self.device), text_ids, prompt,
                    ar_sampler, nar_sampler, levels, speed, settings.max_ar_steps, self.frame_passer,
                    settings.candidates, self.critic, nar_prompt)
            else:
                codes, _ = shared_prefix_decode.generate(
                    self.model, text_ids, prompts, ar_sampler, nar_sampler, levels, speed,
                    settings.max_ar_steps, self.frame_passer, settings.candidates, self.critic,
                    None if nar_prompt is None else [nar_prompt] * len(texts))
            timings["ar"], timings["nar"] = time.perf_counter() - start, 0.0
            return codes, [True] * len(texts), DecodeStats(len(self.model.blocks)), timings
        if self.model.durations_mode is not None:  # no AR: durations, then level 0 in parallel
            durations = predict_durations(self.model, text_ids, prompts,
                                          self.effective_speed(params), settings.max_ar_steps)
            level0 = generate_level0(self.model, text_ids, prompts, durations, ar_sampler)
            stopped, stats = [True] * len(texts), DecodeStats(len(self.model.blocks))
        elif self.model.pointer is not None:  # phoneme-synchronous: ends when the text is read
            level0, durations, stopped, stats = generate_pointer_ar(
                self.model, text_ids, prompts, ar_sampler, settings.max_ar_steps,
                speed=self.effective_speed(params), rates=[rate] * len(texts))
        else:
            level0, stopped, stats = generate_ar(
                self.model, text_ids, prompts, ar_sampler, settings.max_ar_steps, forced=forced,
                stepper=self.stepper, rates=[rate] * len(texts))
        timings["ar"] = time.perf_counter() - start
        if any(tokens.numel() == 0 for tokens in level0):
            raise GenerationError("the AR stopped before producing any audio frame; try another seed")
        start = time.perf_counter()
        known = None
        if forced is not None:
            level0 = [torch.cat([f, tokens]) for f, tokens in zip(forced, level0)]
            known = [speaker.codes.to(self.device)] * len(texts)
        nar_prompts = prompts if nar_prompt is None else [nar_prompt] * len(texts)
        codes = generate_nar(self.model, text_ids, nar_prompts, level0,
                             TokenSampler(params, "nar", generator), n_levels=levels, known=known,
                             durations=durations)
        if forced is not None:
            codes = [c[:, forced.shape[1]:] for c in codes]
        timings["nar"] = time.perf_counter() - start
        return codes, stopped, stats, timings

    def stream(self, text: str, speaker: SpeakerProfile | None,
               params: SamplingParams | None = None, settings: PromptSettings | None = None,
               chunk_seconds: float = 0.5, max_length: int | None = None,
               constrain: bool = True) -> Iterator[torch.Tensor]:
        """Audio chunks of ``text`` as soon as each is decoded (``max_length``, ``constrain``:
        see ``synthesize``).

        A pointer model (``model.alignment: pointer``) streams within a sentence
        (``vall_e.inference.pointer_stream``). An unaligned model's NAR reads a whole level-0
        sequence at once, so it yields one chunk per sentence.
        """
        settings = cap_steps(settings or self.defaults, max_length)
        params = (params or self.default_sampling).validate()
        self._check_layer_skip(params)
        sentences = split_sentences(text, settings.max_text_chars)
        if not sentences:
            return
        # the speaker's part is the same for every sentence: made once
        prompt = self._prompt(speaker, settings)
        nar_prompt, codec = self._nar_prompt(prompt, settings), self._output_codec(speaker, settings)
        for sentence in sentences:
            if self.model.config.shared_prefix:  # windows of a sentence against its cached prefix
                if params.input_prompt_prefix:  # a continuation: one window after the reference's frames
                    (result,) = self.synthesize([sentence], speaker, params, settings)
                    yield result.audio
                    continue
                generator = make_generator(params.seed, self.device)
                yield from stream_sentence_audio(
                    self.model, codec, self.text_ids(sentence, settings),
                    prompt, TokenSampler(params, "ar", generator),
                    TokenSampler(params, "nar", generator),
                    self._stream_levels(settings),
                    self.effective_speed(params), settings.max_ar_steps,
                    first_steps=settings.stream_first_steps,
                    lookahead_frames=settings.stream_lookahead, passer=self.frame_passer,
                    nar_prompt=nar_prompt)
                continue
            if self.model.durations_mode is not None:  # all codes in ~a dozen passes, decode windowed
                (codes,), *_ = self.synthesize_codes([sentence], speaker, params, settings)
                yield from stream_codes(codec, codes, self._levels(settings))
                continue
            if self.model.pointer is None:
                (result,) = self.synthesize([sentence], speaker, params, settings)
                yield result.audio
                continue
            rate = self.speaking_rate(speaker) if self.model.aligned_positions else None
            yield from stream_sentence(self, self.text_ids(sentence, settings), prompt, params,
                                       settings, self._levels(settings),
                                       make_generator(params.seed, self.device), rate,
                                       nar_prompt=nar_prompt, codec=codec)

    def effective_speed(self, params: SamplingParams) -> float:
        """The pace durations are divided by: the caller's --speed on the model's ``inference.pace``."""
        return params.speed * self.pace

    def _check_compiled(self, params: SamplingParams) -> None:
        if self.stepper is not None and (params.layer_skip or params.beam_width > 1):
            raise SamplingError("--layer-skip and --beam-width run eagerly, not on the compiled "
                                "decode step: drop --compile or that flag")

    def _check_layer_skip(self, params: SamplingParams) -> None:
        self._check_compiled(params)
        if self.model.pointer is None and params.speed != 1.0:
            raise SamplingError(f"--speed needs a phoneme-aligned model (model.alignment: pointer or "
                                f"durations); {self.checkpoint.path} is not one, so leave --speed at 1")
        if self.model.durations_mode is not None:
            refused = (parallel_unsupported(params, self.model.config.shared_prefix)
                       + (["--compile"] if self.stepper is not None else []))
            if refused:
                raise SamplingError(f"{', '.join(refused)}: not available with a durations model "
                                    "(model.alignment: durations, no AR loop); drop the flag")
        elif self.model.pointer is not None:
            refused = pointer_unsupported(params)
            if self.stepper is not None:
                refused.append("--compile")
            if refused:
                raise SamplingError(f"{', '.join(refused)}: not available with a phoneme-aligned "
                                    "model (model.alignment: pointer); drop the flag")
        if params.layer_skip and self.checkpoint.config.model.early_exit_loss <= 0:
            raise SamplingError(
                f"--layer-skip needs a model trained with an early-exit loss "
                f"(model.early_exit_loss > 0); {self.checkpoint.path} was not")
        n_layers = len(self.model.blocks)
        if params.layer_skip and params.layer_skip_exit_layer >= n_layers:
            raise SamplingError(f"--layer-skip-exit-layer must be < {n_layers} (the model's "
                                f"layer count), got {params.layer_skip_exit_layer}")

    def stt(self, reference: str | Path, params: SamplingParams = SamplingParams(),
            max_steps: int = 500) -> str:
        """Transcribe a recording into IPA phonemes (the model's own symbol set)."""
        if self.model.stt_head is None:
            raise ConfigError(
                f"model {self.checkpoint.path} was not trained for stt (model.tasks lacks "
                "'stt'); use a checkpoint trained with model.tasks: [tts, stt]")
        self._check_compiled(params)
        codes = self.codec.encode(load_audio(reference, self.codec.sample_rate).to(self.device))[0]
        generator = make_generator(params.seed, self.device)
        (ids,) = generate_stt(
            self.model, [codes], self.tokenizer.BOS_ID, self.tokenizer.EOS_ID,
            TokenSampler(params, "ar", generator, stop_token=self.tokenizer.EOS_ID), max_steps,
            stepper=self.stepper,
        )
        return phonemes_to_string(self.tokenizer.decode(ids.tolist()))
