"""Speak text of any length whole: sentences, synthesized in batches, joined with short pauses.

``speak(engine, text, speaker, ...)`` works with either engine: it only calls
``engine.synthesize(texts, speaker, params, settings)`` and ``engine.max_speech_seconds``.

Contract:
* the text is normalized and stripped of what the language cannot speak (one warning naming
  it, ``vall_e.text.script``), then cut by ``split_sentences`` into pieces short enough that a
  piece read at a slow pace still fits the step cap (``piece_chars``): sentences, and an
  over-long sentence at ``; :`` then commas then words. A piece with no letter or digit ("...")
  joins the piece before it (or, with no room there, is left out: it has no sound). Nothing
  else is dropped or reordered;
* pieces are synthesized ``batch_size`` at a time, pieces of similar length together (less
  padding), and joined in the text's order with ``SENTENCE_PAUSE`` after a sentence and
  ``CLAUSE_PAUSE`` after a cut inside one, each piece faded in and out over 5 ms (no clicks);
* a piece that still reaches the step cap is listed in ``LongFormResult.cut``: the caller must
  say so (the CLI warns with the piece's text), it is never silent;
* a progress bar (tqdm, on stderr) counts pieces when ``progress`` and there are several.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import torch

from vall_e.errors import TextError
from vall_e.text import normalize_text, split_sentences

MAX_TOTAL_CHARS = 100_000  # the Interface's limit for one generate call too
CHARS_PER_SECOND = 10.0  # a slow reading pace: English speech is ~14 characters a second
MIN_PIECE_CHARS = 40
SENTENCE_PAUSE = 0.30  # seconds of silence after a sentence
CLAUSE_PAUSE = 0.15  # after a piece cut inside a sentence
FADE_SECONDS = 0.005


@dataclass
class LongFormResult:
    audio: torch.Tensor  # [S] float32, the whole text
    sample_rate: int
    pieces: list[str]  # what was synthesized, in order
    results: list = field(default_factory=list)  # SynthesisResult per piece
    seconds: dict = field(default_factory=dict)  # wall time per stage, summed over batches
    cut: list[int] = field(default_factory=list)  # pieces that reached the step cap

    @property
    def ar_steps(self) -> int:
        return sum(r.ar_steps for r in self.results)


def piece_chars(max_speech_seconds: float, max_text_chars: int) -> int:
    """Longest piece: what a slow reader says within the step cap, within one utterance."""
    return max(MIN_PIECE_CHARS, min(int(max_speech_seconds * CHARS_PER_SECOND), max_text_chars))


def split_text(text: str, max_chars: int) -> list[str]:
    """``text`` (already checked) as pieces of at most ``max_chars`` (see module docstring)."""
    pieces: list[str] = []
    for piece in split_sentences(text, max_chars):
        if not any(ch.isalnum() for ch in piece):  # "...", ")": no sound of its own
            if pieces and len(pieces[-1]) + 1 + len(piece) <= max_chars:
                pieces[-1] = f"{pieces[-1]} {piece}"
            continue
        pieces.append(piece)
    return pieces


def prepare_text(text: str, language: str) -> str:
    """``text`` normalized, what ``language`` cannot speak removed (warned), length checked."""
    import warnings

    from vall_e.text.script import describe_removed, speakable

    if not isinstance(text, str):
        raise TextError(f"text must be a string, got {type(text).__name__}")
    text, removed = speakable(normalize_text(text), language)
    if removed:
        warnings.warn(describe_removed(removed, language), stacklevel=3)
    if len(text) > MAX_TOTAL_CHARS:
        raise TextError(f"text is {len(text)} characters; at most {MAX_TOTAL_CHARS} are spoken "
                        "in one call: split it into several files")
    return text


def speak(engine, text: str, speaker, params, settings, batch_size: int = 4,
          progress: bool = False) -> LongFormResult:
    """Speak all of ``text`` as ``speaker`` (see the module docstring)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    text = prepare_text(text, settings.language)
    max_chars = piece_chars(engine.max_speech_seconds(settings), settings.max_text_chars)
    pieces = split_text(text, max_chars)
    # similar lengths batched together; results put back in the text's order
    order = sorted(range(len(pieces)), key=lambda i: len(pieces[i]))
    results: list = [None] * len(pieces)
    seconds: dict = {}
    from tqdm import tqdm

    with tqdm(total=len(pieces), unit="sentence", file=sys.stderr, leave=False,
              disable=not progress or len(pieces) < 2) as bar:
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            out = engine.synthesize([pieces[i] for i in batch], speaker, params, settings)
            for i, result in zip(batch, out):
                results[i] = result
            for stage, value in out[0].seconds.items():
                seconds[stage] = seconds.get(stage, 0.0) + value
            bar.update(len(batch))
    started = time.perf_counter()
    rate = results[0].sample_rate
    audio = join(pieces, [r.audio for r in results], rate)
    seconds["join"] = time.perf_counter() - started
    cut = [i for i, r in enumerate(results) if not r.stopped]
    return LongFormResult(audio, rate, pieces, results, seconds, cut)


def join(pieces: list[str], audio: list[torch.Tensor], sample_rate: int) -> torch.Tensor:
    """The pieces' audio in order, faded at the edges, with a pause after each but the last."""
    fade = max(1, int(FADE_SECONDS * sample_rate))
    parts = []
    for index, (piece, wav) in enumerate(zip(pieces, audio)):
        wav = wav.float().flatten().clone()
        n = min(fade, wav.numel() // 2)
        if n:
            ramp = torch.linspace(0.0, 1.0, n)
            wav[:n] *= ramp
            wav[-n:] *= ramp.flip(0)
        parts.append(wav)
        if index < len(pieces) - 1:
            pause = SENTENCE_PAUSE if piece.rstrip("\"')]}").endswith((".", "!", "?")) else CLAUSE_PAUSE
            parts.append(torch.zeros(int(pause * sample_rate)))
    return torch.cat(parts) if parts else torch.zeros(0)
