"""Speaker profiles: the precomputed conditionals of a voice, saved as versioned JSON.

A profile made from a recording holds the codec codes of (the first seconds of) it, the codec
that made them, and optionally its transcript and phonemes; a named profile holds only a voice
name, for checkpoints trained with voice prompts (Orpheus's ``"tara: ..."``). Computing codes
once and reusing them makes every later generation skip the reference's encoding.

Loading validates everything (format, version, shape and range of the codes), and using a
profile with a model whose codec differs is refused (``require_codec``).
"""
from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import torch

from vall_e.codecs.base import CodecInfo
from vall_e.errors import CheckpointError, CodecMismatchError, ConfigError

PROFILE_FORMAT = "vall_e.speaker"
PROFILE_VERSION = 1


@dataclass
class SpeakerProfile:
    codes: torch.Tensor | None = None  # [K, T] int64 codes of the reference recording
    codec: CodecInfo | None = None  # the codec that made ``codes``
    transcript: str | None = None  # what the reference says (orpheus cloning, prompt prefix)
    phonemes: list | None = None  # the transcript as IPA symbols
    language: str = "en-us"
    voice: str | None = None  # a voice name the model was trained with, instead of codes
    source: str | None = None  # file name of the reference, for the record

    def __post_init__(self):
        if (self.codes is None) == (self.voice is None):
            raise ConfigError("a speaker profile has either reference codes or a voice name")
        if self.codes is not None and self.codec is None:
            raise ConfigError("a speaker profile with codes must name the codec that made them")

    @property
    def seconds(self) -> float:
        if self.codes is None:
            return 0.0
        return self.codes.shape[1] / self.codec.frame_rate

    def require_codec(self, info: CodecInfo, model: str) -> None:
        if self.codes is not None:
            self.codec.require_match(info, context="speaker profile",
                                     hint=f"create the speaker again with model {model}")

    def to_dict(self) -> dict:
        return {
            "format": PROFILE_FORMAT,
            "version": PROFILE_VERSION,
            "voice": self.voice,
            "codec": self.codec.to_dict() if self.codec else None,
            "codes": self.codes.tolist() if self.codes is not None else None,
            "transcript": self.transcript,
            "phonemes": self.phonemes,
            "language": self.language,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, raw: dict, where: str = "speaker profile") -> "SpeakerProfile":
        if not isinstance(raw, dict) or raw.get("format") != PROFILE_FORMAT:
            raise ConfigError(f"{where} is not a vall_e speaker profile (format field missing)")
        if raw.get("version") != PROFILE_VERSION:
            raise ConfigError(f"{where} has profile version {raw.get('version')}; this vall_e "
                              f"reads {PROFILE_VERSION}: create the speaker again")
        codec = codes = None
        if raw.get("codes") is not None:
            try:
                codec = CodecInfo.from_dict(raw.get("codec"))
            except CheckpointError as exc:
                raise ConfigError(f"{where}: {exc}") from None
            codes = _codes(raw["codes"], codec, where)
        for key in ("transcript", "voice", "source", "language"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise ConfigError(f"{where}: '{key}' must be a string, got {raw[key]!r}")
        phonemes = raw.get("phonemes")
        if phonemes is not None and not (isinstance(phonemes, list)
                                         and all(isinstance(p, str) for p in phonemes)):
            raise ConfigError(f"{where}: 'phonemes' must be a list of strings")
        try:
            return cls(codes, codec, raw.get("transcript"), phonemes,
                       raw.get("language") or "en-us", raw.get("voice"), raw.get("source"))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None


def _codes(raw, codec: CodecInfo, where: str) -> torch.Tensor:
    try:
        codes = torch.tensor(raw, dtype=torch.long)
    except (TypeError, ValueError, RuntimeError):
        raise ConfigError(f"{where}: 'codes' must be a rectangular list of integer lists") from None
    if codes.dim() != 2 or codes.shape[0] != codec.n_levels or codes.shape[1] == 0:
        raise ConfigError(f"{where}: codes have shape {list(codes.shape)}, expected "
                          f"[{codec.n_levels}, T>0] for {codec.describe()}")
    if int(codes.min()) < 0 or int(codes.max()) >= codec.codebook_size:
        raise CodecMismatchError(f"{where}: codes outside [0, {codec.codebook_size}) for "
                                 f"{codec.describe()}")
    return codes


def save_speaker(profile: SpeakerProfile, path: str | Path) -> Path:
    """Write ``profile`` as JSON atomically (an interrupted save never leaves half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    staging.write_text(json.dumps(profile.to_dict()))
    os.replace(staging, path)
    return path


def load_speaker(path: str | Path) -> SpeakerProfile:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"speaker profile not found: {path}")
    try:
        raw = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ConfigError(f"{path} is not a speaker profile (not valid JSON)") from None
    return SpeakerProfile.from_dict(raw, where=str(path))
