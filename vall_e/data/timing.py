"""What a teacher reports beside its waveform: when each of its phoneme symbols is spoken.

``TeacherTiming`` holds the teacher's own symbols (characters for Kokoro, espeak phones for
Piper) and each one's sample span in the saved audio. The corpus builder writes it as
``<id>.timing.json`` next to ``<id>.wav``; ``prepare`` reads it and maps it onto our phoneme
tokens and codec frames (``vall_e.data.durations``). How the teachers produce it:
``vall_e.data.corpus.timing``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from vall_e.errors import DataError

TIMING_SUFFIX = ".timing.json"


@dataclass
class TeacherTiming:
    """``symbols[i]`` is spoken from ``starts[i]`` to ``ends[i]`` (samples at ``sample_rate``)."""

    teacher: str
    sample_rate: int
    symbols: list[str]
    starts: list[int]
    ends: list[int]

    def __post_init__(self):
        if not (len(self.symbols) == len(self.starts) == len(self.ends)):
            raise DataError("a teacher timing needs one start and one end per symbol")

    def shifted(self, offset: int, length: int) -> TeacherTiming:
        """The timing after the audio lost ``offset`` samples at its start and was cut to
        ``length`` samples (trimming): spans are moved and clipped into [0, length]."""
        def clip(values):
            return [int(min(max(v - offset, 0), length)) for v in values]
        return TeacherTiming(self.teacher, self.sample_rate, list(self.symbols),
                             clip(self.starts), clip(self.ends))

    def scaled(self, ratio: float) -> TeacherTiming:
        """The timing after resampling by ``ratio`` (new rate / old rate)."""
        def scale(values):
            return [int(round(v * ratio)) for v in values]
        return TeacherTiming(self.teacher, int(round(self.sample_rate * ratio)), list(self.symbols),
                             scale(self.starts), scale(self.ends))

    def to_dict(self) -> dict:
        return {"teacher": self.teacher, "sample_rate": self.sample_rate, "symbols": self.symbols,
                "starts": self.starts, "ends": self.ends}

    @classmethod
    def from_dict(cls, raw: dict) -> TeacherTiming:
        try:
            return cls(str(raw["teacher"]), int(raw["sample_rate"]), [str(s) for s in raw["symbols"]],
                       [int(v) for v in raw["starts"]], [int(v) for v in raw["ends"]])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"malformed teacher timing ({exc})") from None


def timing_path(wav_path: Path) -> Path:
    """``<dir>/<id>.wav`` -> ``<dir>/<id>.timing.json``."""
    return wav_path.with_name(wav_path.stem + TIMING_SUFFIX)


def read_timing(path: Path) -> TeacherTiming:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable teacher timing ({exc}); rebuild that corpus item") from None
    return TeacherTiming.from_dict(raw)
