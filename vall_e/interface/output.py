"""What ``Interface.generate`` returns, and how chunk audio is joined."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from vall_e.audio import save_audio
from vall_e.inference.common import SynthesisResult


def crossfade_join(chunks: list[torch.Tensor], overlap: int) -> torch.Tensor:
    """Concatenate audio chunks, cross-fading ``overlap`` samples linearly at each join."""
    if not chunks:
        return torch.zeros(0)
    out = chunks[0]
    for chunk in chunks[1:]:
        n = min(overlap, out.numel(), chunk.numel())
        if n == 0:
            out = torch.cat([out, chunk])
            continue
        fade = torch.linspace(0.0, 1.0, n)
        mixed = out[-n:] * (1 - fade) + chunk[:n] * fade
        out = torch.cat([out[:-n], mixed, chunk[n:]])
    return out


@dataclass
class AudioChunk:
    audio: torch.Tensor  # [S] float32
    sample_rate: int
    index: int  # position in the stream
    text_index: int  # which text chunk it belongs to
    elapsed: float  # seconds from the start of the generate call to this chunk


@dataclass
class ModelOutput:
    audio: torch.Tensor  # [S] float32: the whole answer
    sample_rate: int
    chunks: list = field(default_factory=list)  # audio of each chunk, in order
    results: list = field(default_factory=list)  # SynthesisResult per text chunk (not STREAM)
    seconds: float = 0.0  # wall time of the whole call
    first_chunk_seconds: float | None = None  # STREAM: time to the first audio chunk

    @property
    def duration(self) -> float:
        return self.audio.numel() / self.sample_rate

    @property
    def rtf(self) -> float:
        """Real-time factor: wall seconds per second of audio (< 1 is faster than real time)."""
        return self.seconds / max(self.duration, 1e-9)

    @property
    def truncated(self) -> bool:
        """True when a chunk ran into its step budget instead of ending by itself."""
        return any(not r.stopped for r in self.results if isinstance(r, SynthesisResult))

    def save(self, path: str | Path) -> Path:
        return save_audio(path, self.audio, self.sample_rate)


class Stopwatch:
    def __init__(self):
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start
