"""A tiny synthetic corpus for tests and demos. THIS IS NOT SPEECH.

``make_synthetic_corpus`` writes ``<out>/<speaker>/<id>.wav`` + ``<id>.txt`` (the layout that
``prepare`` reads) with short English sentences and audio that merely *behaves* like speech for a
model: each character of the transcript becomes a 60-90 ms voiced segment (a few harmonics of the
speaker's f0 shaped by two formant-like peaks), spaces become short gaps, and the segment's
duration, pitch offset and formants are a fixed function of the character alone. So text -> audio
is learnable (the same letter always sounds the same for a given speaker) and speakers differ only
in f0, formant scale, spectral tilt and breathiness. Nothing here is intelligible, and nothing
trained on it should be expected to speak.

Everything is deterministic: the same arguments always give byte-identical files.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

WORDS = (
    "the a one two red blue green small big old new cat dog bird fish tree house road river "
    "sun moon star rain wind stone light dark fast slow quiet loud runs sees finds makes holds "
    "likes near over under with from and then today again always never very quite"
).split()

_GAP_SECONDS = {" ": 0.05, ",": 0.10, ".": 0.14}
_EDGE_SECONDS = 0.1  # silence around each utterance, for the loader's trimming to find
_FADE_SECONDS = 0.01
_MAX_HARMONIC_HZ = 5000.0


@dataclass(frozen=True)
class _Speaker:
    f0: float  # Hz
    formant_scale: float  # >1 shifts every formant up, like a shorter vocal tract
    tilt: float  # harmonic h has amplitude ~ h ** -tilt before formant shaping
    breath: float  # level of noise added to voiced segments


@dataclass(frozen=True)
class _Char:
    seconds: float
    pitch: float  # multiplies the speaker's f0
    f1: float
    f2: float
    noise: float  # consonants get a noise burst; vowels are purely voiced


@lru_cache(maxsize=None)
def _char_params(char: str) -> _Char:
    """Acoustic parameters of one character: a function of the character only, not the seed."""
    rng = np.random.default_rng(ord(char))
    vowel = char in "aeiouy"
    return _Char(
        seconds=float(rng.uniform(0.075, 0.09) if vowel else rng.uniform(0.06, 0.075)),
        pitch=float(rng.uniform(0.85, 1.2)),
        f1=float(rng.uniform(300, 850)),
        f2=float(rng.uniform(900, 2500)),
        noise=0.0 if vowel else float(rng.uniform(0.05, 0.3)),
    )


def _make_speaker(rng: np.random.Generator) -> _Speaker:
    return _Speaker(
        f0=float(rng.uniform(90, 230)),
        formant_scale=float(rng.uniform(0.85, 1.2)),
        tilt=float(rng.uniform(0.6, 1.4)),
        breath=float(rng.uniform(0.0, 0.05)),
    )


def _envelope(n: int, sample_rate: int) -> np.ndarray:
    """Raised-cosine attack and release so segments do not click at their edges."""
    fade = max(1, min(n // 2, int(_FADE_SECONDS * sample_rate)))
    env = np.ones(n)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, fade))
    env[:fade] = ramp
    env[n - fade:] = ramp[::-1]
    return env


def _voiced_segment(
    char: _Char, speaker: _Speaker, sample_rate: int, rng: np.random.Generator
) -> np.ndarray:
    n = int(char.seconds * sample_rate)
    t = np.arange(n) / sample_rate
    # A gentle falling glide within the segment, as in a stressed syllable.
    f0 = speaker.f0 * char.pitch * (1.03 - 0.06 * t / max(char.seconds, 1e-6))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    top = min(_MAX_HARMONIC_HZ, sample_rate / 2 - 1)  # below Nyquist even at the glide peak
    n_harm = max(1, int(top // (speaker.f0 * char.pitch * 1.03)))
    h = np.arange(1, n_harm + 1)
    freqs = h * speaker.f0 * char.pitch
    f1, f2 = char.f1 * speaker.formant_scale, char.f2 * speaker.formant_scale
    shape = np.exp(-(((freqs - f1) / 150) ** 2)) + 0.6 * np.exp(-(((freqs - f2) / 250) ** 2))
    amps = h ** -speaker.tilt * (0.05 + shape)
    voiced = amps @ np.sin(np.outer(h, phase)) / amps.sum()
    noise = rng.standard_normal(n) * (char.noise + speaker.breath)
    return (voiced + noise) * _envelope(n, sample_rate)


def synthesize(
    text: str, speaker: _Speaker, sample_rate: int, rng: np.random.Generator
) -> np.ndarray:
    """Render ``text`` (letters, spaces, ',' and '.') for ``speaker`` as float32 audio in [-1, 1]."""
    edge = np.zeros(int(_EDGE_SECONDS * sample_rate))
    parts = [edge]
    for char in text.lower():
        if char in _GAP_SECONDS:
            parts.append(np.zeros(int(_GAP_SECONDS[char] * sample_rate)))
        elif char.isalpha():
            parts.append(_voiced_segment(_char_params(char), speaker, sample_rate, rng))
    parts.append(edge)
    wav = np.concatenate(parts)
    peak = np.abs(wav).max()
    return (0.5 * wav / peak if peak > 0 else wav).astype(np.float32)


def _sentence(rng: np.random.Generator, words_range: tuple[int, int]) -> str:
    words = rng.choice(WORDS, size=int(rng.integers(words_range[0], words_range[1] + 1)))
    return " ".join(words).capitalize() + "."


def make_synthetic_corpus(
    out_dir: str | Path,
    n_speakers: int = 2,
    n_utterances: int = 8,
    sample_rate: int = 24000,
    seed: int = 0,
    words: tuple[int, int] = (3, 6),
) -> Path:
    """Write ``n_utterances`` synthetic utterances for each of ``n_speakers``; return ``out_dir``.

    Layout: ``<out_dir>/spkNN/uttNNNN.wav`` (16-bit PCM) with ``uttNNNN.txt`` beside it. Each
    sentence has ``words[0]``..``words[1]`` words (about 0.5 s of audio per word).
    """
    if n_speakers <= 0 or n_utterances <= 0:
        raise ValueError("n_speakers and n_utterances must be positive")
    if not 1 <= words[0] <= words[1]:
        raise ValueError(f"words must be (min, max) with 1 <= min <= max, got {words}")
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    speakers = [_make_speaker(rng) for _ in range(n_speakers)]
    for s, speaker in enumerate(speakers):
        spk_dir = out_dir / f"spk{s:02d}"
        spk_dir.mkdir(parents=True, exist_ok=True)
        for u in range(n_utterances):
            text = _sentence(rng, words)
            wav = synthesize(text, speaker, sample_rate, rng)
            sf.write(spk_dir / f"utt{u:04d}.wav", wav, sample_rate, subtype="PCM_16")
            (spk_dir / f"utt{u:04d}.txt").write_text(text + "\n", encoding="utf-8")
    (out_dir / "SYNTHETIC.txt").write_text(
        "Synthetic corpus made by vall_e.data.synthetic: tones shaped per character, NOT speech.\n"
        f"speakers={n_speakers} utterances_per_speaker={n_utterances} "
        f"sample_rate={sample_rate} seed={seed}\n",
        encoding="utf-8",
    )
    return out_dir
