"""Shipped reference voices: ``data/voices/<name>.wav`` with its transcript in ``<name>.txt``.

A voice's name can stand in for a reference recording wherever one is asked for (the CLI's
REFERENCE argument, ``Interface.named_speaker``), with any AR+NAR model: a shipped voice is only
a recording plus what it says, so cloning it is the same as cloning any other file. The folder
sits next to the package in a source checkout (the README installs with ``pip install -e .``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VOICES_DIR = Path(__file__).resolve().parents[1] / "data" / "voices"


@dataclass(frozen=True)
class ShippedVoice:
    name: str
    wav: Path
    transcript: str | None  # None when the .txt is missing (cloning then needs no transcript)


def shipped_voices(directory: str | Path | None = None) -> dict[str, ShippedVoice]:
    """Every ``<name>.wav`` of the voices folder by name (empty when the folder is absent)."""
    folder = Path(directory) if directory is not None else VOICES_DIR
    if not folder.is_dir():
        return {}
    voices = {}
    for wav in sorted(folder.glob("*.wav")):
        text_file = wav.with_suffix(".txt")
        transcript = text_file.read_text(encoding="utf-8").strip() if text_file.is_file() else None
        voices[wav.stem] = ShippedVoice(wav.stem, wav, transcript or None)
    return voices


def find_voice(name: str, directory: str | Path | None = None) -> ShippedVoice | None:
    """The shipped voice called ``name``, or None (a name never shadows an existing file)."""
    if Path(name).is_file():
        return None
    return shipped_voices(directory).get(name)
