"""Response audio: whole files in every format the installed libsndfile writes, and the two
formats that can be streamed chunk by chunk (``wav`` with an open-ended header, raw ``pcm``).

mp3 and opus depend on how libsndfile was built, so they are offered only when a trial
encode at the model's sample rate works (``supported_formats``); a request for any other
format is refused with the list that works here, never silently answered in another format.
"""
from __future__ import annotations

import io
import struct

import numpy as np
import soundfile as sf
import torch

# response_format -> (soundfile format, subtype, content type)
_FILES = {
    "wav": ("WAV", "PCM_16", "audio/wav"),
    "flac": ("FLAC", "PCM_16", "audio/flac"),
    "mp3": ("MP3", "MPEG_LAYER_III", "audio/mpeg"),
    "opus": ("OGG", "OPUS", "audio/ogg"),
}
PCM_CONTENT_TYPE = "audio/pcm"
OPENAI_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")  # what OpenAI's API names
STREAMABLE = ("wav", "pcm")  # flac/mp3/opus writers seek back at close: no true chunked form


def pcm16(audio: torch.Tensor, sample_rate: int = 24000) -> bytes:
    """Float audio in [-1, 1] as 16-bit little-endian samples (clipped, never wrapped),
    converted by libsndfile as the file formats are, so pcm and wav hold the same samples."""
    buffer = io.BytesIO()
    sf.write(buffer, _samples(audio), sample_rate, format="RAW", subtype="PCM_16", endian="LITTLE")
    return buffer.getvalue()


def _samples(audio: torch.Tensor) -> np.ndarray:
    return audio.detach().float().cpu().clamp(-1.0, 1.0).numpy()


def wav_stream_header(sample_rate: int) -> bytes:
    """A 16-bit mono WAV header whose sizes say "unknown" (0xFFFFFFFF), as streaming servers
    and ffmpeg write it: players read until the connection ends."""
    unknown = 0xFFFFFFFF
    return (b"RIFF" + struct.pack("<I", unknown) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
            + b"data" + struct.pack("<I", unknown))


def encode(audio: torch.Tensor, sample_rate: int, fmt: str) -> bytes:
    if fmt == "pcm":
        return pcm16(audio, sample_rate)
    container, subtype, _ = _FILES[fmt]
    buffer = io.BytesIO()
    sf.write(buffer, _samples(audio), sample_rate, format=container, subtype=subtype)
    return buffer.getvalue()


def content_type(fmt: str) -> str:
    return PCM_CONTENT_TYPE if fmt == "pcm" else _FILES[fmt][2]


def supported_formats(sample_rate: int) -> tuple[str, ...]:
    """The response formats this install can produce at ``sample_rate`` (a trial encode each)."""
    probe = torch.zeros(sample_rate // 10)
    working = []
    for fmt in ("wav", "flac", "pcm", "mp3", "opus"):
        try:
            encode(probe, sample_rate, fmt)
        except (sf.LibsndfileError, ValueError, TypeError, RuntimeError):
            continue
        working.append(fmt)
    return tuple(working)
