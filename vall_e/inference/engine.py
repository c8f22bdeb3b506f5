"""The AR+NAR inference engine: load a checkpoint and its codec once, then synthesize.

``ARNAREngine.from_checkpoint(dir)`` loads the model, its phoneme vocabulary and the codec named
in the checkpoint (the codec's identity is checked against the one the model was trained on).
``tts()`` turns text + a reference wav into audio; ``stt()`` turns audio into IPA phonemes.
The engine knows nothing about argv; the CLI builds its arguments.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from vall_e.audio import load_audio
from vall_e.codecs import AudioCodec, get_codec
from vall_e.errors import SamplingError, TextError
from vall_e.inference.ar_nar_decode import DecodeStats, generate_ar, generate_nar, generate_stt
from vall_e.models.checkpoint import LoadedCheckpoint, load_checkpoint
from vall_e.sampling import SamplingParams, TokenSampler, make_generator
from vall_e.text import normalize_text, phonemes_to_string, phonemize


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device '{device}': use auto, cpu, cuda or cuda:N") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device '{device}' asked for but no CUDA GPU is available; use --device cpu")
    return resolved


@dataclass
class SynthesisResult:
    audio: torch.Tensor  # [S] float32
    sample_rate: int
    codes: torch.Tensor  # [K, T]
    stopped: bool  # False when --max-ar-steps cut the AR off
    ar_steps: int
    seconds: dict = field(default_factory=dict)  # wall time per stage
    stats: DecodeStats | None = None  # layers run per AR step, refine-on-stop changes


@dataclass
class PromptSettings:
    language: str = "en-us"
    max_ar_steps: int = 1500
    input_prompt_length: float = 6.0
    max_text_chars: int = 1000


class ARNAREngine:
    def __init__(self, checkpoint: LoadedCheckpoint, codec: AudioCodec, device: torch.device):
        checkpoint.codec_info.require_match(codec.info, context=f"model {checkpoint.path}")
        self.checkpoint = checkpoint
        self.model = checkpoint.model
        self.tokenizer = checkpoint.tokenizer
        self.codec = codec
        self.device = device
        inference = checkpoint.config.inference
        self.defaults = PromptSettings(
            inference.language, inference.max_ar_steps, inference.input_prompt_length,
            inference.max_text_chars,
        )

    @classmethod
    def from_checkpoint(
        cls, directory: str | Path, device: str = "auto", codec_path: str | None = None
    ) -> "ARNAREngine":
        resolved = resolve_device(device)
        checkpoint = load_checkpoint(directory, resolved)
        codec_config = replace(checkpoint.config.codec, path=codec_path or _codec_path(checkpoint))
        return cls(checkpoint, get_codec(codec_config, device=str(resolved)), resolved)

    # ----- inputs -----------------------------------------------------------------------
    def text_ids(self, text: str, settings: PromptSettings) -> torch.Tensor:
        text = normalize_text(text)
        if len(text) > settings.max_text_chars:
            raise TextError(
                f"text is {len(text)} characters; one utterance takes at most "
                f"{settings.max_text_chars} (split it into sentences)"
            )
        ids = self.tokenizer.encode(phonemize(text, settings.language), add_bos_eos=True)
        return torch.tensor(ids, dtype=torch.long, device=self.device)

    def prompt_codes(self, reference: str | Path, seconds: float) -> torch.Tensor:
        """Codes [K, Tp] of the first ``seconds`` of the (trimmed) reference recording."""
        wav = load_audio(reference, self.codec.sample_rate)
        wav = wav[: max(1, int(seconds * self.codec.sample_rate))]
        return self.codec.encode(wav.to(self.device))[0]

    # ----- tasks ------------------------------------------------------------------------
    def tts(
        self,
        text: str,
        reference: str | Path,
        params: SamplingParams = SamplingParams(),
        settings: PromptSettings | None = None,
        prompt_text: str | None = None,
    ) -> SynthesisResult:
        """Speak ``text`` in the voice of ``reference``.

        With ``params.input_prompt_prefix`` the reference's own codes start the response and
        ``prompt_text`` (the reference's transcript) is spoken before ``text``; the audio of
        the reference part is cut from the result.
        """
        settings = settings or self.defaults
        params = params.validate()
        self._check_layer_skip(params)
        timings = {}
        start = time.perf_counter()
        prompt = self.prompt_codes(reference, settings.input_prompt_length)
        forced = None
        if params.input_prompt_prefix:
            if not prompt_text or not prompt_text.strip():
                raise TextError("--input-prompt-prefix needs the reference's transcript: "
                                "add --prompt-text \"what the reference says\"")
            text = f"{prompt_text.strip()} {text.strip()}"
            forced = prompt[None, 0]
        text_ids = self.text_ids(text, settings)
        timings["prepare"] = time.perf_counter() - start
        generator = make_generator(params.seed, self.device)
        start = time.perf_counter()
        ar_sampler = TokenSampler(params, "ar", generator, stop_token=self.model.stop_token)
        (level0,), (stopped,), stats = generate_ar(
            self.model, [text_ids], [prompt], ar_sampler, settings.max_ar_steps, forced=forced)
        timings["ar"] = time.perf_counter() - start
        if level0.numel() == 0:
            raise RuntimeError("the AR stopped before producing any audio frame; try another seed")
        start = time.perf_counter()
        known = None
        if forced is not None:
            level0, known = torch.cat([forced[0], level0]), [prompt]
        (codes,) = generate_nar(self.model, [text_ids], [prompt], [level0],
                                TokenSampler(params, "nar", generator), known=known)
        if forced is not None:
            codes = codes[:, forced.shape[1]:]
        timings["nar"] = time.perf_counter() - start
        start = time.perf_counter()
        audio = self.codec.decode(codes[None])[0].float().cpu()
        timings["decode"] = time.perf_counter() - start
        return SynthesisResult(audio, self.codec.sample_rate, codes.cpu(), stopped,
                               int(codes.shape[1]), timings, stats)

    def _check_layer_skip(self, params: SamplingParams) -> None:
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
            raise ValueError(
                f"model {self.checkpoint.path} was not trained for stt (model.tasks lacks 'stt')"
            )
        codes = self.codec.encode(load_audio(reference, self.codec.sample_rate).to(self.device))[0]
        generator = make_generator(params.seed, self.device)
        (ids,) = generate_stt(
            self.model, [codes], self.tokenizer.BOS_ID, self.tokenizer.EOS_ID,
            TokenSampler(params, "ar", generator, stop_token=self.tokenizer.EOS_ID), max_steps,
        )
        return phonemes_to_string(self.tokenizer.decode(ids.tolist()))


def _codec_path(checkpoint: LoadedCheckpoint) -> str | None:
    """The codec weights named in the checkpoint; a relative path is tried inside it first."""
    path = checkpoint.config.codec.path
    if path and not Path(path).is_absolute() and (checkpoint.path / path).exists():
        return str(checkpoint.path / path)
    return path
