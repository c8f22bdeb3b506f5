"""What both inference engines share: device choice, prompt settings, results, speaker creation."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from vall_e.audio import load_audio
from vall_e.codecs import AudioCodec
from vall_e.errors import AudioError
from vall_e.inference.speaker import SpeakerProfile
from vall_e.text import normalize_text, phonemize
from vall_e.text.front_end import prepare_text


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


def checkpoint_codec_path(config, directory: Path) -> str | None:
    """The codec weights a checkpoint's config names; a relative path is tried inside it first."""
    path = config.codec.path
    if path and not Path(path).is_absolute() and (Path(directory) / path).exists():
        return str(Path(directory) / path)
    return path


@dataclass
class PromptSettings:
    language: str = "en-us"
    max_ar_steps: int = 1500  # AR+NAR: level-0 frames; LLM-TTS: generated tokens
    input_prompt_length: float = 6.0  # seconds of the reference used as the acoustic prompt
    max_text_chars: int = 1000
    # AR+NAR: codec levels generated and decoded (the NAR fills 1..levels-1); None = all
    levels: int | None = None
    # AR+NAR shared-prefix streams: level-0 passes of the first window (None = the model's)
    stream_first_steps: int | None = None
    # AR+NAR shared-prefix streams: codec levels of the windows (None = ``levels``)
    stream_levels: int | None = None
    # AR+NAR shared-prefix streams: frames a window draws past what it commits (None = 12)
    stream_lookahead: int | None = None
    # AR+NAR shared-prefix models: level-0 candidates drawn per sentence, the best by the
    # package's phoneme critic kept (1 = no ranking; streams always draw one)
    candidates: int = 1
    # AR+NAR: which passes read a reference shorter than input_prompt_length repeated up to
    # it: none, nar or all (vall_e.inference.prompt_fill)
    repeat_short_prompt: str = "none"
    # AR+NAR over mel_rvq: share (0..1) of the way each output frame moves toward its nearest
    # frames of the reference (vall_e.codecs.mel.voice_match); 0 = off
    voice_match: float = 0.0
    # what voice_match moves: "fine" (the levels above 0) or "all" (whole log-mel frames)
    voice_match_levels: str = "fine"


def cap_steps(settings: PromptSettings, max_length: int | None) -> PromptSettings:
    """``settings`` with ``max_ar_steps`` = ``max_length`` when one is given (an AR+NAR engine
    reads the ``Engine`` protocol's ``max_length`` as a cap on level-0 frames)."""
    return settings if max_length is None else replace(settings, max_ar_steps=max_length)


@dataclass
class SynthesisResult:
    audio: torch.Tensor  # [S] float32
    sample_rate: int
    codes: torch.Tensor  # [K, T]
    stopped: bool  # False when the step budget (--max-ar-steps / max_length) cut it off
    ar_steps: int  # AR+NAR: level-0 frames; LLM-TTS: tokens generated
    seconds: dict = field(default_factory=dict)  # wall time per stage (of the whole batch)
    stats: object = None  # AR+NAR: DecodeStats (layers run, refine-on-stop changes)
    dropped_tokens: int = 0  # LLM-TTS: generated ids that did not fit the layout's frames


# the engines' text check is the text front end's (``vall_e.text.front_end``); kept by this name
check_text = prepare_text


MAX_TRANSCRIBED_REFERENCE_SECONDS = 30.0


def speaker_from_recording(codec: AudioCodec, reference: str | Path, seconds: float,
                           transcript: str | None = None, language: str = "en-us") -> SpeakerProfile:
    """Encode a (trimmed) recording into a speaker profile.

    Without a transcript only the first ``seconds`` are kept (the acoustic prompt). With one,
    the whole recording is kept so codes and transcript say the same thing (Orpheus cloning,
    input-prompt prefix); it must then be at most 30 s.
    """
    if seconds <= 0:
        raise ValueError(f"the reference length must be positive, got {seconds} s")
    if transcript is not None and not transcript.strip():
        transcript = None
    wav = load_audio(reference, codec.sample_rate)
    if transcript is None:
        wav = wav[: max(1, int(seconds * codec.sample_rate))]
    elif wav.numel() > MAX_TRANSCRIBED_REFERENCE_SECONDS * codec.sample_rate:
        raise AudioError(f"{reference} is {wav.numel() / codec.sample_rate:.1f} s; a reference "
                         f"with a transcript may be at most {MAX_TRANSCRIBED_REFERENCE_SECONDS:g} s "
                         "(cut it, or leave the transcript out)")
    codes = codec.encode(wav.to(codec.device))[0].cpu()
    phonemes = phonemize(normalize_text(transcript), language) if transcript else None
    return SpeakerProfile(codes=codes, codec=codec.info, transcript=transcript, phonemes=phonemes,
                          language=language, source=Path(reference).name)
